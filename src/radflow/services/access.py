"""Applying the policy inside services: check, and remember what a refusal was about for the audit."""

from __future__ import annotations

from radflow.domain import policy
from radflow.domain.errors import Forbidden
from radflow.domain.order import Order
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.users import Principal


class AccessRefused(Forbidden):
    """A Forbidden that knows what was asked for, so the refusal can be audited."""

    def __init__(self, message: str, *, action: str, patient_id: str = "", object_type: str = "",
                 object_id: str = "") -> None:
        super().__init__(message)
        self.action = action
        self.patient_id = patient_id
        self.object_type = object_type
        self.object_id = object_id


def order_target(order: Order) -> AccessTarget:
    """The policy's view of an order: its patient and its ordering/copied providers."""
    return AccessTarget.for_order(order.patient_id, order.ordering_provider_npi,
                                  (c.get("npi", "") for c in order.copy_to))


def guard(
    actor: Principal,
    action: Action,
    target: AccessTarget | None = None,
    *,
    object_type: str = "",
    object_id: str = "",
) -> None:
    """Raise AccessRefused unless the policy lets `actor` take `action` on `target`."""
    try:
        policy.check(actor, action, target)
    except Forbidden as refused:
        raise AccessRefused(
            refused.message,
            action=action.value,
            patient_id=(target.patient_id or "") if target else "",
            object_type=object_type,
            object_id=object_id,
        ) from None


def guard_order(actor: Principal, action: Action, order: Order) -> None:
    """Check `action` on an order (and so on its patient)."""
    guard(actor, action, order_target(order), object_type="order", object_id=order.id)
