"""Coverage ↔ FHIR R4 Coverage; the payor is a payer of the catalog, named by its id."""

from __future__ import annotations

from typing import Any, Final

from radflow.adapters.fhir.catalog import ExamCatalog
from radflow.adapters.fhir.datatypes import concept, entries, reference, reference_id, version_of
from radflow.adapters.fhir.vocabulary import (
    COVERAGE_CLASS_SYSTEM,
    PAYER_SYSTEM,
    RELATIONSHIPS,
    SUBSCRIBER_RELATIONSHIP_SYSTEM,
)
from radflow.domain.errors import ValidationError
from radflow.domain.referral import Coverage
from radflow.domain.users import Principal
from radflow.services.patients import AddCoverage

CV: Final = "Coverage"
MAX_MEMBER: Final = 64  # coverages.member_id / group_number widths


def coverage_resource(coverage: Coverage, catalog: ExamCatalog) -> dict[str, Any]:
    """The FHIR Coverage for a patient's coverage."""
    payer = catalog.payers.get(coverage.payer_id)
    payor: dict[str, Any] = {"identifier": {"system": PAYER_SYSTEM, "value": coverage.payer_id}}
    if payer is not None:
        payor["display"] = payer.name
    resource: dict[str, Any] = {
        "resourceType": CV, "id": coverage.id,
        "status": "active" if coverage.active else "cancelled",
        "beneficiary": reference("Patient", coverage.patient_id),
        "relationship": concept(SUBSCRIBER_RELATIONSHIP_SYSTEM, coverage.relationship),
        "payor": [payor],
    }
    if coverage.member_id:
        resource["subscriberId"] = coverage.member_id
    if coverage.subscriber_name:
        resource["subscriber"] = {"display": coverage.subscriber_name}
    classes = [{"type": concept(COVERAGE_CLASS_SYSTEM, kind), "value": value, **({"name": name} if name else {})}
               for kind, value, name in (("group", coverage.group_number, ""),
                                         ("plan", coverage.plan_name, coverage.plan_name)) if value]
    if classes:
        resource["class"] = classes
    resource["meta"] = {"versionId": version_of(resource)}
    return resource


def _payer_id(resource: dict[str, Any], catalog: ExamCatalog) -> str:
    payors = list(entries(resource, "payor", CV))
    if len(payors) != 1:
        raise ValidationError(f"{CV}.payor must name exactly one payer of the catalog", field=f"{CV}.payor")
    path, payor = payors[0]
    ident = payor.get("identifier") or {}
    if ident.get("value"):
        payer_id = str(ident["value"])
        where = f"{path}.identifier.value"
    elif payor.get("reference"):
        payer_id = reference_id(payor, "Organization", path)
        where = f"{path}.reference"
    else:
        raise ValidationError(f"{path} must identify the payer: identifier (system '{PAYER_SYSTEM}') "
                              "or 'Organization/<payer id>'", field=path)
    if payer_id not in catalog.payers:
        known = ", ".join(sorted(catalog.payers))
        raise ValidationError(f"{where}: no payer '{payer_id}' in the catalog (known: {known})", field=where)
    return payer_id


def _class_value(resource: dict[str, Any], kind: str) -> str:
    for path, item in entries(resource, "class", CV):
        codes = [c.get("code") for c in (item.get("type") or {}).get("coding") or ()]
        if kind in codes:
            value = str(item.get("value", ""))
            if len(value) > MAX_MEMBER and kind == "group":
                raise ValidationError(f"{path}.value is longer than {MAX_MEMBER} characters", field=f"{path}.value")
            return str(item.get("name") or value) if kind == "plan" else value
    return ""


def add_coverage_command(resource: dict[str, Any], actor: Principal, catalog: ExamCatalog) -> AddCoverage:
    """The AddCoverage command a structurally valid Coverage asks for."""
    if resource.get("status") != "active":
        raise ValidationError(f"{CV}.status must be 'active' for new coverage, got '{resource.get('status')}'",
                              field=f"{CV}.status")
    patient_id = reference_id(resource.get("beneficiary"), "Patient", f"{CV}.beneficiary")
    payer_id = _payer_id(resource, catalog)
    member_id = str(resource.get("subscriberId", ""))
    if len(member_id) > MAX_MEMBER:
        raise ValidationError(f"{CV}.subscriberId is longer than {MAX_MEMBER} characters", field=f"{CV}.subscriberId")
    relationship = "self"
    codes = [c.get("code") for c in (resource.get("relationship") or {}).get("coding") or ()
             if c.get("system") == SUBSCRIBER_RELATIONSHIP_SYSTEM]
    if codes:
        relationship = str(codes[0])
        if relationship not in RELATIONSHIPS:
            raise ValidationError(f"{CV}.relationship '{relationship}' is not one of: {', '.join(RELATIONSHIPS)}",
                                  field=f"{CV}.relationship")
    subscriber = resource.get("subscriber") or {}
    return AddCoverage(actor=actor, patient_id=patient_id, payer_id=payer_id, member_id=member_id,
                       group_number=_class_value(resource, "group"), plan_name=_class_value(resource, "plan")[:200],
                       subscriber_name=str(subscriber.get("display", ""))[:200], relationship=relationship)
