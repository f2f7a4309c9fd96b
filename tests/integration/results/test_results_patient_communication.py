"""Telling the patient, on SQLite and PostgreSQL: the MQSA lay letter of a screening mammogram (paper, or
e-mail where the patient consented), the 7-day deadline of a suspicious finding, release on signing and
a hold on one report, records requests against their 30-day deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from results_world import ORDERING_NPI, drain, new_study, sign

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.users import Principal, Role
from radflow.entrypoints.api.app import create_app
from radflow.services.ports import RecordingGateway
from radflow.services.reminders.contacts import UpdateContactPreference
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)

DENSE = ("Breast tissue can be either dense or not dense. Dense tissue makes it harder to find breast cancer on a "
         "mammogram and also raises the risk of developing breast cancer. Your breast tissue is dense.")


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def birads(category: str, density: str = "c", modality: str = "MG") -> dict[str, Any]:
    return {"system": "bi-rads", "exam_modality": modality, "right": {"category": category},
            "left": {"category": "1"}, "density": density}


def test_a_screening_mammogram_gets_its_lay_letter_on_paper_with_the_facility_and_the_density_statement(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, gateway: RecordingGateway) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    desk = make_user("front_desk")
    study = new_study(radflow, "MG-SCREEN")
    exam_day = clock.now().astimezone(radflow.settings.zone).date()
    clock.advance(days=2)
    sign(radflow, rad.principal, study.order_id, findings=[birads("1")], sections={
        "findings": "No suspicious mass, calcification or distortion.", "impression": "BI-RADS 1: negative."})
    drain(radflow)
    (letter,) = [m for m in gateway.sent if m.key.startswith("results:lay_letter:")]
    settings = radflow.settings
    assert letter.channel == "letter" and "12 Elm Street" in letter.to
    assert settings.center_name in letter.body and settings.center_address in letter.body
    assert settings.center_phone in letter.body and DENSE in letter.body
    assert "Your mammogram showed no sign of breast cancer." in letter.body
    (pdf,) = letter.attachments
    assert pdf.content_type == "application/pdf" and pdf.content.startswith(b"%PDF")
    (tracked,) = ok(api.get("/api/patient-letters", headers=desk.headers))["letters"]
    assert tracked["state"] == "sent" and not tracked["late"]
    assert tracked["details"]["mqsa_category"] == "Negative"
    due = datetime.fromisoformat(tracked["due_at"]).astimezone(settings.zone)
    assert due.date() == exam_day + timedelta(days=30)


def test_a_suspicious_mammogram_is_due_to_patient_and_provider_within_7_days_and_goes_by_consented_email(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, gateway: RecordingGateway) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    desk = make_user("front_desk")
    study = new_study(radflow, "MG-DIAG")
    radflow.bus.handle(UpdateContactPreference(actor=Principal.system("desk", role=Role.FRONT_DESK),
                                               patient_id=study.patient_id, how="at the desk",
                                               email="maria@example.org", channels=("email",)))
    clock.advance(days=1)
    sign(radflow, rad.principal, study.order_id, findings=[birads("4B", "b")], sections={
        "findings": "Irregular mass at 10 o'clock of the right breast.", "impression": "BI-RADS 4B."})
    reading_day = clock.now().astimezone(radflow.settings.zone).date()
    drain(radflow)
    (letter,) = [m for m in gateway.sent if m.key.startswith("results:lay_letter:")]
    assert (letter.channel, letter.to) == ("email", "maria@example.org")
    assert "needs a closer look" in letter.body and "Your breast tissue is not dense." in letter.body
    (tracked,) = ok(api.get("/api/patient-letters", headers=desk.headers))["letters"]
    assert tracked["details"]["urgent"] and tracked["details"]["mqsa_category"] == "Suspicious"
    assert datetime.fromisoformat(tracked["due_at"]).astimezone(radflow.settings.zone).date() == \
        reading_day + timedelta(days=7)
    assert tracked["details"]["provider_report_due"] == (reading_day + timedelta(days=7)).isoformat()
    inbox = [d for d in ok(api.get(f"/api/orders/{study.order_id}/distributions", headers=rad.headers))[
        "distributions"] if d["channel"] == "inbox"]
    assert inbox and inbox[0]["state"] == "delivered"
    provider_due = datetime.fromisoformat(inbox[0]["due_at"])
    assert provider_due.astimezone(radflow.settings.zone).date() == reading_day + timedelta(days=7)
    assert datetime.fromisoformat(inbox[0]["delivered_at"]) <= provider_due


def test_a_report_is_the_patients_on_signing_unless_that_one_report_is_held_and_the_hold_ends_on_time(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    referrer = make_user("referring_provider", npi=ORDERING_NPI)
    held = new_study(radflow, "CT-CHEST")
    other = new_study(radflow, "CT-CHEST", patient_id=held.patient_id)
    patient = make_user("patient", patient_id=held.patient_id)
    reason = "patient has expressed suicidal intent; results to be given in person with support present"
    hold = ok(api.post(f"/api/orders/{held.order_id}/release/holds", headers=referrer.headers, json={
        "reason": "preventing_harm", "explanation": reason, "days": 5}), 201)
    assert not hold["released"] and hold["holds"][0]["placed_by_role"] == "referring_provider"
    for study in (held, other):
        sign(radflow, rad.principal, study.order_id)
    drain(radflow)
    listed = ok(api.get("/api/portal/results", headers=patient.headers))["results"]
    assert [r["order_id"] for r in listed] == [other.order_id]
    assert api.get(f"/api/orders/{held.order_id}/report", headers=patient.headers).status_code == 404
    assert api.get(f"/api/portal/results/{held.order_id}", headers=patient.headers).status_code == 404
    assert api.get(f"/api/orders/{held.order_id}/report.pdf", headers=patient.headers).status_code == 404
    # The patient cannot lift a clinician's determination (they may ask for its review).
    lifted = api.post(f"/api/release-holds/{hold['hold_id']}/lift", headers=patient.headers, json={})
    assert lifted.status_code == 403
    clock.advance(days=5, seconds=1)
    drain(radflow)
    status = ok(api.get(f"/api/orders/{held.order_id}/release", headers=rad.headers))
    assert status["released"] and status["holds"][0]["state"] == "expired"
    assert ok(api.get(f"/api/orders/{held.order_id}/report", headers=patient.headers))["state"] == "final"
    portal = [d for d in ok(api.get(f"/api/orders/{held.order_id}/distributions", headers=rad.headers))[
        "distributions"] if d["channel"] == "portal"]
    assert portal[0]["state"] == "delivered"


def test_no_hold_without_a_person_a_reason_and_an_end(radflow: Radflow, make_user: UserFactory) -> None:
    api = TestClient(create_app(radflow))
    study = new_study(radflow, "CT-CHEST")
    patient = make_user("patient", patient_id=study.patient_id)
    desk = make_user("front_desk")
    url = f"/api/orders/{study.order_id}/release/holds"
    short = api.post(url, headers=make_user("radiologist").headers,
                     json={"reason": "preventing_harm", "explanation": "CT policy", "days": 3})
    assert short.status_code == 422 and "individual determination" in short.json()["detail"]
    assert api.post(url, headers=desk.headers, json={"reason": "preventing_harm", "explanation": "x" * 40,
                                                     "days": 3}).status_code == 403
    too_long = api.post(url, headers=patient.headers, json={"reason": "patient_request", "days": 90})
    assert too_long.status_code == 422 and "at most 30 days" in too_long.json()["detail"]
    own = ok(api.post(url, headers=patient.headers, json={"reason": "patient_request", "days": 10}), 201)
    assert ok(api.post(f"/api/release-holds/{own['hold_id']}/lift", headers=patient.headers,
                       json={"reason": "I am ready to read it"}))["state"] == "lifted"
    integration = make_user("integration")
    assert api.post(url, headers=integration.headers, json={"reason": "patient_request", "explanation": "EHR rule",
                                                            "days": 3}).status_code == 403


def test_a_records_request_is_due_in_30_days_extends_once_and_a_third_party_copy_waits_for_the_release_form(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, gateway: RecordingGateway) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    desk = make_user("front_desk")
    study = new_study(radflow, "CT-CHEST")
    patient = make_user("patient", patient_id=study.patient_id)
    sign(radflow, rad.principal, study.order_id)
    asked = ok(api.post("/api/records-requests", headers=patient.headers, json={
        "patient_id": study.patient_id, "items": ["report_copies"], "delivery": "mail", "order_ids": [study.order_id],
        "third_party": True, "recipient": "Dr Second Opinion, 5 Oak Avenue, Springfield"}), 201)
    (open_request,) = ok(api.get("/api/records-requests", headers=desk.headers))["requests"]
    received = datetime.fromisoformat(open_request["received_at"])
    assert datetime.fromisoformat(open_request["due_at"]) - received == timedelta(days=30)
    extend = f"/api/records-requests/{asked['id']}/extend"
    ok(api.post(extend, headers=desk.headers, json={"text": "images are archived off site"}))
    assert api.post(extend, headers=desk.headers, json={"text": "again"}).status_code == 409
    refused = api.post(f"/api/records-requests/{asked['id']}/fulfil", headers=desk.headers,
                       json={"text": "mailed", "send_copies": True})
    assert refused.status_code == 409 and "release form" in refused.json()["detail"]
    ok(api.post(f"/api/records-requests/{asked['id']}/release-form", headers=desk.headers,
                files={"file": ("release.pdf", b"%PDF-1.4 signed", "application/pdf")}), 201)
    done = ok(api.post(f"/api/records-requests/{asked['id']}/fulfil", headers=desk.headers,
                       json={"text": "mailed to the second-opinion physician", "send_copies": True}))
    assert done["state"] == "fulfilled"
    (copy,) = [m for m in gateway.sent if m.key == f"records:{asked['id']}"]
    assert copy.channel == "letter" and copy.to.startswith("Dr Second Opinion")
    assert copy.attachments[0].content.startswith(b"%PDF")
    mine = ok(api.get(f"/api/patients/{study.patient_id}/records-requests", headers=patient.headers))["requests"]
    assert [r["state"] for r in mine] == ["fulfilled"]
    other = new_study(radflow, "CT-CHEST")
    assert api.get(f"/api/patients/{other.patient_id}/records-requests", headers=patient.headers).status_code == 403


def test_a_records_request_warns_the_desk_a_week_ahead_and_the_managers_when_overdue(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, gateway: RecordingGateway) -> None:
    api = TestClient(create_app(radflow))
    desk, manager = make_user("front_desk"), make_user("manager")
    study = new_study(radflow, "CT-CHEST")
    patient = make_user("patient", patient_id=study.patient_id)
    asked = {"patient_id": study.patient_id, "items": ["images"], "delivery": "portal"}
    worked = ok(api.post("/api/records-requests", headers=patient.headers, json=asked), 201)["id"]
    extended = ok(api.post("/api/records-requests", headers=patient.headers, json=asked), 201)["id"]
    clock.advance(days=1)
    ok(api.post(f"/api/records-requests/{worked}/start", headers=desk.headers, json={}))
    ok(api.post(f"/api/records-requests/{extended}/extend", headers=desk.headers,
                json={"text": "the older images are archived off site"}))
    (statement,) = [m for m in gateway.sent if m.key == f"records:{extended}:extension"]
    assert "archived off site" in statement.body and "by " in statement.body

    def told(request_id: str) -> list[str]:
        return [m.to for m in gateway.sent if m.key.startswith(f"records.deadline:{request_id}:")]

    clock.advance(days=21, hours=23)  # 22 days 23 hours after the request: not yet a week before
    drain(radflow)
    assert told(worked) == []
    clock.advance(hours=2)
    drain(radflow)
    assert told(worked) == [desk.principal.username]  # whoever is preparing it hears first
    assert told(extended) == []  # its deadline moved by 30 days
    clock.advance(days=7)
    drain(radflow)
    assert told(worked) == [desk.principal.username, manager.principal.username]
    assert "overdue" in gateway.sent[-1].subject and study.patient_id not in gateway.sent[-1].body
    events = [e["event"] for e in ok(api.get("/api/records-requests", headers=desk.headers))["requests"][0]["log"]]
    assert events[-2:] == ["due_soon", "overdue"]
    ok(api.post(f"/api/records-requests/{worked}/fulfil", headers=desk.headers, json={"text": "on the portal"}))
    clock.advance(days=23)
    drain(radflow)
    assert told(extended) == [manager.principal.username]  # nobody started it: the managers hear
