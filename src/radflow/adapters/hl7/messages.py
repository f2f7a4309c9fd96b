"""Typed inbound HL7 messages: what the parser produces and the services consume.

All values are unescaped text. Timestamps keep the sender's offset when one was sent; a naive
datetime means "the sender's local time" (HL7 2.5.1 2.A.22) and is resolved with the sending
system's time zone from its mapping (`mapping.to_utc`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# Identifier type codes and assigning authorities that mark an NPI (HL7 table 0203 "NPI";
# the NPI registry's OID 2.16.840.1.113883.4.6; CMS as the issuing agency).
NPI_IDENTIFIER_TYPES = frozenset({"NPI"})
NPI_AUTHORITIES = frozenset({"NPI", "CMS", "2.16.840.1.113883.4.6", "USA NPI", "HL70203"})


@dataclass(frozen=True)
class CodedValue:
    """A CE/CWE: a code with its text and coding system, and the alternate triplet."""

    code: str = ""
    text: str = ""
    system: str = ""
    alternate_code: str = ""
    alternate_text: str = ""
    alternate_system: str = ""

    @property
    def is_empty(self) -> bool:
        """True when neither a code nor a text was sent."""
        return not (self.code or self.text or self.alternate_code)


@dataclass(frozen=True)
class PatientIdentifier:
    """One PID-3 repetition (CX): the identifier and who assigned it."""

    value: str
    assigning_authority: str = ""
    identifier_type: str = ""
    assigning_facility: str = ""


@dataclass(frozen=True)
class PersonName:
    """An XPN: family and given names as the sender wrote them."""

    family: str = ""
    given: str = ""
    middle: str = ""
    suffix: str = ""
    prefix: str = ""
    degree: str = ""
    name_type: str = ""


@dataclass(frozen=True)
class Address:
    """An XAD postal address."""

    street: str = ""
    other: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    address_type: str = ""


@dataclass(frozen=True)
class Telecom:
    """An XTN: a phone number or e-mail with its use (table 0201) and equipment (table 0202)."""

    number: str = ""
    use: str = ""
    equipment: str = ""
    email: str = ""


@dataclass(frozen=True)
class Provider:
    """An XCN (or the CNN of OBR-32): a clinician with the identifier the sender knows them by."""

    identifier: str = ""
    family: str = ""
    given: str = ""
    middle: str = ""
    suffix: str = ""
    prefix: str = ""
    degree: str = ""
    assigning_authority: str = ""
    identifier_type: str = ""

    @property
    def npi(self) -> str | None:
        """The NPI, when the identifier is marked as one by type code or assigning authority."""
        if not self.identifier:
            return None
        if self.identifier_type.upper() in NPI_IDENTIFIER_TYPES:
            return self.identifier
        if self.assigning_authority.upper() in NPI_AUTHORITIES:
            return self.identifier
        return None


@dataclass(frozen=True)
class ZSegment:
    """A site-defined segment kept as sent (still escaped), for the message store and later mappings."""

    name: str
    fields: tuple[str, ...]

    @property
    def line(self) -> str:
        """The segment as one line, fields joined with '|'."""
        return "|".join((self.name, *self.fields))


@dataclass(frozen=True)
class MessageHeader:
    """MSH: who sent what, when, in which version and character set, and which acks they want."""

    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    created_at: datetime | None
    message_code: str
    trigger_event: str
    message_structure: str
    control_id: str
    processing_id: str
    version: str
    accept_ack_type: str = ""
    application_ack_type: str = ""
    charset: str = ""
    decoded_as: str = "ascii"

    @property
    def message_type(self) -> str:
        """Type and trigger as people write them, e.g. 'ORM^O01'."""
        return f"{self.message_code}^{self.trigger_event}" if self.trigger_event else self.message_code


@dataclass(frozen=True)
class PatientDemographics:
    """PID: every identifier with its authority, names, birth date, sex, addresses and phones."""

    identifiers: tuple[PatientIdentifier, ...]
    names: tuple[PersonName, ...]
    birth_date: date | None = None
    sex: str = ""
    addresses: tuple[Address, ...] = ()
    phones: tuple[Telecom, ...] = ()
    account_number: str = ""
    # Fields sent as the HL7 null "" (delete the stored value): "names", "birth_date", "sex",
    # "addresses", "phones"; an empty field instead means "no change" (HL7 2.5.1 2.5.3).
    nulled: frozenset[str] = frozenset()

    @property
    def name(self) -> PersonName:
        """The first (legal, by HL7 convention) name, or an empty one."""
        return self.names[0] if self.names else PersonName()


@dataclass(frozen=True)
class RequestedProcedure:
    """One order line: an ORC with its OBR (and, for OMI^O23, one IPC)."""

    order_control: str
    placer_order_number: str
    filler_order_number: str = ""
    order_status: str = ""
    universal_service: CodedValue | None = None
    priority: str = ""
    requested_at: datetime | None = None
    transaction_at: datetime | None = None
    ordering_provider: Provider | None = None
    copy_to: tuple[Provider, ...] = ()
    reason_for_study: tuple[CodedValue, ...] = ()
    relevant_clinical_info: str = ""
    notes: tuple[str, ...] = ()
    diagnoses: tuple[CodedValue, ...] = ()
    placer_accession: str = ""
    requested_procedure_id: str = ""
    study_instance_uid: str = ""
    scheduled_procedure_step_id: str = ""
    modality: str = ""
    z_segments: tuple[ZSegment, ...] = ()
    # Which OBR of the message (1-based) this line came from, so a mapping error can point at it.
    obr_sequence: int = 0


@dataclass(frozen=True)
class InboundOrder:
    """ORM^O01 or OMI^O23: a patient and one entry per requested procedure."""

    header: MessageHeader
    patient: PatientDemographics
    procedures: tuple[RequestedProcedure, ...]
    patient_class: str = ""
    visit_number: str = ""
    diagnoses: tuple[CodedValue, ...] = ()
    z_segments: tuple[ZSegment, ...] = ()


@dataclass(frozen=True)
class InboundPatient:
    """ADT^A04 (register) or ADT^A08 (update patient information)."""

    header: MessageHeader
    event: str
    patient: PatientDemographics
    patient_class: str = ""
    recorded_at: datetime | None = None
    z_segments: tuple[ZSegment, ...] = ()


@dataclass(frozen=True)
class PatientMerge:
    """One PID/MRG pair: the surviving patient and the identifiers that merge into it."""

    surviving: PatientDemographics
    prior_identifiers: tuple[PatientIdentifier, ...]
    prior_names: tuple[PersonName, ...] = ()


@dataclass(frozen=True)
class InboundMerge:
    """ADT^A40: merge patient identifier lists (one or more PID/MRG pairs)."""

    header: MessageHeader
    merges: tuple[PatientMerge, ...]
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class Observation:
    """One OBX: a line of report text or a coded finding."""

    set_id: str
    value_type: str
    identifier: CodedValue
    values: tuple[str, ...]
    coded_values: tuple[CodedValue, ...] = ()
    status: str = ""
    observed_at: datetime | None = None


@dataclass(frozen=True)
class ReportedResult:
    """One OBR of an ORU^R01 with its observations: a report for one order."""

    placer_order_number: str
    filler_order_number: str
    universal_service: CodedValue | None
    result_status: str
    observed_at: datetime | None = None
    status_changed_at: datetime | None = None
    interpreter: Provider | None = None
    observations: tuple[Observation, ...] = field(default=())

    @property
    def text(self) -> str:
        """The report's text: the text-valued OBX lines joined by line breaks."""
        lines: list[str] = []
        for observation in self.observations:
            if observation.value_type in ("TX", "FT", "ST"):
                lines.extend(observation.values)
        return "\n".join(lines)


@dataclass(frozen=True)
class InboundReport:
    """ORU^R01: reports from an outside dictation system, one entry per OBR."""

    header: MessageHeader
    patient: PatientDemographics
    results: tuple[ReportedResult, ...]


InboundMessage = InboundOrder | InboundPatient | InboundMerge | InboundReport
