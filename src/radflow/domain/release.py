"""Patient release of reports, and who tells the patient about a result.

Release is immediate: a patient sees their report the moment it is signed (21st Century Cures Act;
the ONC rule, 45 CFR 171). The only thing that holds a report back is a `ReleaseHold` on that one
patient's report, for one of two reasons the rule accepts, each recorded, audited and time-limited:

- the patient's own request not to see it yet (45 CFR 171.202(e), respecting an individual's request);
- a clinician's individual determination that access is reasonably likely to endanger the life or
  physical safety of the patient or another person (45 CFR 171.201(c)-(d): made by a licensed health
  care professional, on an individual basis, in the exercise of professional judgment, with its reason).

No setting, rule or job places a hold, and nothing holds back a category of results (all CTs, all
biopsies, everything until the ordering provider has looked): such a blanket delay is information
blocking (45 CFR 171.103). `ReleaseHold.place` refuses any author that is not a person, any hold
without its reason, and any hold that does not end; `released_since` is the signing time whenever no
individual hold is active.

A hold has its own one-table state machine: active → lifted (by the patient or the clinician) or
expired (its end reached; a job ends it on time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import Forbidden, InvalidTransition, ValidationError
from radflow.domain.events import DomainEvent


class HoldReason(StrEnum):
    """The two reasons a single patient's report may be held back from them."""

    PATIENT_REQUEST = "patient_request"  # 45 CFR 171.202(e)
    PREVENTING_HARM = "preventing_harm"  # 45 CFR 171.201


class HoldState(StrEnum):
    """Where a hold stands."""

    ACTIVE = "active"
    LIFTED = "lifted"
    EXPIRED = "expired"


class HoldEvent(StrEnum):
    """What ends a hold."""

    LIFT = "lift"
    EXPIRE = "expire"


TRANSITIONS: Final[Mapping[tuple[HoldState, HoldEvent], HoldState]] = {
    (HoldState.ACTIVE, HoldEvent.LIFT): HoldState.LIFTED,
    (HoldState.ACTIVE, HoldEvent.EXPIRE): HoldState.EXPIRED,
}

#: Roles whose users are licensed clinicians who may make a preventing-harm determination (171.201(c)).
CLINICIAN_ROLES: Final = frozenset({"radiologist", "referring_provider"})
#: A reason short enough to be a category ("policy", "CT") is not an individual determination.
MIN_HARM_REASON: Final = 20
HOLD_SOURCES: Final = {
    HoldReason.PATIENT_REQUEST: "45 CFR 171.202(e): the individual's request not to share",
    HoldReason.PREVENTING_HARM: "45 CFR 171.201(c)(1), (d)(1): individualized determination by a licensed health "
                                "care professional of a risk to life or physical safety",
}


@dataclass(frozen=True)
class HoldAuthor:
    """Who places or lifts a hold: a person, with their role (a system component never may)."""

    user_id: str
    name: str
    role: str
    patient_id: str | None = None

    @property
    def is_person(self) -> bool:
        """False for system components (jobs, interfaces, rules)."""
        return bool(self.user_id) and not self.user_id.startswith("system:") and self.role != "integration"


def next_hold_state(state: HoldState, event: HoldEvent) -> HoldState:
    """The state `event` leads to, or InvalidTransition."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise InvalidTransition(state.value, event.value, aggregate="release hold")
    return target


@dataclass(frozen=True, kw_only=True)
class ReleaseHoldPlaced(DomainEvent):
    """One patient's report is held back from them, until `expires_at` at the latest."""

    hold_id: str
    order_id: str
    patient_id: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class ReleaseHoldEnded(DomainEvent):
    """A hold was lifted or ran out: the report is released (if signed and nothing else holds it)."""

    hold_id: str
    order_id: str
    patient_id: str


@dataclass(eq=False)
class ReleaseHold(Aggregate):
    """A hold on one patient's report: why, by whom, until when."""

    id: str
    order_id: str
    patient_id: str
    reason: HoldReason
    explanation: str
    placed_by: str
    placed_by_name: str
    placed_by_role: str
    placed_at: datetime
    expires_at: datetime
    state: HoldState = HoldState.ACTIVE
    ended_at: datetime | None = None
    ended_by: str = ""
    end_reason: str = ""
    log: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1

    @classmethod
    def place(cls, *, id: str, order_id: str, patient_id: str, reason: HoldReason, explanation: str,
              author: HoldAuthor, at: datetime, expires_at: datetime, max_days: int) -> ReleaseHold:
        """Hold one report back, for a reason the rule accepts, for a limited time."""
        check_hold(reason=reason, explanation=explanation, author=author, patient_id=patient_id, at=at,
                   expires_at=expires_at, max_days=max_days)
        hold = cls(id=id, order_id=order_id, patient_id=patient_id, reason=reason, explanation=explanation.strip(),
                   placed_by=author.user_id, placed_by_name=author.name, placed_by_role=author.role, placed_at=at,
                   expires_at=expires_at)
        hold.log = [{"at": at.isoformat(), "by": author.user_id, "event": "place", "note": HOLD_SOURCES[reason]}]
        hold.record(ReleaseHoldPlaced(at=at, by=author.user_id, hold_id=id, order_id=order_id, patient_id=patient_id,
                                      expires_at=expires_at))
        return hold

    def is_active(self, now: datetime) -> bool:
        """True while it holds the report back (placed, not lifted, and its end not reached)."""
        return self.state is HoldState.ACTIVE and self.placed_at <= now < self.expires_at

    def end_time(self, now: datetime) -> datetime | None:
        """When it stopped holding (lifted, expired or its end passed), or None while active."""
        if self.ended_at is not None:
            return self.ended_at
        return self.expires_at if now >= self.expires_at else None

    def _end(self, event: HoldEvent, *, at: datetime, by: str, reason: str) -> None:
        self.state = next_hold_state(self.state, event)
        self.ended_at, self.ended_by, self.end_reason = at, by, reason.strip()
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": event.value, "note": reason.strip()}]
        self.record(ReleaseHoldEnded(at=at, by=by, hold_id=self.id, order_id=self.order_id,
                                     patient_id=self.patient_id))

    def lift(self, *, author: HoldAuthor, at: datetime, reason: str) -> None:
        """End the hold now: the patient ends their own request; a clinician ends a determination."""
        if not author.is_person:
            raise Forbidden("a hold is lifted by the patient or a clinician, not by a system component")
        if self.reason is HoldReason.PREVENTING_HARM and author.role == "patient":
            # 171.201(f): the patient may ask for the determination to be reviewed; the review lifts it.
            raise Forbidden("a preventing-harm hold is lifted by a clinician; ask for its review (45 CFR 171.201(f))")
        if author.role == "patient" and author.patient_id != self.patient_id:
            raise Forbidden("only the patient whose report it is may lift their own request")
        self._end(HoldEvent.LIFT, at=at, by=author.user_id, reason=reason or "lifted")

    def expire(self, *, at: datetime) -> bool:
        """End the hold because its time ran out; False when it had already ended or is not due."""
        if self.state is not HoldState.ACTIVE or at < self.expires_at:
            return False
        self._end(HoldEvent.EXPIRE, at=at, by="system:results", reason="the hold's time ran out")
        return True


def check_hold(*, reason: HoldReason, explanation: str, author: HoldAuthor, patient_id: str, at: datetime,
               expires_at: datetime, max_days: int) -> None:
    """Refuse a hold the rule does not allow (no person, no reason, no end, or a clinician's without a license)."""
    if not author.is_person:
        raise Forbidden("a hold on a patient's report is an individual decision by a person; no rule, job or "
                        "setting places one (a blanket delay is information blocking, 45 CFR 171.103)")
    if reason is HoldReason.PREVENTING_HARM:
        if author.role not in CLINICIAN_ROLES:
            raise Forbidden("a preventing-harm determination is made by a licensed clinician (45 CFR 171.201(c))")
        if len(explanation.strip()) < MIN_HARM_REASON:
            raise ValidationError("write the individual determination: the risk to life or physical safety this "
                                  "patient's access would create (45 CFR 171.201(c))", field="explanation")
    elif author.role == "patient" and author.patient_id != patient_id:
        raise Forbidden("a patient may ask to hold back only their own report")
    elif author.role != "patient" and not explanation.strip():
        raise ValidationError("record how the patient asked (at the desk, by phone, in writing)", field="explanation")
    if expires_at <= at:
        raise ValidationError("a hold must end after it starts", field="expires_at")
    if expires_at - at > timedelta(days=max_days):
        raise ValidationError(f"a hold runs at most {max_days} days; renew it with a new determination if the "
                              "reason still holds then", field="expires_at")


def released_since(signed_at: datetime | None, holds: Iterable[ReleaseHold], now: datetime) -> datetime | None:
    """Since when the patient may see the report: its signing, unless one of its own holds is active now."""
    if signed_at is None:
        return None
    ends = []
    for hold in holds:
        if hold.is_active(now):
            return None
        end = hold.end_time(now)
        if end is not None and end > signed_at and hold.placed_at <= end:
            ends.append(end)
    return max([signed_at, *ends])


# -- who tells the patient ------------------------------------------------------------------------


class Responsible(StrEnum):
    """Who communicates a result to the patient."""

    CENTER = "center"
    ORDERING_PROVIDER = "ordering_provider"


MQSA_BASIS: Final = "MQSA: the facility sends the patient a lay summary of every mammogram (21 CFR 900.12(c)(2))"


@dataclass(eq=False)
class ResultCommunication(Aggregate):
    """Who is responsible for telling the patient about one order's result, and on what basis."""

    order_id: str
    patient_id: str
    responsible: Responsible
    basis: str
    set_by: str
    set_at: datetime
    log: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1

    def change(self, responsible: Responsible, *, basis: str, by: str, at: datetime, is_mammogram: bool) -> None:
        """Record a new responsible party (a mammogram's stays with the facility: MQSA)."""
        if is_mammogram and responsible is not Responsible.CENTER:
            raise ValidationError(MQSA_BASIS + "; the facility stays responsible", field="responsible")
        if not basis.strip():
            raise ValidationError("say why (the agreement with the provider, the patient's wish)", field="basis")
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "from": self.responsible.value,
                                "to": responsible.value, "basis": basis.strip()}]
        self.responsible, self.basis, self.set_by, self.set_at = responsible, basis.strip(), by, at


def default_responsibility(*, is_mammogram: bool, center_tells_patients: bool) -> tuple[Responsible, str]:
    """Who tells the patient when nobody said otherwise."""
    if is_mammogram:
        return Responsible.CENTER, MQSA_BASIS
    if center_tells_patients:
        return Responsible.CENTER, "the center's setting: the center tells patients their results"
    return Responsible.ORDERING_PROVIDER, "default: the ordering provider discusses the result with the patient"
