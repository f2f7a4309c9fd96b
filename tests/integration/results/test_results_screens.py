"""The results screens, as a person uses them (forms posted as the pages post them): the referrer's inbox
records the first opening, the patient's portal shows only released reports and takes a request for
copies, the follow-up worklist filters and closes, the desk tracks the lay letters and the requests."""

from __future__ import annotations

import re

import pytest
from results_world import LUNG_RADS_3, ORDERING_NPI, drain, new_study, sign

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.entrypoints.api.app import create_app
from radflow_test_support import UserFactory, backends
from screen_support import signed_in

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
def test_referrer_patient_and_desk_through_the_screens(radflow: Radflow, make_user: UserFactory,
                                                       clock: FakeClock) -> None:
    app = create_app(radflow)
    rad = make_user("radiologist")
    referrer = signed_in(app, make_user, "referring_provider", npi=ORDERING_NPI, username="drorder")
    ct = new_study(radflow, "CT-LDCT")
    held = new_study(radflow, "CT-CHEST", patient_id=ct.patient_id)
    mammogram = new_study(radflow, "MG-SCREEN")
    asked_to_wait = new_study(radflow, "CT-ABD", patient_id=ct.patient_id)
    patient = signed_in(app, make_user, "patient", patient_id=ct.patient_id)
    waiting = patient.get("/portal")
    assert asked_to_wait.accession_number in waiting.text and "Hold my report" in waiting.text
    assert patient.post(f"/results/orders/{asked_to_wait.order_id}/holds", {
        "reason": "patient_request", "days": "14"}).status_code == 303
    desk = signed_in(app, make_user, "front_desk")
    scheduler = signed_in(app, make_user, "scheduler")

    # The referrer holds one report back before it is signed (a preventing-harm determination).
    page = referrer.get(f"/results/orders/{held.order_id}")
    assert page.status_code == 200
    placed = referrer.post(f"/results/orders/{held.order_id}/holds", {
        "reason": "preventing_harm", "days": "7",
        "explanation": "patient at risk of self-harm; the result is to be given in person at the visit"})
    assert placed.status_code == 303
    sign(radflow, rad.principal, ct.order_id, findings=[LUNG_RADS_3], sections={
        "findings": "7 mm solid nodule.", "impression": "Lung-RADS 3."})
    sign(radflow, rad.principal, held.order_id)
    sign(radflow, rad.principal, asked_to_wait.order_id)
    sign(radflow, rad.principal, mammogram.order_id, findings=[{
        "system": "bi-rads", "exam_modality": "MG", "right": {"category": "2"}, "left": {"category": "1"},
        "density": "b"}])
    drain(radflow)

    inbox = referrer.get("/results/inbox?unopened=1")
    assert ct.accession_number in inbox.text and "Lung-RADS 3" in inbox.text
    opened = referrer.get(f"/results/inbox/{ct.order_id}")
    assert "Your opening was recorded." in opened.text and "6-month LDCT" in opened.text
    assert ct.accession_number not in referrer.get("/results/inbox?unopened=1").text

    portal = patient.get("/portal")
    assert ct.order_id in portal.text and held.order_id not in portal.text
    assert "Lung-RADS 3" in patient.get(f"/portal/results/{ct.order_id}").text
    assert patient.get(f"/portal/results/{held.order_id}").status_code == 404
    assert f"/portal/results/{asked_to_wait.order_id}" not in portal.text
    (hold_id,) = re.findall(r'action="/results/holds/([0-9a-f]{32})/lift"', portal.text)
    assert patient.post(f"/results/holds/{hold_id}/lift", {"order_id": asked_to_wait.order_id,
                                                           "reason": "released by the patient"}).status_code == 303
    assert f"/portal/results/{asked_to_wait.order_id}" in patient.get("/portal").text
    pdf = patient.client.get(f"/results/orders/{ct.order_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    asked = patient.post("/portal/records-requests", {"items": ["report_copies"], "order_ids": [ct.order_id],
                                                      "delivery": "mail"})
    assert asked.status_code == 303

    worklist = scheduler.get("/followups?modality=CT&body_region=chest")
    assert ct.accession_number in worklist.text
    assert ct.accession_number not in scheduler.get("/followups?modality=MR").text
    (item_id,) = re.findall(r'href="/followups/([0-9a-f]{32})"', worklist.text)
    refused = scheduler.post(f"/followups/{item_id}/close", {"reason": ""})
    assert refused.status_code == 422 and "needs the reason" in refused.text
    closed = scheduler.post(f"/followups/{item_id}/close", {"reason": "done at the university hospital on 2 May"})
    assert closed.status_code == 303
    assert "closed" in scheduler.get(f"/followups/{item_id}").text

    letters = desk.get("/results/letters")
    assert mammogram.accession_number in letters.text and "Benign" in letters.text
    requests = desk.get("/results/records-requests")
    assert "report copies by mail" in requests.text
    (request_id,) = re.findall(r'action="/results/records-requests/([0-9a-f]{32})/start"', requests.text)
    assert desk.post(f"/results/records-requests/{request_id}/start", {}).status_code == 303
    clock.advance(days=24)  # a week before the deadline the one preparing the copy is reminded
    drain(radflow)
    desk = signed_in(app, make_user, "front_desk")  # a new shift (the first one's session has long expired)
    assert "reminder sent to" in desk.get("/results/records-requests").text
    assert desk.post(f"/results/records-requests/{request_id}/fulfil",
                     {"text": "mailed", "send_copies": "on"}).status_code == 303
    assert "No open requests." in desk.get("/results/records-requests").text
