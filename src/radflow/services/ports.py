"""Ports to the outside world that services use (messages to people), with their fakes beside them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (an .ics, a PDF letter)."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one recipient on one channel; `key` is stable across retries for deduplication."""

    key: str
    channel: str  # email, sms, voice, fax, letter, inbox
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()
    patient_id: str = ""
    order_id: str = ""


@dataclass(frozen=True)
class DeliveryReceipt:
    """What a gateway says about a message it took."""

    key: str
    accepted: bool
    gateway_reference: str = ""
    detail: str = ""


class MessageGateway(Protocol):
    """Sends messages (email, SMS, voice, fax, letters); delivers at least once with `key` kept."""

    def send(self, message: OutboundMessage) -> DeliveryReceipt:
        """Hand the message over; raise to have the job retried."""
        ...


@dataclass
class RecordingGateway:
    """A fake gateway that keeps what it was given (tests, demo), deduplicating on the key."""

    sent: list[OutboundMessage] = field(default_factory=list)
    fail_next: int = 0

    def send(self, message: OutboundMessage) -> DeliveryReceipt:
        """Record the message; fail on purpose `fail_next` times first."""
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ConnectionError("gateway unavailable (simulated)")
        if all(m.key != message.key for m in self.sent):
            self.sent.append(message)
        return DeliveryReceipt(key=message.key, accepted=True, gateway_reference=f"rec-{len(self.sent)}")
