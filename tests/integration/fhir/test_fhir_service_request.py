"""FHIR ServiceRequest over the ASGI app: create routes the order, read shows where it is, every search."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fhir_harness import (
    ACCESSION,
    CPT,
    HOSPITAL,
    PROTOCOL,
    FhirWorld,
    assert_valid,
    service_request_body,
    state_of,
)

from radflow.domain.users import Principal, Role
from radflow.services import authorizations as auth
from radflow.services.order_changes import AssignProtocol, CancelOrder


def _body(patient_id: str, coverage_id: str | None = None, **changes: Any) -> dict[str, Any]:
    return service_request_body(patient_id, coverage_id=coverage_id, **changes)


def test_a_complete_mri_referral_is_received_and_waits_for_protocoling(world: FhirWorld) -> None:
    patient_id = world.patient()
    coverage_id = world.coverage(patient_id)
    response = world.post("intake", "ServiceRequest", _body(patient_id, coverage_id))
    assert response.status_code == 201, response.text
    created = response.json()
    assert_valid(created)
    assert state_of(created) == "awaiting_protocol"
    assert created["status"] == "active"
    assert created["insurance"] == [{"reference": f"Coverage/{coverage_id}"}]
    accession = next(i["value"] for i in created["identifier"] if i["system"] == ACCESSION)
    assert accession.startswith("A")
    types = {i["type"]["coding"][0]["code"]: (i.get("system"), i["value"]) for i in created["identifier"]}
    assert types == {"ACSN": (ACCESSION, accession), "FILL": (ACCESSION, accession), "PLAC": (HOSPITAL, "P-1001")}
    assert response.headers["Location"].endswith(f"/ServiceRequest/{created['id']}/_history/"
                                                 f"{created['meta']['versionId']}")
    assert response.headers["ETag"] == f'W/"{created["meta"]["versionId"]}"'
    assert response.headers["Last-Modified"] == "Mon, 02 Mar 2026 13:00:00 GMT"


def test_a_cpt_code_alone_names_the_exam_and_its_contrast(world: FhirWorld) -> None:
    patient_id = world.patient()
    created = world.order(patient_id, code=(CPT, "72158"), coverage_id=world.coverage(patient_id))
    codes = {c["system"]: c["code"] for c in created["code"]["coding"]}
    assert codes == {PROTOCOL: "MR-LSPINE", CPT: "72158"}
    assert created["orderDetail"][0]["coding"][0]["code"] == "without_and_with"


def test_a_referral_missing_its_diagnosis_waits_for_documentation_saying_what_is_missing(world: FhirWorld) -> None:
    patient_id = world.patient()
    created = world.order(patient_id, code=(PROTOCOL, "CT-CHEST"), contrast="with", icd10=(),
                          coverage_id=world.coverage(patient_id))
    assert state_of(created) == "awaiting_documentation"
    missing = [e["valueString"] for e in created["extension"] if e["url"].endswith("missing-item")]
    assert any("ICD-10" in item for item in missing)
    task = world.get("intake", f"Task/{created['id']}").json()
    assert task["status"] == "on-hold"
    assert "ICD-10" in task["statusReason"]["text"]


def test_read_shows_the_state_after_each_step_of_the_pipeline(world: FhirWorld) -> None:
    patient_id = world.patient()
    order_id = world.order(patient_id, coverage_id=world.coverage(patient_id))["id"]
    people = _principals(world)
    world.radflow.bus.handle(AssignProtocol(actor=people["rad"], order_id=order_id, contrast="without"))
    after_protocol = world.get("intake", f"ServiceRequest/{order_id}").json()
    assert state_of(after_protocol) == "pending_authorization"
    assert {c["system"]: c["code"] for c in after_protocol["code"]["coding"]}[CPT] == "72148"
    world.clock.advance(hours=2)
    world.radflow.bus.handle(auth.SubmitAuthorization(actor=people["auth"], order_id=order_id, payer_reference="R1"))
    world.radflow.bus.handle(auth.ApproveAuthorization(actor=people["auth"], order_id=order_id,
                                                       authorization_number="A99"))
    ready = world.get("intake", f"ServiceRequest/{order_id}")
    assert state_of(ready.json()) == "ready_to_schedule"
    assert ready.json()["status"] == "active"
    assert ready.headers["Last-Modified"] == "Mon, 02 Mar 2026 15:00:00 GMT"
    assert ready.headers["ETag"] != f'W/"{after_protocol["meta"]["versionId"]}"'
    world.radflow.bus.handle(CancelOrder(actor=people["intake"], order_id=order_id, reason="patient moved away"))
    cancelled = world.get("intake", f"ServiceRequest/{order_id}").json()
    assert_valid(cancelled)
    assert (cancelled["status"], state_of(cancelled)) == ("revoked", "cancelled")


def _principals(world: FhirWorld) -> dict[str, Principal]:
    with world.radflow.uow() as uow:
        users = {name: uow.users.by_username(name) for name in ("rad", "auth", "intake")}
    return {name: user.principal("test") for name, user in users.items() if user is not None}


def _search(world: FhirWorld, user: str = "intake", **params: str) -> list[str]:
    response = world.get(user, "ServiceRequest", **params)
    assert response.status_code == 200, response.text
    assert_valid(response.json())
    return [e["resource"]["id"] for e in response.json().get("entry", ())]


def test_search_by_identifier_finds_accession_and_placer_numbers(world: FhirWorld) -> None:
    patient_id = world.patient()
    first = world.order(patient_id, placer="P-1")
    world.order(patient_id, placer="P-2")
    accession = next(i["value"] for i in first["identifier"] if i["system"] == ACCESSION)
    assert _search(world, identifier=f"{ACCESSION}|{accession}") == [first["id"]]
    assert _search(world, identifier=f"{HOSPITAL}|P-1") == [first["id"]]
    assert _search(world, identifier="P-1") == [first["id"]]
    assert _search(world, identifier="urn:oid:1.1|P-1") == []


def test_search_by_patient_or_subject(world: FhirWorld) -> None:
    maria = world.patient()
    wei = world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002")
    hers = world.order(maria)["id"]
    his = world.order(wei, placer="P-9")["id"]
    assert _search(world, patient=maria) == [hers]
    assert _search(world, subject=f"Patient/{wei}") == [his]
    assert sorted(_search(world, patient=f"{maria},{wei}")) == sorted([hers, his])


def test_search_by_status_uses_the_documented_mapping(world: FhirWorld) -> None:
    patient_id = world.patient()
    active = world.order(patient_id)["id"]
    revoked = world.order(patient_id, placer="P-2")["id"]
    world.radflow.bus.handle(CancelOrder(actor=_principals(world)["intake"], order_id=revoked, reason="duplicate"))
    assert _search(world, status="active") == [active]
    assert _search(world, status="revoked") == [revoked]
    assert _search(world, status="completed") == []
    assert sorted(_search(world, status="active,revoked")) == sorted([active, revoked])


def test_search_by_authored_date_ranges(world: FhirWorld) -> None:
    patient_id = world.patient()
    monday = world.order(patient_id, placer="P-1")["id"]  # 2026-03-02 13:00Z
    world.clock.advance(timedelta(days=1))
    tuesday = world.order(patient_id, placer="P-2")["id"]  # 2026-03-03 13:00Z
    assert _search(world, authored="2026-03-02T13:00:00Z") == [monday]
    assert _search(world, authored="lt2026-03-03") == [monday]
    assert _search(world, authored="ge2026-03-03") == [tuesday]
    assert _search(world, authored="gt2026-03-02T13:00:00Z") == [tuesday]
    assert _search(world, authored="le2026-03-02T13:00:00Z") == [monday]
    assert sorted(_search(world, authored="ge2026-03-02")) == sorted([monday, tuesday])
    both = world.client.get("/fhir/ServiceRequest", params=[("authored", "ge2026-03-02"), ("authored", "lt2026-03-03")],
                            headers=world.headers("intake")).json()
    assert [e["resource"]["id"] for e in both["entry"]] == [monday]


def test_search_by_code_matches_protocol_codes_and_cpt_codes(world: FhirWorld) -> None:
    patient_id = world.patient()
    mri = world.order(patient_id, code=(CPT, "72148"), placer="P-1")["id"]
    ct = world.order(patient_id, code=(PROTOCOL, "CT-CHEST"), contrast="with", placer="P-2")["id"]
    assert _search(world, code=f"{PROTOCOL}|MR-LSPINE") == [mri]
    assert _search(world, code=f"{CPT}|72148") == [mri]
    assert _search(world, code="CT-CHEST") == [ct]
    assert _search(world, code=f"{CPT}|71260") == [ct]  # CT chest with contrast
    assert _search(world, code=f"{CPT}|71250") == []  # ... without


def test_a_referrer_sees_only_their_own_orders(world: FhirWorld) -> None:
    patient_id = world.patient()
    mine = world.order(patient_id)["id"]
    assert _search(world, "drwho") == [mine]
    assert _search(world, "drother") == []
    assert _search(world, "drother", patient=patient_id) == []
    refused = world.get("drother", f"ServiceRequest/{mine}")
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert world.get("drother", f"Task/{mine}").status_code == 403


def test_a_referrer_may_order_only_as_themself(world: FhirWorld) -> None:
    patient_id = world.patient()
    assert world.post("drwho", "ServiceRequest", _body(patient_id)).status_code == 201
    as_someone_else = world.post("drother", "ServiceRequest", _body(patient_id))
    assert as_someone_else.status_code == 403


def test_a_patient_user_sees_only_their_own_orders(world: FhirWorld) -> None:
    maria = world.patient()
    wei = world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002")
    hers = world.order(maria)["id"]
    his = world.order(wei, placer="P-2")["id"]
    world.add_user("maria", Role.PATIENT, patient_id=maria)
    assert _search(world, "maria") == [hers]
    assert world.get("maria", f"ServiceRequest/{hers}").status_code == 200
    assert world.get("maria", f"ServiceRequest/{his}").status_code == 403


def test_search_pages_through_orders(world: FhirWorld) -> None:
    patient_id = world.patient()
    made = {world.order(patient_id, placer=f"P-{n}")["id"] for n in range(3)}
    page = world.get("intake", "ServiceRequest", _count="2").json()
    assert page["total"] == 3 and len(page["entry"]) == 2
    rest = world.client.get(next(x["url"] for x in page["link"] if x["relation"] == "next"),
                            headers=world.headers("intake")).json()
    assert {e["resource"]["id"] for e in page["entry"] + rest["entry"]} == made
    summary = world.get("intake", "ServiceRequest", _summary="count").json()
    assert summary["total"] == 3 and "entry" not in summary


def test_prefer_return_minimal_answers_only_the_headers(world: FhirWorld) -> None:
    patient_id = world.patient()
    response = world.post("intake", "ServiceRequest", _body(patient_id), Prefer="return=minimal")
    assert response.status_code == 201
    assert response.content == b""
    location = response.headers["Location"]
    created = world.client.get(location, headers=world.headers("intake"))
    assert created.status_code == 200
    assert f'W/"{created.json()["meta"]["versionId"]}"' == response.headers["ETag"]


def test_vread_of_a_service_request_answers_only_the_current_version(world: FhirWorld) -> None:
    patient_id = world.patient()
    created = world.order(patient_id)
    version = created["meta"]["versionId"]
    assert world.get("intake", f"ServiceRequest/{created['id']}/_history/{version}").json() == created
    world.radflow.bus.handle(CancelOrder(actor=_principals(world)["intake"], order_id=created["id"], reason="dup"))
    stale = world.get("intake", f"ServiceRequest/{created['id']}/_history/{version}")
    assert stale.status_code == 404
    assert "current version" in stale.json()["issue"][0]["diagnostics"]
