"""CriticalResult: the closed communication loop of an urgent finding, one table for its states.

raised → notified → acknowledged (with read-back) → closed; when nobody acknowledges in time the
result is escalated along the chain (ordering provider, then covering provider, then section chief).
Levels follow the ACR Actionable Reporting Work Group (Larson et al., JACR 2014;11:552-558):
category 1 *critical* (communicate within minutes; radflow defaults to 60), category 2 *urgent*
(within hours), category 3 *unexpected significant* (within days). The ACR-SPR Practice Parameter for
Communication of Diagnostic Imaging Findings asks that the communication be documented — who was
reached, when, how — and The Joint Commission NPSG.02.03.01 asks for read-back of critical results:
`acknowledge` refuses an acknowledgement without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import InvalidTransition, ValidationError
from radflow.domain.events import DomainEvent


class CriticalLevel(StrEnum):
    """How fast the finding must reach a responsible clinician (ACR work group categories 1-3)."""

    CRITICAL = "critical"
    URGENT = "urgent"
    UNEXPECTED_SIGNIFICANT = "unexpected_significant"


class CriticalState(StrEnum):
    """Where the communication loop stands."""

    RAISED = "raised"
    NOTIFIED = "notified"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"  # acknowledged and documented in the report
    WITHDRAWN = "withdrawn"  # marked by mistake; the reason is kept


class CriticalEvent(StrEnum):
    """What happens to a critical result."""

    NOTIFY = "notify"
    ESCALATE = "escalate"
    ACKNOWLEDGE = "acknowledge"
    CLOSE = "close"
    WITHDRAW = "withdraw"


C = CriticalState
CE = CriticalEvent
_OPEN: Final = (C.RAISED, C.NOTIFIED, C.ESCALATED)

TRANSITIONS: Final[Mapping[tuple[CriticalState, CriticalEvent], CriticalState]] = {
    (C.RAISED, CE.NOTIFY): C.NOTIFIED,
    (C.NOTIFIED, CE.NOTIFY): C.NOTIFIED,  # a further recipient of the same step, or a resend
    (C.ESCALATED, CE.NOTIFY): C.ESCALATED,  # the recipients of an escalation step are told
    # Nobody reachable at the first step (no contact on file) escalates straight away.
    (C.RAISED, CE.ESCALATE): C.ESCALATED,
    (C.NOTIFIED, CE.ESCALATE): C.ESCALATED,
    (C.ESCALATED, CE.ESCALATE): C.ESCALATED,
    # The radiologist may reach the provider by phone before any message went out.
    **{(state, CE.ACKNOWLEDGE): C.ACKNOWLEDGED for state in _OPEN},
    (C.ACKNOWLEDGED, CE.CLOSE): C.CLOSED,
    **{(state, CE.WITHDRAW): C.WITHDRAWN for state in _OPEN},
}

#: Channels a person can be reached on; a read-back is heard on the first three.
CHANNELS: Final = ("phone", "in_person", "voice", "sms", "email", "pager", "inbox", "secure_message")


class ChainStep(StrEnum):
    """Who is asked at each step of the escalation chain, in order."""

    ORDERING_PROVIDER = "ordering_provider"
    COVERING_PROVIDER = "covering_provider"
    SECTION_CHIEF = "section_chief"


CHAIN: Final = (ChainStep.ORDERING_PROVIDER, ChainStep.COVERING_PROVIDER, ChainStep.SECTION_CHIEF)


@dataclass(frozen=True)
class LevelDeadline:
    """How long a level may wait for acknowledgement, and after how long each chain step escalates."""

    acknowledge_minutes: int
    escalate_after_minutes: int

    def __post_init__(self) -> None:
        if self.acknowledge_minutes <= 0 or self.escalate_after_minutes <= 0:
            raise ValidationError("critical-result deadlines must be positive minutes")


@dataclass(frozen=True)
class CriticalDeadlines:
    """Deadlines per level (configurable); defaults follow common institutional policies."""

    critical: LevelDeadline = LevelDeadline(acknowledge_minutes=60, escalate_after_minutes=20)
    urgent: LevelDeadline = LevelDeadline(acknowledge_minutes=6 * 60, escalate_after_minutes=2 * 60)
    unexpected_significant: LevelDeadline = LevelDeadline(acknowledge_minutes=3 * 24 * 60,
                                                          escalate_after_minutes=24 * 60)

    def for_level(self, level: CriticalLevel) -> LevelDeadline:
        """The deadline of one level."""
        deadline: LevelDeadline = getattr(self, level.value)
        return deadline


@dataclass(frozen=True)
class Recipient:
    """A person a step of the chain tells: who, in which role, and on which channel and address."""

    user_id: str
    name: str
    step: ChainStep
    channel: str
    address: str

    def to_json(self) -> dict[str, str]:
        """Plain-JSON form."""
        return {"user_id": self.user_id, "name": self.name, "step": self.step.value, "channel": self.channel,
                "address": self.address}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recipient:
        """Read back what `to_json` wrote."""
        return cls(user_id=str(data["user_id"]), name=str(data["name"]), step=ChainStep(data["step"]),
                   channel=str(data["channel"]), address=str(data["address"]))


def parse_level(raw: str) -> CriticalLevel:
    """A level from its name ("critical", "urgent", "unexpected significant"), or ValidationError."""
    key = raw.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return CriticalLevel(key)
    except ValueError:
        raise ValidationError(f"level '{raw}' must be one of {', '.join(v.value for v in CriticalLevel)}",
                              field="level") from None


@dataclass(eq=False)
class CriticalResult(Aggregate):
    """One finding that must reach a responsible clinician in time, and the record that it did."""

    id: str
    order_id: str
    patient_id: str
    accession_number: str
    report_id: str
    level: CriticalLevel
    finding: str
    state: CriticalState
    raised_by: str
    raised_by_name: str
    raised_at: datetime
    due_at: datetime  # acknowledgement deadline of the level
    step_due_at: datetime  # when the current chain step escalates
    # The critical-results vocabulary's types the finding names (an SDH with midline shift names two).
    finding_types: list[str] = field(default_factory=list)
    ordering_provider_npi: str = ""
    ordering_provider_name: str = ""
    step: int = 0  # index into CHAIN
    chain_exhausted: bool = False
    recipients: list[dict[str, str]] = field(default_factory=list)  # everyone told so far
    log: list[dict[str, Any]] = field(default_factory=list)  # the communication record
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""  # user id when they acknowledged in radflow
    acknowledged_by_name: str = ""
    acknowledged_channel: str = ""
    read_back: str = ""
    communicated_by: str = ""  # who gave the result (the radiologist on the phone)
    closed_at: datetime | None = None
    withdrawn_reason: str = ""
    version: int = 1

    @classmethod
    def raise_finding(cls, *, id: str, order_id: str, patient_id: str, accession_number: str, report_id: str,
                      level: CriticalLevel, finding: str, finding_types: Sequence[str], by: str, by_name: str,
                      at: datetime, deadlines: CriticalDeadlines, ordering_provider_npi: str = "",
                      ordering_provider_name: str = "") -> CriticalResult:
        """A radiologist marks a finding: the loop starts and its deadlines are set."""
        if not finding.strip():
            raise ValidationError("say what the finding is", field="finding")
        deadline = deadlines.for_level(level)
        result = cls(
            id=id, order_id=order_id, patient_id=patient_id, accession_number=accession_number,
            report_id=report_id, level=level, finding=finding.strip(),
            finding_types=list(dict.fromkeys(finding_types)), state=C.RAISED,
            raised_by=by, raised_by_name=by_name, raised_at=at,
            due_at=at + timedelta(minutes=deadline.acknowledge_minutes),
            step_due_at=at + timedelta(minutes=deadline.escalate_after_minutes),
            ordering_provider_npi=ordering_provider_npi, ordering_provider_name=ordering_provider_name,
        )
        result._note(at, by, "raised", detail=f"{level.value}: {result.finding}")
        result.record(CriticalResultRaised(at=at, by=by, critical_result_id=id, order_id=order_id,
                                           patient_id=patient_id, report_id=report_id, level=level.value,
                                           finding=result.finding, due_at=result.due_at))
        return result

    # -- reading ---------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True while nobody has acknowledged (and it was not withdrawn)."""
        return self.state in _OPEN

    @property
    def chain_step(self) -> ChainStep:
        """The chain step asked now."""
        return CHAIN[self.step]

    def time_left(self, now: datetime) -> timedelta:
        """Until the acknowledgement deadline (negative when overdue)."""
        return self.due_at - now

    def is_overdue(self, now: datetime) -> bool:
        """True when open past its acknowledgement deadline."""
        return self.is_open and now > self.due_at

    @property
    def recipient_list(self) -> list[Recipient]:
        """Everyone told so far, typed."""
        return [Recipient.from_json(r) for r in self.recipients]

    # -- changing --------------------------------------------------------------------------------

    def _apply(self, event: CriticalEvent) -> CriticalState:
        target = TRANSITIONS.get((self.state, event))
        if target is None:
            raise InvalidTransition(self.state.value, event.value, aggregate="critical result")
        self.state = target
        return target

    def _note(self, at: datetime, by: str, what: str, **details: str) -> None:
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": what, **details}]

    def notified(self, recipient: Recipient, *, at: datetime, by: str, reference: str = "") -> None:
        """A message went out to `recipient` (the gateway took it; `reference` is its receipt)."""
        self._apply(CE.NOTIFY)
        if recipient.to_json() not in self.recipients:
            self.recipients = [*self.recipients, recipient.to_json()]
        self._note(at, by, "notified", to=recipient.name, step=recipient.step.value, channel=recipient.channel,
                   address=recipient.address, reference=reference)

    def escalate(self, *, at: datetime, by: str, deadlines: CriticalDeadlines, reason: str) -> ChainStep | None:
        """No acknowledgement in time: move to the next step of the chain (None once it is exhausted)."""
        self._apply(CE.ESCALATE)
        deadline = deadlines.for_level(self.level)
        self.step_due_at = at + timedelta(minutes=deadline.escalate_after_minutes)
        if self.step + 1 >= len(CHAIN):
            self.chain_exhausted = True
            self._note(at, by, "escalation_exhausted", detail=reason)
            self.record(CriticalResultEscalated(at=at, by=by, critical_result_id=self.id, order_id=self.order_id,
                                                patient_id=self.patient_id, step=CHAIN[self.step].value,
                                                exhausted=True))
            return None
        self.step += 1
        self._note(at, by, "escalated", step=self.chain_step.value, detail=reason)
        self.record(CriticalResultEscalated(at=at, by=by, critical_result_id=self.id, order_id=self.order_id,
                                            patient_id=self.patient_id, step=self.chain_step.value,
                                            exhausted=False))
        return self.chain_step

    def record_attempt(self, detail: str, *, at: datetime, by: str) -> None:
        """Note an attempt to reach someone that did not succeed ("paged, no answer")."""
        if not self.is_open:
            raise InvalidTransition(self.state.value, "record_attempt", aggregate="critical result")
        if not detail.strip():
            raise ValidationError("describe the attempt (who, how, what happened)", field="detail")
        self._note(at, by, "attempt", detail=detail.strip())

    def acknowledge(self, *, by: str, by_name: str, channel: str, read_back: str, communicated_by: str,
                    at: datetime) -> None:
        """The clinician confirmed receipt and read the result back (TJC NPSG.02.03.01)."""
        if not by_name.strip():
            raise ValidationError("name the clinician who received the result", field="acknowledged_by_name")
        if channel not in CHANNELS:
            raise ValidationError(f"channel '{channel}' must be one of {', '.join(CHANNELS)}", field="channel")
        if not read_back.strip():
            raise ValidationError("record the read-back: what the clinician repeated back", field="read_back")
        self._apply(CE.ACKNOWLEDGE)
        self.acknowledged_at, self.acknowledged_by = at, by
        self.acknowledged_by_name, self.acknowledged_channel = by_name.strip(), channel
        self.read_back, self.communicated_by = read_back.strip(), communicated_by
        self._note(at, by, "acknowledged", to=self.acknowledged_by_name, channel=channel, read_back=self.read_back)
        self.record(CriticalResultAcknowledged(at=at, by=by, critical_result_id=self.id, order_id=self.order_id,
                                               patient_id=self.patient_id, acknowledged_by_name=by_name.strip(),
                                               channel=channel, read_back=self.read_back))

    def close(self, *, at: datetime, by: str) -> None:
        """The documentation is in the report: the loop is closed."""
        self._apply(CE.CLOSE)
        self.closed_at = at
        self._note(at, by, "closed", detail="communication documented in the report")

    def withdraw(self, reason: str, *, at: datetime, by: str) -> None:
        """Marked by mistake: withdraw, with the reason (kept on the record)."""
        if not reason.strip():
            raise ValidationError("say why the critical result is withdrawn", field="reason")
        self._apply(CE.WITHDRAW)
        self.withdrawn_reason = reason.strip()
        self._note(at, by, "withdrawn", detail=self.withdrawn_reason)

    def documentation(self, zone: tzinfo, names: Mapping[str, str] | None = None) -> str:
        """The communication record as the report carries it: what, who was reached, when, how, read-back."""
        known = dict(names or {})

        def when(moment: datetime) -> str:
            local = moment.astimezone(zone)
            return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"

        level = self.level.value.replace("_", " ")
        lines = [f"{level.capitalize()} result: {self.finding}."]
        for entry in self.log:
            moment = when(datetime.fromisoformat(entry["at"]))
            if entry["event"] == "notified":
                lines.append(f"{moment}: notified {entry['to']} ({entry['step'].replace('_', ' ')}) "
                             f"by {entry['channel']}.")
            elif entry["event"] == "escalated":
                lines.append(f"{moment}: not acknowledged in time; escalated to the "
                             f"{entry['step'].replace('_', ' ')}.")
            elif entry["event"] == "attempt":
                lines.append(f"{moment}: attempt — {entry['detail']}.")
        if self.acknowledged_at is not None:
            giver = known.get(self.communicated_by, self.communicated_by)
            lines.append(f"{when(self.acknowledged_at)}: communicated to {self.acknowledged_by_name} by "
                         f"{self.acknowledged_channel.replace('_', ' ')}"
                         + (f" by {giver}" if giver else "")
                         + f"; read back: \"{self.read_back}\".")
        return " ".join(lines)


def open_results(results: Sequence[CriticalResult]) -> list[CriticalResult]:
    """The open ones, the least time left first (the live board's order)."""
    return sorted((r for r in results if r.is_open), key=lambda r: (r.due_at, r.raised_at))


# -- events ----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CriticalResultRaised(DomainEvent):
    """A radiologist marked a finding critical, urgent or unexpected-significant."""

    critical_result_id: str
    order_id: str
    patient_id: str
    report_id: str
    level: str
    finding: str
    due_at: datetime


@dataclass(frozen=True, kw_only=True)
class CriticalResultEscalated(DomainEvent):
    """Nobody acknowledged in time: the next step of the chain is asked (or the chain ran out)."""

    critical_result_id: str
    order_id: str
    patient_id: str
    step: str
    exhausted: bool = False


@dataclass(frozen=True, kw_only=True)
class CriticalResultAcknowledged(DomainEvent):
    """A clinician confirmed receipt with read-back."""

    critical_result_id: str
    order_id: str
    patient_id: str
    acknowledged_by_name: str
    channel: str
    read_back: str
