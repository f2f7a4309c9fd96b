"""Patient services: register (flagging probable duplicates), update, merge, coverage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from radflow.domain.errors import ValidationError
from radflow.domain.ids import new_id
from radflow.domain.patient import RADFLOW_AUTHORITY, DuplicateCandidate, Patient, Sex, probable_duplicates
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.referral import Coverage
from radflow.domain.users import Principal
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class IdentifierInput:
    """An identifier as an outside system gives it."""

    authority: str
    value: str
    type_code: str = "MR"


@dataclass(frozen=True)
class RegisterPatient:
    """Create a patient record; probable duplicates are flagged, not merged."""

    actor: Principal
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    middle_name: str = ""
    phone: str = ""
    email: str = ""
    address_line: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    preferred_language: str = "en"
    identifiers: tuple[IdentifierInput, ...] = ()
    is_temporary: bool = False


@dataclass(frozen=True)
class RegisteredPatient:
    """Result of registration."""

    patient_id: str
    mrn: str
    probable_duplicates: tuple[str, ...] = field(default_factory=tuple)
    existing: bool = False


def _validate_demographics(cmd: RegisterPatient, today: date) -> Sex:
    if not cmd.family_name.strip() or not cmd.given_name.strip():
        raise ValidationError("a patient needs a family name and a given name", field="family_name")
    if cmd.birth_date > today:
        raise ValidationError(f"birth date {cmd.birth_date.isoformat()} is in the future", field="birth_date")
    if cmd.birth_date.year < 1880:
        raise ValidationError(f"birth date {cmd.birth_date.isoformat()} is not plausible", field="birth_date")
    try:
        return Sex(cmd.sex.upper()[:1] if cmd.sex else "U")
    except ValueError:
        raise ValidationError(f"sex '{cmd.sex}' must be F, M, O or U", field="sex") from None


def register_patient_in(uow: UnitOfWork, ctx: ServiceContext, cmd: RegisterPatient, *,
                        looked_up: tuple[str, str] | None = None) -> RegisteredPatient:
    """Register inside an open unit of work (used by intake and by HL7 ADT); no commit.

    `looked_up` is an (authority, value) the caller has just looked for in this unit of work and not found.
    """
    guard(cmd.actor, Action.PATIENT_WRITE)
    now = ctx.clock.now()
    sex = _validate_demographics(cmd, now.date())
    for ident in cmd.identifiers:
        if (ident.authority, ident.value) == looked_up:
            continue
        existing = uow.patients.by_identifier(ident.authority, ident.value)
        if existing is not None:
            # The same identifier from the same authority is the same person: no second record.
            return RegisteredPatient(patient_id=existing.id, mrn=existing.mrn, existing=True)
    candidates = uow.patients.duplicate_candidates(cmd.birth_date, cmd.phone, cmd.family_name)
    duplicates = probable_duplicates(
        DuplicateCandidate(cmd.family_name, cmd.given_name, cmd.birth_date, cmd.phone), candidates
    )
    patient = Patient(
        id=new_id(), family_name=cmd.family_name.strip(), given_name=cmd.given_name.strip(),
        middle_name=cmd.middle_name.strip(), birth_date=cmd.birth_date, sex=sex, created_at=now,
        phone=cmd.phone.strip(), email=cmd.email.strip(), address_line=cmd.address_line.strip(),
        city=cmd.city.strip(), state=cmd.state.strip(), postal_code=cmd.postal_code.strip(),
        preferred_language=cmd.preferred_language or "en", is_temporary=cmd.is_temporary,
    )
    mrn = f"RF{uow.counters.next_value('mrn'):07d}"
    patient.add_identifier(RADFLOW_AUTHORITY, mrn, "MR")
    for ident in cmd.identifiers:
        patient.add_identifier(ident.authority, ident.value, ident.type_code)
    patient.registered(by=cmd.actor.user_id, at=now, duplicates=duplicates)
    uow.patients.add(patient)
    record_access(uow, ctx, cmd.actor, "patient.create", patient_id=patient.id, object_type="patient",
                  object_id=patient.id, detail=f"duplicates flagged: {len(duplicates)}" if duplicates else "")
    return RegisteredPatient(patient_id=patient.id, mrn=mrn, probable_duplicates=tuple(duplicates))


def register_patient(cmd: RegisterPatient, uow: UnitOfWork, ctx: ServiceContext) -> RegisteredPatient:
    """Register a patient, flagging probable duplicates by name, birth date and phone."""
    with uow:
        result = register_patient_in(uow, ctx, cmd)
        uow.commit()
        return result


@dataclass(frozen=True)
class UpdatePatient:
    """Change a patient's contact details or demographics (only the fields given)."""

    actor: Principal
    patient_id: str
    phone: str | None = None
    email: str | None = None
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None


def update_patient(cmd: UpdatePatient, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Apply the given changes to a patient record."""
    with uow:
        patient = uow.patients.get(cmd.patient_id)
        guard(cmd.actor, Action.PATIENT_WRITE, AccessTarget(patient_id=patient.id), object_type="patient",
              object_id=patient.id)
        changed = []
        for name in ("phone", "email", "address_line", "city", "state", "postal_code", "family_name",
                     "given_name", "birth_date"):
            value = getattr(cmd, name)
            if value is not None and value != getattr(patient, name):
                setattr(patient, name, value.strip() if isinstance(value, str) else value)
                changed.append(name)
        if cmd.sex is not None:
            try:
                patient.sex = Sex(cmd.sex.upper()[:1])
            except ValueError:
                raise ValidationError(f"sex '{cmd.sex}' must be F, M, O or U", field="sex") from None
            changed.append("sex")
        record_access(uow, ctx, cmd.actor, "patient.update", patient_id=patient.id, object_type="patient",
                      object_id=patient.id, detail=",".join(changed))
        uow.commit()
        return patient.id


@dataclass(frozen=True)
class MergePatients:
    """Two records are the same person: keep `survivor_id`, fold `merged_id` into it."""

    actor: Principal
    survivor_id: str
    merged_id: str


def merge_patients_in(uow: UnitOfWork, ctx: ServiceContext, cmd: MergePatients) -> str:
    """Merge inside an open unit of work: identifiers, orders, coverages and documents move over."""
    guard(cmd.actor, Action.PATIENT_MERGE)
    survivor = uow.patients.get(cmd.survivor_id)
    merged = uow.patients.get(cmd.merged_id)
    now = ctx.clock.now()
    survivor.merge_from(merged, by=cmd.actor.user_id, at=now)
    for order in uow.orders.for_patient(merged.id):
        order.patient_id = survivor.id
        order.note("patient_merged", by=cmd.actor.user_id, at=now,
                   details={"from_patient": merged.id, "to_patient": survivor.id})
    for coverage in uow.coverages.for_patient(merged.id):
        coverage.patient_id = survivor.id
    record_access(uow, ctx, cmd.actor, "patient.merge", patient_id=survivor.id, object_type="patient",
                  object_id=merged.id, detail=f"merged {merged.id} into {survivor.id}")
    return survivor.id


def merge_patients(cmd: MergePatients, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Merge two patient records into one."""
    with uow:
        survivor_id = merge_patients_in(uow, ctx, cmd)
        uow.commit()
        return survivor_id


@dataclass(frozen=True)
class AddCoverage:
    """Record a patient's insurance with a payer from the catalog."""

    actor: Principal
    patient_id: str
    payer_id: str
    member_id: str
    group_number: str = ""
    plan_name: str = ""
    subscriber_name: str = ""
    relationship: str = "self"


def add_coverage_in(uow: UnitOfWork, ctx: ServiceContext, cmd: AddCoverage) -> str:
    """Add coverage inside an open unit of work."""
    patient = uow.patients.get(cmd.patient_id)
    guard(cmd.actor, Action.COVERAGE_WRITE, AccessTarget(patient_id=patient.id), object_type="patient",
          object_id=patient.id)
    payer = ctx.catalog.payer(cmd.payer_id)  # NotFound names an unknown payer
    if not cmd.member_id.strip() and payer.kind.value != "self_pay":
        raise ValidationError("coverage needs the member id from the insurance card", field="member_id")
    for existing in uow.coverages.for_patient(patient.id):
        if existing.payer_id == payer.id and existing.member_id == cmd.member_id.strip() and existing.active:
            return existing.id
    coverage = Coverage(id=new_id(), patient_id=patient.id, payer_id=payer.id, member_id=cmd.member_id.strip(),
                        created_at=ctx.clock.now(), group_number=cmd.group_number.strip(),
                        plan_name=cmd.plan_name.strip() or payer.name, subscriber_name=cmd.subscriber_name.strip(),
                        relationship=cmd.relationship)
    uow.coverages.add(coverage)
    record_access(uow, ctx, cmd.actor, "coverage.create", patient_id=patient.id, object_type="coverage",
                  object_id=coverage.id)
    return coverage.id


def add_coverage(cmd: AddCoverage, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record coverage for a patient."""
    with uow:
        coverage_id = add_coverage_in(uow, ctx, cmd)
        uow.commit()
        return coverage_id


HANDLERS: dict[type, Handler] = {
    RegisterPatient: register_patient,
    UpdatePatient: update_patient,
    MergePatients: merge_patients,
    AddCoverage: add_coverage,
}
