"""Order intake: referrals with their order lines, documents, documentation received, cancellation."""

from __future__ import annotations

from dataclasses import dataclass

from radflow.domain.errors import Conflict, NotFound, ValidationError
from radflow.domain.ids import new_id, uid_from_root
from radflow.domain.order import Laterality, Order, Track
from radflow.domain.payer_rules import CareSetting
from radflow.domain.policy import Action
from radflow.domain.protocols import ContrastPhase
from radflow.domain.referral import Referral, ReferralChannel
from radflow.domain.users import Principal
from radflow.domain.values import Icd10Code, Npi, format_accession, validate_accession
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.routing import route_received_order
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class OrderLine:
    """One requested procedure on a referral."""

    protocol_code: str
    requested_modality: str = ""
    contrast: str | None = None
    laterality: str | None = None
    reason_for_exam: str = ""
    diagnosis_codes: tuple[str, ...] = ()
    clinical_notes: str = ""
    ordering_provider_npi: str = ""
    ordering_provider_name: str = ""
    copy_to: tuple[tuple[str, str], ...] = ()  # (npi, name)
    priority: str = "routine"
    setting: str = "outpatient"
    coverage_id: str | None = None
    self_pay: bool = False
    placer_order_number: str = ""
    placer_system: str = ""
    placer_accession: str = ""  # where a sender's mapping says the placer assigns it


@dataclass(frozen=True)
class ReceiveReferral:
    """A referral arrived (fax, e-order, email, portal, self-request, HL7) with one or more orders."""

    actor: Principal
    patient_id: str
    channel: str
    lines: tuple[OrderLine, ...]
    source_organization: str = ""
    source_provider_name: str = ""
    source_provider_npi: str = ""
    reply_fax: str = ""
    reply_email: str = ""
    reply_phone: str = ""
    external_reference: str = ""
    notes: str = ""


@dataclass(frozen=True)
class ReceivedReferral:
    """Result: the referral and its orders with where each landed."""

    referral_id: str
    order_ids: tuple[str, ...]
    accession_numbers: tuple[str, ...]
    states: tuple[str, ...]


def parse_enum[E](enum_type: type[E], value: str | None, field_name: str) -> E | None:
    if value is None or value == "":
        return None
    try:
        return enum_type(value)  # type: ignore[call-arg]
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum_type)  # type: ignore[attr-defined]
        raise ValidationError(f"{field_name} '{value}' is not one of: {allowed}", field=field_name) from None


def _validate_line(ctx: ServiceContext, line: OrderLine) -> None:
    """Refuse what is malformed (not what is merely missing: the checklist handles that)."""
    try:
        protocol = ctx.catalog.protocol(line.protocol_code)
    except NotFound as unknown:  # in a request, an unknown code is a bad value, not a missing resource
        raise ValidationError(unknown.message, field="protocol_code") from None
    for code in line.diagnosis_codes:
        Icd10Code.parse(code)
    if line.ordering_provider_npi:
        Npi.parse(line.ordering_provider_npi)
    for npi, _name in line.copy_to:
        Npi.parse(npi)
    if line.contrast:
        protocol.variant(parse_enum(ContrastPhase, line.contrast, "contrast") or ContrastPhase.WITHOUT)
    parse_enum(Laterality, line.laterality, "laterality")
    parse_enum(Track, line.priority, "priority")
    parse_enum(CareSetting, line.setting, "setting")


def new_order(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, patient_id: str,
              referral_id: str | None, line: OrderLine) -> Order:
    """Create one order in `received` (validated, with accession and Study Instance UID), not yet routed."""
    _validate_line(ctx, line)
    protocol = ctx.catalog.protocol(line.protocol_code)
    if line.placer_accession:
        accession = validate_accession(line.placer_accession)
        if uow.orders.by_accession(accession) is not None:
            raise Conflict(f"accession number {accession} is already in use")
    else:
        accession = format_accession("A", uow.counters.next_value("accession"))
    if line.coverage_id:
        coverage = uow.coverages.get(line.coverage_id)
        if coverage.patient_id != patient_id:
            raise ValidationError("that coverage belongs to another patient", field="coverage_id")
    priority = parse_enum(Track, line.priority, "priority") or Track.ROUTINE
    order = Order.receive(
        by=actor.user_id, at=ctx.clock.now(), target=ctx.track_target(priority.value),
        id=new_id(), patient_id=patient_id, referral_id=referral_id, accession_number=accession,
        study_instance_uid=uid_from_root(ctx.settings.uid_root), protocol_code=protocol.code,
        requested_modality=(line.requested_modality or protocol.modality.value).upper(), priority=priority,
        contrast=parse_enum(ContrastPhase, line.contrast, "contrast"),
        laterality=parse_enum(Laterality, line.laterality, "laterality"), body_part=protocol.body_part,
        reason_for_exam=line.reason_for_exam.strip(),
        diagnosis_codes=[Icd10Code.parse(c).value for c in line.diagnosis_codes],
        clinical_notes=line.clinical_notes.strip(), ordering_provider_npi=line.ordering_provider_npi.strip(),
        ordering_provider_name=line.ordering_provider_name.strip(),
        copy_to=[{"npi": npi, "name": name} for npi, name in line.copy_to],
        setting=parse_enum(CareSetting, line.setting, "setting") or CareSetting.OUTPATIENT,
        coverage_id=line.coverage_id, self_pay=line.self_pay,
        placer_order_number=line.placer_order_number.strip(), placer_system=line.placer_system.strip(),
    )
    uow.orders.add(order)
    return order


def receive_referral_in(uow: UnitOfWork, ctx: ServiceContext, cmd: ReceiveReferral) -> ReceivedReferral:
    """Record the referral, create its orders and route each (inside an open unit of work)."""
    guard(cmd.actor, Action.ORDER_CREATE)
    if not cmd.lines:
        raise ValidationError("a referral needs at least one requested exam", field="lines")
    channel = parse_enum(ReferralChannel, cmd.channel, "channel") or ReferralChannel.FAX
    patient = uow.patients.get(cmd.patient_id)
    if not patient.is_active:
        raise Conflict(f"patient {patient.id} was merged into {patient.merged_into_id}; use that record")
    if cmd.source_provider_npi:
        Npi.parse(cmd.source_provider_npi)
    referral = Referral(
        id=new_id(), patient_id=patient.id, channel=channel, received_at=ctx.clock.now(),
        received_by=cmd.actor.user_id, source_organization=cmd.source_organization.strip(),
        source_provider_name=cmd.source_provider_name.strip(), source_provider_npi=cmd.source_provider_npi,
        reply_fax=cmd.reply_fax.strip(), reply_email=cmd.reply_email.strip(), reply_phone=cmd.reply_phone.strip(),
        external_reference=cmd.external_reference.strip(), notes=cmd.notes.strip(),
    )
    uow.referrals.add(referral)
    orders = [new_order(uow, ctx, cmd.actor, patient.id, referral.id, line) for line in cmd.lines]
    for order in orders:
        guard_order(cmd.actor, Action.ORDER_CREATE, order)  # a referrer may only order as themselves
        route_received_order(uow, ctx, order, cmd.actor)
        record_access(uow, ctx, cmd.actor, "order.create", patient_id=patient.id, object_type="order",
                      object_id=order.id, detail=f"{order.accession_number} {order.protocol_code} -> {order.state}")
    return ReceivedReferral(referral_id=referral.id, order_ids=tuple(o.id for o in orders),
                            accession_numbers=tuple(o.accession_number for o in orders),
                            states=tuple(o.state.value for o in orders))


def receive_referral(cmd: ReceiveReferral, uow: UnitOfWork, ctx: ServiceContext) -> ReceivedReferral:
    """Receive a referral: every order is checked for completeness and routed before commit."""
    with uow:
        result = receive_referral_in(uow, ctx, cmd)
        uow.commit()
        return result
