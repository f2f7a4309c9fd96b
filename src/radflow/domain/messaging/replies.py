"""What patients tell us: their replies (texts, emails) and the responses recorded for a visit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ResponseKind(StrEnum):
    """A patient's answer about a visit."""

    CONFIRMED = "confirmed"  # "I will come"
    PREPARATION_RECEIVED = "preparation_received"  # the instructions reached them
    CANCELLED = "cancelled"  # they cancelled through a reply
    CALL_BACK = "call_back"  # an answer a person must read and act on (e.g. "cancel" with an opt-out)


@dataclass(eq=False)
class InboundReply:
    """One message a patient sent (a text to the center's number, a reply email), and what came of it."""

    id: str
    received_at: datetime
    channel: str
    from_address: str
    text: str
    intent: str
    gateway_reference: str = ""  # the gateway's id: a webhook delivered twice is recorded once
    patient_id: str | None = None
    message_key: str = ""  # the message it answers, when known
    appointment_ids: list[str] = field(default_factory=list)
    outcome: str = ""


@dataclass(eq=False)
class PatientResponse:
    """A patient's answer about a visit: by reply, at the desk, by phone or on the portal."""

    id: str
    patient_id: str
    visit_date: str  # ISO local date of the visit
    kind: ResponseKind
    at: datetime
    via: str  # sms, email, phone, desk, portal
    recorded_by: str
    appointment_ids: list[str] = field(default_factory=list)
    note: str = ""
