"""The PACS client asks a real Orthanc (Debian's package) which studies it holds."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE

from radflow.adapters.dicom.pacs import PacsClient, PacsConfig, PacsUnavailable

pytestmark = pytest.mark.orthanc

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
VERIFICATION = "1.2.840.10008.1.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def echo_ok(port: int) -> bool:
    ae = AE(ae_title="RADFLOW")
    ae.acse_timeout = 2
    ae.connection_timeout = 2
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", port, ae_title="ORTHANC")
    if not assoc.is_established:
        return False
    status = assoc.send_c_echo()
    assoc.release()
    return status is not None and int(status.Status) == 0


def instance(study: dict[str, str], series_uid: str, number: int, sop_class: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study["uid"]
    ds.SeriesInstanceUID = series_uid
    ds.PatientID = "MRN-PACS-1"
    ds.PatientName = "SMITH^JANE"
    ds.AccessionNumber = study["accession"]
    ds.StudyDate = study["date"]
    ds.StudyTime = "091500"
    ds.StudyDescription = study["description"]
    ds.Modality = study["modality"]
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    ds.Rows, ds.Columns = 8, 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.arange(64, dtype=np.uint16).tobytes()
    return ds


@dataclass(frozen=True)
class Pacs:
    port: int
    ct_study_uid: str


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, installed_tool: Callable[[str], str]) -> Iterator[Pacs]:
    """Orthanc on an ephemeral DICOM port, HTTP off, storage in a temporary folder, two studies stored."""
    binary = installed_tool("Orthanc")
    folder = tmp_path_factory.mktemp("orthanc")
    port = free_port()
    config = {
        "Name": "RADFLOW-TEST-PACS",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "HttpServerEnabled": False,
        "RemoteAccessAllowed": False,
        "DicomServerEnabled": True,
        "DicomAet": "ORTHANC",
        "DicomPort": port,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "DicomModalities": {},
        "Plugins": [],
    }
    config_path = folder / "orthanc.json"
    config_path.write_text(json.dumps(config))
    log = (folder / "orthanc.log").open("w")
    process = subprocess.Popen([binary, str(config_path)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not echo_ok(port):
            assert process.poll() is None, (folder / "orthanc.log").read_text()
            assert time.monotonic() < deadline, "Orthanc did not answer C-ECHO within 30 s"
            time.sleep(0.3)
        ct = {
            "uid": generate_uid(),
            "accession": "PACS-CT-1",
            "date": "20260204",
            "description": "CT CHEST",
            "modality": "CT",
        }
        mr = {
            "uid": generate_uid(),
            "accession": "PACS-MR-0",
            "date": "20250610",
            "description": "MR BRAIN",
            "modality": "MR",
        }
        ct_series = generate_uid()
        store([instance(ct, ct_series, n, CT_IMAGE_STORAGE) for n in (1, 2, 3)], port)
        store([instance(mr, generate_uid(), 1, MR_IMAGE_STORAGE)], port)
        yield Pacs(port=port, ct_study_uid=ct["uid"])
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        log.close()


def store(instances: list[Dataset], port: int) -> None:
    ae = AE(ae_title="MODALITY")
    for sop_class in {str(i.SOPClassUID) for i in instances}:
        ae.add_requested_context(sop_class, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title="ORTHANC")
    assert assoc.is_established
    try:
        for ds in instances:
            status = assoc.send_c_store(ds)
            assert status is not None and int(status.Status) == 0
    finally:
        assoc.release()


def client(port: int) -> PacsClient:
    return PacsClient(PacsConfig(host="127.0.0.1", port=port, called_ae_title="ORTHANC", timeout=5))


def test_a_stored_study_is_found_by_accession_with_its_instances(orthanc: Pacs) -> None:
    (study,) = client(orthanc.port).studies_by_accession("PACS-CT-1")
    assert study.study_instance_uid == orthanc.ct_study_uid
    assert study.modalities == ("CT",)
    assert study.number_of_instances == 3
    assert study.number_of_series == 1
    assert study.study_date == date(2026, 2, 4)
    assert study.description == "CT CHEST"


def test_images_are_available_only_for_studies_the_pacs_holds(orthanc: Pacs) -> None:
    pacs = client(orthanc.port)
    assert pacs.images_available("PACS-CT-1")
    assert not pacs.images_available("NOT-YET-SCANNED")


def test_a_patients_priors_are_listed_and_filtered_by_modality_and_date(orthanc: Pacs) -> None:
    pacs = client(orthanc.port)
    assert sorted(s.accession_number for s in pacs.studies_for_patient("MRN-PACS-1")) == ["PACS-CT-1", "PACS-MR-0"]
    assert [s.accession_number for s in pacs.studies_for_patient("MRN-PACS-1", modality="MR")] == ["PACS-MR-0"]
    before_2026 = pacs.studies_for_patient("MRN-PACS-1", date_to=date(2025, 12, 31))
    assert [s.accession_number for s in before_2026] == ["PACS-MR-0"]
    assert pacs.studies_for_patient("SOMEONE-ELSE") == []


def test_an_unreachable_pacs_is_reported_as_unavailable() -> None:
    with pytest.raises(PacsUnavailable, match="did not accept"):
        client(free_port()).studies_by_accession("PACS-CT-1")
