"""Priors for the reading worklist from a real PACS: Debian's Orthanc, asked by C-FIND through the PACS port.

Orthanc holds an outside chest CT, a brain MR, and radflow's own earlier chest CT; the priors of a new
chest CT are radflow's earlier study (once, with its report) and the outside chest CT, newest first.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from reporting_world import new_study

from radflow.adapters.dicom.pacs import PacsClient, PacsConfig
from radflow.bootstrap import Radflow
from radflow.entrypoints.api.app import create_app
from radflow.services.reading import ClaimStudy
from radflow.services.reports import SaveReport, SignReport, StartReport
from radflow_test_support import UserFactory

pytestmark = pytest.mark.orthanc
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
VERIFICATION = "1.2.840.10008.1.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def echoes(port: int) -> bool:
    ae = AE(ae_title="RADFLOW")
    ae.acse_timeout = ae.connection_timeout = 2
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", port, ae_title="ORTHANC")
    if not assoc.is_established:
        return False
    status = assoc.send_c_echo()
    assoc.release()
    return status is not None and int(status.Status) == 0


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[int]:
    """Orthanc on an ephemeral DICOM port (HTTP off), storage in the test's folder; yields the port."""
    binary = shutil.which("Orthanc") or shutil.which("Orthanc", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        message = "Orthanc is not installed (Debian: apt-get install orthanc)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    config = {"Name": "RADFLOW-PRIORS", "StorageDirectory": str(tmp_path / "storage"),
              "IndexDirectory": str(tmp_path / "index"), "HttpServerEnabled": False, "RemoteAccessAllowed": False,
              "DicomServerEnabled": True, "DicomAet": "ORTHANC", "DicomPort": port, "DicomCheckCalledAet": False,
              "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowStore": True, "DicomAlwaysAllowFind": True,
              "DicomModalities": {}, "Plugins": []}
    (tmp_path / "orthanc.json").write_text(json.dumps(config))
    log = (tmp_path / "orthanc.log").open("w")
    process = subprocess.Popen([binary, str(tmp_path / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not echoes(port):
            assert process.poll() is None, (tmp_path / "orthanc.log").read_text()
            assert time.monotonic() < deadline, "Orthanc did not answer C-ECHO within 30 s"
            time.sleep(0.3)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def store_study(port: int, *, patient_id: str, accession: str, study_uid: str, day: str, description: str,
                modality: str = "CT") -> None:
    """C-STORE one small image of a study, as a modality would."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CT_IMAGE_STORAGE, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.PatientID, ds.PatientName = patient_id, "RIVERA^MARIA"
    ds.AccessionNumber, ds.StudyDate, ds.StudyTime = accession, day, "101500"
    ds.StudyDescription, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = description, modality, 1, 1
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.arange(16, dtype=np.uint16).tobytes()
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CT_IMAGE_STORAGE, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title="ORTHANC")
    assert assoc.is_established
    try:
        status = assoc.send_c_store(ds)
        assert status is not None and int(status.Status) == 0
    finally:
        assoc.release()


def test_priors_come_from_radflow_and_from_orthanc_by_c_find(radflow: Radflow, make_user: UserFactory,
                                                            orthanc: int) -> None:
    rad = make_user("radiologist")
    earlier = new_study(radflow, "CT-CHEST", reason="cough")
    radflow.bus.handle(ClaimStudy(actor=rad.principal, order_id=earlier.order_id))
    radflow.bus.handle(StartReport(actor=rad.principal, order_id=earlier.order_id))
    radflow.bus.handle(SaveReport(actor=rad.principal, order_id=earlier.order_id,
                                  sections={"impression": "No acute cardiopulmonary abnormality."}))
    radflow.bus.handle(SignReport(actor=rad.principal, order_id=earlier.order_id))
    current = new_study(radflow, "CT-CHEST", patient_id=earlier.patient_id, reason="follow-up nodule")
    with radflow.uow() as uow:
        earlier_uid = uow.orders.get(earlier.order_id).study_instance_uid

    store_study(orthanc, patient_id=earlier.mrn, accession="OUTSIDE-7", study_uid=generate_uid(), day="20240115",
                description="CT CHEST WITHOUT CONTRAST")
    store_study(orthanc, patient_id=earlier.mrn, accession="OUTSIDE-8", study_uid=generate_uid(), day="20250301",
                description="MRI BRAIN", modality="MR")
    store_study(orthanc, patient_id=earlier.mrn, accession=earlier.accession_number, study_uid=earlier_uid,
                day="20260302", description="CT CHEST")
    store_study(orthanc, patient_id="SOMEONE-ELSE", accession="OUTSIDE-9", study_uid=generate_uid(),
                day="20250505", description="CT CHEST")

    pacs = PacsClient(PacsConfig(host="127.0.0.1", port=orthanc, called_ae_title="ORTHANC", timeout=5))
    radflow.bus.ctx = dataclasses.replace(radflow.ctx, pacs=pacs)  # the PACS port, as the composition root sets it
    api = TestClient(create_app(radflow))
    answer = api.get(f"/api/orders/{current.order_id}/priors", headers=rad.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["pacs_asked"] and body["pacs_problem"] == "" and body["body_region"] == "chest"
    assert [(p["source"], p["accession_number"]) for p in body["priors"]] == [
        ("radflow", earlier.accession_number), ("pacs", "OUTSIDE-7")]
    assert body["priors"][0]["impression"] == "No acute cardiopulmonary abnormality."
    assert body["priors"][1]["study_date"] == "2024-01-15" and body["priors"][1]["modality"] == "CT"


def test_a_pacs_that_does_not_answer_leaves_radflows_priors_listed(radflow: Radflow, make_user: UserFactory) -> None:
    rad = make_user("radiologist")
    earlier = new_study(radflow, "CT-CHEST")
    current = new_study(radflow, "CT-CHEST", patient_id=earlier.patient_id)
    silent = PacsClient(PacsConfig(host="127.0.0.1", port=free_port(), called_ae_title="ORTHANC", timeout=2))
    radflow.bus.ctx = dataclasses.replace(radflow.ctx, pacs=silent)
    body = TestClient(create_app(radflow)).get(f"/api/orders/{current.order_id}/priors", headers=rad.headers).json()
    assert [p["accession_number"] for p in body["priors"]] == [earlier.accession_number]
    assert "did not accept an association" in body["pacs_problem"]
