"""Issue 7's acceptance through the API, on SQLite and PostgreSQL.

A head CT with an intracranial hemorrhage marked critical escalates when the ordering provider does not
acknowledge, and the report carries the communication record; a chest CT read with a Lung-RADS 3 nodule
produces a final report whose recommendation is a 6-month LDCT. The worker's job loop runs the deadlines.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from reporting_world import COVERING_NPI, ORDERING_NPI, new_study

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.entrypoints.api.app import create_app
from radflow.entrypoints.worker import work_once
from radflow.services.ports import RecordingGateway
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def test_head_ct_hemorrhage_marked_critical_escalates_and_the_report_carries_the_record(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, gateway: RecordingGateway) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    ordering = make_user("referring_provider", npi=ORDERING_NPI)
    covering = make_user("referring_provider", npi=COVERING_NPI, covers_npis=(ORDERING_NPI,))
    make_user("radiologist", section_chief=True)
    study = new_study(radflow, "CT-HEAD", contrast="without", reason="fall on warfarin, headache", priority="stat")

    (row,) = ok(api.get("/api/reading/worklist", headers=rad.headers))["studies"]
    assert row["order_id"] == study.order_id and row["track"] == "stat"
    ok(api.post(f"/api/orders/{study.order_id}/claim", headers=rad.headers))
    report = ok(api.post(f"/api/orders/{study.order_id}/report", headers=rad.headers), 201)
    assert report["template"] == "ct_head" and "without intravenous contrast" in report["sections"]["technique"]
    ok(api.patch(f"/api/orders/{study.order_id}/report", headers=rad.headers, json={"sections": {
        "findings": "Acute subdural hematoma along the left convexity, 9 mm thick, with 5 mm rightward shift.",
        "impression": "Acute left subdural hematoma with mass effect."}}))

    refused = api.post(f"/api/orders/{study.order_id}/report/sign", headers=rad.headers, json={})
    assert refused.status_code == 409 and "no critical result is recorded" in refused.json()["detail"]

    marked = ok(api.post(f"/api/orders/{study.order_id}/critical-results", headers=rad.headers, json={
        "level": "critical", "finding": "Acute left subdural hematoma with midline shift"}), 201)
    assert set(marked["finding_types"]) == {"intracranial_hemorrhage", "brain_herniation"}
    assert marked["seconds_left"] == 3600
    ok(api.post(f"/api/orders/{study.order_id}/report/sign", headers=rad.headers, json={}))

    work_once(radflow, "worker-1")
    assert [m.to for m in gateway.sent] == [ordering.principal.username]
    clock.advance(minutes=20, seconds=1)
    work_once(radflow, "worker-1")  # the escalation runs, then the covering provider's notification
    work_once(radflow, "worker-1")
    assert gateway.sent[-1].to == covering.principal.username
    board = ok(api.get("/api/critical-results", headers=rad.headers))["open"]
    assert [(b["id"], b["state"], b["step"]) for b in board] == [(marked["id"], "escalated", "covering_provider")]
    assert board[0]["seconds_left"] == 3600 - 20 * 60 - 1

    clock.advance(minutes=4)
    ok(api.post(f"/api/critical-results/{marked['id']}/acknowledge", headers=covering.headers,
                json={"read_back": "acute left subdural hematoma with midline shift"}))
    assert ok(api.get("/api/critical-results", headers=rad.headers))["open"] == []

    final = ok(api.get(f"/api/orders/{study.order_id}/report", headers=ordering.headers))
    assert final["state"] == "amended"
    (addendum,) = final["addenda"]
    assert addendum["kind"] == "communication"
    record = addendum["text"]
    assert f"notified {ordering.principal.display_name} (ordering provider)" in record
    assert "not acknowledged in time; escalated to the covering provider" in record
    assert f"communicated to {covering.principal.display_name} by inbox" in record
    assert 'read back: "acute left subdural hematoma with midline shift"' in record
    clock.advance(hours=2)
    work_once(radflow, "worker-1")
    assert len(gateway.sent) == 2  # acknowledged: the later steps do nothing


def test_chest_ct_with_a_lung_rads_3_nodule_gives_a_final_report_recommending_a_6_month_ldct(
        radflow: Radflow, make_user: UserFactory) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    referrer = make_user("referring_provider", npi=ORDERING_NPI)
    study = new_study(radflow, "CT-LDCT", reason="lung cancer screening, 30 pack-years")
    ok(api.post(f"/api/orders/{study.order_id}/claim", headers=rad.headers))
    ok(api.post(f"/api/orders/{study.order_id}/report", headers=rad.headers), 201)
    with_rads = ok(api.post(f"/api/orders/{study.order_id}/report/rads", headers=rad.headers, json={"findings": [
        {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 7.2}]}]}))
    (rads,) = with_rads["rads"]
    assert (rads["category"], rads["interval_days"], rads["modality"]) == ("3", 183, "CT")
    assert rads["rule"]["source"].startswith("Lung-RADS v2022 category 3")
    ok(api.patch(f"/api/orders/{study.order_id}/report", headers=rad.headers, json={"sections": {
        "findings": "7.2 mm solid nodule in the right upper lobe. No other nodules.",
        "impression": "Lung-RADS 3: probably benign."}}))
    assert ok(api.post(f"/api/orders/{study.order_id}/report/check", headers=rad.headers, json={}))["releasable"]
    signed = ok(api.post(f"/api/orders/{study.order_id}/report/sign", headers=rad.headers, json={}))
    assert signed["state"] == "final"
    assert "Lung-RADS 3 (Probably Benign): 6-month LDCT." in signed["sections"]["recommendations"]
    order = ok(api.get(f"/api/orders/{study.order_id}", headers=referrer.headers))
    assert order["state"] == "reported"
    seen = ok(api.get(f"/api/orders/{study.order_id}/report", headers=referrer.headers))
    assert "RECOMMENDATIONS:\nLung-RADS 3 (Probably Benign): 6-month LDCT." in seen["text"]


def test_a_second_radiologist_gets_409_naming_who_reads_the_study(radflow: Radflow, make_user: UserFactory) -> None:
    api = TestClient(create_app(radflow))
    first, second = make_user("radiologist", username="drfirst"), make_user("radiologist", username="drsecond")
    study = new_study(radflow, "MR-BRAIN")
    ok(api.post(f"/api/orders/{study.order_id}/claim", headers=first.headers))
    refused = api.post(f"/api/orders/{study.order_id}/claim", headers=second.headers)
    assert refused.status_code == 409 and "Drfirst is reading this study" in refused.json()["detail"]
    assert api.post(f"/api/orders/{study.order_id}/report", headers=second.headers).status_code == 409
    ok(api.post(f"/api/orders/{study.order_id}/claim/release", headers=first.headers))
    ok(api.post(f"/api/orders/{study.order_id}/claim", headers=second.headers))


def test_report_qc_problems_come_back_as_a_list(radflow: Radflow, make_user: UserFactory) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    study = new_study(radflow, "MR-KNEE", laterality="L")
    ok(api.post(f"/api/orders/{study.order_id}/claim", headers=rad.headers))
    ok(api.post(f"/api/orders/{study.order_id}/report", headers=rad.headers), 201)
    ok(api.patch(f"/api/orders/{study.order_id}/report", headers=rad.headers, json={
        "sections": {"findings": "Right knee: medial meniscal tear."}, "exam_body_part": "SHOULDER"}))
    checked = ok(api.post(f"/api/orders/{study.order_id}/report/check", headers=rad.headers,
                          json={"viewer_accession_number": "OTHER-1"}))
    assert not checked["releasable"]
    assert {p["code"] for p in checked["problems"]} == {"study_mismatch", "laterality_mismatch",
                                                         "body_part_mismatch", "missing_impression"}
