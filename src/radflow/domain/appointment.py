"""Appointment: one exam booked on one scanner lane at one time, with its own one-table state machine.

An appointment belongs to one order (one accession). It changes together with its order in one unit
of work (DESIGN §1: booking moves the Appointment and the Order); the Order's state stays the
pipeline's truth. Times are timezone-aware UTC; `start`/`end` are the scanner's occupancy, and
`patient_from` is when the patient is first needed for this exam (a tracer injection before its
uptake wait), so that one patient's exams never overlap including those waits.

Lanes: lane 0 is the scanner's own schedule. A numbered lane above 0 is an overbooking lane, used
only under an explicit, audited policy; the database forbids overlap within each lane.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import InvalidTransition, ValidationError
from radflow.domain.events import DomainEvent


class AppointmentState(StrEnum):
    """Where an appointment stands."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class AppointmentEvent(StrEnum):
    """What happens to an appointment."""

    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    ATTEND = "attend"
    MARK_NO_SHOW = "mark_no_show"


AS = AppointmentState
AE = AppointmentEvent

TRANSITIONS: Final[Mapping[tuple[AppointmentState, AppointmentEvent], AppointmentState]] = {
    (AS.BOOKED, AE.RESCHEDULE): AS.BOOKED,  # moved to another time or scanner: same appointment
    (AS.BOOKED, AE.CANCEL): AS.CANCELLED,
    (AS.BOOKED, AE.ATTEND): AS.ATTENDED,  # the patient checked in
    (AS.BOOKED, AE.MARK_NO_SHOW): AS.NO_SHOW,
}

#: Only booked appointments hold capacity (the database's overlap rules look at these alone).
HOLDS_CAPACITY: Final = frozenset({AS.BOOKED})


def next_appointment_state(state: AppointmentState, event: AppointmentEvent) -> AppointmentState:
    """Return the state `event` leads to from `state`, or raise InvalidTransition."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise InvalidTransition(state.value, event.value, aggregate="appointment")
    return target


@dataclass(frozen=True, kw_only=True)
class AppointmentFacts(DomainEvent):
    """What every appointment event carries: whose exam, where, when (UTC) and on which lane."""

    appointment_id: str
    order_id: str
    patient_id: str
    scanner_id: str
    site_id: str
    start: datetime
    end: datetime
    lane: int


@dataclass(frozen=True, kw_only=True)
class AppointmentBooked(AppointmentFacts):
    """An exam was booked on a scanner lane."""


@dataclass(frozen=True, kw_only=True)
class AppointmentRescheduled(AppointmentFacts):
    """An appointment moved; the fields give the new place and time, `previous_*` the old ones."""

    previous_scanner_id: str
    previous_site_id: str
    previous_start: datetime
    previous_end: datetime
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class AppointmentCancelled(AppointmentFacts):
    """An appointment was cancelled; its capacity is free again."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class AppointmentAttended(AppointmentFacts):
    """The patient came (checked in) for the appointment."""


@dataclass(frozen=True, kw_only=True)
class AppointmentNoShow(AppointmentFacts):
    """The patient did not come; counts towards their no-show history."""


@dataclass(frozen=True)
class Placement:
    """Where and when an exam runs: scanner, site, lane and the scanner's occupancy in UTC."""

    scanner_id: str
    site_id: str
    start: datetime
    end: datetime
    lane: int = 0
    patient_from: datetime | None = None  # defaults to `start` (no wait before the scan)

    def __post_init__(self) -> None:
        for moment in (self.start, self.end, self.patient_from):
            if moment is not None and moment.tzinfo is None:
                raise ValidationError("appointment times must be timezone-aware UTC instants", field="start")
        if self.end <= self.start:
            raise ValidationError("an appointment must end after it starts", field="end")
        if self.lane < 0:
            raise ValidationError("a lane is 0 (the scanner's own) or a numbered overbooking lane", field="lane")
        if self.patient_from is not None and self.patient_from > self.start:
            raise ValidationError("the patient cannot be needed only after the scan starts", field="patient_from")

    @property
    def minutes(self) -> int:
        """Scanner minutes occupied."""
        return int((self.end - self.start) / timedelta(minutes=1))


@dataclass(eq=False)
class Appointment(Aggregate):
    """One booked exam on a scanner lane; its own state machine, moved with its order."""

    id: str
    order_id: str
    patient_id: str
    scanner_id: str
    site_id: str
    lane: int
    start: datetime
    end: datetime
    patient_from: datetime
    state: AppointmentState
    booked_at: datetime
    booked_by: str
    visit_id: str = ""  # appointments of one patient's multi-exam visit share it
    overbooking_policy: str = ""  # set when booked on a lane above 0: which audited policy allowed it
    cancel_reason: str = ""
    version: int = 1  # optimistic-locking counter, advanced by the database adapter on each update
    log: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def book(
        cls,
        *,
        appointment_id: str,
        order_id: str,
        patient_id: str,
        placement: Placement,
        by: str,
        at: datetime,
        visit_id: str = "",
        overbooking_policy: str = "",
    ) -> Appointment:
        """A new booked appointment, with its first log line and an AppointmentBooked event."""
        if placement.lane > 0 and not overbooking_policy.strip():
            raise ValidationError("an overbooking lane needs the policy that allows it", field="lane")
        appointment = cls(
            id=appointment_id, order_id=order_id, patient_id=patient_id, scanner_id=placement.scanner_id,
            site_id=placement.site_id, lane=placement.lane, start=placement.start, end=placement.end,
            patient_from=placement.patient_from or placement.start, state=AS.BOOKED, booked_at=at, booked_by=by,
            visit_id=visit_id, overbooking_policy=overbooking_policy.strip(),
        )
        appointment.log = [_line(at, by, "book", None, AS.BOOKED, appointment._where())]
        appointment.record(AppointmentBooked(at=at, by=by, **appointment._facts()))
        return appointment

    def reschedule(self, placement: Placement, *, by: str, at: datetime, reason: str = "",
                   overbooking_policy: str = "") -> None:
        """Move the appointment to another scanner, lane or time."""
        if placement.lane > 0 and not overbooking_policy.strip():
            raise ValidationError("an overbooking lane needs the policy that allows it", field="lane")
        target = next_appointment_state(self.state, AE.RESCHEDULE)
        previous = (self.scanner_id, self.site_id, self.start, self.end)
        self.scanner_id, self.site_id, self.lane = placement.scanner_id, placement.site_id, placement.lane
        self.start, self.end = placement.start, placement.end
        self.patient_from = placement.patient_from or placement.start
        self.overbooking_policy = overbooking_policy.strip()
        self.state = target
        self.log = [*self.log, _line(at, by, AE.RESCHEDULE, AS.BOOKED, target, self._where(), reason)]
        self.record(AppointmentRescheduled(
            at=at, by=by, **self._facts(), previous_scanner_id=previous[0], previous_site_id=previous[1],
            previous_start=previous[2], previous_end=previous[3], reason=reason.strip(),
        ))

    def cancel(self, *, reason: str, by: str, at: datetime) -> None:
        """Cancel the appointment (its capacity is free again); a reason is required."""
        if not reason.strip():
            raise ValidationError("cancelling an appointment needs a reason", field="reason")
        self._apply(AE.CANCEL, by=by, at=at, note=reason)
        self.cancel_reason = reason.strip()
        self.record(AppointmentCancelled(at=at, by=by, **self._facts(), reason=self.cancel_reason))

    def attend(self, *, by: str, at: datetime) -> None:
        """The patient came: checked in for this appointment."""
        self._apply(AE.ATTEND, by=by, at=at)
        self.record(AppointmentAttended(at=at, by=by, **self._facts()))

    def mark_no_show(self, *, by: str, at: datetime) -> None:
        """The patient did not come."""
        self._apply(AE.MARK_NO_SHOW, by=by, at=at)
        self.record(AppointmentNoShow(at=at, by=by, **self._facts()))

    @property
    def placement(self) -> Placement:
        """Where and when this appointment runs."""
        return Placement(self.scanner_id, self.site_id, self.start, self.end, self.lane, self.patient_from)

    @property
    def holds_capacity(self) -> bool:
        """True while booked: the scanner lane and the patient are taken for this time."""
        return self.state in HOLDS_CAPACITY

    @property
    def minutes(self) -> int:
        """Scanner minutes occupied."""
        return self.placement.minutes

    def _apply(self, event: AppointmentEvent, *, by: str, at: datetime, note: str = "") -> None:
        target = next_appointment_state(self.state, event)
        self.log = [*self.log, _line(at, by, event, self.state, target, self._where(), note)]
        self.state = target

    def _where(self) -> str:
        return f"{self.scanner_id} lane {self.lane} {self.start.isoformat()}–{self.end.isoformat()}"

    def _facts(self) -> dict[str, Any]:
        return {"appointment_id": self.id, "order_id": self.order_id, "patient_id": self.patient_id,
                "scanner_id": self.scanner_id, "site_id": self.site_id, "start": self.start, "end": self.end,
                "lane": self.lane}


def _line(at: datetime, by: str, event: str, source: AppointmentState | None, target: AppointmentState,
          where: str, note: str = "") -> dict[str, Any]:
    return {"at": at.isoformat(), "by": by, "event": str(event), "from": source.value if source else None,
            "to": target.value, "where": where, "note": note.strip()}
