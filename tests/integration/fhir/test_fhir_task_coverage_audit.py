"""FHIR Task (the pipeline state), Coverage and AuditEvent over the ASGI app."""

from __future__ import annotations

from fhir_harness import PAYER, FhirWorld, assert_valid, coverage_body

from radflow.domain.users import Role
from radflow.services.order_changes import CancelOrder

ORDER_STATE = "https://radflow.example/fhir/CodeSystem/order-state"


def test_the_task_shows_the_exact_state_and_the_timeline_with_who_and_when(world: FhirWorld) -> None:
    patient_id = world.patient()
    order_id = world.order(patient_id, coverage_id=world.coverage(patient_id))["id"]
    world.clock.advance(hours=1)
    with world.radflow.uow() as uow:
        intake = uow.users.by_username("intake")
    assert intake is not None
    world.radflow.bus.handle(CancelOrder(actor=intake.principal("test"), order_id=order_id, reason="patient moved"))
    response = world.get("intake", f"Task/{order_id}")
    assert response.status_code == 200
    task = response.json()
    assert_valid(task)
    assert task["focus"] == {"reference": f"ServiceRequest/{order_id}"}
    assert task["for"] == {"reference": f"Patient/{patient_id}"}
    assert task["status"] == "cancelled"
    assert task["businessStatus"]["coding"][0] == {"system": ORDER_STATE, "code": "cancelled", "display": "Cancelled"}
    assert task["statusReason"]["text"] == "patient moved"
    history = {h["reference"].lstrip("#"): h for h in task["relevantHistory"]}
    steps = [p for p in task["contained"] if p["id"] in history]
    assert [p["activity"]["coding"][0]["code"] for p in steps] == ["received", "protocol_required", "cancel"]
    assert [p["recorded"] for p in steps] == ["2026-03-02T13:00:00Z"] * 2 + ["2026-03-02T14:00:00Z"]
    assert {p["agent"][0]["who"]["display"] for p in steps} == {"Intake"}
    assert steps[-1]["reason"] == [{"text": "patient moved"}]


def test_task_search_by_focus_patient_and_business_status(world: FhirWorld) -> None:
    maria = world.patient()
    wei = world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002")
    hers = world.order(maria, coverage_id=world.coverage(maria))["id"]
    his = world.order(wei, placer="P-2", icd10=())["id"]

    def ids(**params: str) -> list[str]:
        bundle = world.get("intake", "Task", **params).json()
        assert_valid(bundle)
        return [e["resource"]["id"] for e in bundle.get("entry", ())]

    assert ids(focus=f"ServiceRequest/{hers}") == [hers]
    assert ids(patient=wei) == [his]
    assert ids(**{"business-status": "awaiting_documentation"}) == [his]
    assert ids(**{"business-status": f"{ORDER_STATE}|awaiting_protocol"}) == [hers]
    assert ids(status="on-hold") == [his]
    assert world.get("drother", "Task").json()["total"] == 0


def test_coverage_create_read_and_search_by_patient(world: FhirWorld) -> None:
    maria = world.patient()
    wei = world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002")
    response = world.post("intake", "Coverage", coverage_body(maria, "uhc_commercial", "U-555"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert_valid(created)
    assert created["payor"][0]["identifier"] == {"system": PAYER, "value": "uhc_commercial"}
    assert created["subscriberId"] == "U-555"
    assert "/fhir/Coverage/" in response.headers["Location"]
    read = world.get("intake", f"Coverage/{created['id']}")
    assert read.status_code == 200 and read.json() == created
    world.coverage(wei, "medicare_part_b", "1EG4-TE5-MK72")
    for parameter in ("patient", "beneficiary"):
        bundle = world.get("intake", "Coverage", **{parameter: f"Patient/{maria}"}).json()
        assert_valid(bundle)
        assert [e["resource"]["id"] for e in bundle["entry"]] == [created["id"]]


def test_coverage_payor_may_be_an_organization_reference_to_a_catalog_payer(world: FhirWorld) -> None:
    patient_id = world.patient()
    body = coverage_body(patient_id)
    body["payor"] = [{"reference": "Organization/cigna_commercial"}]
    response = world.post("intake", "Coverage", body)
    assert response.status_code == 201
    assert response.json()["payor"][0]["identifier"]["value"] == "cigna_commercial"


def test_a_patient_reads_their_own_coverage_and_not_anyone_elses(world: FhirWorld) -> None:
    maria = world.patient()
    wei = world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002")
    hers, his = world.coverage(maria), world.coverage(wei)
    world.add_user("maria", Role.PATIENT, patient_id=maria)
    assert world.get("maria", f"Coverage/{hers}").status_code == 200
    assert world.get("maria", f"Coverage/{his}").status_code == 403
    assert [e["resource"]["id"] for e in world.get("maria", "Coverage").json()["entry"]] == [hers]
    assert world.get("maria", "Coverage", patient=wei).json()["total"] == 0
    assert world.get("drwho", f"Coverage/{hers}").status_code == 403  # referrers have no coverage access


def test_a_service_request_bills_the_coverage_it_names(world: FhirWorld) -> None:
    patient_id = world.patient()
    coverage_id = world.coverage(patient_id)
    created = world.order(patient_id, coverage_id=coverage_id)
    assert created["insurance"] == [{"reference": f"Coverage/{coverage_id}"}]


def _events(world: FhirWorld, user: str = "admin", **params: str) -> list[dict[str, object]]:
    response = world.get(user, "AuditEvent", **params)
    assert response.status_code == 200, response.text
    assert_valid(response.json())
    return [e["resource"] for e in response.json().get("entry", ())]


def test_audit_events_record_who_read_which_patient(world: FhirWorld) -> None:
    maria = world.patient()
    world.get("intake", f"Patient/{maria}")
    events = _events(world, patient=maria)
    read = next(e for e in events if {"system": "http://hl7.org/fhir/restful-interaction", "code": "read"}
                in e["subtype"])  # type: ignore[operator]
    assert read["type"] == {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110",
                            "display": "Patient Record"}
    assert read["action"] == "R" and read["outcome"] == "0"
    agent = read["agent"][0]  # type: ignore[index]
    assert agent["altId"] == "intake" and agent["requestor"] is True
    assert {"what": {"reference": f"Patient/{maria}"}} .items() <= read["entity"][0].items()  # type: ignore[index]


def test_refused_accesses_are_audit_events_with_a_failure_outcome(world: FhirWorld) -> None:
    maria = world.patient()
    order_id = world.order(maria)["id"]
    assert world.get("drother", f"ServiceRequest/{order_id}").status_code == 403
    refused = _events(world, outcome="4")
    assert refused, "the refusal must be in the trail"
    assert all(e["outcome"] == "4" for e in refused)
    assert any(e["agent"][0]["altId"] == "drother" for e in refused)  # type: ignore[index]


def test_audit_events_search_by_agent_altid_and_date(world: FhirWorld) -> None:
    maria = world.patient()
    world.clock.advance(days=1)
    world.get("manager", f"Patient/{maria}")
    with world.radflow.uow() as uow:
        manager = uow.users.by_username("manager")
    assert manager is not None
    by_agent = _events(world, agent=f"Practitioner/{manager.id}")
    assert by_agent and all(e["agent"][0]["who"]["identifier"]["value"] == manager.id  # type: ignore[index]
                            for e in by_agent)
    assert [e["id"] for e in _events(world, altid="manager")] == [e["id"] for e in by_agent]
    later = _events(world, date="ge2026-03-03")
    assert later and all(str(e["recorded"]) >= "2026-03-03" for e in later)
    earlier = _events(world, date="lt2026-03-03", _count="100")
    assert earlier and all(str(e["recorded"]) < "2026-03-03" for e in earlier)


def test_only_auditors_read_the_audit_trail(world: FhirWorld) -> None:
    assert world.get("intake", "AuditEvent").status_code == 403
    assert world.get("drwho", "AuditEvent").status_code == 403
    assert world.get("manager", "AuditEvent").status_code == 200
