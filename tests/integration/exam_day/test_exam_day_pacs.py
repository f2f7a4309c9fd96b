"""QC asks the configured PACS (a real Orthanc) whether the images arrived before the study goes to reading."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from pathlib import Path

import pytest
from exam_day_world import accession_of, add_order, add_patient, book, ct_instance, free_port, ny, start_orthanc
from fastapi.testclient import TestClient
from pynetdicom import AE

from radflow.bootstrap import Radflow
from radflow.domain.study import StepStatus
from radflow.domain.users import Principal, Role
from radflow.entrypoints.api.app import create_app
from radflow.services.exam_day.performed_steps import RecordPerformedStep, StepReport
from radflow_test_support import UserFactory, backends

pytestmark = [pytest.mark.parametrize("test_settings", backends(), indirect=True), pytest.mark.orthanc]


def echo(port: int) -> bool:
    ae = AE(ae_title="RADFLOW")
    ae.add_requested_context("1.2.840.10008.1.1")
    ae.acse_timeout = ae.connection_timeout = 2
    assoc = ae.associate("127.0.0.1", port, ae_title="ORTHANC")
    if not assoc.is_established:
        return False
    assoc.release()
    return True


def test_qc_waits_for_the_images_in_orthanc_then_sends_the_study_to_reading(
        center: Radflow, make_user: UserFactory, tmp_path: Path) -> None:
    port = free_port()
    orthanc = start_orthanc(tmp_path, port)
    try:
        deadline = time.monotonic() + 30
        while not echo(port):
            assert orthanc.poll() is None and time.monotonic() < deadline, (tmp_path / "orthanc.log").read_text()
            time.sleep(0.3)
        settings = center.settings.model_copy(update={"pacs_host": "127.0.0.1", "pacs_port": port,
                                                      "pacs_aet": "ORTHANC"})
        center.bus.ctx = dataclasses.replace(center.ctx, settings=settings)
        order_id = add_order(center, "CT-HEAD", add_patient(center))
        book(center, order_id, "CT1", ny(2, 10))
        accession = accession_of(center, order_id)
        dicom = Principal.system("dicom", role=Role.INTEGRATION)
        for status, created in ((StepStatus.IN_PROGRESS, True), (StepStatus.COMPLETED, False)):
            center.bus.handle(RecordPerformedStep(actor=dicom, created=created, report=StepReport(
                sop_instance_uid="1.2.3.900", status=status, calling_ae="CT1", station_ae_title="CT1",
                modality="CT", accession_numbers=(accession,))))
        client = TestClient(create_app(center))
        tech = make_user("technologist")
        qc = {"outcome": "passed", "required_series_obtained": True}
        early = client.post(f"/api/orders/{order_id}/exam/qc", json=qc, headers=tech.headers)
        assert early.status_code == 409 and "holds no images" in early.text

        with center.uow() as uow:
            order = uow.orders.get(order_id)
            study_uid, patient_id = order.study_instance_uid, order.patient_id
        scanner = AE(ae_title="CT1")
        scanner.add_requested_context("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1")
        assoc = scanner.associate("127.0.0.1", port, ae_title="ORTHANC")
        stored = assoc.send_c_store(ct_instance(accession, study_uid, patient_id))
        assoc.release()
        assert stored is not None and stored.Status == 0

        passed = client.post(f"/api/orders/{order_id}/exam/qc", json=qc, headers=tech.headers)
        assert passed.status_code == 200, passed.text
        assert passed.json()["result"] == "imaging_completed"
        study = client.get(f"/api/orders/{order_id}/study", headers=tech.headers).json()["study"]
        assert study["qc_reviews"][-1]["images_in_pacs"] is True
    finally:
        os.killpg(orthanc.pid, signal.SIGTERM)
        orthanc.wait(15)
