"""Distribution: one report (or letter about it) going to one recipient on one channel, and what became of it.

A signed report goes to the ordering provider's inbox and to every copied provider's, to the placer's
EHR as an ORU (the HL7 outbound queue's job, mirrored here), and to the patient's portal; a mammogram
adds the MQSA lay letter, a normal result the patient notice where the center is responsible. Each
such delivery is one `Distribution` with its own one-table state machine:

    pending ──send──▶ sent ──deliver──▶ delivered ──open──▶ opened
       │                 │                  │ ▲
       └──deliver────────┼──────────────────┘ └─escalate─▶ escalated ──open──▶ opened
       fail / cancel     fail ──▶ failed ──resend──▶ pending

Posting to a radflow inbox or the portal is delivery; a letter or an e-mail is `sent` once the
gateway took it; an ORU is delivered when the partner's ACK accepted it. The first time a recipient
opens the report is kept (who, when); later openings only count. An actionable report not opened
in time is escalated (a durable deadline job), once.

`ResultsPolicy` holds this area's configurable deadlines. It has, on purpose, no way to delay the
patient's release of a whole category of results: a blanket delay for clinician review is information
blocking (45 CFR 171.103); see `radflow.domain.release`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import InvalidTransition, ValidationError


class DistributionState(StrEnum):
    """Where one delivery stands."""

    PENDING = "pending"  # planned (a held patient release, a letter not yet printed, an ORU queued)
    SENT = "sent"  # the channel took it (gateway accepted the e-mail, the letter went to the mail)
    DELIVERED = "delivered"  # in the recipient's inbox or portal, or the EHR acknowledged the ORU
    OPENED = "opened"  # the recipient opened it (first opening recorded)
    ESCALATED = "escalated"  # actionable and not opened in time: others were told
    FAILED = "failed"  # the channel gave up (an ORU in the dead-letter queue)
    CANCELLED = "cancelled"  # no longer due (a notice the patient no longer needs)


class DistributionEvent(StrEnum):
    """What happens to a delivery."""

    SEND = "send"
    DELIVER = "deliver"
    OPEN = "open"
    ESCALATE = "escalate"
    FAIL = "fail"
    RESEND = "resend"
    CANCEL = "cancel"


class Purpose(StrEnum):
    """Why something goes out."""

    REPORT = "report"  # the report itself (inbox, ORU, portal)
    LAY_LETTER = "lay_letter"  # MQSA lay summary of a mammogram (21 CFR 900.12(c)(2))
    RESULT_NOTICE = "result_notice"  # a normal result told to the patient, where the center is responsible


class RecipientKind(StrEnum):
    """Who receives it."""

    ORDERING_PROVIDER = "ordering_provider"
    COPIED_PROVIDER = "copied_provider"
    PLACER_SYSTEM = "placer_system"  # the ordering EHR, by ORU^R01
    PATIENT = "patient"


class DeliveryChannel(StrEnum):
    """How it goes."""

    INBOX = "inbox"  # the referring provider's radflow inbox
    HL7 = "hl7"
    PORTAL = "portal"  # the patient's radflow portal
    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"  # printed and mailed


S = DistributionState
E = DistributionEvent

TRANSITIONS: Final[Mapping[tuple[DistributionState, DistributionEvent], DistributionState]] = {
    (S.PENDING, E.SEND): S.SENT,
    (S.PENDING, E.DELIVER): S.DELIVERED,  # posting to an inbox or the portal is delivery
    (S.SENT, E.DELIVER): S.DELIVERED,
    (S.PENDING, E.FAIL): S.FAILED,
    (S.SENT, E.FAIL): S.FAILED,
    (S.FAILED, E.RESEND): S.PENDING,
    (S.DELIVERED, E.OPEN): S.OPENED,
    (S.ESCALATED, E.OPEN): S.OPENED,
    (S.OPENED, E.OPEN): S.OPENED,  # later openings are counted; the first stays recorded
    (S.DELIVERED, E.ESCALATE): S.ESCALATED,
    (S.PENDING, E.CANCEL): S.CANCELLED,
    (S.FAILED, E.CANCEL): S.CANCELLED,
}

#: States in which the recipient has it (or the channel took it): a deadline to send is met.
DONE_STATES: Final = frozenset({S.SENT, S.DELIVERED, S.OPENED, S.ESCALATED})


def next_distribution_state(state: DistributionState, event: DistributionEvent) -> DistributionState:
    """The state `event` leads to from `state`, or InvalidTransition."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise InvalidTransition(state.value, event.value, aggregate="distribution")
    return target


@dataclass(eq=False)
class Distribution(Aggregate):
    """One report, letter or notice to one recipient on one channel."""

    id: str
    key: str  # unique: report, version, purpose, recipient, channel — a second run creates nothing
    report_id: str
    order_id: str
    patient_id: str
    accession_number: str
    purpose: Purpose
    recipient_kind: RecipientKind
    recipient_ref: str  # the provider's NPI, the patient's id, the placer system
    recipient_name: str
    channel: DeliveryChannel
    state: DistributionState
    created_at: datetime
    report_version: int = 0  # 0: as signed; n: with addendum n
    address: str = ""
    due_at: datetime | None = None  # when it must have gone out (MQSA, normal-result notices)
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    first_opened_at: datetime | None = None
    first_opened_by: str = ""
    first_opened_by_name: str = ""
    open_count: int = 0
    actionable: bool = False
    actionable_reasons: list[str] = field(default_factory=list)
    escalated_at: datetime | None = None
    escalated_to: list[str] = field(default_factory=list)
    job_key: str = ""  # the outbound job that carries it (the HL7 engineer's ORU job)
    gateway_reference: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1

    def _apply(self, event: DistributionEvent, *, at: datetime, by: str, note: str = "") -> DistributionState:
        source = self.state
        self.state = next_distribution_state(source, event)
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": event.value, "from": source.value,
                                "to": self.state.value, "note": note}]
        return self.state

    @property
    def is_done(self) -> bool:
        """True once the channel took it (sent, delivered, opened or escalated)."""
        return self.state in DONE_STATES

    def is_late(self, now: datetime) -> bool:
        """True when it had to be out by `due_at` and is not (or went out after it)."""
        if self.due_at is None:
            return False
        if self.is_done:
            moment = self.sent_at or self.delivered_at
            return moment is not None and moment > self.due_at
        return now > self.due_at

    def send(self, *, at: datetime, by: str, reference: str = "") -> None:
        """The channel took it (e-mail accepted, letter printed for the mail, ORU queued out)."""
        self._apply(E.SEND, at=at, by=by, note=reference)
        self.sent_at = at
        self.gateway_reference = reference or self.gateway_reference

    def deliver(self, *, at: datetime, by: str, note: str = "") -> None:
        """It reached the recipient (inbox or portal posted, ORU accepted)."""
        self._apply(E.DELIVER, at=at, by=by, note=note)
        self.delivered_at = at
        if self.sent_at is None:
            self.sent_at = at

    def open(self, *, at: datetime, by: str, by_name: str) -> bool:
        """The recipient opened it; True the first time (only then is who and when recorded)."""
        first = self.first_opened_at is None
        if self.state is S.OPENED and not first:
            self.open_count += 1
            return False
        self._apply(E.OPEN, at=at, by=by)
        self.open_count += 1
        if first:
            self.first_opened_at, self.first_opened_by, self.first_opened_by_name = at, by, by_name
        return first

    def escalate(self, *, at: datetime, by: str, told: list[str], reason: str) -> None:
        """Not opened in time: record whom the escalation told."""
        self._apply(E.ESCALATE, at=at, by=by, note=reason)
        self.escalated_at = at
        self.escalated_to = list(told)

    def fail(self, *, at: datetime, by: str, reason: str) -> None:
        """The channel gave up."""
        self._apply(E.FAIL, at=at, by=by, note=reason)

    def resend(self, *, at: datetime, by: str, reason: str) -> None:
        """Try a failed delivery again."""
        self._apply(E.RESEND, at=at, by=by, note=reason)

    def cancel(self, *, at: datetime, by: str, reason: str) -> None:
        """No longer due; the reason is kept."""
        if not reason.strip():
            raise ValidationError("cancelling a delivery needs a reason", field="reason")
        self._apply(E.CANCEL, at=at, by=by, note=reason)

    def flag_missed_deadline(self, *, at: datetime) -> None:
        """Its due time passed before it went out: kept on the record for the tracking screens."""
        self.details = {**self.details, "deadline_missed_at": at.isoformat()}
        self.log = [*self.log, {"at": at.isoformat(), "by": "system:results", "event": "deadline_missed",
                                "from": self.state.value, "to": self.state.value, "note": ""}]

    def awaits_opening(self) -> bool:
        """True while an actionable delivery sits unopened in the recipient's hands."""
        return self.actionable and self.state is S.DELIVERED and self.first_opened_at is None


def distribution_key(report_id: str, version: int, purpose: Purpose, kind: RecipientKind, ref: str,
                     channel: DeliveryChannel) -> str:
    """The delivery's unique key: the same report to the same recipient on the same channel exists once."""
    return f"{report_id}:{version}:{purpose.value}:{kind.value}:{ref}:{channel.value}"[:300]


def job_state_to_event(job_state: str) -> DistributionEvent | None:
    """What the state of the outbound ORU job means for its distribution (read, never written, here)."""
    # The HL7 engineer's job: done = the partner's ACK accepted it (AA/CA); dead = retries exhausted.
    return {"done": E.DELIVER, "dead": E.FAIL}.get(job_state)


# -- the area's settings ------------------------------------------------------------------------


#: Setting names that would hold back results from patients; refused with the rule cited.
_RELEASE_DELAY_WORDS: Final = ("release_delay", "release_hold", "embargo", "patient_delay", "delay_release")


@dataclass(frozen=True)
class ResultsPolicy:
    """Configurable deadlines of distribution, patient communication and follow-up tracking."""

    # An actionable report not opened by the provider within this many hours is escalated.
    unopened_escalation_hours: float = 72.0
    # A normal result the center is responsible for telling the patient: sent within this many days.
    normal_result_notice_days: int = 14
    # Follow-up reminders: days before the due date, to the provider and to the patient.
    followup_provider_reminder_days: tuple[int, ...] = (30, 7)
    followup_patient_reminder_days: tuple[int, ...] = (14,)
    # An open follow-up this many days past its due date is overdue and escalated.
    followup_overdue_grace_days: int = 14
    # A recommendation with no interval ("recommend MRI for further evaluation") is due in this many days.
    followup_default_days: int = 30
    # Local hour at which reminders go out (the center's zone).
    reminder_hour: int = 9
    # The longest a single hold on one patient's report may run before it must be renewed.
    hold_max_days: int = 30
    # Orders (other than mammograms: MQSA puts those on the facility) whose results the center, not the
    # ordering provider, tells the patient about.
    center_tells_patients: bool = False

    def __post_init__(self) -> None:
        if self.unopened_escalation_hours <= 0:
            raise ValidationError("unopened_escalation_hours must be positive", field="unopened_escalation_hours")
        for name in ("normal_result_notice_days", "followup_overdue_grace_days", "followup_default_days",
                     "hold_max_days"):
            if getattr(self, name) < 0 or (name == "hold_max_days" and self.hold_max_days < 1):
                raise ValidationError(f"{name} must be a positive number of days", field=name)
        if not 0 <= self.reminder_hour <= 23:
            raise ValidationError("reminder_hour must be an hour of the day (0-23)", field="reminder_hour")

    @property
    def unopened_escalation(self) -> timedelta:
        """How long an actionable report may stay unopened."""
        return timedelta(hours=self.unopened_escalation_hours)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> ResultsPolicy:
        """Read settings (a site's file or environment); unknown names and release delays are refused."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if any(word in name.lower() for word in _RELEASE_DELAY_WORDS):
                raise ValidationError(
                    f"'{name}': radflow has no setting that delays the release of results to patients. Results "
                    "are released when the report is signed (21st Century Cures Act); a blanket delay for "
                    "clinician review is information blocking (45 CFR 171.103). Hold one patient's report "
                    "instead, at their request or on a clinician's individual preventing-harm determination "
                    "(45 CFR 171.201, 171.202).", field=name)
            if name not in known:
                raise ValidationError(f"unknown results setting '{name}'; known: {', '.join(sorted(known))}",
                                      field=name)
            values[name] = tuple(int(v) for v in value) if name.endswith("reminder_days") else value
        return cls(**values)


# -- which reports are actionable (catalog/results/actionable.yaml) -----------------------------


@dataclass(frozen=True)
class ActionableRule:
    """When a RADS system's result needs action: listed categories, or any recommended next step."""

    system: str
    categories: frozenset[str]
    on_follow_up: bool
    source: str


@dataclass(frozen=True)
class ActionableRules:
    """The actionable-report rules, as data."""

    rads: Mapping[str, ActionableRule]
    critical_result: bool
    text_recommendation: bool
    source: str


def parse_actionable_rules(raw: object, *, origin: str = "actionable.yaml") -> ActionableRules:
    """Validate the actionable-report rules: each RADS rule names its system, its trigger and its source."""
    if not isinstance(raw, Mapping):
        raise ValidationError(f"{origin}: expected a mapping at the top")
    rules: dict[str, ActionableRule] = {}
    for index, entry in enumerate(raw.get("rads") or []):
        where = f"{origin} rads[{index}]"
        if not isinstance(entry, Mapping) or not entry.get("system") or not entry.get("source"):
            raise ValidationError(f"{where}: each rule needs 'system' and 'source'")
        categories = entry.get("categories") or []
        on_follow_up = entry.get("when") == "follow_up"
        if bool(categories) == on_follow_up:
            raise ValidationError(f"{where}: give either 'categories' or 'when: follow_up'")
        system = str(entry["system"])
        if system in rules:
            raise ValidationError(f"{where}: a second rule for {system}")
        rules[system] = ActionableRule(system, frozenset(str(c) for c in categories), on_follow_up,
                                       str(entry["source"]))
    if not raw.get("source"):
        raise ValidationError(f"{origin}: 'source' is required")
    return ActionableRules(rads=rules, critical_result=bool(raw.get("critical_result")),
                           text_recommendation=bool(raw.get("text_recommendation")), source=str(raw["source"]))


@dataclass(frozen=True)
class RadsOutcome:
    """What the actionable rules read of one structured RADS result."""

    system: str
    category: str
    has_next_step: bool  # the calculator recommends a procedure or an interval


def actionable_reasons(rules: ActionableRules, rads: list[RadsOutcome], *, critical_levels: list[str],
                       text_recommendations: list[str]) -> list[str]:
    """Why a report needs action (empty: it does not), each reason naming what triggered it."""
    reasons = []
    for result in rads:
        rule = rules.rads.get(result.system)
        if rule is None:
            continue
        if result.category in rule.categories or (rule.on_follow_up and result.has_next_step):
            reasons.append(f"{result.system} {result.category}")
    if rules.critical_result:
        reasons.extend(f"{level.replace('_', ' ')} result" for level in critical_levels)
    if rules.text_recommendation:
        reasons.extend(f"recommends {what}" for what in text_recommendations)
    return list(dict.fromkeys(reasons))
