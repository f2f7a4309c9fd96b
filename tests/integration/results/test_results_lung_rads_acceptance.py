"""Issue 7's acceptance through the API, on SQLite and PostgreSQL: a chest CT read with a Lung-RADS 3 nodule
produces a final report, a DiagnosticReport and an ORU, a 6-month follow-up item with reminders, and the
item closes when the follow-up CT is done. The worker's job loop runs every deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from results_world import COVERING_NPI, LUNG_RADS_3, ORDERING_NPI, drain, load_mapping, new_study

from radflow.adapters.hl7.partner import FakePartner
from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.entrypoints.api.app import create_app
from radflow.services.ports import RecordingGateway
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def partner() -> Iterator[FakePartner]:
    with FakePartner() as endpoint:
        yield endpoint


def test_lung_rads_3_chest_ct_is_distributed_followed_up_reminded_and_closed_by_the_follow_up_ct(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, gateway: RecordingGateway,
        partner: FakePartner) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    referrer = make_user("referring_provider", npi=ORDERING_NPI, username="drorder")
    load_mapping(radflow, partner.port)
    study = new_study(radflow, "CT-LDCT", placer=True)
    patient = make_user("patient", patient_id=study.patient_id)
    order_id = study.order_id

    ok(api.post(f"/api/orders/{order_id}/claim", headers=rad.headers))
    ok(api.post(f"/api/orders/{order_id}/report", headers=rad.headers), 201)
    ok(api.post(f"/api/orders/{order_id}/report/rads", headers=rad.headers, json={"findings": [LUNG_RADS_3]}))
    ok(api.patch(f"/api/orders/{order_id}/report", headers=rad.headers, json={"sections": {
        "findings": "7.2 mm solid nodule in the right upper lobe. No other nodules.",
        "impression": "Lung-RADS 3: probably benign nodule."}}))
    assert ok(api.post(f"/api/orders/{order_id}/report/sign", headers=rad.headers, json={}))["state"] == "final"
    signed_on = clock.now().astimezone(radflow.settings.zone).date()
    drain(radflow)

    # The ORU^R01 went to the placer's EHR and its distribution record shows the EHR accepted it.
    assert any(t.startswith("ORU^R01") for t in partner.message_types())
    deliveries = ok(api.get(f"/api/orders/{order_id}/distributions", headers=rad.headers))["distributions"]
    by_channel = {d["channel"]: d for d in deliveries}
    assert by_channel["hl7"]["state"] == "delivered" and by_channel["hl7"]["recipient"]["ref"] == "EPIC^MAINHOSP"
    assert by_channel["inbox"]["state"] == "delivered" and by_channel["inbox"]["actionable_reasons"] == ["Lung-RADS 3"]
    assert by_channel["portal"]["state"] == "delivered"
    assert ok(api.get(f"/api/orders/{order_id}", headers=rad.headers))["state"] == "delivered"

    # FHIR: the DiagnosticReport carries the category as conclusionCode; each delivery is a Communication.
    resource = ok(api.get(f"/fhir/DiagnosticReport/{order_id}", headers=referrer.headers))
    DiagnosticReport.model_validate(resource)
    assert resource["status"] == "final" and resource["basedOn"] == [{"reference": f"ServiceRequest/{order_id}"}]
    (code,) = resource["conclusionCode"]
    assert (code["coding"][0]["system"], code["coding"][0]["code"], code["text"]) == (
        "urn:radflow:rads:lung-rads", "3", "Lung-RADS 3")
    bundle = ok(api.get(f"/fhir/Communication?based-on=ServiceRequest/{order_id}", headers=rad.headers))
    for entry in bundle["entry"]:
        Communication.model_validate(entry["resource"])
    assert {e["resource"]["status"] for e in bundle["entry"]} == {"completed"}

    # The referrer's inbox: unopened until opened; the first opening is kept.
    (line,) = ok(api.get("/api/results/inbox?unopened=true", headers=referrer.headers))["reports"]
    assert line["order_id"] == order_id and line["first_opened_at"] is None
    clock.advance(hours=3)
    opened = ok(api.get(f"/api/results/inbox/{order_id}", headers=referrer.headers))
    assert opened["first_opening"] and "Lung-RADS 3 (Probably Benign): 6-month LDCT." in opened["text"]
    first = clock.now()
    clock.advance(hours=1)
    assert not ok(api.get(f"/api/results/inbox/{order_id}", headers=referrer.headers))["first_opening"]
    inbox = ok(api.get(f"/api/orders/{order_id}/distributions", headers=rad.headers))["distributions"]
    (seen,) = [d for d in inbox if d["channel"] == "inbox"]
    assert seen["first_opened_at"] == first.isoformat() and seen["first_opened_by"] == "Drorder"
    assert seen["open_count"] == 2
    assert ok(api.get("/api/results/inbox?unopened=true", headers=referrer.headers))["reports"] == []

    # The patient reads the report on the portal the moment it is signed.
    assert [r["order_id"] for r in ok(api.get("/api/portal/results", headers=patient.headers))["results"]] == [
        order_id]

    # A 6-month follow-up item, with reminders to the provider (30 and 7 days before) and the patient (14).
    (item,) = ok(api.get("/api/followups", headers=rad.headers))["followups"]
    assert (item["modality"], item["body_region"], item["source"]) == ("CT", "chest", "rads")
    due = date.fromisoformat(item["due_date"])
    assert due == signed_on + timedelta(days=183)
    sent_before = len(gateway.sent)
    clock.set(clock.now() + (due - signed_on - timedelta(days=30)))
    clock.advance(hours=12)
    drain(radflow)
    reminders = [m for m in gateway.sent[sent_before:] if m.key.startswith("followups.remind")]
    assert [m.to for m in reminders] == ["drorder"]  # no phone or e-mail on file: the radflow inbox
    clock.set(clock.now() + timedelta(days=17))
    drain(radflow)
    to_patient = [m for m in gateway.sent if m.key.startswith("followups.remind") and ":patient:" in m.key]
    assert len(to_patient) == 1 and to_patient[0].channel == "letter" and "12 Elm Street" in to_patient[0].to

    # The follow-up CT is done: the item closes itself; the later reminders and the overdue job do nothing.
    follow_up = new_study(radflow, "CT-LDCT", patient_id=study.patient_id)
    drain(radflow)
    closed = ok(api.get(f"/api/followups/{item['id']}", headers=rad.headers))
    assert closed["state"] == "completed" and closed["completed_by_order_id"] == follow_up.order_id
    before = len(gateway.sent)
    clock.set(clock.now() + timedelta(days=60))
    drain(radflow)
    assert [m for m in gateway.sent[before:] if m.key.startswith("followups.")] == []
    assert ok(api.get("/api/followups", headers=rad.headers))["followups"] == []


def test_an_actionable_report_nobody_opens_is_escalated_once_to_the_provider_and_whoever_covers(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, gateway: RecordingGateway) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    make_user("referring_provider", npi=ORDERING_NPI, username="drorder")
    covering = make_user("referring_provider", npi=COVERING_NPI, covers_npis=(ORDERING_NPI,), username="drcover")
    study = new_study(radflow, "CT-LDCT")
    ok(api.post(f"/api/orders/{study.order_id}/claim", headers=rad.headers))
    ok(api.post(f"/api/orders/{study.order_id}/report", headers=rad.headers), 201)
    ok(api.post(f"/api/orders/{study.order_id}/report/rads", headers=rad.headers, json={"findings": [LUNG_RADS_3]}))
    ok(api.patch(f"/api/orders/{study.order_id}/report", headers=rad.headers, json={"sections": {
        "findings": "7 mm solid nodule.", "impression": "Lung-RADS 3."}}))
    ok(api.post(f"/api/orders/{study.order_id}/report/sign", headers=rad.headers, json={}))
    drain(radflow)
    clock.advance(hours=71, minutes=59)
    drain(radflow)
    assert not [m for m in gateway.sent if m.key.startswith("results.unopened")]
    clock.advance(minutes=2)
    drain(radflow)
    escalations = [m for m in gateway.sent if m.key.startswith("results.unopened")]
    assert sorted(m.to for m in escalations) == ["drcover", "drorder"]
    assert all(study.accession_number in m.body and "Rivera" not in m.body for m in escalations)
    (inbox,) = [d for d in ok(api.get(f"/api/orders/{study.order_id}/distributions", headers=rad.headers))[
        "distributions"] if d["channel"] == "inbox"]
    assert inbox["state"] == "escalated" and len(inbox["escalated_to"]) == 2
    clock.advance(days=5)
    drain(radflow)
    assert len([m for m in gateway.sent if m.key.startswith("results.unopened")]) == 2
    # The covering provider opens it: the first opening is theirs.
    ok(api.get(f"/api/results/inbox/{study.order_id}", headers=covering.headers))
    (inbox,) = [d for d in ok(api.get(f"/api/orders/{study.order_id}/distributions", headers=rad.headers))[
        "distributions"] if d["channel"] == "inbox"]
    assert inbox["state"] == "opened" and inbox["first_opened_by"] == "Drcover"
