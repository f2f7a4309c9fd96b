"""Follow-up items: a recommendation with a due date, tracked until the exam is done (or closed with a reason).

Items come from a signed report's structured RADS results (the calculator's interval and modality),
from its text (recommendations the extraction finds asserted — not negated, not conditional), and
from outside reports received by HL7. An item has its own one-table state machine:

    open ──become_overdue──▶ overdue
     │  ╲                      │
     │   complete / close ─────┤──▶ completed (a matching exam was performed) / closed (with a reason)
     └──remind (stays)         └──remind (stays)          closed ──reopen──▶ open

It completes itself when an exam of the same patient, the same modality (DX and CR count as one) and
the same body region reaches `imaging_completed` after the recommendation was made. A
recommendation with no modality (a biopsy) is closed by a person, with what was done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import InvalidTransition, ValidationError


class FollowUpState(StrEnum):
    """Where a follow-up item stands."""

    OPEN = "open"
    OVERDUE = "overdue"  # past its due date and the grace period; escalated
    COMPLETED = "completed"  # a matching exam was performed
    CLOSED = "closed"  # closed by a person, with the reason (declined, done elsewhere, not indicated)


class FollowUpEvent(StrEnum):
    """What happens to a follow-up item."""

    REMIND = "remind"
    BECOME_OVERDUE = "become_overdue"
    COMPLETE = "complete"
    CLOSE = "close"
    REOPEN = "reopen"


class FollowUpSource(StrEnum):
    """Where the recommendation came from."""

    RADS = "rads"  # a structured RADS result of radflow's own report
    REPORT_TEXT = "report_text"  # the text of radflow's own report
    OUTSIDE_REPORT = "outside_report"  # an outside reading received as ORU^R01


F = FollowUpState
FE = FollowUpEvent

TRANSITIONS: Final[Mapping[tuple[FollowUpState, FollowUpEvent], FollowUpState]] = {
    (F.OPEN, FE.REMIND): F.OPEN,
    (F.OVERDUE, FE.REMIND): F.OVERDUE,
    (F.OPEN, FE.BECOME_OVERDUE): F.OVERDUE,
    (F.OPEN, FE.COMPLETE): F.COMPLETED,
    (F.OVERDUE, FE.COMPLETE): F.COMPLETED,
    (F.OPEN, FE.CLOSE): F.CLOSED,
    (F.OVERDUE, FE.CLOSE): F.CLOSED,
    (F.CLOSED, FE.REOPEN): F.OPEN,
}

OPEN_STATES: Final = frozenset({F.OPEN, F.OVERDUE})

#: Modalities that count as the same exam for closing an item (DESIGN §1: "XR" groups DX and CR).
_SAME_MODALITY: Final = {"CR": "DX", "DX": "DX"}


def next_followup_state(state: FollowUpState, event: FollowUpEvent) -> FollowUpState:
    """The state `event` leads to, or InvalidTransition."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise InvalidTransition(state.value, event.value, aggregate="follow-up")
    return target


def same_modality(a: str, b: str) -> bool:
    """True when two DICOM modality codes are the same exam for follow-up purposes."""
    return _SAME_MODALITY.get(a, a) == _SAME_MODALITY.get(b, b)


@dataclass(frozen=True)
class Recommendation:
    """A follow-up recommendation ready to become an item (pure; from a RADS result or a sentence)."""

    source: FollowUpSource
    text: str
    modality: str | None
    body_region: str
    procedure: str
    due_date: date
    due_date_latest: date | None
    rule: str
    rule_source: str


def from_rads(*, system: str, category: str, management: str, modality: str | None, procedure: str | None,
              interval_days: int | None, interval_days_max: int | None, rule_id: str, rule_source: str,
              body_region: str, source_date: date, default_days: int) -> Recommendation | None:
    """A RADS result's next step as a recommendation (None when the calculator recommends nothing)."""
    if interval_days is None and not procedure:
        return None
    days = interval_days if interval_days is not None else default_days
    latest = source_date + timedelta(days=interval_days_max) if interval_days_max else None
    # A next step in another modality (breast MRI after a mammogram) keeps the report's body region.
    return Recommendation(
        source=FollowUpSource.RADS, text=f"{system} {category}: {management}".strip(), modality=modality,
        body_region=body_region, procedure=procedure or "", due_date=source_date + timedelta(days=days),
        due_date_latest=latest if latest and latest > source_date + timedelta(days=days) else None,
        rule=rule_id, rule_source=rule_source)


def from_sentence(*, source: FollowUpSource, sentence: str, exam: str, modality: str | None, procedure: str,
                  interval_days: int | None, interval_days_max: int | None, due_date: date | None,
                  body_region: str, source_date: date, default_days: int) -> Recommendation:
    """A recommendation the text extraction found (asserted: the caller drops negated and conditional ones)."""
    days = interval_days if interval_days is not None else default_days
    due = due_date or source_date + timedelta(days=days)
    latest = source_date + timedelta(days=interval_days_max) if interval_days_max else None
    note = "" if interval_days is not None or due_date else f" (no interval given: due in {default_days} days)"
    return Recommendation(
        source=source, text=sentence.strip()[:1000], modality=modality, body_region=body_region,
        procedure=procedure or exam, due_date=due, due_date_latest=latest if latest and latest > due else None,
        rule=f"text: {exam}"[:200], rule_source="extracted from the report text" + note)


def merge_recommendations(structured: Sequence[Recommendation], text: Sequence[Recommendation],
                          *, window_days: int = 45) -> list[Recommendation]:
    """Structured results first; a sentence saying the same (same modality, due within the window) is dropped."""
    kept = list(dict.fromkeys(structured))
    for candidate in text:
        duplicate = any(candidate.modality == other.modality
                        and abs((candidate.due_date - other.due_date).days) <= window_days for other in kept)
        if not duplicate:
            kept.append(candidate)
    return kept


@dataclass(frozen=True)
class PerformedExam:
    """An exam that reached `imaging_completed`: what may close a follow-up item."""

    order_id: str
    patient_id: str
    accession_number: str
    modality: str
    body_region: str
    performed_at: datetime


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder before the due date: to whom, and on which day."""

    to: str  # "provider" or "patient"
    days_before: int
    day: date


def reminder_plan(due_date: date, created_on: date, *, provider_days: Iterable[int],
                  patient_days: Iterable[int]) -> list[PlannedReminder]:
    """The reminders of an item: each on its day before the due date; a day already past is today."""
    plan = []
    for to, days in (("provider", provider_days), ("patient", patient_days)):
        for before in sorted(set(days), reverse=True):
            day = due_date - timedelta(days=before)
            if due_date <= created_on:
                continue  # due already when made: the overdue escalation, not a reminder, is what follows
            plan.append(PlannedReminder(to=to, days_before=before, day=max(day, created_on)))
    # Two reminders that fall on the same day to the same person are one.
    unique = {(p.to, p.day): p for p in plan}
    return sorted(unique.values(), key=lambda p: (p.day, p.to))


@dataclass(eq=False)
class FollowUp(Aggregate):
    """A recommended next step for one patient, with its due date, tracked until done."""

    id: str
    key: str  # unique: the source and the recommendation — a second run makes nothing twice
    patient_id: str
    source: FollowUpSource
    source_order_id: str
    source_accession: str
    recommendation: str
    modality: str | None
    body_region: str
    procedure: str
    due_date: date
    created_at: datetime
    state: FollowUpState = FollowUpState.OPEN
    source_report_id: str = ""
    due_date_latest: date | None = None
    rule: str = ""
    rule_source: str = ""
    responsible_npi: str = ""
    responsible_name: str = ""
    reminders: list[dict[str, Any]] = field(default_factory=list)
    overdue_at: datetime | None = None
    escalated_to: list[str] = field(default_factory=list)
    completed_at: datetime | None = None
    completed_by_order_id: str = ""
    completed_accession: str = ""
    closed_reason: str = ""
    closed_by: str = ""
    log: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1

    @classmethod
    def open_from(cls, recommendation: Recommendation, *, id: str, key: str, patient_id: str, source_order_id: str,
                  source_accession: str, source_report_id: str, responsible_npi: str, responsible_name: str,
                  at: datetime) -> FollowUp:
        """A new open item for a recommendation."""
        if not patient_id:
            raise ValidationError("a follow-up belongs to a patient", field="patient_id")
        item = cls(id=id, key=key[:300], patient_id=patient_id, source=recommendation.source,
                   source_order_id=source_order_id, source_accession=source_accession,
                   recommendation=recommendation.text, modality=recommendation.modality,
                   body_region=recommendation.body_region, procedure=recommendation.procedure,
                   due_date=recommendation.due_date, due_date_latest=recommendation.due_date_latest,
                   created_at=at, source_report_id=source_report_id, rule=recommendation.rule,
                   rule_source=recommendation.rule_source, responsible_npi=responsible_npi,
                   responsible_name=responsible_name)
        item.log = [{"at": at.isoformat(), "by": "system:followups", "event": "open", "note": recommendation.rule}]
        return item

    @property
    def is_open(self) -> bool:
        """True until completed or closed."""
        return self.state in OPEN_STATES

    def _apply(self, event: FollowUpEvent, *, at: datetime, by: str, note: str = "") -> None:
        source = self.state
        self.state = next_followup_state(source, event)
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": event.value, "from": source.value,
                                "to": self.state.value, "note": note}]

    @property
    def round(self) -> int:
        """How many times the item was reopened (each reopening plans its reminders again)."""
        return sum(1 for line in self.log if line.get("event") == FE.REOPEN.value)

    def was_reminded(self, to: str, days_before: int) -> bool:
        """True when this reminder already went out (in the current round)."""
        return any(r["to"] == to and r["days_before"] == days_before and r.get("round", 0) == self.round
                   for r in self.reminders)

    def remind(self, *, to: str, days_before: int, at: datetime, channel: str, address: str, by: str) -> None:
        """Record a reminder sent to the provider or the patient."""
        self._apply(FE.REMIND, at=at, by=by, note=f"{to} by {channel}")
        self.reminders = [*self.reminders, {"to": to, "days_before": days_before, "at": at.isoformat(),
                                            "channel": channel, "address": address, "round": self.round}]

    def become_overdue(self, *, at: datetime, told: list[str], by: str) -> None:
        """Past due and its grace period: escalated to those told."""
        self._apply(FE.BECOME_OVERDUE, at=at, by=by, note=", ".join(told))
        self.overdue_at, self.escalated_to = at, list(told)

    def matches(self, exam: PerformedExam) -> bool:
        """True when `exam` is the recommended follow-up (same patient, modality and region, done after)."""
        if not self.is_open or self.modality is None or exam.patient_id != self.patient_id:
            return False
        if exam.order_id == self.source_order_id or exam.performed_at <= self.created_at:
            return False
        if not same_modality(exam.modality, self.modality):
            return False
        return not self.body_region or not exam.body_region or exam.body_region == self.body_region

    def complete(self, exam: PerformedExam, *, by: str) -> None:
        """The follow-up exam was performed: the item closes itself."""
        self._apply(FE.COMPLETE, at=exam.performed_at, by=by, note=exam.accession_number)
        self.completed_at = exam.performed_at
        self.completed_by_order_id, self.completed_accession = exam.order_id, exam.accession_number

    def close(self, *, reason: str, at: datetime, by: str) -> None:
        """Close without a matching exam here, with the reason (done elsewhere, declined, not indicated)."""
        if not reason.strip():
            raise ValidationError("closing a follow-up needs the reason (done elsewhere, declined, not indicated)",
                                  field="reason")
        self._apply(FE.CLOSE, at=at, by=by, note=reason.strip())
        self.closed_reason, self.closed_by = reason.strip(), by

    def reopen(self, *, reason: str, at: datetime, by: str) -> None:
        """Reopen a closed item (closed by mistake)."""
        if not reason.strip():
            raise ValidationError("reopening needs a reason", field="reason")
        self._apply(FE.REOPEN, at=at, by=by, note=reason.strip())
        self.closed_reason, self.closed_by = "", ""

    def is_due_within(self, today: date, days: int) -> bool:
        """True when open and due within `days` of `today` (or already past)."""
        return self.is_open and (self.due_date - today).days <= days
