"""A received HL7 v2 message as stored: its own one-table state machine, its references, its events.

Every message radflow receives is kept with its raw bytes and the ACK it was answered with, so that
a repeat of it (the same MSH-3, MSH-4, MSH-10 and the same content) gets that ACK again and has no
second effect, and staff can find it (by MRN, accession, control id, status) and reprocess it.

    received ──apply──▶ applied
        │ ──reject─▶ rejected ──apply──▶ applied      (reprocessed, or sent again after the fix)
        │                  │ ──reject─▶ rejected     (tried again, still refused)
        │                  └ ──dismiss─▶ dismissed
        └ ──hold──▶ held_for_review ──apply──▶ applied   (a reviewer decided it is a new message)
                           │ ──reject─▶ rejected
                           └ ──dismiss─▶ dismissed

`held_for_review` is a message whose MSH-10 was used before by this sender for different content
(HL7 2.5.1 2.9.2: MSH-10 identifies the message; two contents under one id cannot both be right).
An applied message never changes state again: applying it twice would double its effects.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import InvalidTransition
from radflow.domain.events import DomainEvent


class MessageStatus(StrEnum):
    """Where a stored message stands."""

    RECEIVED = "received"
    APPLIED = "applied"
    REJECTED = "rejected"
    HELD_FOR_REVIEW = "held_for_review"
    DISMISSED = "dismissed"


class MessageEvent(StrEnum):
    """What happens to a stored message."""

    APPLY = "apply"
    REJECT = "reject"
    HOLD = "hold"
    DISMISS = "dismiss"


M = MessageStatus
E = MessageEvent

TRANSITIONS: Final[Mapping[tuple[MessageStatus, MessageEvent], MessageStatus]] = {
    (M.RECEIVED, E.APPLY): M.APPLIED,
    (M.RECEIVED, E.REJECT): M.REJECTED,
    (M.RECEIVED, E.HOLD): M.HELD_FOR_REVIEW,
    (M.REJECTED, E.APPLY): M.APPLIED,
    (M.REJECTED, E.REJECT): M.REJECTED,
    (M.REJECTED, E.DISMISS): M.DISMISSED,
    (M.HELD_FOR_REVIEW, E.APPLY): M.APPLIED,
    (M.HELD_FOR_REVIEW, E.REJECT): M.REJECTED,
    (M.HELD_FOR_REVIEW, E.DISMISS): M.DISMISSED,
}

#: Statuses a reviewer may reprocess or dismiss.
REVIEWABLE: Final = frozenset({M.REJECTED, M.HELD_FOR_REVIEW})


def next_message_status(status: MessageStatus, event: MessageEvent) -> MessageStatus:
    """The status `event` leads to from `status`, or InvalidTransition."""
    target = TRANSITIONS.get((status, event))
    if target is None:
        raise InvalidTransition(status.value, event.value, aggregate="HL7 message")
    return target


_LINE_BREAKS = re.compile(rb"\r\n|\n")


def content_digest(raw: bytes) -> str:
    """SHA-256 of a message with its segment endings made uniform (CR, LF and CRLF are one message)."""
    return hashlib.sha256(_LINE_BREAKS.sub(b"\r", raw).rstrip(b"\r")).hexdigest()


class ReferenceKind(StrEnum):
    """What a message names that staff search it by."""

    MRN = "mrn"
    ACCESSION = "accession"
    PLACER = "placer"
    PATIENT = "patient"
    ORDER = "order"


@dataclass(eq=False)
class MessageReference:
    """One searchable value a message carries or led to (an MRN, an accession number, an order id)."""

    kind: ReferenceKind
    value: str
    message_id: str = ""
    id: int | None = None


@dataclass(frozen=True)
class Outcome:
    """How processing ended: the ACK sent on the connection and, for refusals, the ERR content."""

    ack: bytes
    ack_code: str
    error_code: str = ""
    error_location: str = ""
    error_text: str = ""


@dataclass(eq=False)
class Hl7Message(Aggregate):
    """One received message: raw bytes, who sent it, what became of it, and the ACK it got."""

    id: str
    sending_application: str
    sending_facility: str
    control_id: str | None  # None when MSH-10 could not be read at all
    message_type: str
    version: str
    received_at: datetime
    peer: str
    raw: bytes = field(repr=False)
    content_sha256: str
    # "" for the first message under a control id; the content digest for a later, different one.
    variant: str = ""
    status: MessageStatus = MessageStatus.RECEIVED
    sender_name: str = ""
    ack: bytes = field(default=b"", repr=False)
    ack_code: str = ""
    error_code: str = ""
    error_location: str = ""
    error_text: str = ""
    deliveries: int = 1
    last_delivered_at: datetime | None = None
    processed_at: datetime | None = None
    processings: int = 0
    patient_id: str | None = None
    duplicate_of_id: str | None = None
    references: list[MessageReference] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_reviewable(self) -> bool:
        """True when staff may reprocess or dismiss it."""
        return self.status in REVIEWABLE

    def _move(self, event: MessageEvent, *, by: str, at: datetime, note: str = "") -> MessageStatus:
        source = self.status
        target = next_message_status(source, event)
        self.status = target
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": event.value, "from": source.value,
                                "to": target.value, "note": note[:500]}]
        return target

    def _outcome(self, outcome: Outcome, at: datetime) -> None:
        self.ack, self.ack_code = outcome.ack, outcome.ack_code
        self.error_code, self.error_location = outcome.error_code, outcome.error_location
        self.error_text = outcome.error_text[:2000]
        self.processed_at = at
        self.processings += 1

    def applied(self, outcome: Outcome, *, by: str, at: datetime, note: str = "") -> None:
        """Its effects are committed with it: the ACK said (or will say) AA."""
        self._move(MessageEvent.APPLY, by=by, at=at, note=note)
        self._outcome(outcome, at)

    def rejected(self, outcome: Outcome, *, by: str, at: datetime) -> None:
        """It was refused (AE/AR); nothing it asked for was done."""
        self._move(MessageEvent.REJECT, by=by, at=at, note=outcome.error_text)
        self._outcome(outcome, at)

    def held(self, outcome: Outcome, *, original_id: str, by: str, at: datetime) -> None:
        """Its MSH-10 names another content already received: kept, not applied, for a person to decide."""
        self._move(MessageEvent.HOLD, by=by, at=at, note=outcome.error_text)
        self._outcome(outcome, at)
        self.duplicate_of_id = original_id

    def dismissed(self, *, by: str, at: datetime, reason: str) -> None:
        """A reviewer decided it is not to be applied."""
        self._move(MessageEvent.DISMISS, by=by, at=at, note=reason)

    def delivered_again(self, *, at: datetime) -> None:
        """The sender sent it again (a lost ACK, a retry): counted, answered with the stored ACK."""
        self.deliveries += 1
        self.last_delivered_at = at

    def refer_to(self, kind: ReferenceKind, value: str) -> None:
        """Remember a value staff may search this message by (each kind and value once)."""
        value = value.strip()[:64]
        if value and not any(r.kind == kind and r.value == value for r in self.references):
            self.references.append(MessageReference(kind=kind, value=value, message_id=self.id))

    def values_of(self, kind: ReferenceKind) -> list[str]:
        """The references of one kind, in the order they were recorded."""
        return [r.value for r in self.references if r.kind == kind]


@dataclass(frozen=True, kw_only=True)
class ExternalReportReceived(DomainEvent):
    """An outside dictation system sent a report (ORU^R01) for one of radflow's orders.

    The report is stored on the order as a `prior_report` document; the reporting and distribution
    side subscribes to this event to take it further (distribution, the order's `reported` state).
    """

    message_id: str
    order_id: str
    patient_id: str
    accession_number: str
    document_id: str
    result_status: str  # HL7 table 0123: F final, C corrected, P preliminary
    text: str
    interpreter_name: str = ""
    interpreter_npi: str = ""
    observed_at: datetime | None = None
    signed_at: datetime | None = None
    coded_findings: tuple[tuple[str, str, str], ...] = ()  # (identifier, code, text), e.g. a RADS category
