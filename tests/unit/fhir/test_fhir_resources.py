"""Domain objects → FHIR resources that parse as R4(B) models, for every state, outcome and optional part."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import given, settings
from hypothesis import strategies as st

from radflow.adapters.fhir.audit_event import audit_event_resource
from radflow.adapters.fhir.capability import capability_statement
from radflow.adapters.fhir.coverage import coverage_resource
from radflow.adapters.fhir.patient import patient_resource
from radflow.adapters.fhir.service_request import service_request_resource
from radflow.adapters.fhir.task import task_resource
from radflow.catalog.loader import Catalog, load_catalog
from radflow.domain.audit import AuditRecord, Outcome
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Laterality, Order, Track
from radflow.domain.patient import Patient, Sex
from radflow.domain.protocols import ContrastPhase
from radflow.domain.referral import Coverage

AT = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)


@functools.cache
def _catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def catalog() -> Catalog:
    return _catalog()


def _valid(resource: dict[str, Any]) -> dict[str, Any]:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def _order(state: OrderState = OrderState.RECEIVED, **fields: Any) -> Order:
    order = Order.receive(by="u1", at=AT, target=timedelta(days=10), id="o1", patient_id="p1",
                          accession_number="A00000001", study_instance_uid="2.25.1", protocol_code="MR-LSPINE",
                          requested_modality="MR", priority=Track.ROUTINE, **fields)
    order.state = state
    return order


@settings(deadline=None)  # the first example builds the pydantic models
@given(state=st.sampled_from(OrderState), contrast=st.sampled_from([None, *ContrastPhase]),
       laterality=st.sampled_from([None, *Laterality]), placer=st.booleans(), notes=st.booleans())
def test_every_order_is_a_valid_service_request_and_task(state: OrderState, contrast: ContrastPhase | None,
                                                         laterality: Laterality | None, placer: bool,
                                                         notes: bool) -> None:
    catalog = _catalog()
    order = _order(state, contrast=contrast, laterality=laterality,
                   placer_order_number="P1" if placer else "", clinical_notes="notes" if notes else "",
                   diagnosis_codes=["M54.16"], reason_for_exam="pain", ordering_provider_npi="1234567893",
                   ordering_provider_name="Dr A", coverage_id="c1", missing_items=["the ICD-10 code"])
    order.note("document_attached", by="u2", at=AT + timedelta(hours=1))
    request = _valid(service_request_resource(order, catalog))
    task = _valid(task_resource(order, {"u1": "Ines Intake"}))
    state_extension = [e for e in request["extension"] if e["url"].endswith("order-state")]
    assert state_extension == [{"url": state_extension[0]["url"], "valueCode": state.value}]
    assert task["businessStatus"]["coding"][0]["code"] == state.value
    assert len(task["contained"]) == len(task["relevantHistory"]) == 2
    assert task["lastModified"] == "2026-03-02T14:00:00Z"


def test_the_cpt_code_shown_follows_the_contrast_plan_until_protocoling_sets_it(catalog: Catalog) -> None:
    def cpts(order: Order) -> list[str]:
        return [c["code"] for c in service_request_resource(order, catalog)["code"]["coding"]
                if c["system"].endswith("cpt")]

    assert cpts(_order()) == []  # MR lumbar spine has three variants: not chosen yet
    assert cpts(_order(contrast=ContrastPhase.WITH)) == ["72149"]
    assert cpts(_order(contrast=ContrastPhase.WITH, cpt_code="72158")) == ["72158"]


@settings(deadline=None)
@given(sex=st.sampled_from(Sex), merged=st.booleans(), contacts=st.booleans())
def test_every_patient_is_a_valid_patient_resource(sex: Sex, merged: bool, contacts: bool) -> None:
    patient = Patient(id="p1", family_name="Müller", given_name="Jürgen", middle_name="K" if contacts else "",
                      birth_date=date(1949, 3, 17), sex=sex, created_at=AT, phone="555" if contacts else "",
                      email="j@example.org" if contacts else "", city="Springfield" if contacts else "",
                      merged_into_id="p2" if merged else None)
    patient.add_identifier("RADFLOW", "RF0000001")
    patient.add_identifier("urn:oid:2.16.840.1.113883.19.5", "H-1")
    resource = _valid(patient_resource(patient))
    assert resource["active"] is not merged
    assert resource["identifier"][0]["system"] == "https://radflow.example/fhir/sid/mrn"


def test_a_content_change_changes_the_patient_version() -> None:
    patient = Patient(id="p1", family_name="A", given_name="B", birth_date=date(1990, 1, 1), sex=Sex.FEMALE,
                      created_at=AT)
    before = patient_resource(patient)["meta"]["versionId"]
    assert patient_resource(patient)["meta"]["versionId"] == before
    patient.phone = "555-0100"
    assert patient_resource(patient)["meta"]["versionId"] != before


def test_coverage_is_valid_and_names_its_payer(catalog: Catalog) -> None:
    coverage = Coverage(id="c1", patient_id="p1", payer_id="aetna_commercial", member_id="M1", created_at=AT,
                        group_number="G1", plan_name="Gold", subscriber_name="Maria Rivera", active=False)
    resource = _valid(coverage_resource(coverage, catalog))
    assert resource["status"] == "cancelled"
    assert resource["payor"][0]["display"]


@settings(deadline=None)
@given(outcome=st.sampled_from(Outcome),
       action=st.sampled_from(["login", "patient.read", "order.read.list", "audit.read", "user.create", "x"]),
       object_type=st.sampled_from(["", "order", "patient-list", "document"]), with_user=st.booleans(),
       source=st.sampled_from(["http:10.0.0.1", "demo", ""]), detail=st.sampled_from(["", "3 rows"]))
def test_every_audit_record_is_a_valid_audit_event(outcome: Outcome, action: str, object_type: str, with_user: bool,
                                                   source: str, detail: str) -> None:
    record = AuditRecord(at=AT, user_id="u1" if with_user else "", username="ines" if with_user else "",
                         role="intake", action=action, outcome=outcome, source=source,
                         patient_id="p1" if object_type != "patient-list" else "", object_type=object_type,
                         object_id="o1" if object_type else "", detail=detail, id=7)
    resource = _valid(audit_event_resource(record, "Riverside Imaging Center"))
    assert resource["outcome"] == ("0" if outcome is Outcome.SUCCESS else "4")


def test_capability_statement_is_valid() -> None:
    served = {"Patient": ["create", "search-type", "read"], "Slot": ["search-type"]}
    statement = _valid(capability_statement("http://h/fhir", "0.1.0", "Riverside", served))
    assert statement["fhirVersion"] == "4.0.1"
    patient, slot = statement["rest"][0]["resource"]
    assert [i["code"] for i in patient["interaction"]] == ["read", "create", "search-type"]
    assert "searchParam" in patient and "searchParam" not in slot
