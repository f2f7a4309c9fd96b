"""Changes to an order after intake: documentation received, protocol assigned, cancellation."""

from __future__ import annotations

from dataclasses import dataclass

from radflow.domain.errors import ValidationError
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Laterality, Order
from radflow.domain.policy import Action
from radflow.domain.protocols import ContrastPhase
from radflow.domain.users import Principal
from radflow.domain.values import Icd10Code, Npi
from radflow.services.access import guard_order
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.routing import check_authorization, route_received_order
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class SupplyDocumentation:
    """What the referrer sent back; fields not given stay as they are. The check then runs again."""

    actor: Principal
    order_id: str
    diagnosis_codes: tuple[str, ...] | None = None
    reason_for_exam: str | None = None
    contrast: str | None = None
    laterality: str | None = None
    ordering_provider_npi: str | None = None
    ordering_provider_name: str | None = None
    coverage_id: str | None = None
    self_pay: bool | None = None
    clinical_notes: str | None = None
    note: str = ""


def _apply_documentation(order: Order, cmd: SupplyDocumentation, uow: UnitOfWork) -> list[str]:
    changed: list[str] = []
    if cmd.diagnosis_codes is not None:
        codes = [Icd10Code.parse(code).value for code in cmd.diagnosis_codes]
        order.diagnosis_codes = list(dict.fromkeys([*order.diagnosis_codes, *codes]))
        changed.append("diagnosis_codes")
    if cmd.reason_for_exam is not None:
        order.reason_for_exam = cmd.reason_for_exam.strip()
        changed.append("reason_for_exam")
    if cmd.contrast:
        order.contrast = ContrastPhase(cmd.contrast)
        changed.append("contrast")
    if cmd.laterality:
        order.laterality = Laterality(cmd.laterality)
        changed.append("laterality")
    if cmd.ordering_provider_npi is not None:
        order.ordering_provider_npi = Npi.parse(cmd.ordering_provider_npi).value
        changed.append("ordering_provider_npi")
    if cmd.ordering_provider_name is not None:
        order.ordering_provider_name = cmd.ordering_provider_name.strip()
        changed.append("ordering_provider_name")
    if cmd.coverage_id is not None:
        if uow.coverages.get(cmd.coverage_id).patient_id != order.patient_id:
            raise ValidationError("that coverage belongs to another patient", field="coverage_id")
        order.coverage_id = cmd.coverage_id
        changed.append("coverage_id")
    if cmd.self_pay is not None:
        order.self_pay = cmd.self_pay
        changed.append("self_pay")
    if cmd.clinical_notes is not None:
        order.clinical_notes = cmd.clinical_notes.strip()
        changed.append("clinical_notes")
    return changed


def supply_documentation(cmd: SupplyDocumentation, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record documentation received and run the completeness check again (DESIGN §1)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.ORDER_UPDATE, order)
        if cmd.contrast:
            ctx.catalog.protocol(order.protocol_code).variant(cmd.contrast)
        if cmd.laterality and cmd.laterality not in {m.value for m in Laterality}:
            raise ValidationError(f"laterality '{cmd.laterality}' must be L, R or B", field="laterality")
        changed = _apply_documentation(order, cmd, uow)
        if order.state is OrderState.AWAITING_DOCUMENTATION:
            order.transition(OrderEvent.DOCUMENTATION_RECEIVED, by=cmd.actor.user_id, at=ctx.clock.now(),
                             reason=cmd.note, details={"changed": changed})
            route_received_order(uow, ctx, order, cmd.actor)
        elif changed:
            order.note("details_updated", by=cmd.actor.user_id, at=ctx.clock.now(), details={"changed": changed})
        record_access(uow, ctx, cmd.actor, "order.update", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=",".join(changed))
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class AssignProtocol:
    """A radiologist (or lead technologist) sets protocol, contrast and special instructions."""

    actor: Principal
    order_id: str
    contrast: str
    special_instructions: str = ""
    protocol_code: str | None = None  # a different protocol changes the study


def assign_protocol(cmd: AssignProtocol, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Protocol the exam; the order goes on to the authorization check (or back to `received`)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.ORDER_PROTOCOL, order)
        now = ctx.clock.now()
        new_code = cmd.protocol_code or order.protocol_code
        protocol = ctx.catalog.protocol(new_code)
        variant = protocol.variant(cmd.contrast)
        changes_study = new_code != order.protocol_code
        order.contrast = variant.phase
        order.special_instructions = cmd.special_instructions.strip()
        order.protocolled_by, order.protocolled_at = cmd.actor.user_id, now
        details = {"protocol": protocol.code, "contrast": variant.phase.value, "cpt": variant.cpt,
                   "minutes": variant.minutes, "special_instructions": order.special_instructions}
        if changes_study:
            old = order.protocol_code
            order.protocol_code, order.body_part = protocol.code, protocol.body_part
            order.requested_modality = protocol.modality.value
            order.transition(OrderEvent.PROTOCOL_CHANGED_STUDY, by=cmd.actor.user_id, at=now,
                             reason=f"protocol changed from {old} to {protocol.code}", details=details)
            route_received_order(uow, ctx, order, cmd.actor)
        else:
            order.note("protocol_assigned", by=cmd.actor.user_id, at=now, details=details)
            if order.state is OrderState.AWAITING_PROTOCOL:
                check_authorization(uow, ctx, order, cmd.actor)
        record_access(uow, ctx, cmd.actor, "order.protocol", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=f"{protocol.code} {variant.phase.value}")
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class CancelOrder:
    """Withdraw an order before its exam starts, with the reason and who."""

    actor: Principal
    order_id: str
    reason: str


def cancel_order_in(uow: UnitOfWork, ctx: ServiceContext, cmd: CancelOrder) -> Order:
    """Cancel inside an open unit of work (HL7 ORC-1 CA uses this too)."""
    order = uow.orders.get(cmd.order_id)
    guard_order(cmd.actor, Action.ORDER_CANCEL, order)
    now = ctx.clock.now()
    order.transition(OrderEvent.CANCEL, by=cmd.actor.user_id, at=now, reason=cmd.reason)
    current = uow.authorizations.current_for_order(order.id)
    if current is not None:
        current.void(note="order cancelled", by=cmd.actor.user_id, at=now)
    record_access(uow, ctx, cmd.actor, "order.cancel", patient_id=order.patient_id, object_type="order",
                  object_id=order.id, detail=cmd.reason)
    return order


def cancel_order(cmd: CancelOrder, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Cancel an order (allowed from any state before the exam starts)."""
    with uow:
        order = cancel_order_in(uow, ctx, cmd)
        uow.commit()
        return order.state.value
