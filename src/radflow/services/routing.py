"""Completeness check, protocoling hand-off and the authorization check: where an order goes next."""

from __future__ import annotations

from typing import Any

from radflow.domain.authorization import Authorization, AuthorizationState
from radflow.domain.checklist import ChecklistFacts, ChecklistResult, evaluate_checklist
from radflow.domain.ids import new_id
from radflow.domain.jobs import Job
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.payer_rules import AuthorizationRequirement, authorization_requirement
from radflow.domain.protocols import ContrastPhase, ContrastVariant, Protocol
from radflow.domain.users import Principal
from radflow.services.context import ServiceContext
from radflow.services.jobs import JobHandler, enqueue
from radflow.services.ports import OutboundMessage
from radflow.services.unit_of_work import UnitOfWork

DOCUMENTATION_REQUEST = "documentation_request"


def order_variant(protocol: Protocol, order: Order) -> ContrastVariant:
    """The contrast variant the order is for (the only one, or 'without' until someone chooses)."""
    if order.contrast is not None:
        return protocol.variant(order.contrast)
    if len(protocol.variants) == 1:
        return protocol.variants[0]
    for variant in protocol.variants:
        if variant.phase is ContrastPhase.WITHOUT:
            return variant
    return protocol.variants[0]


def checklist_facts(order: Order, protocol: Protocol, *, has_coverage: bool) -> ChecklistFacts:
    """What the completeness checklist sees of this order."""
    return ChecklistFacts(
        protocol_code=protocol.code,
        protocol_modality=protocol.modality.value,
        requested_modality=order.requested_modality or protocol.modality.value,
        contrast_variants=frozenset(v.phase.value for v in protocol.variants),
        laterality_required=protocol.laterality_required,
        contrast=order.contrast.value if order.contrast else None,
        laterality=order.laterality.value if order.laterality else None,
        diagnosis_codes=tuple(order.diagnosis_codes),
        reason_for_exam=order.reason_for_exam,
        ordering_provider_npi=order.ordering_provider_npi,
        ordering_provider_name=order.ordering_provider_name,
        has_coverage=has_coverage,
        self_pay=order.self_pay,
        contrast_chosen_at_protocoling=protocol.requires_protocoling and order.protocolled_by is None,
    )


def check_completeness(uow: UnitOfWork, ctx: ServiceContext, order: Order) -> ChecklistResult:
    """Run the checklist on an order as it stands."""
    protocol = ctx.catalog.protocol(order.protocol_code)
    has_coverage = False
    if order.coverage_id:
        has_coverage = uow.coverages.get(order.coverage_id).active
    return evaluate_checklist(ctx.checklist_rules, checklist_facts(order, protocol, has_coverage=has_coverage))


def route_received_order(uow: UnitOfWork, ctx: ServiceContext, order: Order, actor: Principal) -> OrderState:
    """From `received`: checklist, then protocoling, then authorization; returns where the order lands."""
    now = ctx.clock.now()
    result = check_completeness(uow, ctx, order)
    if not result.passed:
        order.missing_items = [f"{m.request} ({m.detail})" for m in result.missing]
        order.transition(OrderEvent.CHECKLIST_FAILED, by=actor.user_id, at=now,
                         details={"missing": [m.rule_id for m in result.missing],
                                  "detail": [m.detail for m in result.missing]})
        request_documentation(uow, ctx, order, [m.request for m in result.missing], reason="checklist")
        return order.state
    order.missing_items = []
    protocol = ctx.catalog.protocol(order.protocol_code)
    if protocol.requires_protocoling and order.protocolled_by is None:
        order.transition(OrderEvent.PROTOCOL_REQUIRED, by=actor.user_id, at=now,
                         details={"protocol": protocol.code})
        return order.state
    return check_authorization(uow, ctx, order, actor)


def request_documentation(uow: UnitOfWork, ctx: ServiceContext, order: Order, requests: list[str],
                          *, reason: str) -> None:
    """Queue a documentation request to the referrer (a durable job, sent by the worker)."""
    attempt = sum(1 for t in order.transitions if t.to_state == OrderState.AWAITING_DOCUMENTATION.value)
    enqueue(uow, ctx, DOCUMENTATION_REQUEST, f"docreq:{order.id}:{attempt}",
            {"order_id": order.id, "requests": requests, "reason": reason})


def authorization_needed(uow: UnitOfWork, ctx: ServiceContext, order: Order,
                         protocol: Protocol, variant: ContrastVariant) -> AuthorizationRequirement | None:
    """The payer's answer for this order, or None for self-pay (nothing to authorize)."""
    if order.self_pay or not order.coverage_id:
        return None
    coverage = uow.coverages.get(order.coverage_id)
    payer = ctx.catalog.payer(coverage.payer_id)
    return authorization_requirement(payer, protocol, variant, order.setting)


def check_authorization(uow: UnitOfWork, ctx: ServiceContext, order: Order, actor: Principal) -> OrderState:
    """Decide prior authorization for the order's study and move it on (from received or awaiting_protocol)."""
    now = ctx.clock.now()
    protocol = ctx.catalog.protocol(order.protocol_code)
    variant = order_variant(protocol, order)
    order.cpt_code = variant.cpt
    requirement = authorization_needed(uow, ctx, order, protocol, variant)
    current = uow.authorizations.current_for_order(order.id)
    if current is not None and current.cpt_code != variant.cpt:
        current.void(note=f"study changed to CPT {variant.cpt}", by=actor.user_id, at=now)
        current = None
    if requirement is None or not requirement.required:
        if current is None:
            uow.authorizations.add(Authorization(
                id=new_id(), order_id=order.id, payer_id=requirement.payer_id if requirement else "self_pay",
                cpt_code=variant.cpt, state=AuthorizationState.NOT_REQUIRED, created_at=now,
                rule_id=requirement.rule_id if requirement else "self-pay",
                rule_citation=requirement.citation if requirement else "Self-pay: no payer to authorize",
            ))
        order.transition(OrderEvent.CLEARED_FOR_SCHEDULING, by=actor.user_id, at=now, details={
            "authorization": "not required",
            "explanation": requirement.explanation if requirement else "self-pay",
        })
        return order.state
    if current is not None and current.is_valid_on(now):
        order.transition(OrderEvent.CLEARED_FOR_SCHEDULING, by=actor.user_id, at=now,
                         details={"authorization": current.authorization_number})
        return order.state
    if current is None or current.state is not AuthorizationState.REQUIRED:
        if current is not None:
            current.void(note="superseded by a new request", by=actor.user_id, at=now)
        uow.authorizations.add(Authorization(
            id=new_id(), order_id=order.id, payer_id=requirement.payer_id, cpt_code=variant.cpt,
            state=AuthorizationState.REQUIRED, created_at=now, rule_id=requirement.rule_id,
            rule_citation=requirement.citation,
        ))
    order.transition(OrderEvent.AUTHORIZATION_REQUIRED, by=actor.user_id, at=now,
                     details={"explanation": requirement.explanation, "citation": requirement.citation})
    return order.state


def documentation_request_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: send the referrer the list of what is missing, on the channel the referral came from."""
    order = uow.orders.get(job.payload["order_id"])
    referral = uow.referrals.get(order.referral_id) if order.referral_id else None
    patient = uow.patients.get(order.patient_id)
    if referral is not None and referral.reply_fax:
        channel, to = "fax", referral.reply_fax
    elif referral is not None and referral.reply_email:
        channel, to = "email", referral.reply_email
    else:
        # No way to reach the office electronically: the intake queue shows the request to phone in.
        return {"sent": False, "reason": "no fax or email on file for the referrer; call the office"}
    lines = "\n".join(f"- {request}" for request in job.payload["requests"])
    body = (
        f"{ctx.settings.center_name} received your imaging order for {patient.display_name} "
        f"(DOB {patient.birth_date.isoformat()}), accession {order.accession_number}, "
        f"{order.protocol_code}.\n\nBefore we can schedule it we need:\n{lines}\n\n"
        f"Please reply to this {channel} or call {ctx.settings.center_phone}."
    )
    receipt = ctx.gateway.send(OutboundMessage(
        key=job.key, channel=channel, to=to, subject=f"Documentation needed: order {order.accession_number}",
        body=body, patient_id=order.patient_id, order_id=order.id,
    ))
    order.note("documentation_requested", by="system:worker", at=ctx.clock.now(),
               details={"channel": channel, "to": to, "gateway_reference": receipt.gateway_reference})
    return {"sent": True, "channel": channel, "gateway_reference": receipt.gateway_reference}


JOB_HANDLERS: dict[str, JobHandler] = {DOCUMENTATION_REQUEST: documentation_request_job}
