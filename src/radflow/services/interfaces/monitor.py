"""The interface monitor's commands and queries: the message log, one message, reprocess, dismiss,
the outbound queue and its dead letters, resend.

Every read of the message store is audited (a message carries patient data), every change too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from radflow.adapters.hl7.acks import ack_error_for
from radflow.domain.errors import Conflict, RadflowError, ValidationError
from radflow.domain.hl7_message import Hl7Message, MessageStatus
from radflow.domain.jobs import Job, JobEvent, JobState
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.interfaces.inbound import apply_stored, outcome_of, read_frame, refusal, sender_of
from radflow.services.interfaces.mappings import current_mapping
from radflow.services.interfaces.outbound import KINDS
from radflow.services.interfaces.store import MessageSearch, MessageSummary, mappings, messages, outbound_jobs
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class SearchMessages:
    """The message log, filtered (by MRN, accession, control id, status, sender, type, time)."""

    actor: Principal
    query: MessageSearch


@dataclass(frozen=True)
class MessagePage:
    """One page of the log, the total that matched, and how many messages are in each status."""

    rows: tuple[MessageSummary, ...]
    total: int
    counts: dict[MessageStatus, int]


def search_messages(cmd: SearchMessages, uow: UnitOfWork, ctx: ServiceContext) -> MessagePage:
    """Search the message store, newest first."""
    guard(cmd.actor, Action.HL7_MONITOR)
    if not 1 <= cmd.query.limit <= 500:
        raise ValidationError("limit must be from 1 to 500", field="limit")
    with uow:
        store = messages(uow)
        rows, total = store.search(cmd.query)
        counts = store.counts_by_status()
        record_access(uow, ctx, cmd.actor, "hl7.message.search", object_type="hl7-message-list",
                      detail=f"{total} match(es)")
        uow.commit()
    return MessagePage(tuple(rows), total, counts)


@dataclass(frozen=True)
class GetMessage:
    """One stored message with its raw text, its ACK and what it led to."""

    actor: Principal
    message_id: str


@dataclass(frozen=True)
class MessageDetail:
    """A message, the message it conflicts with (when held), and later ones under the same control id."""

    message: Hl7Message
    same_control_id: tuple[MessageSummary, ...]


def get_message(cmd: GetMessage, uow: UnitOfWork, ctx: ServiceContext) -> MessageDetail:
    """Read one message (audited as a read of its patient's data)."""
    guard(cmd.actor, Action.HL7_MONITOR)
    with uow:
        store = messages(uow)
        message = store.get(cmd.message_id)
        related: list[MessageSummary] = []
        if message.control_id is not None:
            rows, _ = store.search(MessageSearch(control_id=message.control_id,
                                                 sending_application=message.sending_application, limit=20))
            related = [r for r in rows if r.id != message.id and r.sending_facility == message.sending_facility]
        record_access(uow, ctx, cmd.actor, "hl7.message.read", patient_id=message.patient_id or "",
                      object_type="hl7-message", object_id=message.id)
        uow.commit()
    return MessageDetail(message, tuple(related))


@dataclass(frozen=True)
class ReprocessMessage:
    """Apply a refused or held message again (after the mapping or the data was fixed)."""

    actor: Principal
    message_id: str


@dataclass(frozen=True)
class Reprocessed:
    """How reprocessing ended: applied, or refused again with the reason."""

    status: MessageStatus
    error: str = ""


def reprocess_message(cmd: ReprocessMessage, uow: UnitOfWork, ctx: ServiceContext) -> Reprocessed:
    """Apply the stored raw message with the mapping in use now; a refusal is stored with its reason."""
    guard(cmd.actor, Action.HL7_MANAGE)
    failure: RadflowError | None = None
    with uow:
        message = messages(uow).get(cmd.message_id)
        _reviewable(message)
        frame = read_frame(message.raw, message.peer)
        if frame.error is None:
            try:
                apply_stored(uow, ctx, frame, current_mapping(uow), message, reviewer=cmd.actor)
            except RadflowError as refused:
                failure = refused
            else:
                uow.commit()
                return Reprocessed(message.status)
    with uow:
        message = messages(uow).get(cmd.message_id)
        error = frame.error or ack_error_for(failure or RadflowError("the message could not be applied"))
        sender = sender_of(current_mapping(uow), frame.header)
        reception = refusal(uow, ctx, frame, error, message, sender)
        message.rejected(outcome_of(reception, error), by=cmd.actor.user_id, at=ctx.clock.now())
        record_access(uow, ctx, cmd.actor, "hl7.reprocess", patient_id=message.patient_id or "",
                      object_type="hl7-message", object_id=message.id, detail=f"refused again: {error.message}")
        uow.commit()
        return Reprocessed(message.status, error.message)


def _reviewable(message: Hl7Message) -> None:
    if not message.is_reviewable:
        raise Conflict(f"message {message.control_id or message.id} is {message.status.value}; only rejected or "
                       "held messages can be reprocessed or dismissed (an applied message would apply twice)")


@dataclass(frozen=True)
class DismissMessage:
    """Decide that a refused or held message is not to be applied."""

    actor: Principal
    message_id: str
    reason: str


def dismiss_message(cmd: DismissMessage, uow: UnitOfWork, ctx: ServiceContext) -> MessageStatus:
    """Mark the message dismissed, with the reviewer's reason."""
    guard(cmd.actor, Action.HL7_MANAGE)
    if not cmd.reason.strip():
        raise ValidationError("say why the message is dismissed", field="reason")
    with uow:
        message = messages(uow).get(cmd.message_id)
        _reviewable(message)
        message.dismissed(by=cmd.actor.user_id, at=ctx.clock.now(), reason=cmd.reason.strip())
        record_access(uow, ctx, cmd.actor, "hl7.dismiss", patient_id=message.patient_id or "",
                      object_type="hl7-message", object_id=message.id, detail=cmd.reason.strip())
        uow.commit()
        return message.status


@dataclass(frozen=True)
class ListOutbound:
    """HL7 messages radflow sends: waiting, being sent, dead (the dead letters), or sent."""

    actor: Principal
    states: tuple[JobState, ...] = (JobState.PENDING, JobState.RUNNING, JobState.DEAD)
    limit: int = 100


@dataclass(frozen=True)
class OutboundRow:
    """One outbound message job as the monitor shows it."""

    job_id: str
    kind: str
    destination: str
    state: JobState
    attempts: int
    max_attempts: int
    due_at: datetime
    created_at: datetime
    last_error: str
    order_id: str
    detail: str
    result: dict[str, Any]


def list_outbound(cmd: ListOutbound, uow: UnitOfWork, ctx: ServiceContext) -> list[OutboundRow]:
    """The outbound queue and dead letters, newest first."""
    guard(cmd.actor, Action.HL7_MONITOR)
    with uow:
        jobs = outbound_jobs(uow).hl7_jobs(KINDS, cmd.states, min(max(cmd.limit, 1), 500))
        record_access(uow, ctx, cmd.actor, "hl7.outbound.list", object_type="job-list",
                      detail=f"{len(jobs)} job(s) in {','.join(s.value for s in cmd.states)}")
        uow.commit()
    return [_row(job) for job in jobs]


def _row(job: Job) -> OutboundRow:
    payload = job.payload
    if job.kind.endswith("order_status"):
        detail = f"status: {payload.get('state', '')}"
    elif job.kind.endswith("report"):
        detail = f"report: {payload.get('status', '')}"
    else:
        detail = "application ACK"
    return OutboundRow(job_id=job.id, kind=job.kind, destination=job.queue.removeprefix("hl7:"), state=job.state,
                       attempts=job.attempts, max_attempts=job.max_attempts, due_at=job.due_at,
                       created_at=job.created_at, last_error=job.last_error,
                       order_id=str(payload.get("order_id", "")), detail=detail, result=dict(job.result))


@dataclass(frozen=True)
class ResendOutbound:
    """Send a dead outbound message again (same MSH-10: the receiver can still deduplicate)."""

    actor: Principal
    job_id: str


def resend_outbound(cmd: ResendOutbound, uow: UnitOfWork, ctx: ServiceContext) -> JobState:
    """Put a dead HL7 job back in its queue, due now, with its attempts counted afresh."""
    guard(cmd.actor, Action.HL7_MANAGE)
    with uow:
        job = uow.jobs.get(cmd.job_id)
        if job.kind not in KINDS:
            raise ValidationError(f"job {job.id} is not an HL7 message ({job.kind})", field="job_id")
        if job.state is not JobState.DEAD:
            raise Conflict(f"job {job.id} is {job.state.value}; only a dead message can be resent")
        job.apply(JobEvent.RESEND)
        job.attempts, job.due_at, job.finished_at = 0, ctx.clock.now(), None
        record_access(uow, ctx, cmd.actor, "hl7.outbound.resend", object_type="job", object_id=job.id,
                      detail=f"{job.kind} to {job.queue} after: {job.last_error[:200]}")
        uow.commit()
        return job.state


@dataclass(frozen=True)
class InterfaceOverview:
    """The monitor's summary: messages per status, outbound jobs per state, the mapping version in use."""

    actor: Principal


@dataclass(frozen=True)
class Overview:
    """Counts for the monitor's header."""

    messages: dict[MessageStatus, int]
    outbound: dict[JobState, int]
    mapping_version: int | None


def interface_overview(cmd: InterfaceOverview, uow: UnitOfWork, ctx: ServiceContext) -> Overview:
    """Counts only (no patient data); the read is audited like the rest of the monitor."""
    guard(cmd.actor, Action.HL7_MONITOR)
    with uow:
        counts = messages(uow).counts_by_status()
        jobs = outbound_jobs(uow).hl7_jobs(KINDS, (JobState.PENDING, JobState.RUNNING, JobState.DEAD), 500)
        outbound: dict[JobState, int] = {}
        for job in jobs:
            outbound[job.state] = outbound.get(job.state, 0) + 1
        current = mappings(uow).current_version()
        record_access(uow, ctx, cmd.actor, "hl7.overview", object_type="hl7-interface")
        uow.commit()
    return Overview(counts, outbound, current[0] if current else None)


HANDLERS: dict[type, Handler] = {
    InterfaceOverview: interface_overview,
    SearchMessages: search_messages,
    GetMessage: get_message,
    ReprocessMessage: reprocess_message,
    DismissMessage: dismiss_message,
    ListOutbound: list_outbound,
    ResendOutbound: resend_outbound,
}
