"""Orders from HL7 (ORM^O01, OMI^O23): new, cancel, discontinue, change — into the same pipeline.

Runs inside the unit of work that stores the message, so the order changes commit with the raw
message or not at all. A new order (ORC-1 NW) is a referral on channel `hl7` through
`services.orders.receive_referral_in`: the completeness check, routing and authorization run as for
any other referral, and an order without a diagnosis code lands in `awaiting_documentation`.

Order control codes (HL7 table 0119) and what radflow does with them:
- NW: a new order per OBR (per IPC in OMI^O23); a placer number radflow already holds open is
  refused (ERR 205) — the placer changes an order with XO.
- CA, OC: cancel. DC, OD: discontinue; before the exam starts that is a cancellation. After it
  started the lifecycle has no cancellation (DESIGN §1: a started exam is discontinued at the
  modality, MPPS DISCONTINUED), so radflow refuses with AE and an ERR saying so, and changes nothing.
- XO, XX: change the order's clinical details (diagnosis codes, reason, notes, provider, contrast,
  side). An order waiting for documentation is checked again. A different procedure is refused:
  the placer cancels and orders anew (the accession and authorization belong to the procedure).
- HD, RL: hold and release, where the lifecycle allows (a booked or checked-in exam).
- SC: the placer's own status note; recorded on the order's timeline.
"""

from __future__ import annotations

from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError
from radflow.adapters.hl7.mapping import MappedOrder, MappedProcedure, SenderMapping, map_order
from radflow.adapters.hl7.messages import InboundOrder
from radflow.domain.errors import Conflict, DuplicateRequest, NotFound, ValidationError
from radflow.domain.hl7_message import Hl7Message, ReferenceKind
from radflow.domain.lifecycle import CANCELLABLE_STATES, OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.domain.values import Icd10Code, Npi
from radflow.services.access import guard_order
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.interfaces.patients_in import find_known, find_or_register
from radflow.services.order_changes import CancelOrder, cancel_order_in
from radflow.services.orders import OrderLine, ReceiveReferral, receive_referral_in
from radflow.services.routing import route_received_order
from radflow.services.unit_of_work import UnitOfWork

CANCEL_CONTROLS = frozenset({"CA", "OC"})
DISCONTINUE_CONTROLS = frozenset({"DC", "OD"})
CHANGE_CONTROLS = frozenset({"XO", "XX"})


def apply_order(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, inbound: InboundOrder,
                sender: SenderMapping, message: Hl7Message) -> None:
    """Apply every order line of an ORM^O01 / OMI^O23 in the message's order (new ones first, together)."""
    mapped = map_order(inbound, sender)
    new_lines = [line for line in mapped.procedures if line.order_control == "NW"]
    if new_lines:
        # Only a new order may register a patient; a cancel or change names orders radflow already has.
        patient = find_or_register(uow, ctx, actor, inbound.patient, sender, message).patient
        _receive_new(uow, ctx, actor, mapped, new_lines, patient.id, message, inbound)
    else:
        find_known(uow, ctx, actor, inbound.patient, sender, message)
    for number, line in enumerate(mapped.procedures, start=1):
        if line.order_control == "NW":
            continue
        message.refer_to(ReferenceKind.PLACER, line.placer_order_number)
        for order in _orders_for(uow, mapped, line, number):
            _apply_control(uow, ctx, actor, line, order, message, number)


def _receive_new(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, mapped: MappedOrder,
                 lines: list[MappedProcedure], patient_id: str, message: Hl7Message, inbound: InboundOrder) -> None:
    for line in lines:
        message.refer_to(ReferenceKind.PLACER, line.placer_order_number)
        open_orders = [o for o in uow.orders.by_placer(mapped.placer_system, line.placer_order_number)
                       if o.state is not OrderState.CANCELLED]
        if open_orders:
            held = open_orders[0]
            raise DuplicateRequest(
                f"placer order number {line.placer_order_number} from {mapped.placer_system} is already order "
                f"{held.accession_number} ({held.state.value}); change it with ORC-1 XO or cancel it with CA")
    first = lines[0]
    header = inbound.header
    result = receive_referral_in(uow, ctx, ReceiveReferral(
        actor=actor, patient_id=patient_id, channel="hl7", lines=tuple(_order_line(mapped, line) for line in lines),
        source_organization=mapped.placer_system, source_provider_name=first.ordering_provider_name,
        source_provider_npi=_valid_npi(first.ordering_provider_npi),
        external_reference=f"HL7 {header.message_type} {header.control_id}"[:100],
    ))
    for order_id, accession in zip(result.order_ids, result.accession_numbers, strict=True):
        message.refer_to(ReferenceKind.ORDER, order_id)
        message.refer_to(ReferenceKind.ACCESSION, accession)


def _valid_npi(npi: str) -> str:
    """The referral's source NPI only when well-formed (each order line is checked on its own)."""
    try:
        return Npi.parse(npi).value if npi else ""
    except ValidationError:  # refused where the order line itself is validated, naming the line
        return ""


def _order_line(mapped: MappedOrder, line: MappedProcedure) -> OrderLine:
    if line.protocol_code is None:  # the reader refuses NW without OBR-4; kept for the type checker
        raise Hl7ContentError("OBR-4 (the procedure) is required for a new order",
                              error_code=ErrorCode.REQUIRED_FIELD_MISSING, location=ErrorLocation("OBR", field=4))
    notes = [line.clinical_notes]
    if line.requested_at is not None:
        notes.append(f"Requested for {line.requested_at.isoformat(timespec='minutes')} (UTC)")
    uncopied = [name for npi, name in line.copy_to if not npi and name]
    if uncopied:
        notes.append("Copies requested to (no NPI known): " + ", ".join(uncopied))
    return OrderLine(
        protocol_code=line.protocol_code, contrast=line.contrast.value if line.contrast else None,
        laterality=line.laterality.value if line.laterality else None, reason_for_exam=line.reason_for_exam,
        diagnosis_codes=line.diagnosis_codes, clinical_notes="\n".join(n for n in notes if n.strip()),
        ordering_provider_npi=line.ordering_provider_npi, ordering_provider_name=line.ordering_provider_name,
        copy_to=tuple((npi, name) for npi, name in line.copy_to if npi), priority=line.track.value,
        setting=line.setting.value, placer_order_number=line.placer_order_number,
        placer_system=mapped.placer_system, placer_accession=line.placer_accession,
    )


def _orders_for(uow: UnitOfWork, mapped: MappedOrder, line: MappedProcedure, number: int) -> list[Order]:
    """The orders an ORC names: by placer number (ORC-2), else by filler number (ORC-3, the accession)."""
    found = uow.orders.by_placer(mapped.placer_system, line.placer_order_number) if line.placer_order_number else []
    if not found and line.filler_order_number:
        by_filler = uow.orders.by_accession(line.filler_order_number)
        found = [by_filler] if by_filler is not None else []
    if not found:
        numbers = " / ".join(n for n in (line.placer_order_number, line.filler_order_number) if n)
        raise NotFound(f"no order with placer/filler number {numbers} from {mapped.placer_system} "
                       f"(ORC-1 {line.order_control}, order line {number})")
    return found


def _apply_control(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, line: MappedProcedure, order: Order,
                   message: Hl7Message, number: int) -> None:
    message.refer_to(ReferenceKind.ORDER, order.id)
    message.refer_to(ReferenceKind.ACCESSION, order.accession_number)
    control = line.order_control
    if control in CANCEL_CONTROLS or control in DISCONTINUE_CONTROLS:
        _cancel(uow, ctx, actor, order, control)  # audited by the cancellation itself
        return
    if control in CHANGE_CONTROLS:
        change_details(uow, ctx, actor, order, line)
    elif control == "HD":
        guard_order(actor, Action.ORDER_UPDATE, order)
        order.transition(OrderEvent.HOLD_PLACED, by=actor.user_id, at=ctx.clock.now(),
                         reason="hold requested by the placer (ORC-1 HD)")
    elif control == "RL":
        guard_order(actor, Action.ORDER_UPDATE, order)
        order.transition(OrderEvent.HOLD_CLEARED, by=actor.user_id, at=ctx.clock.now(),
                         reason="hold released by the placer (ORC-1 RL)")
    else:  # SC: the placer tells its own status; nothing in radflow changes
        guard_order(actor, Action.ORDER_UPDATE, order)
        order.note("placer_status", by=actor.user_id, at=ctx.clock.now(),
                   details={"order_control": control, "line": number})
    record_access(uow, ctx, actor, f"order.hl7.{control.lower()}", patient_id=order.patient_id,
                  object_type="order", object_id=order.id, detail=f"{order.accession_number} -> {order.state.value}")


def _cancel(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order: Order, control: str) -> None:
    if order.state is OrderState.CANCELLED:
        return  # cancelled already: the placer's request is fulfilled
    if order.state not in CANCELLABLE_STATES:
        word = "discontinue" if control in DISCONTINUE_CONTROLS else "cancel"
        raise Conflict(
            f"order {order.accession_number} cannot be {word}d from HL7: its exam has started "
            f"(state {order.state.value}); a started exam is discontinued at the modality by the technologist "
            "(MPPS DISCONTINUED) — call the imaging department")
    reason = "discontinued by the placer (ORC-1 DC)" if control in DISCONTINUE_CONTROLS \
        else f"cancelled by the placer (ORC-1 {control})"
    cancel_order_in(uow, ctx, CancelOrder(actor=actor, order_id=order.id, reason=reason))


def change_details(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order: Order,
                   line: MappedProcedure) -> list[str]:
    """XO: take the clinical details the placer sends; an order waiting for them is checked again."""
    guard_order(actor, Action.ORDER_UPDATE, order)
    if order.state is OrderState.CANCELLED:
        raise Conflict(f"order {order.accession_number} is cancelled; send a new order (ORC-1 NW)")
    if line.protocol_code is not None and line.protocol_code != order.protocol_code:
        raise Conflict(
            f"order {order.accession_number} is for {order.protocol_code}; a change to {line.protocol_code} is a "
            "different procedure: cancel this order (CA) and send a new one (NW)")
    changed: list[str] = []
    codes = [Icd10Code.parse(code).value for code in line.diagnosis_codes]
    merged = list(dict.fromkeys([*order.diagnosis_codes, *codes]))
    updates: dict[str, object] = {"diagnosis_codes": merged}
    if line.reason_for_exam.strip():
        updates["reason_for_exam"] = line.reason_for_exam.strip()
    if line.clinical_notes.strip():
        updates["clinical_notes"] = line.clinical_notes.strip()
    if line.ordering_provider_npi:
        updates["ordering_provider_npi"] = Npi.parse(line.ordering_provider_npi).value
    if line.ordering_provider_name:
        updates["ordering_provider_name"] = line.ordering_provider_name
    if line.contrast is not None:
        ctx.catalog.protocol(order.protocol_code).variant(line.contrast)
        updates["contrast"] = line.contrast
    if line.laterality is not None:
        updates["laterality"] = line.laterality
    for field, value in updates.items():
        if getattr(order, field) != value:
            setattr(order, field, value)
            changed.append(field)
    now = ctx.clock.now()
    if order.state is OrderState.AWAITING_DOCUMENTATION and changed:
        order.transition(OrderEvent.DOCUMENTATION_RECEIVED, by=actor.user_id, at=now,
                         reason="details changed by the placer (ORC-1 XO)", details={"changed": changed})
        route_received_order(uow, ctx, order, actor)
    elif changed:
        order.note("details_updated", by=actor.user_id, at=now, details={"changed": changed, "source": "hl7"})
    return changed
