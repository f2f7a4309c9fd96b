"""From a received frame to its answer: parse, let the application apply it, acknowledge.

`receive` is the HL7 edge's error mapping in one place (RadflowError → AE/AR with ERR, per
radflow.domain.errors). The application's `apply` commits the message and its effects before it
returns, so an AA is only ever sent for something committed (HL7 2.5.1 2.9.2: the ACK is the
receiver's promise).

In enhanced mode (MSH-15/16 valued) the answer on the connection is the accept ack: CA when
`apply` committed, CE/CR when it did not; the application ack (AA) is returned separately for the
outbound queue to send to the sender's return destination, as MSH-16 asks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from radflow.adapters.hl7.acks import (
    AckCode,
    AckError,
    accept_ack_due,
    ack_error_for,
    application_ack_due,
    best_effort_ack,
    build_ack,
    commit_code,
    is_enhanced_mode,
    original_code,
)
from radflow.adapters.hl7.errors import Hl7ContentError
from radflow.adapters.hl7.messages import InboundMessage, MessageHeader
from radflow.adapters.hl7.mllp import MessageHandler
from radflow.adapters.hl7.parsing import parse_message
from radflow.domain.clock import Clock
from radflow.domain.errors import RadflowError

Apply = Callable[[InboundMessage, bytes], None]
ApplicationAckSink = Callable[[MessageHeader, bytes], None]


@dataclass(frozen=True)
class Reception:
    """The outcome of one received message: the reply for the connection and what else is due."""

    reply: bytes
    header: MessageHeader | None
    error: AckError | None
    application_ack: bytes | None = None


def receive(raw: bytes, apply: Apply, *, clock: Clock) -> Reception:
    """Parse `raw`, hand it to `apply` (which commits), and build the acknowledgement(s)."""
    try:
        message = parse_message(raw)
    except Hl7ContentError as exc:
        # A message that cannot be read is always answered: its MSH-15 may be what is broken.
        error = ack_error_for(exc)
        return Reception(best_effort_ack(raw, at=clock.now(), error=error), None, error)
    header = message.header
    outcome: AckError | None = None
    try:
        apply(message, raw)
    except RadflowError as exc:
        outcome = ack_error_for(exc)
    return _acknowledge(header, outcome, clock)


def _acknowledge(header: MessageHeader, error: AckError | None, clock: Clock) -> Reception:
    """Original mode: AA/AE/AR; enhanced mode: the accept ack as MSH-15 asks, and the application ack."""
    if not is_enhanced_mode(header):
        code = original_code(error)
        return Reception(build_ack(header, code, at=clock.now(), error=error), header, error)
    commit = commit_code(error)
    reply = build_ack(header, commit, at=clock.now(), error=error) if accept_ack_due(header, commit) else b""
    application_ack = None
    if error is None and application_ack_due(header, original_code(None)):
        application_ack = build_ack(header, original_code(None), at=clock.now())
    return Reception(reply, header, error, application_ack)


def acknowledge(
    header: MessageHeader,
    error: AckError | None,
    *,
    at: datetime,
    stored: bool,
    application_ack_control_id: str | None = None,
) -> Reception:
    """The ACKs for a message the application has stored (`stored`) with or without effects.

    Original mode: AA, AE or AR (HL7 2.5.1 2.9.2). Enhanced mode (2.9.3): the accept ACK on the
    connection says whether the message is safely stored, the application ACK whether it was
    applied. A stored message refused for its content therefore gets CA on the connection and an
    AE application ACK (sent through the outbound queue) — the sender has handed it over and a person
    can reprocess it; an MSH-level refusal (type, version, processing id, unknown sender) is CR, and
    a message that could not be stored at all is CE.
    """
    if not is_enhanced_mode(header):
        return Reception(build_ack(header, original_code(error), at=at, error=error), header, error)
    if error is not None and (error.is_reject or not stored):
        commit = commit_code(error)
        reply = build_ack(header, commit, at=at, error=error) if accept_ack_due(header, commit) else b""
        return Reception(reply, header, error)
    commit = AckCode.CA
    reply = build_ack(header, commit, at=at) if accept_ack_due(header, commit) else b""
    application_code = original_code(error)
    application_ack = None
    if application_ack_due(header, application_code):
        # Sent as a message of its own: MSH-15 AL asks the sender's return endpoint for a commit ACK.
        application_ack = build_ack(header, application_code, at=at, error=error,
                                    control_id=application_ack_control_id, accept_ack_type="AL",
                                    application_ack_type="NE")
    return Reception(reply, header, error, application_ack)


def make_handler(apply: Apply, *, clock: Clock, on_application_ack: ApplicationAckSink | None = None) -> MessageHandler:
    """A listener handler around `receive`; application acks go to `on_application_ack`."""

    def handle(raw: bytes, peer: str) -> bytes:
        """Answer one frame; queue the application ack if one is due."""
        reception = receive(raw, apply, clock=clock)
        if reception.application_ack is not None and reception.header is not None and on_application_ack:
            on_application_ack(reception.header, reception.application_ack)
        return reception.reply

    return handle
