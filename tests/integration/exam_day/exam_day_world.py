"""A center on a real database for the exam-day integration tests: capacity, patients, booked orders, peers.

Monday 2 March 2026, 09:00 New York (the shared `clock` fixture). Writes go through the real unit of
work and service bus; the DICOM listener is radflow's own (`make_listener`) on an ephemeral port.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from radflow.bootstrap import Radflow
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent
from radflow.domain.order import Order, Track
from radflow.domain.patient import RADFLOW_AUTHORITY, Patient, PatientIdentifier, Sex
from radflow.domain.protocols import ContrastPhase
from radflow.domain.referral import Coverage
from radflow.domain.users import Principal, Role
from radflow.services.scheduling.booking import BookAppointment
from radflow.services.scheduling.capacity_admin import SaveScanner, SaveSite

NY = ZoneInfo("America/New_York")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
MANAGER = Principal.system("capacity-test", role=Role.MANAGER)
SCHEDULER = Principal.system("scheduler-test", role=Role.SCHEDULER)
SPS = "ScheduledProcedureStepSequence[0]"


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time in March 2026, as UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=NY).astimezone(UTC)


def _week(start: str, end: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"day": d, "from": start, "to": end, **extra} for d in WEEKDAYS]


def seed_capacity(radflow: Radflow) -> None:
    """Site MAIN (New York): MR1 1.5 T, MR2 3 T, CT1, open 07:00–19:00 on weekdays."""
    radflow.bus.handle(SaveSite(actor=MANAGER, document={
        "id": "MAIN", "name": "Main campus", "timezone": "America/New_York", "supervision": _week("07:00", "19:00")}))
    for scanner_id, modality, caps in (("MR1", "MR", ["1.5T"]), ("MR2", "MR", ["3T"]), ("CT1", "CT", [])):
        radflow.bus.handle(SaveScanner(actor=MANAGER, document={
            "id": scanner_id, "site_id": "MAIN", "name": scanner_id, "modality": modality, "capabilities": caps,
            "opening": _week("07:00", "19:00"), "shifts": _week("07:00", "19:00", technologist="tech")}))


def add_patient(radflow: Radflow, *, family: str = "Rivera", given: str = "Ana", birth: date = date(1970, 5, 1),
                sex: Sex = Sex.FEMALE) -> str:
    """A patient with an MRN and an active coverage; returns the patient id."""
    now = radflow.ctx.clock.now()
    patient_id = new_id()
    patient = Patient(id=patient_id, family_name=family, given_name=given, birth_date=birth, sex=sex,
                      created_at=now, phone="+1 555 010 7788", postal_code="12345")
    with radflow.uow() as uow:
        mrn = f"RF{uow.counters.next_value('mrn'):07d}"
        patient.identifiers.append(PatientIdentifier(RADFLOW_AUTHORITY, mrn, patient_id=patient_id))
        uow.patients.add(patient)
        uow.coverages.add(Coverage(id=new_id(), patient_id=patient_id, payer_id="aetna_commercial",
                                   member_id="W123456789", created_at=now))
        uow.commit()
    return patient_id


def add_order(radflow: Radflow, protocol: str, patient_id: str, *, contrast: str | None = None,
              accession: str = "") -> str:
    """An order ready to schedule; returns the order id."""
    entry = radflow.catalog.protocol(protocol)
    now = radflow.ctx.clock.now()
    with radflow.uow() as uow:
        coverage = uow.coverages.for_patient(patient_id)
        order = Order.receive(by="test", at=now, target=timedelta(days=10), id=new_id(), patient_id=patient_id,
                              accession_number=accession or f"A{uow.counters.next_value('accession'):07d}",
                              study_instance_uid=f"2.25.{int(new_id(), 16)}", protocol_code=protocol,
                              requested_modality=entry.modality.value, priority=Track.ROUTINE,
                              contrast=ContrastPhase(contrast) if contrast else None, body_part=entry.body_part,
                              coverage_id=coverage[0].id if coverage else None, ordering_provider_name="OKAFOR^NGOZI")
        order.transition(OrderEvent.CLEARED_FOR_SCHEDULING, by="test", at=now)
        uow.orders.add(order)
        uow.commit()
    return order.id


def book(radflow: Radflow, order_id: str, scanner_id: str, start: datetime) -> str:
    """Book the order; returns the appointment id."""
    appointment: str = radflow.bus.handle(BookAppointment(actor=SCHEDULER, order_id=order_id,
                                                          scanner_id=scanner_id, start=start))
    return appointment


def order_state(radflow: Radflow, order_id: str) -> str:
    """The order's state as stored."""
    with radflow.uow() as uow:
        return uow.orders.get(order_id).state.value


def accession_of(radflow: Radflow, order_id: str) -> str:
    """The order's accession number."""
    with radflow.uow() as uow:
        return uow.orders.get(order_id).accession_number


def require_tool(name: str) -> str:
    """The tool's path; a missing tool skips locally and fails under CI=true (DESIGN.md §5)."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path:
        return path
    message = f"{name} is not installed (Debian: apt-get install dcmtk orthanc)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def findscu(out: Path, port: int, keys: Sequence[str], *, calling_ae: str, called_ae: str = "RADFLOW") -> list[Dataset]:
    """Query a worklist with dcmtk's findscu as a scanner does; the answers findscu wrote."""
    out.mkdir(parents=True, exist_ok=True)
    args = [require_tool("findscu"), "-W", "-X", "-od", str(out), "-to", "10", "-aet", calling_ae, "-aec", called_ae]
    for key in keys:
        args += ["-k", key]
    args += ["127.0.0.1", str(port)]
    done = subprocess.run(args, capture_output=True, timeout=60, env={**os.environ, "TCP_NODELAY": "1"})
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return [dcmread(path, force=True) for path in sorted(out.glob("rsp*.dcm"))]


def mpps_in_progress(accessions: Sequence[str], *, station: str, patient_id: str = "", modality: str = "MR",
                     start: datetime | None = None) -> Dataset:
    """An MPPS N-CREATE data set as a scanner sends it (IHE RAD-6)."""
    local = (start or datetime(2026, 3, 2, 15, 5, tzinfo=UTC)).astimezone(NY)
    ds = Dataset()
    ds.PatientName = "RIVERA^ANA"
    ds.PatientID = patient_id
    items = []
    for accession in accessions:
        item = Dataset()
        item.AccessionNumber = accession
        item.ScheduledProcedureStepID = accession
        item.StudyInstanceUID = ""
        items.append(item)
    ds.ScheduledStepAttributesSequence = items
    ds.PerformedProcedureStepID = f"PPS-{new_id()[:8]}"
    ds.PerformedStationAETitle = station
    ds.PerformedProcedureStepStartDate = local.strftime("%Y%m%d")
    ds.PerformedProcedureStepStartTime = local.strftime("%H%M%S")
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.Modality = modality
    ds.PerformedSeriesSequence = []
    return ds


def mpps_final(status: str, *, reason: tuple[str, str, str] | None = None) -> Dataset:
    """An MPPS N-SET data set ending the step (IHE RAD-7), with a discontinuation reason when given."""
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = "20260302"
    ds.PerformedProcedureStepEndTime = "103000"
    series = Dataset()
    series.SeriesInstanceUID = f"2.25.{int(new_id(), 16)}"
    series.SeriesDescription = "AX T2"
    series.ReferencedImageSequence = []
    ds.PerformedSeriesSequence = [series]
    if reason is not None:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = reason
        ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = [code]
    return ds


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_orthanc(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """Orthanc (Debian's) on `port`, HTTP off, storage in `folder`, answering echo, store and study C-FIND."""
    import json

    config = {"Name": "RADFLOW-EXAM-DAY-PACS", "StorageDirectory": str(folder / "storage"),
              "IndexDirectory": str(folder / "index"), "HttpServerEnabled": False, "RemoteAccessAllowed": False,
              "DicomServerEnabled": True, "DicomAet": "ORTHANC", "DicomPort": port, "DicomCheckCalledAet": False,
              "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowStore": True, "DicomAlwaysAllowFind": True,
              "DicomModalities": {}, "Plugins": []}
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = (folder / "orthanc.log").open("w")
    return subprocess.Popen([require_tool("Orthanc"), str(folder / "orthanc.json")], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def ct_instance(accession: str, study_uid: str, patient_id: str) -> Dataset:
    """One small CT image of a study, as a scanner sends it to the PACS."""
    import numpy as np
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.PatientID, ds.PatientName, ds.AccessionNumber = patient_id, "RIVERA^ANA", accession
    ds.StudyDate, ds.StudyTime, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "20260302", "100500", "CT", 1, 1
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 8, 8, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.arange(64, dtype=np.uint16).tobytes()
    return ds
