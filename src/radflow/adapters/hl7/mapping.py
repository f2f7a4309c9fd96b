"""Per-sending-system mapping (schema: docs/hl7-mapping.md) and `map_order`.

A sender is keyed by MSH-3 (sending application) and MSH-4 (sending facility). Its mapping says
which PID-3 identifier is the MRN, which local procedure codes mean which catalog protocol,
which priority codes mean which track, who its providers are, where diagnosis codes come from,
whether the placer assigns accession numbers, and where status messages and reports go back to.
The file is loaded by `mapping_file.load_mapping`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError
from radflow.adapters.hl7.messages import (
    CodedValue,
    InboundOrder,
    MessageHeader,
    PatientIdentifier,
    Provider,
    RequestedProcedure,
)
from radflow.domain.order import Laterality, Track
from radflow.domain.payer_rules import CareSetting
from radflow.domain.protocols import ContrastPhase

DiagnosisSource = Literal["DG1", "OBR-31"]
StatusMessage = Literal["ORM", "OMI"]
ANY_FACILITY = "*"
# HL7 table 0004 (patient class) → where the exam is done, unless the mapping says otherwise.
DEFAULT_PATIENT_CLASSES: dict[str, CareSetting] = {
    "E": CareSetting.EMERGENCY,
    "I": CareSetting.INPATIENT,
    "O": CareSetting.OUTPATIENT,
    "P": CareSetting.OUTPATIENT,
    "R": CareSetting.OUTPATIENT,
}
# Coding-system names senders use for ICD-10(-CM) in CE/CWE.3 (HL7 table 0396 "I10", "I10C", OID).
ICD10_SYSTEMS = frozenset({"I10", "I10C", "ICD10", "ICD-10", "ICD10CM", "ICD-10-CM", "2.16.840.1.113883.6.90"})
_ICD10_SHAPE = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


@dataclass(frozen=True)
class MrnRule:
    """Which PID-3 repetition is the MRN: its assigning authority (PID-3.4) and optionally type (PID-3.5)."""

    assigning_authority: str
    identifier_type: str = ""

    def matches(self, identifier: PatientIdentifier) -> bool:
        """True when `identifier` is the one this rule names."""
        if identifier.assigning_authority.casefold() != self.assigning_authority.casefold():
            return False
        return not self.identifier_type or identifier.identifier_type.casefold() == self.identifier_type.casefold()


@dataclass(frozen=True)
class ProcedureMapping:
    """A sender's local procedure code and the catalog protocol (with contrast, side) it means."""

    protocol: str
    contrast: ContrastPhase | None = None
    laterality: Laterality | None = None


@dataclass(frozen=True)
class ProviderMapping:
    """A sender's local provider id and the NPI and name radflow files it under."""

    npi: str
    name: str = ""


@dataclass(frozen=True)
class Destination:
    """Where radflow sends HL7 back to (status, reports, application acks), and how."""

    host: str
    port: int
    receiving_application: str = ""
    receiving_facility: str = ""
    status_message: StatusMessage = "ORM"
    version: str = "2.5.1"
    charset: str = "UNICODE UTF-8"
    tls: bool = False


@dataclass(frozen=True)
class SenderMapping:
    """Everything radflow needs to know about one sending system."""

    name: str
    sending_application: str
    sending_facility: str
    mrn: MrnRule
    timezone: ZoneInfo
    procedures: dict[str, ProcedureMapping]
    priorities: dict[str, Track]
    default_priority: Track = Track.ROUTINE
    patient_classes: dict[str, CareSetting] = field(default_factory=lambda: dict(DEFAULT_PATIENT_CLASSES))
    default_setting: CareSetting = CareSetting.OUTPATIENT
    providers: dict[str, ProviderMapping] = field(default_factory=dict)
    diagnosis_sources: tuple[DiagnosisSource, ...] = ("DG1", "OBR-31")
    placer_assigns_accession: bool = False
    outbound: Destination | None = None
    application_ack_destination: Destination | None = None
    line: int = 0


@dataclass(frozen=True)
class InterfaceMapping:
    """All configured senders; finds the one a message came from."""

    senders: tuple[SenderMapping, ...]
    source: str = ""

    def sender_named(self, application: str, facility: str) -> SenderMapping | None:
        """The mapping for this application and facility (an exact facility wins over '*'), if any."""
        application, facility = application.casefold(), facility.casefold()
        candidates = [s for s in self.senders if s.sending_application.casefold() == application]
        for sender in candidates:
            if sender.sending_facility.casefold() == facility:
                return sender
        for sender in candidates:
            if sender.sending_facility == ANY_FACILITY:
                return sender
        return None

    def sender_for(self, header: MessageHeader) -> SenderMapping:
        """The mapping for MSH-3/MSH-4 (an exact facility wins over '*'); AR when none is configured."""
        found = self.sender_named(header.sending_application, header.sending_facility)
        if found is not None:
            return found
        raise Hl7ContentError(
            f"sending system {header.sending_application!r} / facility {header.sending_facility!r} "
            "is not configured in the HL7 mapping; an administrator adds it with `radflow hl7 mapping load`",
            error_code=ErrorCode.TABLE_VALUE_NOT_FOUND,
            location=ErrorLocation("MSH", field=3),
            reject=True,
        )


@dataclass(frozen=True)
class MappedProcedure:
    """One order line in radflow's terms (the fields of services.orders.OrderLine, and the control)."""

    order_control: str
    placer_order_number: str
    filler_order_number: str
    placer_accession: str
    protocol_code: str | None
    contrast: ContrastPhase | None
    laterality: Laterality | None
    track: Track
    setting: CareSetting
    requested_at: datetime | None
    ordering_provider_npi: str
    ordering_provider_name: str
    copy_to: tuple[tuple[str, str], ...]
    diagnosis_codes: tuple[str, ...]
    reason_for_exam: str
    clinical_notes: str
    local_procedure: CodedValue | None


@dataclass(frozen=True)
class MappedOrder:
    """An inbound order as the order intake service needs it: patient with MRN chosen, order lines."""

    placer_system: str
    mrn: str
    mrn_authority: str
    identifiers: tuple[PatientIdentifier, ...]
    family_name: str
    given_name: str
    middle_name: str
    birth_date: date | None
    sex: str
    phone: str
    address_line: str
    city: str
    state: str
    postal_code: str
    procedures: tuple[MappedProcedure, ...]


def to_utc(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """An HL7 time in UTC: a naive one is the sender's local time in `zone` (HL7 2.5.1 2A.22)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def choose_mrn(identifiers: tuple[PatientIdentifier, ...], rule: MrnRule) -> PatientIdentifier:
    """The PID-3 repetition the sender's mapping names as the MRN; ERR 101 when it was not sent."""
    for identifier in identifiers:
        if rule.matches(identifier):
            return identifier
    sent = ", ".join(f"{i.value} ({i.assigning_authority or '?'}/{i.identifier_type or '?'})" for i in identifiers)
    wanted = rule.assigning_authority + (f" type {rule.identifier_type}" if rule.identifier_type else "")
    raise Hl7ContentError(
        f"no PID-3 identifier from assigning authority {wanted} (the MRN); sent: {sent}",
        error_code=ErrorCode.REQUIRED_FIELD_MISSING,
        location=ErrorLocation("PID", field=3, component=4),
    )


def map_order(inbound: InboundOrder, mapping: SenderMapping) -> MappedOrder:
    """Translate an ORM/OMI into radflow's terms with the sender's mapping; Hl7ContentError on unknown codes."""
    patient = inbound.patient
    mrn = choose_mrn(patient.identifiers, mapping.mrn)
    name = patient.name
    address = patient.addresses[0] if patient.addresses else None
    phone = next((p.number for p in patient.phones if p.number), "")
    setting = mapping.patient_classes.get(inbound.patient_class.upper(), mapping.default_setting)
    return MappedOrder(
        placer_system=f"{inbound.header.sending_application}^{inbound.header.sending_facility}",
        mrn=mrn.value,
        mrn_authority=mrn.assigning_authority,
        identifiers=patient.identifiers,
        family_name=name.family,
        given_name=name.given,
        middle_name=name.middle,
        birth_date=patient.birth_date,
        sex=patient.sex,
        phone=phone,
        address_line=" ".join(p for p in (address.street, address.other) if p) if address else "",
        city=address.city if address else "",
        state=address.state if address else "",
        postal_code=address.postal_code if address else "",
        procedures=tuple(
            _map_procedure(line, inbound, mapping, setting, number)
            for number, line in enumerate(inbound.procedures, start=1)
        ),
    )


def _map_procedure(
    line: RequestedProcedure, inbound: InboundOrder, mapping: SenderMapping, setting: CareSetting, number: int
) -> MappedProcedure:
    obr = line.obr_sequence or number
    procedure = _procedure(line, mapping, obr)
    accession = line.placer_accession if mapping.placer_assigns_accession else ""
    if mapping.placer_assigns_accession and line.order_control == "NW" and not accession:
        raise Hl7ContentError(
            "this sender assigns accession numbers (placer_assigns_accession) but sent none in OBR-18 or IPC-1",
            error_code=ErrorCode.REQUIRED_FIELD_MISSING,
            location=ErrorLocation("OBR", obr, 18),
        )
    npi, provider_name = _provider(line.ordering_provider, mapping)
    codes, reason = _diagnoses_and_reason(line, inbound, mapping)
    notes = [line.relevant_clinical_info, *line.notes]
    return MappedProcedure(
        order_control=line.order_control,
        placer_order_number=line.placer_order_number,
        filler_order_number=line.filler_order_number,
        placer_accession=accession,
        protocol_code=procedure.protocol if procedure else None,
        contrast=procedure.contrast if procedure else None,
        laterality=procedure.laterality if procedure else None,
        track=_track(line, mapping, obr),
        setting=setting,
        requested_at=to_utc(line.requested_at, mapping.timezone),
        ordering_provider_npi=npi,
        ordering_provider_name=provider_name,
        copy_to=tuple(_provider(p, mapping) for p in line.copy_to),
        diagnosis_codes=codes,
        reason_for_exam=reason,
        clinical_notes="\n".join(n for n in notes if n.strip()),
        local_procedure=line.universal_service,
    )


def _procedure(line: RequestedProcedure, mapping: SenderMapping, obr: int) -> ProcedureMapping | None:
    """OBR-4's code (or its alternate code) looked up in the sender's procedure table."""
    service = line.universal_service
    if service is None:
        return None
    for code in (service.code, service.alternate_code):
        if code and code in mapping.procedures:
            return mapping.procedures[code]
    raise Hl7ContentError(
        f"procedure code {service.code!r} ({service.text or 'no description'}) is not mapped for "
        f"sender {mapping.name}; add it to the procedures of the HL7 mapping",
        error_code=ErrorCode.TABLE_VALUE_NOT_FOUND,
        location=ErrorLocation("OBR", obr, 4, component=1),
    )


def _track(line: RequestedProcedure, mapping: SenderMapping, obr: int) -> Track:
    """The priority code (TQ1-9, OBR-27.6, ORC-7.6 or OBR-5) through the sender's priority table."""
    if not line.priority:
        return mapping.default_priority
    if line.priority in mapping.priorities:
        return mapping.priorities[line.priority]
    raise Hl7ContentError(
        f"priority code {line.priority!r} is not mapped for sender {mapping.name} "
        f"(mapped: {', '.join(sorted(mapping.priorities)) or 'none'})",
        error_code=ErrorCode.TABLE_VALUE_NOT_FOUND,
        location=ErrorLocation("OBR", obr, 5),
    )


def _provider(provider: Provider | None, mapping: SenderMapping) -> tuple[str, str]:
    """(NPI, name): the NPI the message marks as one, else the mapping's for the local id."""
    if provider is None:
        return "", ""
    known = mapping.providers.get(provider.identifier) if provider.identifier else None
    sent_name = " ".join(p for p in (provider.prefix, provider.given, provider.middle, provider.family) if p)
    npi = provider.npi or (known.npi if known else "")
    return npi, (known.name if known and known.name else sent_name)


def _diagnoses_and_reason(
    line: RequestedProcedure, inbound: InboundOrder, mapping: SenderMapping
) -> tuple[tuple[str, ...], str]:
    """ICD-10 codes from the sources the mapping names; OBR-31's words become the reason for exam."""
    codes: list[str] = []
    if "DG1" in mapping.diagnosis_sources:
        codes.extend(d.code for d in (*inbound.diagnoses, *line.diagnoses) if d.code)
    reasons: list[str] = []
    for reason in line.reason_for_study:
        if "OBR-31" in mapping.diagnosis_sources and _is_icd10(reason):
            codes.append(reason.code)
            if reason.text:
                reasons.append(reason.text)
        else:
            reasons.append(reason.text or reason.code)
    return tuple(dict.fromkeys(codes)), "; ".join(r for r in reasons if r)


def _is_icd10(value: CodedValue) -> bool:
    """A coded OBR-31 entry is a diagnosis when its system says ICD-10, or it has none and looks like one."""
    if not value.code:
        return False
    if value.system:
        return value.system.upper() in ICD10_SYSTEMS
    return bool(_ICD10_SHAPE.match(value.code.upper()))
