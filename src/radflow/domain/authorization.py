"""Prior authorization: its own small state machine, one table, as the lifecycle rule demands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import InvalidTransition, ValidationError


class AuthorizationState(StrEnum):
    """Where a prior-authorization request stands."""

    NOT_REQUIRED = "not_required"
    REQUIRED = "required"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    VOID = "void"  # superseded: the study changed, a new request replaces this one


class AuthorizationEvent(StrEnum):
    """What happens to an authorization request."""

    SUBMIT = "submit"
    APPROVE = "approve"
    DENY = "deny"
    REQUEST_INFORMATION = "request_information"
    REOPEN = "reopen"
    EXPIRE = "expire"
    VOID = "void"


A = AuthorizationState
AE = AuthorizationEvent

TRANSITIONS: Final[Mapping[tuple[AuthorizationState, AuthorizationEvent], AuthorizationState]] = {
    (A.REQUIRED, AE.SUBMIT): A.SUBMITTED,
    (A.SUBMITTED, AE.APPROVE): A.APPROVED,
    (A.SUBMITTED, AE.DENY): A.DENIED,
    (A.SUBMITTED, AE.REQUEST_INFORMATION): A.REQUIRED,  # payer wants more; resubmit later
    (A.DENIED, AE.REOPEN): A.REQUIRED,  # appeal with more documentation
    (A.APPROVED, AE.EXPIRE): A.EXPIRED,
    (A.EXPIRED, AE.REOPEN): A.REQUIRED,  # a new request for the same study
    **{(state, AE.VOID): A.VOID for state in (A.NOT_REQUIRED, A.REQUIRED, A.SUBMITTED, A.APPROVED, A.DENIED,
                                              A.EXPIRED)},
}


@dataclass(eq=False)
class Authorization(Aggregate):
    """A prior-authorization request for one order's study with one payer."""

    id: str
    order_id: str
    payer_id: str
    cpt_code: str
    state: AuthorizationState
    created_at: datetime
    rule_id: str = ""
    rule_citation: str = ""
    assigned_to: str | None = None
    payer_reference: str = ""
    authorization_number: str = ""
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    denial_reason: str = ""
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    log: list[dict[str, Any]] = field(default_factory=list)

    def _apply(self, event: AuthorizationEvent, *, by: str, at: datetime, note: str = "") -> None:
        target = TRANSITIONS.get((self.state, event))
        if target is None:
            raise InvalidTransition(self.state.value, event.value, aggregate="authorization")
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": event.value,
                                "from": self.state.value, "to": target.value, "note": note}]
        self.state = target

    def submit(self, *, payer_reference: str, by: str, at: datetime) -> None:
        """Record that the request went to the payer (their case or reference number)."""
        self._apply(AE.SUBMIT, by=by, at=at, note=payer_reference)
        self.payer_reference = payer_reference.strip()
        self.submitted_at = at

    def approve(self, *, number: str, valid_from: datetime, valid_until: datetime, by: str, at: datetime) -> None:
        """Record the payer's approval with its number and validity window."""
        if not number.strip():
            raise ValidationError("an approval needs the payer's authorization number", field="authorization_number")
        if valid_until <= valid_from:
            raise ValidationError("an approval's end must be after its start", field="valid_until")
        self._apply(AE.APPROVE, by=by, at=at, note=number)
        self.authorization_number = number.strip()
        self.valid_from, self.valid_until, self.decided_at = valid_from, valid_until, at

    def deny(self, *, reason: str, by: str, at: datetime) -> None:
        """Record a denial with the payer's reason."""
        if not reason.strip():
            raise ValidationError("a denial needs the payer's reason", field="reason")
        self._apply(AE.DENY, by=by, at=at, note=reason)
        self.denial_reason, self.decided_at = reason.strip(), at

    def request_information(self, *, note: str, by: str, at: datetime) -> None:
        """The payer asked for more documentation before deciding."""
        self._apply(AE.REQUEST_INFORMATION, by=by, at=at, note=note)

    def reopen(self, *, note: str, by: str, at: datetime) -> None:
        """Open the request again (appeal after a denial, or renewal after expiry)."""
        self._apply(AE.REOPEN, by=by, at=at, note=note)
        self.authorization_number = ""
        self.valid_from = self.valid_until = None

    def expire(self, *, by: str, at: datetime) -> None:
        """The approval's validity ended before the exam was done."""
        self._apply(AE.EXPIRE, by=by, at=at)

    def void(self, *, note: str, by: str, at: datetime) -> None:
        """This request no longer applies (the study changed)."""
        self._apply(AE.VOID, by=by, at=at, note=note)

    def is_valid_on(self, moment: datetime) -> bool:
        """True when approved and `moment` lies inside the validity window."""
        return (
            self.state is A.APPROVED
            and self.valid_from is not None
            and self.valid_until is not None
            and self.valid_from <= moment < self.valid_until
        )

    def assign(self, user_id: str | None, *, by: str, at: datetime) -> None:
        """Give the request to a coordinator (who handles it is tracked)."""
        self.assigned_to = user_id
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": "assign", "from": self.state.value,
                                "to": self.state.value, "note": user_id or ""}]
