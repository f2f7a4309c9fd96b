"""Order ↔ FHIR R4 ServiceRequest.

A ServiceRequest is one order line (one exam, one accession). Its `status` follows the documented
mapping from the lifecycle (vocabulary.SERVICE_REQUEST_STATUS); the exact state is in the
`order-state` extension and in the Task whose focus is this ServiceRequest. What the adapter reads
on create, and where each part goes, is listed in docs/fhir.md.
"""

from __future__ import annotations

from typing import Any, Final, cast

from radflow.adapters.fhir.catalog import ExamCatalog, billed_cpt
from radflow.adapters.fhir.datatypes import (
    codes_in,
    coding,
    concept,
    entries,
    instant,
    reference,
    reference_id,
    type_code,
)
from radflow.adapters.fhir.vocabulary import (
    ACCESSION_SYSTEM,
    CONTRAST_SYSTEM,
    CPT_SYSTEM,
    ICD10CM_SYSTEM,
    LATERALITY_TO_SNOMED,
    MISSING_ITEM_EXTENSION,
    NPI_SYSTEM,
    ORDER_STATE_EXTENSION,
    PRIORITIES,
    PROTOCOL_SYSTEM,
    SERVICE_CATEGORY_IMAGING,
    SERVICE_REQUEST_STATUS,
    SNOMED_SYSTEM,
    SNOMED_TO_LATERALITY,
    V2_0203_SYSTEM,
)
from radflow.domain.errors import ValidationError
from radflow.domain.order import Order
from radflow.domain.protocols import ContrastPhase
from radflow.domain.users import Principal
from radflow.domain.values import Icd10Code, Npi
from radflow.services.orders import OrderLine, ReceiveReferral

SR: Final = "ServiceRequest"
PLACER_TYPES: Final = ("PLAC", "")  # HL7 table 0203 PLAC, or an identifier the placer sent untyped
FILLER_TYPES: Final = ("FILL", "ACSN")
MAX_PLACER: Final = 64  # orders.placer_order_number / placer_system widths
MAX_NAME: Final = 200


def service_request_resource(order: Order, catalog: ExamCatalog) -> dict[str, Any]:
    """The FHIR ServiceRequest for an order."""
    protocol = catalog.protocols.get(order.protocol_code)
    codings = [coding(PROTOCOL_SYSTEM, order.protocol_code, protocol.name if protocol else "")]
    cpt = billed_cpt(catalog, order.protocol_code, order.contrast, order.cpt_code)
    if cpt:
        codings.append(coding(CPT_SYSTEM, cpt))
    extension: list[dict[str, Any]] = [{"url": ORDER_STATE_EXTENSION, "valueCode": order.state.value}]
    extension += [{"url": MISSING_ITEM_EXTENSION, "valueString": item} for item in order.missing_items]
    # The accession number is also radflow's filler order number (ORC-3/OBR-3 of its HL7 messages).
    identifiers: list[dict[str, Any]] = [
        {"use": "official", "type": concept(V2_0203_SYSTEM, "ACSN", "Accession ID"), "system": ACCESSION_SYSTEM,
         "value": order.accession_number},
        {"type": concept(V2_0203_SYSTEM, "FILL", "Filler Identifier"), "system": ACCESSION_SYSTEM,
         "value": order.accession_number}]
    if order.placer_order_number:
        placer: dict[str, Any] = {"type": concept(V2_0203_SYSTEM, "PLAC", "Placer Identifier")}
        if order.placer_system:
            placer["system"] = order.placer_system
        placer["value"] = order.placer_order_number
        identifiers.append(placer)
    resource: dict[str, Any] = {
        "resourceType": SR, "id": order.id,
        "meta": {"versionId": str(order.version),
                 "lastUpdated": instant(order.transitions[-1].at if order.transitions else order.received_at)},
        "extension": extension,
        "identifier": identifiers,
        "status": SERVICE_REQUEST_STATUS[order.state],
        "intent": "order",
        "category": [concept(SNOMED_SYSTEM, *SERVICE_CATEGORY_IMAGING)],
        "priority": order.priority.value,
        "code": {"coding": codings, **({"text": protocol.name} if protocol else {})},
        "subject": reference("Patient", order.patient_id),
        "authoredOn": instant(order.received_at),
    }
    if order.contrast is not None:
        resource["orderDetail"] = [concept(CONTRAST_SYSTEM, order.contrast.value)]
    if order.ordering_provider_npi or order.ordering_provider_name:
        requester: dict[str, Any] = {}
        if order.ordering_provider_npi:
            requester["identifier"] = {"system": NPI_SYSTEM, "value": order.ordering_provider_npi}
        if order.ordering_provider_name:
            requester["display"] = order.ordering_provider_name
        resource["requester"] = requester
    reasons: list[dict[str, Any]] = [{"coding": [coding(ICD10CM_SYSTEM, code)]} for code in order.diagnosis_codes]
    if order.reason_for_exam:
        reasons.append({"text": order.reason_for_exam})
    if reasons:
        resource["reasonCode"] = reasons
    if order.coverage_id:
        resource["insurance"] = [reference("Coverage", order.coverage_id)]
    if order.body_part or order.laterality:
        site: dict[str, Any] = {}
        if order.laterality is not None:
            site["coding"] = [coding(SNOMED_SYSTEM, *LATERALITY_TO_SNOMED[order.laterality.value])]
        site["text"] = " ".join(p for p in (order.body_part, order.laterality.name.lower() if order.laterality
                                            else "") if p)
        resource["bodySite"] = [site]
    if order.clinical_notes:
        resource["note"] = [{"text": order.clinical_notes}]
    return resource


def _exam(resource: dict[str, Any], catalog: ExamCatalog) -> tuple[str, ContrastPhase | None]:
    """Protocol code and contrast from ServiceRequest.code (radflow protocol and/or CPT coding)."""
    code = resource.get("code") or {}
    protocols, cpts = codes_in(code, PROTOCOL_SYSTEM), codes_in(code, CPT_SYSTEM)
    if not protocols and not cpts:
        raise ValidationError(f"{SR}.code needs a coding with system '{PROTOCOL_SYSTEM}' (a radflow exam code) "
                              f"or '{CPT_SYSTEM}' (a CPT code the catalog bills)", field=f"{SR}.code")
    protocol_code, phase = "", cast(ContrastPhase | None, None)
    for cpt in cpts:
        if cpt not in catalog.by_cpt:
            raise ValidationError(f"{SR}.code: CPT code '{cpt}' is not billed by any exam in the catalog",
                                  field=f"{SR}.code.coding")
        if protocol_code and catalog.by_cpt[cpt] != (protocol_code, phase):
            raise ValidationError(f"{SR}.code: CPT codes {', '.join(cpts)} name different exams; send one",
                                  field=f"{SR}.code.coding")
        protocol_code, phase = catalog.by_cpt[cpt]
    for code_value in protocols:
        protocol = catalog.protocols.get(code_value)
        if protocol is None:
            raise ValidationError(f"{SR}.code: no exam protocol with code '{code_value}' in the catalog",
                                  field=f"{SR}.code.coding")
        if cpts:
            variants = [v.phase for v in protocol.variants if v.cpt in cpts]
            if not variants:
                raise ValidationError(f"{SR}.code: CPT {', '.join(cpts)} is not a variant of exam {code_value}",
                                      field=f"{SR}.code.coding")
            phase = variants[0]
        protocol_code = code_value
    for detail in codes_in_all(resource.get("orderDetail"), CONTRAST_SYSTEM):
        try:
            stated = ContrastPhase(detail)
        except ValueError:
            allowed = ", ".join(p.value for p in ContrastPhase)
            raise ValidationError(f"{SR}.orderDetail: contrast '{detail}' is not one of: {allowed}",
                                  field=f"{SR}.orderDetail") from None
        if phase is not None and stated != phase:
            raise ValidationError(f"{SR}.orderDetail says contrast '{stated.value}' but the CPT code means "
                                  f"'{phase.value}'", field=f"{SR}.orderDetail")
        phase = stated
    return protocol_code, phase


def codes_in_all(concepts: Any, system: str) -> list[str]:
    """The codes of `system` across a list of CodeableConcepts."""
    return [c for value in concepts or () for c in codes_in(value, system)]


def _requester(resource: dict[str, Any]) -> tuple[str, str]:
    requester = resource.get("requester")
    if not requester:
        return "", ""
    name = str(requester.get("display", ""))[:MAX_NAME]
    ident = requester.get("identifier") or {}
    if ident.get("system") == NPI_SYSTEM and ident.get("value"):
        path = f"{SR}.requester.identifier.value"
        try:
            return Npi.parse(str(ident["value"])).value, name
        except ValidationError as wrong:
            raise ValidationError(f"{path}: {wrong.message}", field=path) from None
    if requester.get("reference") or ident:
        raise ValidationError(f"{SR}.requester must identify the ordering provider by NPI: "
                              f"an identifier with system '{NPI_SYSTEM}'", field=f"{SR}.requester")
    return "", name


def _reasons(resource: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    codes: list[str] = []
    texts: list[str] = []
    for path, reason in entries(resource, "reasonCode", SR):
        for index, item in enumerate(reason.get("coding") or ()):
            if item.get("system") == ICD10CM_SYSTEM:
                where = f"{path}.coding[{index}].code"
                try:
                    codes.append(Icd10Code.parse(str(item.get("code", ""))).value)
                except ValidationError as wrong:
                    raise ValidationError(f"{where}: {wrong.message}", field=where) from None
        if reason.get("text"):
            texts.append(str(reason["text"]))
    return tuple(dict.fromkeys(codes)), "; ".join(texts)


def _placer(resource: dict[str, Any]) -> tuple[str, str]:
    placer: tuple[str, str] = ("", "")
    for path, ident in entries(resource, "identifier", SR):
        kind = type_code(ident, V2_0203_SYSTEM)
        if kind in FILLER_TYPES:
            raise ValidationError(f"{path}: radflow is the order filler and assigns the accession number; "
                                  "send only the placer order number (type PLAC)", field=path)
        if kind not in PLACER_TYPES:
            continue
        if placer[1]:
            raise ValidationError(f"{path}: an order has one placer order number", field=path)
        system, value = str(ident.get("system", "")), str(ident.get("value", ""))
        if not value or len(value) > MAX_PLACER or len(system) > MAX_PLACER:
            raise ValidationError(f"{path} needs a value, and system and value of at most {MAX_PLACER} "
                                  "characters", field=path)
        placer = (system, value)
    return placer


def _laterality(resource: dict[str, Any]) -> str | None:
    sides = {SNOMED_TO_LATERALITY[c] for c in codes_in_all(resource.get("bodySite"), SNOMED_SYSTEM)
             if c in SNOMED_TO_LATERALITY}
    if len(sides) > 1:
        raise ValidationError(f"{SR}.bodySite names more than one side", field=f"{SR}.bodySite")
    return sides.pop() if sides else None


def _coverage(resource: dict[str, Any]) -> str | None:
    insurance = list(entries(resource, "insurance", SR))
    if len(insurance) > 1:
        raise ValidationError(f"{SR}.insurance: an order is billed to one coverage; send the primary one",
                              field=f"{SR}.insurance")
    return reference_id(insurance[0][1], "Coverage", insurance[0][0]) if insurance else None


def referral_command(resource: dict[str, Any], actor: Principal, catalog: ExamCatalog) -> ReceiveReferral:
    """The ReceiveReferral (one order line) a structurally valid ServiceRequest asks for."""
    if resource.get("status") != "active":
        raise ValidationError(f"{SR}.status must be 'active' for a new order, got '{resource.get('status')}'",
                              field=f"{SR}.status")
    if resource.get("intent") not in ("order", "original-order"):
        raise ValidationError(f"{SR}.intent must be 'order', got '{resource.get('intent')}'", field=f"{SR}.intent")
    priority = resource.get("priority", "routine")
    if priority not in PRIORITIES:
        raise ValidationError(f"{SR}.priority '{priority}' is not a radflow track; use one of: "
                              f"{', '.join(PRIORITIES)}", field=f"{SR}.priority")
    patient_id = reference_id(resource.get("subject"), "Patient", f"{SR}.subject")
    protocol_code, phase = _exam(resource, catalog)
    npi, name = _requester(resource)
    diagnosis_codes, reason = _reasons(resource)
    placer_system, placer_number = _placer(resource)
    coverage_id = _coverage(resource)
    notes = "\n\n".join(str(n.get("text", "")) for _, n in entries(resource, "note", SR) if n.get("text"))
    line = OrderLine(
        protocol_code=protocol_code, contrast=phase.value if phase else None, laterality=_laterality(resource),
        reason_for_exam=reason, diagnosis_codes=diagnosis_codes, clinical_notes=notes,
        ordering_provider_npi=npi, ordering_provider_name=name, priority=priority, coverage_id=coverage_id,
        placer_order_number=placer_number, placer_system=placer_system,
    )
    return ReceiveReferral(actor=actor, patient_id=patient_id, channel="e_order", lines=(line,),
                           source_provider_name=name, source_provider_npi=npi)
