"""FHIR metadata and Patient over the ASGI app: create, read, vread, search by every parameter, paging."""

from __future__ import annotations

from fhir_harness import FHIR_JSON, HOSPITAL, MRN, FhirWorld, assert_valid

from radflow.adapters.db import tables as t
from radflow.domain.users import Role


def test_metadata_is_public_and_lists_every_resource_and_search_parameter(world: FhirWorld) -> None:
    response = world.client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    statement = response.json()
    assert_valid(statement)
    assert statement["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(resources) >= {"Patient", "ServiceRequest", "Task", "Coverage", "AuditEvent"}
    assert {p["name"] for p in resources["ServiceRequest"]["searchParam"]} >= {
        "identifier", "patient", "subject", "status", "authored", "code"}
    assert {i["code"] for i in resources["Patient"]["interaction"]} == {"read", "vread", "search-type", "create"}
    assert {i["code"] for i in resources["Task"]["interaction"]} == {"read", "search-type"}
    assert {i["code"] for i in resources["AuditEvent"]["interaction"]} == {"search-type"}


def test_reading_a_patient_needs_a_token(world: FhirWorld) -> None:
    response = world.client.get("/fhir/Patient/anything")
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


def test_create_registers_the_patient_with_identifiers_keeping_their_system(world: FhirWorld) -> None:
    body = {"resourceType": "Patient", "identifier": [{"system": HOSPITAL, "value": "H-77"}],
            "name": [{"use": "official", "family": "Okafor", "given": ["Chinedu", "Emeka"]}], "gender": "male",
            "birthDate": "1982-01-05", "telecom": [{"system": "phone", "value": "(555) 201-0003"},
                                                    {"system": "email", "value": "c@example.org"}],
            "address": [{"line": ["1 Main St"], "city": "Springfield", "state": "IL", "postalCode": "62701"}]}
    response = world.post("intake", "Patient", body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert_valid(created)
    assert response.headers["Location"].endswith(f"/fhir/Patient/{created['id']}/_history/"
                                                 f"{created['meta']['versionId']}")
    assert response.headers["ETag"] == f'W/"{created["meta"]["versionId"]}"'
    systems = {i["system"]: i["value"] for i in created["identifier"]}
    assert systems[HOSPITAL] == "H-77"
    assert systems[MRN].startswith("RF")
    assert created["name"][0]["given"] == ["Chinedu", "Emeka"]
    assert created["address"][0]["city"] == "Springfield"
    read = world.get("intake", f"Patient/{created['id']}")
    assert read.status_code == 200
    assert read.json() == created
    assert read.headers["ETag"] == response.headers["ETag"]


def test_a_known_identifier_returns_the_existing_patient_instead_of_a_copy(world: FhirWorld) -> None:
    first = world.patient(identifier="H-1")
    before = world.count(t.patients)
    body = {"resourceType": "Patient", "identifier": [{"system": HOSPITAL, "value": "H-1"}],
            "name": [{"family": "Rivera", "given": ["Maria"]}], "birthDate": "1968-04-12"}
    response = world.post("intake", "Patient", body)
    assert response.status_code == 200
    assert response.json()["id"] == first
    assert world.count(t.patients) == before


def test_vread_answers_the_current_version_and_refuses_older_ones(world: FhirWorld) -> None:
    patient_id = world.patient()
    version = world.get("intake", f"Patient/{patient_id}").json()["meta"]["versionId"]
    assert world.get("intake", f"Patient/{patient_id}/_history/{version}").status_code == 200
    old = world.get("intake", f"Patient/{patient_id}/_history/0000")
    assert old.status_code == 404
    assert "not kept" in old.json()["issue"][0]["diagnostics"]


def test_an_unknown_patient_is_a_not_found_outcome(world: FhirWorld) -> None:
    response = world.get("intake", "Patient/nobody")
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"


def _ids(world: FhirWorld, user: str = "intake", **params: str) -> list[str]:
    response = world.get(user, "Patient", **params)
    assert response.status_code == 200, response.text
    assert_valid(response.json())
    return [e["resource"]["id"] for e in response.json().get("entry", ())]


def test_search_by_identifier_matches_system_and_value(world: FhirWorld) -> None:
    maria = world.patient(identifier="H-1")
    world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002", identifier="H-2")
    assert _ids(world, identifier=f"{HOSPITAL}|H-1") == [maria]
    assert _ids(world, identifier="H-1") == [maria]
    assert _ids(world, identifier="urn:oid:9.9.9|H-1") == []
    mrn = next(i["value"] for i in world.get("intake", f"Patient/{maria}").json()["identifier"]
               if i["system"] == MRN)
    assert _ids(world, identifier=f"{MRN}|{mrn}") == [maria]


def test_search_by_name_family_and_given_matches_starts_exact_and_contains(world: FhirWorld) -> None:
    maria = world.patient()
    wei = world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002")
    assert _ids(world, name="riv") == [maria]
    assert _ids(world, name="wei") == [wei]
    assert _ids(world, family="CHE") == [wei]
    assert _ids(world, family="he") == []
    assert _ids(world, **{"family:contains": "he"}) == [wei]
    assert _ids(world, **{"family:exact": "chen"}) == []
    assert _ids(world, **{"family:exact": "Chen"}) == [wei]
    assert _ids(world, given="Mar") == [maria]
    assert sorted(_ids(world, family="Rivera,Chen")) == sorted([maria, wei])


def test_search_by_birthdate_honours_prefixes(world: FhirWorld) -> None:
    maria = world.patient()
    wei = world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002")
    assert _ids(world, birthdate="1968-04-12") == [maria]
    assert _ids(world, birthdate="1968") == [maria]
    assert _ids(world, birthdate="lt1960-01-01") == [wei]
    assert _ids(world, birthdate="gt1955-09-30") == [maria]
    assert _ids(world, birthdate="ge1955-09-30", family="Chen") == [wei]
    assert sorted(_ids(world, birthdate="le1968-04-12")) == sorted([maria, wei])


def test_search_by_phone_ignores_formatting(world: FhirWorld) -> None:
    maria = world.patient(phone="555-201-0001")
    world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002")
    assert _ids(world, phone="(555) 201 0001") == [maria]
    assert _ids(world, phone="+1 555 201 0001") == [maria]


def test_search_pages_with_count_and_a_next_link_and_reports_the_total(world: FhirWorld) -> None:
    for index in range(5):
        world.patient(family=f"Nguyen{index}", given="An", birth=f"199{index}-01-01", phone=f"555-300-000{index}")
    first = world.get("intake", "Patient", family="Nguyen", _count="2").json()
    assert first["total"] == 5 and len(first["entry"]) == 2
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    seen = [e["resource"]["id"] for e in first["entry"]]
    while next_url:
        page = world.client.get(next_url, headers=world.headers("intake")).json()
        seen += [e["resource"]["id"] for e in page.get("entry", ())]
        next_url = next((link["url"] for link in page["link"] if link["relation"] == "next"), "")
    assert len(seen) == len(set(seen)) == 5


def test_unknown_search_parameters_are_ignored_unless_the_client_asks_for_strict_handling(world: FhirWorld) -> None:
    world.patient()
    lenient = world.get("intake", "Patient", colour="blue", family="Riv").json()
    assert lenient["total"] == 1
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    assert "colour" not in self_link and "family=Riv" in self_link
    strict = world.client.get("/fhir/Patient", params={"colour": "blue"},
                              headers=world.headers("intake", Prefer="handling=strict"))
    assert strict.status_code == 400
    assert "colour" in strict.json()["issue"][0]["diagnostics"]


def test_a_malformed_search_value_is_refused_with_what_was_expected(world: FhirWorld) -> None:
    response = world.get("intake", "Patient", birthdate="last-tuesday")
    assert response.status_code == 400
    assert "birthdate" in response.json()["issue"][0]["diagnostics"]


def test_a_patient_user_finds_only_themself(world: FhirWorld) -> None:
    maria = world.patient()
    world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002")
    world.add_user("maria", Role.PATIENT, patient_id=maria)
    assert _ids(world, "maria") == [maria]
    assert world.get("maria", "Patient", total="x").json()["total"] == 1


def test_a_referrer_finds_only_patients_they_ordered_for(world: FhirWorld) -> None:
    maria = world.patient()
    world.patient(family="Chen", given="Wei", birth="1955-09-30", phone="555-201-0002")
    assert _ids(world, "drwho") == []
    world.order(maria)
    assert _ids(world, "drwho") == [maria]
    assert _ids(world, "drother") == []
