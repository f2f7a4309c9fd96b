"""The two pipeline examples through the REST API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from radflow.bootstrap import Radflow
from radflow.entrypoints.api.app import create_app
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
NPI = "1234567893"


def register(client: TestClient, headers: dict[str, str], family: str) -> tuple[str, str]:
    r = client.post("/api/patients", headers=headers, json={
        "family_name": family, "given_name": "Maria", "birth_date": "1968-04-12", "sex": "F",
        "phone": "555-201-0001", "identifiers": [{"authority": "EPIC-MRN", "value": f"E{family}"}]})
    assert r.status_code == 201, r.text
    pid = r.json()["patient_id"]
    r = client.post(f"/api/patients/{pid}/coverages", headers=headers,
                    json={"payer_id": "aetna_commercial", "member_id": "W123456"})
    assert r.status_code == 201, r.text
    return pid, r.json()["coverage_id"]


def register_again(client: TestClient, headers: dict[str, str], family: str, phone: str) -> dict[str, Any]:
    """Maria of `register` registered a second time: birth day and month swapped, the phone written anew."""
    r = client.post("/api/patients", headers=headers, json={
        "family_name": family, "given_name": "Maria", "birth_date": "1968-12-04", "sex": "F", "phone": phone})
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def refer(client: TestClient, headers: dict[str, str], pid: str, order: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/referrals", headers=headers, json={
        "patient_id": pid, "channel": "fax", "reply_fax": "555-300-4000",
        "source_organization": "Riverside Family Practice", "orders": [order]})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_mri_lumbar_spine_reaches_ready_to_schedule(radflow: Radflow, make_user: UserFactory) -> None:
    intake, rad, coord = make_user("intake"), make_user("radiologist"), make_user("authorization")
    client = TestClient(create_app(radflow, areas=False))
    pid, cov = register(client, intake.headers, "Rivera")
    result = refer(client, intake.headers, pid, {
        "protocol_code": "MR-LSPINE", "reason_for_exam": "Low back pain radiating to the left leg for 8 weeks",
        "diagnosis_codes": ["M54.16"], "ordering_provider_npi": NPI, "ordering_provider_name": "Dr. Robin Referrer",
        "coverage_id": cov})
    order_id = result["order_ids"][0]
    assert result["states"] == ["awaiting_protocol"]
    r = client.post(f"/api/orders/{order_id}/protocol", headers=rad.headers, json={"contrast": "without"})
    assert r.status_code == 200 and r.json()["state"] == "pending_authorization", r.text
    r = client.post(f"/api/orders/{order_id}/authorization/submit", headers=coord.headers,
                    json={"payer_reference": "EVI-77120"})
    assert r.json()["authorization"]["state"] == "submitted"
    r = client.post(f"/api/orders/{order_id}/authorization/approve", headers=coord.headers,
                    json={"authorization_number": "A9981234"})
    body = r.json()
    assert body["state"] == "ready_to_schedule"
    assert body["authorization"]["authorization_number"] == "A9981234" and body["cpt_code"] == "72148"
    steps = [(t["to_state"], t["by_name"]) for t in body["timeline"] if t["from_state"] != t["to_state"]]
    assert steps == [("received", intake.principal.display_name),
                     ("awaiting_protocol", intake.principal.display_name),
                     ("pending_authorization", rad.principal.display_name),
                     ("ready_to_schedule", coord.principal.display_name)]
    assert all(t["at"] for t in body["timeline"])


def test_ct_missing_diagnosis_code_goes_through_documentation(radflow: Radflow, make_user: UserFactory) -> None:
    intake, rad, coord = make_user("intake"), make_user("radiologist"), make_user("authorization")
    client = TestClient(create_app(radflow, areas=False))
    pid, cov = register(client, intake.headers, "Chen")
    result = refer(client, intake.headers, pid, {
        "protocol_code": "CT-ABDPEL", "contrast": "with", "reason_for_exam": "Right lower quadrant pain",
        "ordering_provider_npi": NPI, "ordering_provider_name": "Dr. Robin Referrer", "coverage_id": cov})
    order_id = result["order_ids"][0]
    assert result["states"] == ["awaiting_documentation"]
    queue = client.get("/api/queues/intake", headers=intake.headers).json()
    row = next(o for o in queue["orders"] if o["order_id"] == order_id)
    assert any("ICD-10-CM" in item for item in row["missing_items"])
    r = client.post(f"/api/orders/{order_id}/documentation", headers=intake.headers,
                    json={"diagnosis_codes": ["R10.31"], "note": "code phoned in"})
    assert r.json()["state"] == "awaiting_protocol", r.text
    client.post(f"/api/orders/{order_id}/protocol", headers=rad.headers, json={"contrast": "with"})
    client.post(f"/api/orders/{order_id}/authorization/submit", headers=coord.headers, json={"payer_reference": "E2"})
    body = client.post(f"/api/orders/{order_id}/authorization/approve", headers=coord.headers,
                       json={"authorization_number": "A2"}).json()
    assert body["state"] == "ready_to_schedule"
    states = [t["to_state"] for t in body["timeline"] if t["from_state"] != t["to_state"]]
    assert states == ["received", "awaiting_documentation", "received", "awaiting_protocol",
                      "pending_authorization", "ready_to_schedule"]
    assert {t["by_name"] for t in body["timeline"]} >= {intake.principal.display_name, rad.principal.display_name,
                                                       coord.principal.display_name}


def test_bad_input_gets_a_clear_4xx_and_writes_nothing(radflow: Radflow, make_user: UserFactory) -> None:
    intake = make_user("intake")
    client = TestClient(create_app(radflow, areas=False))
    pid, cov = register(client, intake.headers, "Novak")
    good = {"protocol_code": "CT-HEAD", "contrast": "without", "reason_for_exam": "headache",
            "diagnosis_codes": ["R51.9"], "ordering_provider_npi": NPI, "ordering_provider_name": "Dr X",
            "coverage_id": cov}
    cases = [
        ({**good, "protocol_code": "MR-NOPE"}, "MR-NOPE"),
        ({**good, "diagnosis_codes": ["R51.X"]}, "R51.X"),
        ({**good, "ordering_provider_npi": "1234567890"}, "check digit"),
        ({**good, "contrast": "sideways"}, "sideways"),
        ({**good, "unknown_field": 1}, "unknown_field"),
    ]
    for order, named in cases:
        r = client.post("/api/referrals", headers=intake.headers, json={"patient_id": pid, "orders": [good, order]})
        assert 400 <= r.status_code < 500 and named in r.text, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/orders", headers=intake.headers).json()["total"] == 0
    r = client.post("/api/patients", headers=intake.headers, json={"family_name": "X", "given_name": "Y",
                                                                   "birth_date": "2999-01-01", "sex": "F"})
    assert r.status_code == 422 and "future" in r.json()["detail"]
    r = client.post("/api/patients", headers=intake.headers, content=b"{not json", )
    assert r.status_code == 422


def test_invalid_transition_is_409_and_changes_nothing(radflow: Radflow, make_user: UserFactory) -> None:
    intake, coord = make_user("intake"), make_user("authorization")
    client = TestClient(create_app(radflow, areas=False))
    pid, cov = register(client, intake.headers, "Haddad")
    order_id = refer(client, intake.headers, pid, {
        "protocol_code": "MR-LSPINE", "reason_for_exam": "back pain for 8 weeks", "diagnosis_codes": ["M54.16"],
        "ordering_provider_npi": NPI, "ordering_provider_name": "Dr X", "coverage_id": cov})["order_ids"][0]
    before = client.get(f"/api/orders/{order_id}", headers=intake.headers).json()
    r = client.post(f"/api/orders/{order_id}/authorization/approve", headers=coord.headers,
                    json={"authorization_number": "A1"})
    assert r.status_code == 409 and "awaiting_protocol" in r.json()["detail"]
    after = client.get(f"/api/orders/{order_id}", headers=intake.headers).json()
    assert after["timeline"] == before["timeline"] and after["state"] == before["state"]


def test_probable_duplicates_are_flagged_at_registration(radflow: Radflow, make_user: UserFactory) -> None:
    intake = make_user("intake")
    client = TestClient(create_app(radflow, areas=False))
    first, _ = register(client, intake.headers, "Okafor")
    again = register_again(client, intake.headers, "OKAFOR", "(555) 201-0001")
    assert again["probable_duplicates"] == [first]
    second = again["patient_id"]
    detail = client.get(f"/api/patients/{second}", headers=intake.headers).json()
    assert [d["id"] for d in detail["duplicates"]] == [first]
    merged = client.post(f"/api/patients/{first}/merge", headers=intake.headers, json={"merged_id": second})
    assert merged.status_code == 200
    assert client.get(f"/api/patients/{second}", headers=intake.headers).json()["merged_into_id"] == first
    hits = client.get("/api/patients", headers=intake.headers, params={"q": "okafor"}).json()
    assert [h["patient_id"] for h in hits] == [first]
    assert date.fromisoformat(hits[0]["birth_date"]) == date(1968, 4, 12)


def test_a_new_name_and_a_keyed_birth_date_are_still_caught_by_the_phone(radflow: Radflow,
                                                                         make_user: UserFactory) -> None:
    """Married name, day and month swapped: only the phone line, written another way, brings the record up."""
    intake = make_user("intake")
    client = TestClient(create_app(radflow, areas=False))
    first, _ = register(client, intake.headers, "Okafor")
    again = register_again(client, intake.headers, "Adeyemi", "+1 (555) 201.0001")
    assert again["probable_duplicates"] == [first]
    hits = client.get("/api/patients", headers=intake.headers, params={"q": "1-555-201-0001"}).json()
    assert sorted(h["patient_id"] for h in hits) == sorted([first, again["patient_id"]])
