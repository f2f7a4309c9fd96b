"""The full day through the screens: a scheduled MRI patient answers the screening from the appointment's link,
is checked in at the desk, appears on MR1's worklist in dcmtk's findscu, the scanner's MPPS moves the order to
in progress and completed, the technologist verifies, passes QC, and the study is on the reading worklist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from exam_day_world import SPS, accession_of, add_order, add_patient, book, findscu, mpps_final, mpps_in_progress, ny
from fastapi.testclient import TestClient
from pynetdicom import AE

from radflow.bootstrap import Radflow
from radflow.entrypoints.api.app import create_app
from radflow_test_support import UserFactory, backends

pytestmark = [pytest.mark.parametrize("test_settings", backends(), indirect=True), pytest.mark.dcmtk]
MPPS = "1.2.840.10008.3.1.2.3.3"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SAFE = {"mri.cardiac_device": "none", "mri.neurostimulator": "none", "mri.cochlear_implant": "none",
        "mri.aneurysm_clip": "none", "mri.drug_pump": "none", "mri.other_implant": "none", "mri.insulin_pump": "no",
        "mri.orbital_foreign_body": "no", "mri.metalworker": "no", "mri.metal_fragments": "no",
        "mri.recent_surgery": "no", "mri.tattoos": "no", "mri.medication_patch": "no",
        "pregnancy.status": "not_pregnant", "pregnancy.breastfeeding": "no", "comfort.claustrophobia": "none",
        "body.weight_kg": "68"}


class Screen:
    """A signed-in browser: GET pages, POST their forms with the session's CSRF token."""

    def __init__(self, client: TestClient, username: str, password: str) -> None:
        self.client = client
        login = client.get("/login")
        done = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": _CSRF.search(login.text).group(1)},  # type: ignore[union-attr]
                           follow_redirects=False)
        assert done.status_code == 303, done.text
        self.csrf = ""

    def get(self, url: str) -> str:
        page = self.client.get(url, follow_redirects=True)
        assert page.status_code == 200, page.text[:500]
        found = _CSRF.search(page.text)
        self.csrf = found.group(1) if found else self.csrf
        return page.text

    def post(self, url: str, data: dict[str, str]) -> int:
        answer = self.client.post(url, data={**data, "csrf_token": self.csrf}, follow_redirects=False)
        assert answer.status_code == 303, answer.text[:2000]
        return answer.status_code


def answers(values: dict[str, str]) -> dict[str, str]:
    return {f"a:{link}": value for link, value in values.items()}


def test_the_full_day_of_an_mri_patient_through_the_screens(center: Radflow, make_user: UserFactory,
                                                             start_listener, tmp_path: Path) -> None:
    patient_id = add_patient(center)
    order_id = add_order(center, "MR-BRAIN", patient_id)
    appointment_id = book(center, order_id, "MR1", ny(2, 10))
    accession = accession_of(center, order_id)
    app = create_app(center)
    users = {role: make_user(role, patient_id=patient_id if role == "patient" else None)
             for role in ("patient", "front_desk", "technologist", "radiologist")}

    def screen(role: str) -> Screen:
        return Screen(TestClient(app, base_url="http://testserver"), users[role].principal.username,
                      users[role].password)

    patient = screen("patient")
    assert "Safety screening" in patient.get(f"/exam-day/appointments/{appointment_id}/screening")
    patient.post(f"/exam-day/orders/{order_id}/screening", answers(SAFE))

    desk = screen("front_desk")
    assert accession in desk.get("/exam-day/arrivals")
    desk.get(f"/exam-day/orders/{order_id}/checkin")
    desk.post(f"/exam-day/orders/{order_id}/checkin", {
        "kind1": "full_name", "value1": "Ana Rivera", "kind2": "birth_date", "value2": "1970-05-01",
        "confirm_coverage": "on", "payment_note": "copay $40 collected", "action": "complete"})
    assert "Nothing blocks check-in" in desk.get(f"/exam-day/orders/{order_id}/checkin")

    listener = start_listener()
    found = findscu(tmp_path / "mr1", listener.port, [
        f"{SPS}.ScheduledStationAETitle=MR1", f"{SPS}.ScheduledProcedureStepStartDate=20260302", "AccessionNumber",
        "PatientName", "Allergies", "PregnancyStatus", f"{SPS}.ScheduledProcedureStepStatus"], calling_ae="MR1")
    assert [str(a.AccessionNumber) for a in found] == [accession]
    assert found[0].ScheduledProcedureStepSequence[0].ScheduledProcedureStepStatus == "ARRIVED"
    assert found[0].PregnancyStatus == 1

    tech = screen("technologist")
    tech.get(f"/exam-day/orders/{order_id}/screening")
    tech.post(f"/exam-day/orders/{order_id}/screening", answers(SAFE))
    tech.get(f"/exam-day/orders/{order_id}/exam")
    tech.post(f"/exam-day/orders/{order_id}/exam/prescan", {f"check_{name}": "on" for name in (
        "identity", "protocol", "contrast_plan", "positioning", "equipment")})

    scanner = AE(ae_title="MR1")
    scanner.add_requested_context(MPPS)
    assoc = scanner.associate("127.0.0.1", listener.port, ae_title="RADFLOW")
    status, _ = assoc.send_n_create(mpps_in_progress([accession], station="MR1"), MPPS, "1.2.826.0.1.3680043.10.9")
    assert status is not None and status.Status == 0
    assert "In progress" in tech.get(f"/exam-day/orders/{order_id}/exam")
    status, _ = assoc.send_n_set(mpps_final("COMPLETED"), MPPS, "1.2.826.0.1.3680043.10.9")
    assert status is not None and status.Status == 0
    assoc.release()
    assert accession in tech.get("/exam-day/worklist")  # waiting for QC
    tech.post(f"/exam-day/orders/{order_id}/exam/qc", {"required_series_obtained": "on", "outcome": "passed"})

    radiologist = TestClient(app).get("/api/reading/worklist", headers=users["radiologist"].headers).json()
    assert accession in [s["accession_number"] for s in radiologist["studies"]]
