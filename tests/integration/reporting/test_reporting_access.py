"""Who sees which report: a referrer only their orders' (from the preliminary on), a patient only their own
signed reports; every view is audited, every refusal too."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from reporting_world import COVERING_NPI, ORDERING_NPI, new_study
from sqlalchemy import func, select

from radflow.adapters.db import tables as t
from radflow.bootstrap import Radflow
from radflow.entrypoints.api.app import create_app
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
STRANGER_NPI = "1679576722"


def audited(radflow: Radflow, action: str, outcome: str = "success") -> int:
    with radflow.session_factory() as session:
        return int(session.execute(select(func.count()).select_from(t.audit_records).where(
            t.audit_records.c.action == action, t.audit_records.c.outcome == outcome)).scalar_one())


def test_reports_are_seen_by_their_referrer_covering_provider_and_patient_only(radflow: Radflow,
                                                                              make_user: UserFactory) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    study = new_study(radflow, "CT-CHEST")
    referrer = make_user("referring_provider", npi=ORDERING_NPI)
    covering = make_user("referring_provider", npi=COVERING_NPI, covers_npis=(ORDERING_NPI,))
    stranger = make_user("referring_provider", npi=STRANGER_NPI)
    patient = make_user("patient", patient_id=study.patient_id)
    other_patient = make_user("patient", patient_id=new_study(radflow, "CT-CHEST", family="Other").patient_id)
    url = f"/api/orders/{study.order_id}/report"

    def status(user: Any) -> int:
        return api.get(url, headers=user.headers).status_code

    assert api.post(f"/api/orders/{study.order_id}/claim", headers=rad.headers).status_code == 200
    assert api.post(url, headers=rad.headers).status_code == 201
    api.patch(url, headers=rad.headers, json={"sections": {"impression": "No acute abnormality."}})
    assert (status(referrer), status(covering), status(patient)) == (404, 404, 404)  # a draft is not released
    assert (status(stranger), status(other_patient)) == (403, 403)

    assert api.post(f"{url}/preliminary", headers=rad.headers, json={}).status_code == 200
    assert (status(referrer), status(covering), status(patient)) == (200, 200, 404)
    assert api.post(f"{url}/sign", headers=rad.headers, json={}).status_code == 200
    before = audited(radflow, "report.read")
    assert (status(referrer), status(covering), status(patient)) == (200, 200, 200)
    assert audited(radflow, "report.read") == before + 3
    refused = audited(radflow, "report.read", "denied")
    assert (status(stranger), status(other_patient)) == (403, 403)
    assert audited(radflow, "report.read", "denied") == refused + 2


def test_only_radiologists_write_reports_and_only_the_order_s_providers_acknowledge(
        radflow: Radflow, make_user: UserFactory) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    study = new_study(radflow, "CT-HEAD")
    tech, stranger = make_user("technologist"), make_user("referring_provider", npi=STRANGER_NPI)
    assert api.post(f"/api/orders/{study.order_id}/claim", headers=tech.headers).status_code == 403
    assert api.get("/api/reading/worklist", headers=stranger.headers).status_code == 403
    api.post(f"/api/orders/{study.order_id}/claim", headers=rad.headers)
    api.post(f"/api/orders/{study.order_id}/report", headers=rad.headers)
    marked = api.post(f"/api/orders/{study.order_id}/critical-results", headers=rad.headers, json={
        "finding": "Acute subdural hematoma", "finding_types": ["intracranial_hemorrhage"]}).json()
    assert api.get(f"/api/critical-results/{marked['id']}", headers=stranger.headers).status_code == 403
    assert api.post(f"/api/critical-results/{marked['id']}/acknowledge", headers=stranger.headers,
                    json={"read_back": "x"}).status_code == 403
    assert api.get("/api/critical-results", headers=stranger.headers).json()["open"] == []
