"""Reading FHIR request bodies into commands: what each element becomes, and refusals naming the element."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from radflow.adapters.fhir.coverage import add_coverage_command
from radflow.adapters.fhir.parsing import Refusal, read_resource
from radflow.adapters.fhir.patient import register_patient_command
from radflow.adapters.fhir.service_request import referral_command
from radflow.catalog.loader import Catalog, load_catalog
from radflow.domain.errors import ValidationError
from radflow.domain.users import Principal, Role

CPT = "http://www.ama-assn.org/go/cpt"
PROTOCOL = "https://radflow.example/fhir/CodeSystem/protocol"
CONTRAST = "https://radflow.example/fhir/CodeSystem/contrast"
SNOMED = "http://snomed.info/sct"
ACTOR = Principal.system("test", role=Role.INTAKE)


@functools.cache
def _catalog() -> Catalog:
    return load_catalog()


def _request(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                            "subject": {"reference": "Patient/p1"},
                            "code": {"coding": [{"system": PROTOCOL, "code": "MR-KNEE"}]}}
    body.update(changes)
    return body


def _refusal_field(body: dict[str, Any]) -> str | None:
    with pytest.raises(ValidationError) as refused:
        referral_command(body, ACTOR, _catalog())
    return refused.value.field


def test_laterality_comes_from_the_snomed_side_in_body_site() -> None:
    left = {"coding": [{"system": SNOMED, "code": "7771000"}], "text": "left knee"}
    line = referral_command(_request(bodySite=[left]), ACTOR, _catalog()).lines[0]
    assert line.laterality == "L"
    right = {"coding": [{"system": SNOMED, "code": "24028007"}]}
    assert _refusal_field(_request(bodySite=[left, right])) == "ServiceRequest.bodySite"


def test_contrast_comes_from_order_detail_and_must_agree_with_the_cpt_code() -> None:
    with_contrast = [{"coding": [{"system": CONTRAST, "code": "with"}]}]
    assert referral_command(_request(orderDetail=with_contrast), ACTOR, _catalog()).lines[0].contrast == "with"
    lumbar_without = {"coding": [{"system": CPT, "code": "72148"}]}
    assert _refusal_field(_request(code=lumbar_without, orderDetail=with_contrast)) == "ServiceRequest.orderDetail"
    unknown = [{"coding": [{"system": CONTRAST, "code": "double"}]}]
    assert _refusal_field(_request(orderDetail=unknown)) == "ServiceRequest.orderDetail"


def test_a_cpt_code_of_another_exam_than_the_protocol_code_is_refused() -> None:
    both = {"coding": [{"system": PROTOCOL, "code": "MR-KNEE"}, {"system": CPT, "code": "72148"}]}
    assert _refusal_field(_request(code=both)) == "ServiceRequest.code.coding"
    two_exams = {"coding": [{"system": CPT, "code": "72148"}, {"system": CPT, "code": "71260"}]}
    assert _refusal_field(_request(code=two_exams)) == "ServiceRequest.code.coding"


def test_without_an_exam_coding_the_code_is_refused() -> None:
    assert _refusal_field(_request(code={"text": "MRI knee please"})) == "ServiceRequest.code"


def test_reason_texts_become_the_indication_and_codes_are_normalised() -> None:
    reasons = [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "m2551"}], "text": "Knee pain"},
               {"text": "after a fall"}]
    line = referral_command(_request(reasonCode=reasons), ACTOR, _catalog()).lines[0]
    assert line.diagnosis_codes == ("M25.51",)
    assert line.reason_for_exam == "Knee pain; after a fall"


def test_patient_names_contacts_and_identifiers_become_the_registration() -> None:
    body = {"resourceType": "Patient", "name": [{"use": "nickname", "family": "X", "given": ["Y"]},
                                                 {"use": "official", "family": "Rivera", "given": ["Maria", "José"]}],
            "birthDate": "1968-04-12", "gender": "female",
            "telecom": [{"system": "email", "value": "m@example.org"}, {"system": "phone", "value": "555-0100"}],
            "identifier": [{"system": "urn:oid:1.2.3", "value": "H1",
                            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                 "code": "PI"}]}}]}
    command = register_patient_command(body, ACTOR)
    assert (command.family_name, command.given_name, command.middle_name) == ("Rivera", "Maria", "José")
    assert (command.sex, command.phone, command.email) == ("F", "555-0100", "m@example.org")
    assert [(i.authority, i.value, i.type_code) for i in command.identifiers] == [("urn:oid:1.2.3", "H1", "PI")]


def test_an_unknown_gender_code_is_refused() -> None:
    body = {"resourceType": "Patient", "name": [{"family": "X", "given": ["Y"]}], "birthDate": "1990-01-01",
            "gender": "f"}
    with pytest.raises(ValidationError) as refused:
        register_patient_command(body, ACTOR)
    assert refused.value.field == "Patient.gender"


def test_coverage_reads_member_group_and_plan() -> None:
    body = {"resourceType": "Coverage", "status": "active", "beneficiary": {"reference": "Patient/p1"},
            "payor": [{"reference": "Organization/uhc_commercial"}], "subscriberId": "U1",
            "class": [{"type": {"coding": [{"code": "group"}]}, "value": "G7"},
                      {"type": {"coding": [{"code": "plan"}]}, "value": "P1", "name": "Choice Plus"}]}
    command = add_coverage_command(body, ACTOR, _catalog())
    assert (command.payer_id, command.member_id, command.group_number, command.plan_name) == (
        "uhc_commercial", "U1", "G7", "Choice Plus")


def test_structure_errors_name_every_offending_element() -> None:
    refusal = read_resource(b'{"resourceType": "Patient", "birthDate": "x", "nickname": "Bo"}', "Patient")
    assert isinstance(refusal, Refusal) and refusal.status == 400
    assert {i.expression for i in refusal.issues} == {"Patient.birthDate", "Patient.nickname"}
    assert isinstance(read_resource(b'{"resourceType": "Patient"}', "Patient"), dict)
    not_utf8 = read_resource(b'{"resourceType": "Patient", "name": "\xff"}', "Patient")
    assert isinstance(not_utf8, Refusal) and not_utf8.status == 400
