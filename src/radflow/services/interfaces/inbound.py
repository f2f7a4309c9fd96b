"""Receiving an HL7 message exactly once: store it, apply it, acknowledge it — in one transaction.

For every frame the listener hands over:

1. Read it (`adapters.hl7.parsing`). What cannot be read is still stored, as rejected, when its MSH
   names a sender and a control id, so that the monitor shows it.
2. Look for (MSH-3, MSH-4, MSH-10) in the message store. The same content again (a sender that lost
   our ACK and retries) gets the ACK stored with the first delivery and has no second effect. A
   different content under that id is stored apart, held for review, and answered AE (ERR 205).
   A message refused before may be sent again after the cause was fixed: it is processed again.
3. Apply it with the sender's mapping (`orders_in`, `patients_in`, `reports_in`) in the unit of
   work that stores it, build the ACK, store the ACK on the message, commit — then answer. An AA is
   only ever sent for something committed; a crash before the commit leaves nothing, and the
   sender's resend is then the first delivery.
4. When applying fails with a RadflowError, that unit of work is rolled back and the message is
   stored, rejected, with its ERR, in a transaction of its own.

The database's unique key on (MSH-3, MSH-4, MSH-10, variant) settles two connections delivering one
message at once: the message row is written with the commit, the second commit fails on that key, and
its retry finds the first and answers with its ACK.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from radflow.adapters.hl7.acks import AckError, ack_error_for
from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError
from radflow.adapters.hl7.mapping import InterfaceMapping, SenderMapping
from radflow.adapters.hl7.messages import (
    InboundMerge,
    InboundMessage,
    InboundOrder,
    InboundPatient,
    InboundReport,
    MessageHeader,
)
from radflow.adapters.hl7.parsing import parse_message, read_header_best_effort
from radflow.adapters.hl7.receiving import Reception, acknowledge
from radflow.domain.errors import Conflict, RadflowError
from radflow.domain.hl7_message import Hl7Message, MessageStatus, Outcome, content_digest
from radflow.domain.ids import new_id
from radflow.domain.users import Principal, Role
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.interfaces.mappings import current_mapping
from radflow.services.interfaces.orders_in import apply_order
from radflow.services.interfaces.outbound import enqueue_application_ack, interface_name
from radflow.services.interfaces.patients_in import apply_merge, apply_patient
from radflow.services.interfaces.reports_in import apply_report
from radflow.services.interfaces.store import StoredKey, messages
from radflow.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("radflow.hl7")

LISTENER = "system:hl7-listener"
# A commit refused by the database (the message key taken by another connection, an order changed
# meanwhile) is tried again; the retry sees what the other transaction committed.
_ATTEMPTS = 4


@dataclass(frozen=True)
class Frame:
    """One received frame, read as far as it can be read."""

    raw: bytes
    peer: str
    digest: str
    message: InboundMessage | None
    header: MessageHeader | None
    error: AckError | None

    @property
    def key(self) -> tuple[str, str, str] | None:
        """(MSH-3, MSH-4, MSH-10), or None when MSH-10 could not be read."""
        if self.header is None or not self.header.control_id.strip():
            return None
        return self.header.sending_application, self.header.sending_facility, self.header.control_id


class _CommitRefused(Exception):
    """The database refused the commit; the attempt is repeated from the start."""


def read_frame(raw: bytes, peer: str) -> Frame:
    """Parse a frame; a content error is kept with whatever MSH says."""
    digest = content_digest(raw)
    try:
        message = parse_message(raw)
    except Hl7ContentError as error:
        return Frame(raw, peer, digest, None, read_header_best_effort(raw), ack_error_for(error))
    return Frame(raw, peer, digest, message, message.header, None)


def sender_principal(sender: SenderMapping | None, peer: str) -> Principal:
    """Who acts when a sender's message is applied: the interface, as that sender, from its address."""
    name = interface_name(sender) if sender is not None else "hl7"
    return Principal.system(name, role=Role.INTEGRATION, source=f"mllp:{peer}"[:200])


class Hl7Inbound:
    """The application behind the MLLP listener: `handle(raw, peer) -> reply bytes`."""

    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: ServiceContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    def handle(self, raw: bytes, peer: str) -> bytes:
        """Store, apply and acknowledge one frame; the reply is sent only after the commit."""
        frame = read_frame(raw, peer)
        refused: Conflict | None = None
        for _ in range(_ATTEMPTS):
            try:
                return self._attempt(frame)
            except _CommitRefused as cause:
                refused = cause.__cause__ if isinstance(cause.__cause__, Conflict) else Conflict(str(cause))
        assert refused is not None
        raise refused

    def _attempt(self, frame: Frame) -> bytes:
        try:
            return self._store_and_apply(frame)
        except Conflict as refused:  # met by a flush inside the unit of work: another transaction won
            raise _CommitRefused(refused.message) from refused

    def _store_and_apply(self, frame: Frame) -> bytes:
        failure: RadflowError | None = None
        with self.uow_factory() as uow:
            store = messages(uow)
            now = self.ctx.clock.now()
            earlier = store.keys(*frame.key) if frame.key else []
            same = next((k for k in earlier if k.content_sha256 == frame.digest), None)
            if same is not None and same.status is not MessageStatus.REJECTED:
                store.count_delivery(same.id, now)
                self._commit(uow)
                return same.ack
            if same is None and earlier:
                return self._hold(uow, frame, earlier[0])
            mapping = current_mapping(uow)
            sender = sender_of(mapping, frame.header) if frame.error is None else None
            if same is not None:  # refused before, sent again: processed again
                message = store.get(same.id)
                message.delivered_again(at=now)
            else:
                # Added once applied, with its outcome: one INSERT at the commit rather than an INSERT
                # now and UPDATEs later (and nothing to undo when applying fails).
                message = _new_message(frame, now, sender)
            if frame.error is None:
                try:
                    reply = self._apply(uow, frame, mapping, message)
                except RadflowError as error:
                    failure = error
                else:
                    if same is None:
                        store.add(message)
                    self._commit(uow)
                    return reply
        return self._reject(frame, failure)

    def _apply(self, uow: UnitOfWork, frame: Frame, mapping: InterfaceMapping | None, message: Hl7Message) -> bytes:
        return apply_stored(uow, self.ctx, frame, mapping, message).reply

    def _reject(self, frame: Frame, failure: RadflowError | None) -> bytes:
        """Store the message as refused (its effects were rolled back) and answer AE/AR/CA+AE."""
        error = frame.error or ack_error_for(failure or RadflowError("the message could not be applied"))
        with self.uow_factory() as uow:
            store = messages(uow)
            now = self.ctx.clock.now()
            earlier = store.keys(*frame.key) if frame.key else []
            same = next((k for k in earlier if k.content_sha256 == frame.digest), None)
            if same is None and earlier:
                return self._hold(uow, frame, earlier[0])  # a different message took the id meanwhile
            if same is not None and same.status is not MessageStatus.REJECTED:
                return same.ack  # another connection applied it meanwhile: its ACK is the answer
            mapping = current_mapping(uow)
            sender = sender_of(mapping, frame.header) if frame.header is not None else None
            if same is None:
                message = _new_message(frame, now, sender)
                store.add(message)
            else:
                message = store.get(same.id)
                message.delivered_again(at=now)  # sent again while refused; still refused
            reception = self._refusal(uow, frame, error, message, sender)
            message.rejected(outcome_of(reception, error), by=LISTENER, at=now)
            record_access(uow, self.ctx, sender_principal(sender, frame.peer), "hl7.receive",
                          object_type="hl7-message", object_id=message.id,
                          detail=f"{message.message_type} {message.control_id or '?'} refused: {error.message}")
            self._commit(uow)
            log.info("HL7 %s %s from %s refused: %s", message.message_type, message.control_id, frame.peer,
                     error.message)
            return reception.reply

    def _refusal(self, uow: UnitOfWork, frame: Frame, error: AckError, message: Hl7Message,
                 sender: SenderMapping | None) -> Reception:
        return refusal(uow, self.ctx, frame, error, message, sender)

    def _hold(self, uow: UnitOfWork, frame: Frame, original: StoredKey) -> bytes:
        """A different content under a control id already used: kept apart, not applied, answered AE 205."""
        now = self.ctx.clock.now()
        control_id = frame.key[2] if frame.key else "?"
        error = AckError(
            ErrorCode.DUPLICATE_KEY_IDENTIFIER,
            f"message control id {control_id} was already used on "
            f"{original.received_at.isoformat(timespec='seconds')} for a different message; this one is held "
            "for review and was not applied — send changes under a new MSH-10",
            ErrorLocation("MSH", field=10),
        )
        mapping = current_mapping(uow)
        sender = sender_of(mapping, frame.header) if frame.header is not None else None
        message = _new_message(frame, now, sender)
        message.variant = frame.digest
        messages(uow).add(message)
        reception = self._refusal(uow, frame, error, message, sender)
        message.held(outcome_of(reception, error), original_id=original.id, by=LISTENER, at=now)
        record_access(uow, self.ctx, sender_principal(sender, frame.peer), "hl7.receive",
                      object_type="hl7-message", object_id=message.id,
                      detail=f"{message.message_type} {message.control_id} held: control id reused")
        self._commit(uow)
        return reception.reply

    @staticmethod
    def _commit(uow: UnitOfWork) -> None:
        try:
            uow.commit()
        except Conflict as refused:
            raise _CommitRefused(refused.message) from refused


def apply_stored(uow: UnitOfWork, ctx: ServiceContext, frame: Frame, mapping: InterfaceMapping | None,
                 message: Hl7Message, *, reviewer: Principal | None = None) -> Reception:
    """Apply a stored message's effects, acknowledge it and mark it applied (inside `uow`, no commit)."""
    assert frame.message is not None and frame.header is not None
    sender = sender_of(mapping, frame.header)
    if sender is None:
        raise _unknown_sender(frame.header)
    message.sender_name = sender.name
    actor = sender_principal(sender, frame.peer)
    apply_message(uow, ctx, actor, frame.message, sender, message)
    now = ctx.clock.now()
    reception = acknowledge(frame.header, None, at=now, stored=True,
                            application_ack_control_id=application_ack_control_id(message))
    if reception.application_ack is not None:
        enqueue_application_ack(uow, ctx, message, sender, reception.application_ack)
    who = reviewer or actor
    message.applied(outcome_of(reception), by=who.user_id, at=now, note="reprocessed" if reviewer else "")
    record_access(uow, ctx, who, "hl7.reprocess" if reviewer else "hl7.receive",
                  patient_id=message.patient_id or "", object_type="hl7-message", object_id=message.id,
                  detail=f"{frame.header.message_type} {frame.header.control_id} applied")
    return reception


def refusal(uow: UnitOfWork, ctx: ServiceContext, frame: Frame, error: AckError, message: Hl7Message,
            sender: SenderMapping | None) -> Reception:
    """The ACKs for a stored message that was refused; an enhanced-mode AE goes out through the queue."""
    header = frame.header or _placeholder_header()
    reception = acknowledge(header, error, at=ctx.clock.now(), stored=True,
                            application_ack_control_id=application_ack_control_id(message))
    if reception.application_ack is not None and sender is not None:
        enqueue_application_ack(uow, ctx, message, sender, reception.application_ack)
    return reception


def apply_message(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, inbound: InboundMessage,
                  sender: SenderMapping, message: Hl7Message) -> None:
    """Apply a parsed message's effects inside `uow` (no commit)."""
    if isinstance(inbound, InboundOrder):
        apply_order(uow, ctx, actor, inbound, sender, message)
    elif isinstance(inbound, InboundPatient):
        apply_patient(uow, ctx, actor, inbound, sender, message)
    elif isinstance(inbound, InboundMerge):
        apply_merge(uow, ctx, actor, inbound, sender, message)
    elif isinstance(inbound, InboundReport):
        apply_report(uow, ctx, actor, inbound, sender, message)
    else:  # pragma: no cover - the parser only makes the four kinds
        raise TypeError(f"no effects for {type(inbound).__name__}")


def application_ack_control_id(message: Hl7Message) -> str:
    """MSH-10 of the application ACK for this processing: stable across the outbound job's retries."""
    return f"RA{message.id[:14]}{message.processings + 1:04d}"[:20]


def sender_of(mapping: InterfaceMapping | None, header: MessageHeader | None) -> SenderMapping | None:
    """The sender's mapping for a header, or None when it is not configured."""
    if mapping is None or header is None:
        return None
    try:
        return mapping.sender_for(header)
    except Hl7ContentError:
        return None


def _unknown_sender(header: MessageHeader) -> Hl7ContentError:
    return Hl7ContentError(
        f"sending system {header.sending_application!r} / facility {header.sending_facility!r} is not configured "
        "in the HL7 mapping; an administrator adds it with `radflow hl7 mapping load`",
        error_code=ErrorCode.TABLE_VALUE_NOT_FOUND, location=ErrorLocation("MSH", field=3), reject=True)


def _new_message(frame: Frame, now: datetime, sender: SenderMapping | None) -> Hl7Message:
    header = frame.header
    return Hl7Message(
        id=new_id(), sending_application=(header.sending_application if header else "")[:230],
        sending_facility=(header.sending_facility if header else "")[:230],
        control_id=frame.key[2][:200] if frame.key else None,
        message_type=(header.message_type if header else "")[:20] or "?",
        version=(header.version if header else "")[:10],
        received_at=now, peer=frame.peer[:100], raw=frame.raw, content_sha256=frame.digest,
        sender_name=sender.name if sender else "", last_delivered_at=now,
    )


def _placeholder_header() -> MessageHeader:
    return MessageHeader(sending_application="", sending_facility="", receiving_application="RADFLOW",
                         receiving_facility="", created_at=None, message_code="", trigger_event="",
                         message_structure="", control_id="", processing_id="P", version="2.5.1")


def outcome_of(reception: Reception, error: AckError | None = None) -> Outcome:
    """What the stored message keeps of its acknowledgement: the reply, its code and the ERR content."""
    code = ""
    for line in reception.reply.split(b"\r"):
        if line.startswith(b"MSA"):
            code = line[4:6].decode("ascii", "replace")
    if not code and reception.application_ack is not None:
        code = "AA" if error is None else ("AR" if error.is_reject else "AE")
    if error is None:
        return Outcome(reception.reply, code)
    return Outcome(reception.reply, code, str(int(error.code)), str(error.location or ""), error.message)
