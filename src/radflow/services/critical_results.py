"""Critical results: mark, notify, escalate on durable deadlines, acknowledge with read-back, document.

Marking a finding writes, in the same transaction, a notification job (due now) and an escalation
job (due when the chain's step runs out). Each is a durable job with a stable key: a killed worker's
job is picked up by another, the escalation's database effects (the next step, its jobs) commit with
the job's `done` mark — so each escalation happens once — and every message carries a key of its own
(`critical:<id>:step<n>:<recipient>`) that a deduplicating receiver sees once. Acknowledging appends
the communication record to the report (to its text while unsigned, as a signed addendum after) and
closes the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from radflow.domain.critical_result import (
    ChainStep,
    CriticalLevel,
    CriticalResult,
    Recipient,
    open_results,
    parse_level,
)
from radflow.domain.errors import Conflict
from radflow.domain.ids import new_id
from radflow.domain.jobs import Job
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.policy import Action
from radflow.domain.users import Principal, Role, User
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.jobs import JobHandler, enqueue
from radflow.services.ports import OutboundMessage
from radflow.services.reading import critical_results_in, reading_in, reports_in
from radflow.services.unit_of_work import UnitOfWork

NOTIFY = "critical_result.notify"
ESCALATE = "critical_result.escalate"
WORKER = "system:critical-results"


def _audit(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, result: CriticalResult, what: str,
           detail: str = "") -> None:
    record_access(uow, ctx, actor, f"critical_result.{what}", patient_id=result.patient_id,
                  object_type="critical_result", object_id=result.id, detail=detail)


def _schedule_step(uow: UnitOfWork, ctx: ServiceContext, result: CriticalResult) -> None:
    """Jobs of the current chain step: tell its recipients now, escalate when the step runs out."""
    payload = {"critical_result_id": result.id, "step": result.step}
    enqueue(uow, ctx, NOTIFY, f"critical:{result.id}:notify:{result.step}", payload)
    enqueue(uow, ctx, ESCALATE, f"critical:{result.id}:escalate:{result.step}", payload, due_at=result.step_due_at)


@dataclass(frozen=True)
class MarkCritical:
    """A radiologist marks a finding of a study being reported as critical, urgent or unexpected-significant."""

    actor: Principal
    order_id: str
    level: str
    finding: str
    finding_types: tuple[str, ...] = ()  # the vocabulary's types; read from the finding's words when empty


def mark_critical(cmd: MarkCritical, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Start the communication loop; returns the critical result's id."""
    level: CriticalLevel = parse_level(cmd.level)
    finding_types = tuple(t.strip() for t in cmd.finding_types if t.strip())
    if not finding_types and ctx.extractor is not None:
        # Name the finding in the vocabulary's words, so report QC sees the text's findings recorded.
        found = ctx.extractor.extract(cmd.finding).actionable_critical_findings
        finding_types = tuple(f.type for f in found)
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.CRITICAL_RESULT_RAISE, order)
        report = reports_in(uow).for_order(order.id)
        if report is None:
            raise Conflict(f"start the report of {order.accession_number} before marking a critical result: "
                           "the communication is documented in it")
        result = CriticalResult.raise_finding(
            id=new_id(), order_id=order.id, patient_id=order.patient_id, accession_number=order.accession_number,
            report_id=report.id, level=level, finding=cmd.finding, finding_types=finding_types,
            by=cmd.actor.user_id, by_name=cmd.actor.display_name or cmd.actor.username, at=ctx.clock.now(),
            deadlines=ctx.reporting.critical, ordering_provider_npi=order.ordering_provider_npi,
            ordering_provider_name=order.ordering_provider_name)
        critical_results_in(uow).add(result)
        _schedule_step(uow, ctx, result)
        order.note("critical_result_raised", by=cmd.actor.user_id, at=result.raised_at,
                   details={"critical_result_id": result.id, "level": level.value})
        _audit(uow, ctx, cmd.actor, result, "raise", f"{level.value}: {result.finding}")
        uow.commit()
        return result.id


# -- who is told -----------------------------------------------------------------------------------


def contact_of(user: User) -> tuple[str, str]:
    """A user's channel and address for a critical result: a phone for a text, else e-mail, else the inbox."""
    if user.phone.strip():
        return "sms", user.phone.strip()
    if user.email.strip():
        return "email", user.email.strip()
    return "inbox", user.username


def recipients_for(uow: UnitOfWork, result: CriticalResult) -> list[Recipient]:
    """Who the current chain step tells (active users only)."""
    step = result.chain_step
    if step is ChainStep.ORDERING_PROVIDER:
        people = [u for u in uow.users.by_npi(result.ordering_provider_npi)
                  if u.active and u.role is Role.REFERRING_PROVIDER] if result.ordering_provider_npi else []
    elif step is ChainStep.COVERING_PROVIDER:
        people = reading_in(uow).covering_providers(result.ordering_provider_npi) \
            if result.ordering_provider_npi else []
    else:
        people = reading_in(uow).section_chiefs()
    return [Recipient(user_id=u.id, name=u.display_name or u.username, step=step, channel=channel, address=address)
            for u in people for channel, address in (contact_of(u),)]


def _message(ctx: ServiceContext, result: CriticalResult, recipient: Recipient) -> OutboundMessage:
    # Minimum necessary over a text or an e-mail: no finding and no patient name, a number to call back.
    level = result.level.value.replace("_", " ").upper()
    body = (f"{level} imaging result on accession {result.accession_number} needs your acknowledgement. "
            f"Call the reading room at {ctx.settings.center_phone} or open radflow: "
            f"/critical-results/{result.id}. — {ctx.settings.center_name}")
    return OutboundMessage(key=f"critical:{result.id}:step{result.step}:{recipient.user_id}", channel=recipient.channel,
                           to=recipient.address, subject=f"{level} result {result.accession_number}", body=body,
                           patient_id=result.patient_id, order_id=result.order_id)


def _escalate(uow: UnitOfWork, ctx: ServiceContext, result: CriticalResult, reason: str) -> dict[str, Any]:
    step = result.escalate(at=ctx.clock.now(), by=WORKER, deadlines=ctx.reporting.critical, reason=reason)
    if step is None:
        return {"escalated": False, "exhausted": True}
    _schedule_step(uow, ctx, result)
    return {"escalated": True, "step": step.value}


def notify_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: tell the current step's recipients (each message at least once, with its own stable key)."""
    result = critical_results_in(uow).get(job.payload["critical_result_id"])
    if not result.is_open or result.step != job.payload["step"]:
        return {"skipped": f"{result.state.value}, step {result.step}"}
    recipients = recipients_for(uow, result)
    if not recipients:
        # Nobody on file to tell at this step: do not wait out the step's deadline.
        return {"recipients": 0, **_escalate(uow, ctx, result, f"no {result.chain_step.value.replace('_', ' ')} "
                                                                  "with a contact on file")}
    for recipient in recipients:
        receipt = ctx.gateway.send(_message(ctx, result, recipient))
        result.notified(recipient, at=ctx.clock.now(), by=WORKER, reference=receipt.gateway_reference)
    return {"recipients": len(recipients), "step": result.chain_step.value}


def escalate_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: the step's deadline passed; unless acknowledged meanwhile, ask the next step of the chain."""
    result = critical_results_in(uow).get(job.payload["critical_result_id"])
    if not result.is_open or result.step != job.payload["step"]:
        return {"skipped": f"{result.state.value}, step {result.step}"}
    return _escalate(uow, ctx, result, f"not acknowledged within the {result.level.value.replace('_', ' ')} step "
                                       "deadline")


# -- acknowledging and closing ---------------------------------------------------------------------


@dataclass(frozen=True)
class AcknowledgeCriticalResult:
    """The clinician reached confirms receipt with read-back (typed by them, or by the radiologist who called)."""

    actor: Principal
    critical_result_id: str
    read_back: str
    acknowledged_by_name: str = ""
    channel: str = ""


def _load(uow: UnitOfWork, actor: Principal, result_id: str, action: Action) -> tuple[CriticalResult, Order]:
    result = critical_results_in(uow).get(result_id)
    order = uow.orders.get(result.order_id)
    guard_order(actor, action, order)
    return result, order


def document_in_report(uow: UnitOfWork, ctx: ServiceContext, result: CriticalResult, order: Order,
                       at: datetime, names: dict[str, str]) -> None:
    """Append the communication record to the report, then close the loop."""
    report = reports_in(uow).get(result.report_id)
    text = result.documentation(ctx.settings.zone, {result.raised_by: result.raised_by_name, **names})
    if report.is_signed:
        report.sign_addendum(text, reason="critical result communication", by=result.raised_by,
                             by_name=result.raised_by_name, at=at, kind="communication")
        if order.state in (OrderState.REPORTED, OrderState.DELIVERED):
            order.transition(OrderEvent.ADDENDUM_SIGNED, by=result.raised_by, at=at,
                             details={"report_id": report.id, "critical_result_id": result.id})
    else:
        report.add_communication(text)
    result.close(at=at, by=WORKER)


def acknowledge_critical_result(cmd: AcknowledgeCriticalResult, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record the acknowledgement and read-back, document it in the report, close; returns the state."""
    with uow:
        result, order = _load(uow, cmd.actor, cmd.critical_result_id, Action.CRITICAL_RESULT_ACKNOWLEDGE)
        now = ctx.clock.now()
        if cmd.actor.role is Role.REFERRING_PROVIDER:
            # The clinician acknowledges for themself, in radflow: their name, the radflow inbox.
            name, channel, giver = cmd.actor.display_name or cmd.actor.username, cmd.channel or "inbox", ""
        else:
            name, channel, giver = cmd.acknowledged_by_name, cmd.channel or "phone", cmd.actor.user_id
        result.acknowledge(by=cmd.actor.user_id, by_name=name, channel=channel, read_back=cmd.read_back,
                           communicated_by=giver, at=now)
        document_in_report(uow, ctx, result, order, now,
                           names={cmd.actor.user_id: cmd.actor.display_name or cmd.actor.username})
        _audit(uow, ctx, cmd.actor, result, "acknowledge", f"{name} by {channel}")
        uow.commit()
        return result.state.value


@dataclass(frozen=True)
class RecordContactAttempt:
    """Note an attempt to reach someone that failed ("paged twice, no answer")."""

    actor: Principal
    critical_result_id: str
    detail: str


def record_contact_attempt(cmd: RecordContactAttempt, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Add the attempt to the communication record."""
    with uow:
        result, _ = _load(uow, cmd.actor, cmd.critical_result_id, Action.CRITICAL_RESULT_RAISE)
        result.record_attempt(cmd.detail, at=ctx.clock.now(), by=cmd.actor.user_id)
        _audit(uow, ctx, cmd.actor, result, "attempt", cmd.detail)
        uow.commit()
        return result.state.value


@dataclass(frozen=True)
class WithdrawCriticalResult:
    """Withdraw a critical result marked by mistake, with the reason."""

    actor: Principal
    critical_result_id: str
    reason: str


def withdraw_critical_result(cmd: WithdrawCriticalResult, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Withdraw: pending notifications and escalations then do nothing."""
    with uow:
        result, _ = _load(uow, cmd.actor, cmd.critical_result_id, Action.CRITICAL_RESULT_RAISE)
        result.withdraw(cmd.reason, at=ctx.clock.now(), by=cmd.actor.user_id)
        _audit(uow, ctx, cmd.actor, result, "withdraw", cmd.reason)
        uow.commit()
        return result.state.value


# -- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GetCriticalResult:
    """One critical result with its communication record."""

    actor: Principal
    critical_result_id: str


def get_critical_result(cmd: GetCriticalResult, uow: UnitOfWork, ctx: ServiceContext) -> CriticalResult:
    """Read one critical result (audited)."""
    with uow:
        result, _ = _load(uow, cmd.actor, cmd.critical_result_id, Action.CRITICAL_RESULT_READ)
        _audit(uow, ctx, cmd.actor, result, "read")
        uow.commit()
        return result


@dataclass(frozen=True)
class ListCriticalResults:
    """The critical results of one order."""

    actor: Principal
    order_id: str


def list_critical_results(cmd: ListCriticalResults, uow: UnitOfWork, ctx: ServiceContext) -> list[CriticalResult]:
    """An order's critical results, oldest first (audited)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.CRITICAL_RESULT_READ, order)
        results = critical_results_in(uow).for_order(order.id)
        record_access(uow, ctx, cmd.actor, "critical_result.list", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=f"{len(results)} results")
        uow.commit()
        return results


@dataclass(frozen=True)
class CriticalBoard:
    """The live board: open critical results, least time left first."""

    actor: Principal


def critical_board(cmd: CriticalBoard, uow: UnitOfWork, ctx: ServiceContext) -> list[CriticalResult]:
    """Open results the actor may see (a referrer: those of their orders), audited."""
    guard(cmd.actor, Action.CRITICAL_RESULT_READ)
    with uow:
        results = open_results(critical_results_in(uow).open_results())
        if cmd.actor.role is Role.REFERRING_PROVIDER:
            mine = {n for n in (cmd.actor.npi, *cmd.actor.covers_npis) if n}
            results = [r for r in results if r.ordering_provider_npi in mine]
        patients = {r.patient_id for r in results}
        record_access(uow, ctx, cmd.actor, "critical_result.board", object_type="critical-result-list",
                      patient_id=next(iter(patients)) if len(patients) == 1 else "",
                      detail=f"{len(results)} open")
        uow.commit()
        return results


HANDLERS: dict[type, Handler] = {
    MarkCritical: mark_critical, AcknowledgeCriticalResult: acknowledge_critical_result,
    RecordContactAttempt: record_contact_attempt, WithdrawCriticalResult: withdraw_critical_result,
    GetCriticalResult: get_critical_result, ListCriticalResults: list_critical_results,
    CriticalBoard: critical_board,
}
JOB_HANDLERS: dict[str, JobHandler] = {NOTIFY: notify_job, ESCALATE: escalate_job}
