"""Access to results (DESIGN §2, issue 7): a referring provider sees only the reports of orders they placed,
are copied on or cover for; a patient only their own released reports; every view is audited, and every
refusal too."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from results_world import COVERING_NPI, ORDERING_NPI, OTHER_NPI, drain, new_study, sign
from sqlalchemy import func, select

from radflow.adapters.db import tables as t
from radflow.bootstrap import Radflow
from radflow.entrypoints.api.app import create_app
from radflow_test_support import ApiUser, UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
COPIED_NPI = "1164512448"


def audits(radflow: Radflow, outcome: str | None = None) -> int:
    with radflow.session_factory() as session:
        stmt = select(func.count()).select_from(t.audit_records)
        if outcome:
            stmt = stmt.where(t.audit_records.c.outcome == outcome)
        return int(session.execute(stmt).scalar_one())


def test_who_sees_which_report_and_every_look_is_recorded(radflow: Radflow, make_user: UserFactory) -> None:
    api = TestClient(create_app(radflow))
    rad = make_user("radiologist")
    ordering = make_user("referring_provider", npi=ORDERING_NPI)
    copied = make_user("referring_provider", npi=COPIED_NPI)
    covering = make_user("referring_provider", npi=COVERING_NPI, covers_npis=(ORDERING_NPI,))
    stranger = make_user("referring_provider", npi=OTHER_NPI)
    mine = new_study(radflow, "CT-CHEST", copy_to=[(COPIED_NPI, "Dr Copied")])
    others = new_study(radflow, "CT-CHEST", npi=OTHER_NPI)
    patient = make_user("patient", patient_id=mine.patient_id)
    for study in (mine, others):
        sign(radflow, rad.principal, study.order_id)
    drain(radflow)

    def seen(user: ApiUser, url: str, status: int = 200) -> Any:
        before, refused_before = audits(radflow), audits(radflow, "denied")
        response = api.get(url, headers=user.headers)
        assert response.status_code == status, f"{url}: {response.status_code} {response.text}"
        assert audits(radflow) > before, f"{url}: not audited"
        if status == 403:
            assert audits(radflow, "denied") > refused_before
        return response.json()

    for provider in (ordering, copied, covering):
        lines = seen(provider, "/api/results/inbox")["reports"]
        assert [line["order_id"] for line in lines] == [mine.order_id]
        seen(provider, f"/api/results/inbox/{mine.order_id}")
        seen(provider, f"/fhir/DiagnosticReport/{mine.order_id}")
        seen(provider, f"/api/results/inbox/{others.order_id}", 403)
        seen(provider, f"/fhir/DiagnosticReport/{others.order_id}", 403)
        assert seen(provider, f"/fhir/DiagnosticReport?patient=Patient/{others.patient_id}")["total"] == 0
        kinds = {d["recipient"]["kind"] for d in seen(provider, f"/api/orders/{mine.order_id}/distributions")[
            "distributions"]}
        assert "patient" not in kinds
    assert [line["order_id"] for line in seen(stranger, "/api/results/inbox")["reports"]] == [others.order_id]
    seen(stranger, f"/api/orders/{mine.order_id}/distributions", 403)
    seen(stranger, f"/fhir/Communication?based-on=ServiceRequest/{mine.order_id}", 403)

    assert [r["order_id"] for r in seen(patient, "/api/portal/results")["results"]] == [mine.order_id]
    seen(patient, f"/api/portal/results/{mine.order_id}")
    seen(patient, f"/api/portal/results/{others.order_id}", 403)
    seen(patient, f"/fhir/DiagnosticReport/{others.order_id}", 403)
    found = seen(patient, f"/fhir/DiagnosticReport?patient={mine.patient_id}")
    assert [e["resource"]["id"] for e in found["entry"]] == [mine.order_id]
    seen(patient, "/api/results/inbox", 403)
    seen(patient, "/api/followups", 403)
