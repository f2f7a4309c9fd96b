"""Patient ↔ FHIR R4 Patient.

Identifiers keep their assigning authority as Identifier.system (radflow's own MRNs under
`MRN_SYSTEM`) and their HL7 table 0203 type as Identifier.type. A merged-away record is inactive
and links to its survivor (R4 Patient.link type `replaced-by`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from radflow.adapters.fhir.datatypes import concept, entries, reference, type_code, version_of
from radflow.adapters.fhir.vocabulary import GENDER_TO_SEX, MRN_SYSTEM, SEX_TO_GENDER, V2_0203_SYSTEM
from radflow.domain.errors import ValidationError
from radflow.domain.patient import RADFLOW_AUTHORITY, Patient
from radflow.domain.users import Principal
from radflow.services.patients import IdentifierInput, RegisterPatient

#: The identifier columns' widths (adapters.db.tables.patient_identifiers): refused clearly, not truncated.
MAX_AUTHORITY: Final = 64
MAX_IDENTIFIER: Final = 64
MAX_TYPE_CODE: Final = 8


def identifier_system(authority: str) -> str:
    """Identifier.system for an assigning authority."""
    return MRN_SYSTEM if authority == RADFLOW_AUTHORITY else authority


def authority_of(system: str) -> str:
    """The assigning authority an Identifier.system stands for."""
    return RADFLOW_AUTHORITY if system == MRN_SYSTEM else system


def patient_resource(patient: Patient) -> dict[str, Any]:
    """The FHIR Patient for a radflow patient record."""
    given = [patient.given_name, *([patient.middle_name] if patient.middle_name else [])]
    resource: dict[str, Any] = {
        "resourceType": "Patient", "id": patient.id,
        "identifier": [
            {"use": "usual" if i.authority == RADFLOW_AUTHORITY else "secondary",
             "type": concept(V2_0203_SYSTEM, i.type_code), "system": identifier_system(i.authority), "value": i.value}
            for i in patient.identifiers
        ],
        "active": patient.is_active,
        "name": [{"use": "official", "family": patient.family_name, "given": given}],
        "gender": SEX_TO_GENDER[patient.sex.value],
        "birthDate": patient.birth_date.isoformat(),
    }
    telecom = [{"system": "phone", "value": patient.phone}] if patient.phone else []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    address: dict[str, Any] = {key: value for key, value in (("city", patient.city), ("state", patient.state),
                                              ("postalCode", patient.postal_code)) if value}
    if patient.address_line:
        address["line"] = [patient.address_line]
    if address:
        resource["address"] = [{"use": "home", **address}]
    if patient.preferred_language:
        resource["communication"] = [{"language": concept("urn:ietf:bcp:47", patient.preferred_language),
                                      "preferred": True}]
    if patient.merged_into_id:
        resource["link"] = [{"other": reference("Patient", patient.merged_into_id), "type": "replaced-by"}]
    resource["meta"] = {"versionId": version_of(resource)}
    return resource


def _official_name(resource: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    names = list(entries(resource, "name", "Patient"))
    if not names:
        raise ValidationError("Patient.name is required: radflow needs a family and a given name",
                              field="Patient.name")
    for path, name in names:
        if name.get("use") in ("official", "usual"):
            return path, name
    return names[0]


def _identifiers(resource: dict[str, Any]) -> tuple[IdentifierInput, ...]:
    found = []
    for path, ident in entries(resource, "identifier", "Patient"):
        system, value = ident.get("system", ""), ident.get("value", "")
        if not system or not value:
            raise ValidationError(f"{path} needs both a system (its assigning authority) and a value",
                                  field=path)
        if system == MRN_SYSTEM:
            raise ValidationError(f"{path}: radflow assigns its own MRNs; send the identifiers other systems "
                                  "gave this patient", field=f"{path}.system")
        kind = type_code(ident, V2_0203_SYSTEM) or "MR"
        for text, limit, what in ((system, MAX_AUTHORITY, "system"), (value, MAX_IDENTIFIER, "value"),
                                  (kind, MAX_TYPE_CODE, "type")):
            if len(text) > limit:
                raise ValidationError(f"{path}.{what} is longer than {limit} characters", field=f"{path}.{what}")
        found.append(IdentifierInput(authority=authority_of(system), value=value, type_code=kind))
    return tuple(found)


def _telecom(resource: dict[str, Any], system: str) -> str:
    for _, contact in entries(resource, "telecom", "Patient"):
        if contact.get("system") == system and contact.get("value"):
            return str(contact["value"])
    return ""


def register_patient_command(resource: dict[str, Any], actor: Principal) -> RegisterPatient:
    """The RegisterPatient command a (structurally valid) Patient asks for."""
    path, name = _official_name(resource)
    given = list(name.get("given") or ())
    if not name.get("family") or not given:
        raise ValidationError(f"{path} needs a family name and at least one given name", field=path)
    birth = str(resource.get("birthDate", ""))
    if len(birth) != len("YYYY-MM-DD"):
        raise ValidationError("Patient.birthDate must be a full date (YYYY-MM-DD) to register a patient; "
                              f"got '{birth or 'none'}'", field="Patient.birthDate")
    gender = resource.get("gender", "unknown")
    if gender not in GENDER_TO_SEX:
        raise ValidationError(f"Patient.gender '{gender}' is not one of: {', '.join(GENDER_TO_SEX)}",
                              field="Patient.gender")
    address = next((a for _, a in entries(resource, "address", "Patient")), {})
    language: dict[str, Any] = next((c for _, comm in entries(resource, "communication", "Patient")
                     for c in (comm.get("language") or {}).get("coding") or () if c.get("code")), {})
    return RegisterPatient(
        actor=actor, family_name=name["family"], given_name=given[0], middle_name=" ".join(given[1:]),
        birth_date=date.fromisoformat(birth), sex=GENDER_TO_SEX[gender],
        phone=_telecom(resource, "phone"), email=_telecom(resource, "email"),
        address_line=", ".join(address.get("line") or ()), city=address.get("city", ""),
        state=address.get("state", ""), postal_code=address.get("postalCode", ""),
        preferred_language=language.get("code", "en"), identifiers=_identifiers(resource),
    )
