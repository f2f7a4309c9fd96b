"""Patients from HL7: find by the sender's MRN, register, update ADT-style (A04/A08), merge (A40).

Runs inside the unit of work that stores the message (`inbound.py`), so the patient changes commit
with the raw message or not at all. An update follows HL7 2.5.1 2.5.3: an empty field leaves the
stored value as it is, the null `""` deletes it (where radflow may be without it).
"""

from __future__ import annotations

from dataclasses import dataclass

from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError
from radflow.adapters.hl7.mapping import SenderMapping, choose_mrn
from radflow.adapters.hl7.messages import (
    InboundMerge,
    InboundPatient,
    PatientDemographics,
    PatientIdentifier,
)
from radflow.domain.hl7_message import Hl7Message, ReferenceKind
from radflow.domain.patient import Patient, Sex
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.users import Principal
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.patients import (
    IdentifierInput,
    MergePatients,
    RegisterPatient,
    merge_patients_in,
    register_patient_in,
)
from radflow.services.unit_of_work import UnitOfWork

# HL7 table 0001 (administrative sex) in radflow's reduced set: A (ambiguous) is other, N (not
# applicable) unknown.
_SEX = {"F": Sex.FEMALE, "M": Sex.MALE, "O": Sex.OTHER, "U": Sex.UNKNOWN, "A": Sex.OTHER, "N": Sex.UNKNOWN}
# Identifier types radflow does not keep: a social security number is not needed to image anyone
# (HIPAA minimum necessary); table 0203 SS.
_NOT_KEPT = frozenset({"SS"})


@dataclass(frozen=True)
class FoundPatient:
    """The patient a message is about, and whether this message created the record."""

    patient: Patient
    created: bool


def _active(uow: UnitOfWork, patient: Patient) -> Patient:
    """Follow a merged record to the record it was merged into."""
    seen = {patient.id}
    while patient.merged_into_id is not None and patient.merged_into_id not in seen:
        patient = uow.patients.get(patient.merged_into_id)
        seen.add(patient.id)
    return patient


def by_identifier(uow: UnitOfWork, identifier: PatientIdentifier) -> Patient | None:
    """The active patient holding this identifier (assigning authority and value), if any."""
    found = uow.patients.by_identifier(identifier.assigning_authority, identifier.value)
    return _active(uow, found) if found is not None else None


def _kept(identifiers: tuple[PatientIdentifier, ...]) -> tuple[PatientIdentifier, ...]:
    return tuple(i for i in identifiers if i.assigning_authority.strip() and i.identifier_type.upper() not in _NOT_KEPT)


def find_or_register(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, demographics: PatientDemographics,
                     sender: SenderMapping, message: Hl7Message) -> FoundPatient:
    """The patient with the sender's MRN, updated from PID; registered when radflow has no such MRN."""
    mrn = choose_mrn(demographics.identifiers, sender.mrn)
    message.refer_to(ReferenceKind.MRN, mrn.value)
    existing = by_identifier(uow, mrn)
    if existing is not None:
        update_demographics(uow, ctx, actor, existing, demographics)
        found = FoundPatient(existing, created=False)
    else:
        found = FoundPatient(_register(uow, ctx, actor, demographics, looked_up=mrn), created=True)
    message.patient_id = found.patient.id
    message.refer_to(ReferenceKind.PATIENT, found.patient.id)
    return found


def find_known(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, demographics: PatientDemographics,
               sender: SenderMapping, message: Hl7Message) -> Patient | None:
    """The patient with the sender's MRN, updated from PID, or None (never registers)."""
    mrn = choose_mrn(demographics.identifiers, sender.mrn)
    message.refer_to(ReferenceKind.MRN, mrn.value)
    existing = by_identifier(uow, mrn)
    if existing is not None:
        update_demographics(uow, ctx, actor, existing, demographics)
        message.patient_id = existing.id
        message.refer_to(ReferenceKind.PATIENT, existing.id)
    return existing


def _register(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, demographics: PatientDemographics,
              *, looked_up: PatientIdentifier | None = None) -> Patient:
    name = demographics.name
    if demographics.birth_date is None:
        raise Hl7ContentError("PID-7 (date of birth) is required to register a patient radflow does not know yet",
                              error_code=ErrorCode.REQUIRED_FIELD_MISSING, location=ErrorLocation("PID", field=7))
    if not name.family or not name.given:
        raise Hl7ContentError("PID-5 needs the family and given name to register a new patient",
                              error_code=ErrorCode.REQUIRED_FIELD_MISSING, location=ErrorLocation("PID", field=5))
    address = demographics.addresses[0] if demographics.addresses else None
    email = next((p.email for p in demographics.phones if p.email), "")
    result = register_patient_in(uow, ctx, RegisterPatient(
        actor=actor, family_name=name.family, given_name=name.given, middle_name=name.middle,
        birth_date=demographics.birth_date, sex=_SEX.get(demographics.sex, Sex.UNKNOWN).value,
        phone=_phone(demographics), email=email,
        address_line=" ".join(p for p in (address.street, address.other) if p) if address else "",
        city=address.city if address else "", state=address.state if address else "",
        postal_code=address.postal_code if address else "",
        identifiers=tuple(IdentifierInput(i.assigning_authority, i.value, i.identifier_type or "MR")
                          for i in _kept(demographics.identifiers)),
    ), looked_up=(looked_up.assigning_authority, looked_up.value) if looked_up is not None else None)
    patient = _active(uow, uow.patients.get(result.patient_id))
    if result.existing:  # another of the message's identifiers already named this person
        update_demographics(uow, ctx, actor, patient, demographics)
    return patient


def _phone(demographics: PatientDemographics) -> str:
    return next((p.number for p in demographics.phones if p.number), "")


def update_demographics(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, patient: Patient,
                        demographics: PatientDemographics) -> list[str]:
    """Apply what PID sends: values replace, empty fields keep, `""` deletes; returns the changed fields."""
    guard(actor, Action.PATIENT_WRITE, AccessTarget(patient_id=patient.id), object_type="patient",
          object_id=patient.id)
    wanted: dict[str, object] = {}
    name = demographics.name
    if name.family and name.given:
        wanted.update(family_name=name.family, given_name=name.given, middle_name=name.middle)
    if demographics.birth_date is not None:
        wanted["birth_date"] = demographics.birth_date
    if demographics.sex:
        wanted["sex"] = _SEX.get(demographics.sex, Sex.UNKNOWN)
    elif "sex" in demographics.nulled:
        wanted["sex"] = Sex.UNKNOWN
    if demographics.addresses:
        address = demographics.addresses[0]
        wanted.update(address_line=" ".join(p for p in (address.street, address.other) if p), city=address.city,
                      state=address.state, postal_code=address.postal_code)
    elif "addresses" in demographics.nulled:
        wanted.update(address_line="", city="", state="", postal_code="")
    phone = _phone(demographics)
    if phone or "phones" in demographics.nulled:
        wanted["phone"] = phone
    email = next((p.email for p in demographics.phones if p.email), "")
    if email:
        wanted["email"] = email
    changed = [field for field, value in wanted.items() if getattr(patient, field) != value]
    for field in changed:
        setattr(patient, field, wanted[field])
    added = _add_identifiers(uow, patient, demographics.identifiers)
    if changed or added:
        record_access(uow, ctx, actor, "patient.update", patient_id=patient.id, object_type="patient",
                      object_id=patient.id, detail=",".join([*changed, *(f"identifier {a}" for a in added)]))
    return changed


def _add_identifiers(uow: UnitOfWork, patient: Patient, identifiers: tuple[PatientIdentifier, ...]) -> list[str]:
    """Identifiers the record lacks are added, unless another record holds them (a duplicate to merge)."""
    added: list[str] = []
    for identifier in _kept(identifiers):
        type_code = identifier.identifier_type or "MR"
        mine = [i for i in patient.identifiers if i.authority == identifier.assigning_authority
                and i.type_code == type_code]
        if mine:
            continue  # a different value from the same authority is a merge (A40), not an update
        holder = by_identifier(uow, identifier)
        if holder is not None and holder.id != patient.id:
            continue
        patient.add_identifier(identifier.assigning_authority, identifier.value, type_code)
        added.append(f"{identifier.assigning_authority}:{identifier.value}")
    return added


def apply_patient(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, inbound: InboundPatient,
                  sender: SenderMapping, message: Hl7Message) -> None:
    """ADT^A04 (register) and ADT^A08 (update): both find the patient by MRN, then register or update.

    An A08 for a patient radflow does not know registers them (IHE PAM: an update may be the first
    radflow hears of a patient); an A04 for one it knows updates them.
    """
    find_or_register(uow, ctx, actor, inbound.patient, sender, message)


def apply_merge(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, inbound: InboundMerge,
                sender: SenderMapping, message: Hl7Message) -> None:
    """ADT^A40: each MRG's record merges into its PID's record (HL7 2.5.1 3.3.40)."""
    for merge in inbound.merges:
        mrn = choose_mrn(merge.surviving.identifiers, sender.mrn)
        message.refer_to(ReferenceKind.MRN, mrn.value)
        survivor = by_identifier(uow, mrn)
        prior = next((p for p in (by_identifier(uow, i) for i in merge.prior_identifiers)
                      if p is not None and (survivor is None or p.id != survivor.id)), None)
        for identifier in merge.prior_identifiers:
            message.refer_to(ReferenceKind.MRN, identifier.value)
        if prior is None:
            # Nothing to merge: never known here, or merged already (a repeat of this A40).
            if survivor is not None:
                message.refer_to(ReferenceKind.PATIENT, survivor.id)
            continue
        if survivor is None:
            # The surviving MRN is new to radflow: the prior record takes it (a change of identifier).
            _rekey(uow, ctx, actor, prior, mrn)
            survivor = prior
        else:
            merge_patients_in(uow, ctx, MergePatients(actor=actor, survivor_id=survivor.id, merged_id=prior.id))
        message.patient_id = survivor.id
        message.refer_to(ReferenceKind.PATIENT, survivor.id)


def _rekey(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, patient: Patient,
           mrn: PatientIdentifier) -> None:
    guard(actor, Action.PATIENT_MERGE)
    type_code = mrn.identifier_type or "MR"
    for identifier in patient.identifiers:
        if identifier.authority == mrn.assigning_authority and identifier.type_code == type_code:
            old, identifier.value = identifier.value, mrn.value
            record_access(uow, ctx, actor, "patient.merge", patient_id=patient.id, object_type="patient",
                          object_id=patient.id, detail=f"{mrn.assigning_authority} MRN {old} -> {mrn.value}")
            return
    patient.add_identifier(mrn.assigning_authority, mrn.value, type_code)
