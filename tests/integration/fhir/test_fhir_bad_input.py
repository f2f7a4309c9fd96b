"""Bad FHIR input gets a clear OperationOutcome naming the problem, and writes nothing at all."""

from __future__ import annotations

from typing import Any

import pytest
from fhir_harness import CPT, NPI, PROTOCOL, FhirWorld, assert_valid, coverage_body, service_request_body

BAD_NPI = "1234567890"  # the check digit of 123456789 is 3


def _refused(world: FhirWorld, path: str, body: Any, status: int, user: str = "intake") -> dict[str, Any]:
    before = world.counts()
    if status == 403:  # a refused access is itself audited, in a transaction of its own (DESIGN §2)
        before["audit_records"] += 1
    if isinstance(body, bytes):
        response = world.client.post(f"/fhir/{path}", content=body,
                                     headers=world.headers(user, **{"Content-Type": "application/fhir+json"}))
    else:
        response = world.post(user, path, body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    assert_valid(outcome)
    assert outcome["resourceType"] == "OperationOutcome"
    assert world.counts() == before, "a refused request must write nothing, not even a half"
    return outcome


def _expressions(outcome: dict[str, Any]) -> list[str]:
    return [e for issue in outcome["issue"] for e in issue.get("expression", ())]


def test_a_body_that_is_not_json_is_a_400(world: FhirWorld) -> None:
    outcome = _refused(world, "ServiceRequest", b'{"resourceType": "ServiceRequest",', 400)
    assert "not valid JSON" in outcome["issue"][0]["diagnostics"]


def test_a_wrong_resource_type_is_a_400_naming_resource_type(world: FhirWorld) -> None:
    patient_id = world.patient()
    body = service_request_body(patient_id, resourceType="Patient")
    outcome = _refused(world, "ServiceRequest", body, 400)
    assert _expressions(outcome) == ["resourceType"]
    assert "'Patient'" in outcome["issue"][0]["diagnostics"]


def test_a_bad_date_is_a_400_naming_the_element(world: FhirWorld) -> None:
    patient_id = world.patient()
    outcome = _refused(world, "ServiceRequest", service_request_body(patient_id, authoredOn="2026-13-45"), 400)
    assert _expressions(outcome) == ["ServiceRequest.authoredOn"]
    assert "2026-13-45" in outcome["issue"][0]["diagnostics"]
    patient = {"resourceType": "Patient", "name": [{"family": "X", "given": ["Y"]}], "birthDate": "1990-02-30"}
    assert _expressions(_refused(world, "Patient", patient, 400)) == ["Patient.birthDate"]


def test_an_unknown_element_is_a_400_naming_it(world: FhirWorld) -> None:
    patient_id = world.patient()
    body = service_request_body(patient_id)
    body["requester"]["npi"] = "1234567893"
    outcome = _refused(world, "ServiceRequest", body, 400)
    assert _expressions(outcome) == ["ServiceRequest.requester.npi"]
    assert outcome["issue"][0]["code"] == "structure"


def test_an_element_of_the_wrong_shape_is_a_400_naming_it(world: FhirWorld) -> None:
    outcome = _refused(world, "Coverage", {**coverage_body("x"), "payor": {"display": "one payer"}}, 400)
    assert "Coverage.payor" in _expressions(outcome)


def test_an_unknown_exam_code_is_a_422_naming_the_code(world: FhirWorld) -> None:
    patient_id = world.patient()
    outcome = _refused(world, "ServiceRequest", service_request_body(patient_id, code=(PROTOCOL, "MR-ELBOW-XYZ")), 422)
    assert "MR-ELBOW-XYZ" in outcome["issue"][0]["diagnostics"]
    assert _expressions(outcome) == ["ServiceRequest.code.coding"]
    outcome = _refused(world, "ServiceRequest", service_request_body(patient_id, code=(CPT, "99999")), 422)
    assert "99999" in outcome["issue"][0]["diagnostics"]


def test_a_malformed_icd10_code_is_a_422_naming_the_coding(world: FhirWorld) -> None:
    patient_id = world.patient()
    outcome = _refused(world, "ServiceRequest", service_request_body(patient_id, icd10=("M54.16", "R51.X")), 422)
    assert _expressions(outcome) == ["ServiceRequest.reasonCode[1].coding[0].code"]
    assert "R51.X" in outcome["issue"][0]["diagnostics"]


def test_a_wrong_npi_check_digit_is_a_422_naming_the_requester(world: FhirWorld) -> None:
    patient_id = world.patient()
    outcome = _refused(world, "ServiceRequest", service_request_body(patient_id, npi=BAD_NPI), 422)
    assert _expressions(outcome) == ["ServiceRequest.requester.identifier.value"]
    assert "check digit" in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize(("change", "element"), [
    ({"priority": "asap"}, "ServiceRequest.priority"),
    ({"status": "draft"}, "ServiceRequest.status"),
    ({"intent": "plan"}, "ServiceRequest.intent"),
    ({"subject": {"reference": "Group/1"}}, "ServiceRequest.subject"),
    ({"insurance": [{"reference": "Coverage/a"}, {"reference": "Coverage/b"}]}, "ServiceRequest.insurance"),
    ({"requester": {"reference": "Practitioner/7"}}, "ServiceRequest.requester"),
    ({"identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                           "code": "ACSN"}]}, "value": "X1"}]}, "ServiceRequest.identifier[0]"),
])
def test_a_service_request_radflow_cannot_take_is_a_422_naming_the_element(
        world: FhirWorld, change: dict[str, Any], element: str) -> None:
    patient_id = world.patient()
    outcome = _refused(world, "ServiceRequest", {**service_request_body(patient_id), **change}, 422)
    assert _expressions(outcome) == [element]


def test_an_order_for_an_unknown_patient_is_refused_and_writes_nothing(world: FhirWorld) -> None:
    outcome = _refused(world, "ServiceRequest", service_request_body("nobody"), 404)
    assert "nobody" in outcome["issue"][0]["diagnostics"]


def test_an_unknown_payer_is_a_422_naming_the_payor(world: FhirWorld) -> None:
    patient_id = world.patient()
    outcome = _refused(world, "Coverage", coverage_body(patient_id, payer="acme_health"), 422)
    assert _expressions(outcome) == ["Coverage.payor[0].identifier.value"]
    assert "acme_health" in outcome["issue"][0]["diagnostics"]


def test_a_patient_without_a_full_birth_date_is_a_422(world: FhirWorld) -> None:
    body = {"resourceType": "Patient", "name": [{"family": "X", "given": ["Y"]}], "birthDate": "1990"}
    assert _expressions(_refused(world, "Patient", body, 422)) == ["Patient.birthDate"]


def test_a_patient_identifier_without_a_system_is_a_422(world: FhirWorld) -> None:
    body = {"resourceType": "Patient", "name": [{"family": "X", "given": ["Y"]}], "birthDate": "1990-01-01",
            "identifier": [{"value": "123"}]}
    assert _expressions(_refused(world, "Patient", body, 422)) == ["Patient.identifier[0]"]


def test_xml_is_refused_as_an_unsupported_media_type(world: FhirWorld) -> None:
    before = world.counts()
    response = world.client.post("/fhir/Patient", content=b"<Patient xmlns='http://hl7.org/fhir'/>",
                                 headers=world.headers("intake", **{"Content-Type": "application/fhir+xml"}))
    assert response.status_code == 415
    assert response.json()["resourceType"] == "OperationOutcome"
    assert world.counts() == before


def test_a_role_that_may_not_create_orders_is_refused_before_anything_is_written(world: FhirWorld) -> None:
    patient_id = world.patient()
    outcome = _refused(world, "ServiceRequest", service_request_body(patient_id), 403, user="auth")
    assert outcome["issue"][0]["code"] == "forbidden"


def test_the_requester_npi_names_the_ordering_provider(world: FhirWorld) -> None:
    patient_id = world.patient()
    created = world.order(patient_id)
    assert created["requester"]["identifier"] == {"system": NPI, "value": "1234567893"}
