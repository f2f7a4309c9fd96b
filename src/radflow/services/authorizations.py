"""Prior authorization: submit, approve, deny, more documentation, appeal, substitution, expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from radflow.domain.authorization import Authorization, AuthorizationState
from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.jobs import Job
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.services.access import guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.jobs import JobHandler, enqueue
from radflow.services.routing import request_documentation, route_received_order
from radflow.services.unit_of_work import UnitOfWork

AUTHORIZATION_EXPIRY = "authorization_expiry"


def _load(uow: UnitOfWork, order_id: str, actor: Principal) -> tuple[Order, Authorization]:
    order = uow.orders.get(order_id)
    guard_order(actor, Action.AUTHORIZATION_MANAGE, order)
    current = uow.authorizations.current_for_order(order.id)
    if current is None:
        raise Conflict(f"order {order.accession_number} is {order.state.value}: it has no authorization request")
    return order, current


def _audit(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order: Order, what: str, detail: str) -> None:
    record_access(uow, ctx, actor, f"authorization.{what}", patient_id=order.patient_id,
                  object_type="order", object_id=order.id, detail=detail)


@dataclass(frozen=True)
class SubmitAuthorization:
    """The request went to the payer; record their reference number."""

    actor: Principal
    order_id: str
    payer_reference: str


def submit_authorization(cmd: SubmitAuthorization, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record a prior-authorization request for an order that needs one."""
    with uow:
        order, auth = _load(uow, cmd.order_id, cmd.actor)
        if order.state is not OrderState.PENDING_AUTHORIZATION:
            raise Conflict(f"order {order.accession_number} is {order.state.value}, not pending authorization")
        if not cmd.payer_reference.strip():
            raise ValidationError("record the payer's case or reference number", field="payer_reference")
        auth.submit(payer_reference=cmd.payer_reference, by=cmd.actor.user_id, at=ctx.clock.now())
        if auth.assigned_to is None:
            auth.assign(cmd.actor.user_id, by=cmd.actor.user_id, at=ctx.clock.now())
        order.note("authorization_submitted", by=cmd.actor.user_id, at=ctx.clock.now(),
                   details={"payer_reference": auth.payer_reference, "cpt": auth.cpt_code})
        _audit(uow, ctx, cmd.actor, order, "submit", auth.payer_reference)
        uow.commit()
        return auth.id


@dataclass(frozen=True)
class ApproveAuthorization:
    """The payer approved: number and validity window (end defaults from the payer's rule)."""

    actor: Principal
    order_id: str
    authorization_number: str
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def approve_authorization(cmd: ApproveAuthorization, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record approval; the order becomes ready to schedule and the expiry is scheduled as a job."""
    with uow:
        order, auth = _load(uow, cmd.order_id, cmd.actor)
        now = ctx.clock.now()
        valid_from = cmd.valid_from or now
        if cmd.valid_until is not None:
            valid_until = cmd.valid_until
        else:
            payer = ctx.catalog.payer(auth.payer_id)
            days = payer.approval_validity_days or ctx.settings.authorization_default_validity_days
            valid_until = valid_from + timedelta(days=days)
        if valid_until <= now:
            raise ValidationError("the approval's validity has already ended", field="valid_until")
        auth.approve(number=cmd.authorization_number, valid_from=valid_from, valid_until=valid_until,
                     by=cmd.actor.user_id, at=now)
        order.transition(OrderEvent.AUTHORIZATION_APPROVED, by=cmd.actor.user_id, at=now,
                         details={"authorization_number": auth.authorization_number,
                                  "valid_until": valid_until.isoformat()})
        enqueue(uow, ctx, AUTHORIZATION_EXPIRY, f"authexp:{auth.id}:{valid_until.isoformat()}",
                {"order_id": order.id, "authorization_id": auth.id}, due_at=valid_until)
        _audit(uow, ctx, cmd.actor, order, "approve", auth.authorization_number)
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class DenyAuthorization:
    """The payer denied, with its reason."""

    actor: Principal
    order_id: str
    reason: str


def deny_authorization(cmd: DenyAuthorization, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record a denial; the order waits in `authorization_denied` for an appeal or a substitute."""
    with uow:
        order, auth = _load(uow, cmd.order_id, cmd.actor)
        now = ctx.clock.now()
        auth.deny(reason=cmd.reason, by=cmd.actor.user_id, at=now)
        order.transition(OrderEvent.AUTHORIZATION_DENIED, by=cmd.actor.user_id, at=now, reason=cmd.reason)
        _audit(uow, ctx, cmd.actor, order, "deny", cmd.reason)
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class RequestMoreDocumentation:
    """The payer asked for more before deciding; the referrer is asked for it."""

    actor: Principal
    order_id: str
    what: str


def request_more_documentation(cmd: RequestMoreDocumentation, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Move the order to `awaiting_documentation` and queue the request to the referrer."""
    with uow:
        order, auth = _load(uow, cmd.order_id, cmd.actor)
        if not cmd.what.strip():
            raise ValidationError("say what the payer asked for", field="what")
        now = ctx.clock.now()
        if auth.state is AuthorizationState.SUBMITTED:
            auth.request_information(note=cmd.what, by=cmd.actor.user_id, at=now)
        order.missing_items = [cmd.what.strip()]
        order.transition(OrderEvent.PAYER_REQUESTED_DOCUMENTATION, by=cmd.actor.user_id, at=now,
                         reason=cmd.what)
        request_documentation(uow, ctx, order, [cmd.what.strip()], reason="payer")
        _audit(uow, ctx, cmd.actor, order, "request_documentation", cmd.what)
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class ResubmitAuthorization:
    """Appeal a denial with more documentation (a new payer reference)."""

    actor: Principal
    order_id: str
    payer_reference: str
    note: str = ""


def resubmit_authorization(cmd: ResubmitAuthorization, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Reopen and resubmit the request; the order is pending authorization again."""
    with uow:
        order, auth = _load(uow, cmd.order_id, cmd.actor)
        now = ctx.clock.now()
        auth.reopen(note=cmd.note or "appeal", by=cmd.actor.user_id, at=now)
        auth.submit(payer_reference=cmd.payer_reference, by=cmd.actor.user_id, at=now)
        order.transition(OrderEvent.AUTHORIZATION_RESUBMITTED, by=cmd.actor.user_id, at=now, reason=cmd.note,
                         details={"payer_reference": cmd.payer_reference})
        _audit(uow, ctx, cmd.actor, order, "resubmit", cmd.payer_reference)
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class SubstituteStudy:
    """Replace a denied (or contraindicated) study with an allowed one; the order is checked again."""

    actor: Principal
    order_id: str
    protocol_code: str
    contrast: str | None
    reason: str


def substitute_study(cmd: SubstituteStudy, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Change the study and send the order back through the completeness check and routing."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.ORDER_UPDATE, order)
        protocol = ctx.catalog.protocol(cmd.protocol_code)
        variant = protocol.variant(cmd.contrast) if cmd.contrast else None
        now = ctx.clock.now()
        old = f"{order.protocol_code} {order.contrast.value if order.contrast else ''}".strip()
        order.transition(OrderEvent.STUDY_SUBSTITUTED, by=cmd.actor.user_id, at=now, reason=cmd.reason,
                         details={"from": old, "to": protocol.code})
        order.protocol_code, order.body_part = protocol.code, protocol.body_part
        order.requested_modality = protocol.modality.value
        order.contrast = variant.phase if variant else None
        order.protocolled_by = order.protocolled_at = None
        current = uow.authorizations.current_for_order(order.id)
        if current is not None:
            current.void(note=f"study substituted: {cmd.reason}", by=cmd.actor.user_id, at=now)
        route_received_order(uow, ctx, order, cmd.actor)
        record_access(uow, ctx, cmd.actor, "order.substitute", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=f"{old} -> {protocol.code}")
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class AssignAuthorization:
    """Give an authorization request to a coordinator."""

    actor: Principal
    order_id: str
    assignee_id: str | None


def assign_authorization(cmd: AssignAuthorization, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record who handles the request."""
    with uow:
        order, auth = _load(uow, cmd.order_id, cmd.actor)
        if cmd.assignee_id is not None:
            uow.users.get(cmd.assignee_id)
        auth.assign(cmd.assignee_id, by=cmd.actor.user_id, at=ctx.clock.now())
        _audit(uow, ctx, cmd.actor, order, "assign", cmd.assignee_id or "")
        uow.commit()
        return auth.id


def expire_authorization_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: an approval reached its end; an order not yet examined goes back to pending authorization."""
    auth = uow.authorizations.get(job.payload["authorization_id"])
    order = uow.orders.get(job.payload["order_id"])
    now = ctx.clock.now()
    if auth.state is not AuthorizationState.APPROVED or (auth.valid_until and auth.valid_until > now):
        return {"skipped": f"authorization is {auth.state.value}"}
    number = auth.authorization_number
    auth.expire(by="system:worker", at=now)
    if order.state in (OrderState.READY_TO_SCHEDULE, OrderState.SCHEDULED):
        auth.reopen(note="approval expired before the exam", by="system:worker", at=now)
        order.transition(OrderEvent.AUTHORIZATION_EXPIRED, by="system:worker", at=now,
                         details={"authorization_number": number})
        return {"expired": True, "order_state": order.state.value}
    return {"expired": True, "order_state": order.state.value, "note": "exam already past scheduling"}


HANDLERS: dict[type, Handler] = {
    SubmitAuthorization: submit_authorization,
    ApproveAuthorization: approve_authorization,
    DenyAuthorization: deny_authorization,
    RequestMoreDocumentation: request_more_documentation,
    ResubmitAuthorization: resubmit_authorization,
    SubstituteStudy: substitute_study,
    AssignAuthorization: assign_authorization,
}
JOB_HANDLERS: dict[str, JobHandler] = {AUTHORIZATION_EXPIRY: expire_authorization_job}
