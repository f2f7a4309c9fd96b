"""One message to one patient on one channel, and its delivery status (its own one-table state machine).

A message is planned when its cause commits (a booking, a reschedule), held while the rules say
"not now", sent when a gateway took it, and delivered or failed when the gateway reports back.
Its key is stable across retries and holds: it is the email's Message-ID and the gateway's
idempotency key, so a deduplicating receiver sees it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import InvalidTransition
from radflow.domain.messaging.contact import Channel
from radflow.domain.messaging.rules import Purpose


class MessageState(StrEnum):
    """Where a message stands."""

    PLANNED = "planned"
    HELD = "held"  # waiting for the patient's morning or for the caps
    SENT = "sent"  # a gateway took it
    DELIVERED = "delivered"  # the gateway confirmed delivery (or the patient answered it)
    FAILED = "failed"  # undeliverable, bounced, or the gateway gave up
    SUPPRESSED = "suppressed"  # not sent, on purpose: no consent, opted out, visit moved, too late


class MessageEvent(StrEnum):
    """What happens to a message."""

    HOLD = "hold"
    SEND = "send"
    DELIVER = "deliver"
    FAIL = "fail"
    SUPPRESS = "suppress"


M = MessageState
ME = MessageEvent
TRANSITIONS: Final[Mapping[tuple[MessageState, MessageEvent], MessageState]] = {
    (M.PLANNED, ME.HOLD): M.HELD,
    (M.HELD, ME.HOLD): M.HELD,  # held again: the morning came but the day's cap was reached
    (M.PLANNED, ME.SEND): M.SENT,
    (M.HELD, ME.SEND): M.SENT,
    (M.PLANNED, ME.SUPPRESS): M.SUPPRESSED,
    (M.HELD, ME.SUPPRESS): M.SUPPRESSED,
    (M.SENT, ME.DELIVER): M.DELIVERED,
    (M.SENT, ME.FAIL): M.FAILED,
    # A gateway may report a bounce after it first reported delivery (late SMTP bounce).
    (M.DELIVERED, ME.FAIL): M.FAILED,
    (M.PLANNED, ME.FAIL): M.FAILED,  # the job ran out of attempts before any gateway took it
    (M.HELD, ME.FAIL): M.FAILED,
}

#: States in which the message reached (or at least left for) the patient: they count for the caps.
REACHED: Final = frozenset({M.SENT, M.DELIVERED})


@dataclass(frozen=True)
class StatusLine:
    """One step of a message's history, shown on the appointment's message list."""

    at: datetime
    state: str
    detail: str


@dataclass(eq=False)
class Message(Aggregate):
    """A patient message and its delivery history."""

    id: str
    key: str
    patient_id: str
    channel: Channel
    purpose: Purpose
    notification: str
    planned_for: datetime
    created_at: datetime
    appointment_ids: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    visit_date: str = ""  # the visit's local date (ISO) the message is about
    state: MessageState = MessageState.PLANNED
    to: str = ""
    subject: str = ""
    body: str = ""
    held_until: datetime | None = None
    sent_at: datetime | None = None
    gateway_reference: str = ""
    detail: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1

    def apply(self, event: MessageEvent, *, at: datetime, detail: str = "") -> MessageState:
        """Move along the message table (or raise InvalidTransition) and keep the step in the history."""
        target = TRANSITIONS.get((self.state, event))
        if target is None:
            raise InvalidTransition(self.state.value, event.value, aggregate="message")
        self.state = target
        self.detail = detail
        self.history.append({"at": at.isoformat(), "state": target.value, "detail": detail})
        return target

    def hold(self, until: datetime, *, at: datetime, reason: str) -> None:
        """Wait until `until` (the patient's morning, or the caps)."""
        self.held_until = until
        self.apply(MessageEvent.HOLD, at=at, detail=f"held until {until.isoformat()}: {reason}")

    def sent(self, *, to: str, subject: str, body: str, gateway_reference: str, at: datetime) -> None:
        """A gateway took the message."""
        self.to, self.subject, self.body = to, subject, body
        self.gateway_reference = gateway_reference
        self.sent_at = at
        self.held_until = None
        self.apply(MessageEvent.SEND, at=at, detail=gateway_reference)

    @property
    def is_open(self) -> bool:
        """True while the message may still go out."""
        return self.state in (MessageState.PLANNED, MessageState.HELD)

    @property
    def steps(self) -> list[StatusLine]:
        """The history as lines for a screen."""
        return [StatusLine(datetime.fromisoformat(h["at"]), h["state"], h["detail"]) for h in self.history]
