"""A real DICOM server on an ephemeral port, a day's worklist, and the dcmtk/Orthanc peers."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from radflow.adapters.dicom.mpps import MppsReceiver
from radflow.adapters.dicom.performed_step import InMemoryMppsStore, RecordingStepSink
from radflow.adapters.dicom.server import DicomServer, DicomServerConfig
from radflow.adapters.dicom.worklist import (
    CodedEntry,
    InMemoryWorklistSource,
    PersonName,
    PregnancyStatus,
    ScheduledProcedureStep,
    WorklistItem,
)
from radflow.domain.clock import FakeClock

SITE_ZONE = ZoneInfo("America/New_York")


def require_tool(name: str) -> str:
    """The tool's path; a missing tool skips locally and fails under CI=true (DESIGN.md §5)."""
    # Debian installs Orthanc in /usr/sbin, which an ordinary user's PATH may lack.
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path:
        return path
    message = f"{name} is not installed (Debian: apt-get install dcmtk orthanc)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _item(accession: str, station: str, modality: str, hour: int, name: str, *, day: int = 4) -> WorklistItem:
    return WorklistItem(
        accession_number=accession,
        patient_name=PersonName.parse(name),
        patient_id=f"MRN-{accession}",
        issuer_of_patient_id="RADFLOW",
        study_instance_uid=f"2.25.{int.from_bytes(accession.encode(), 'big')}",
        requested_procedure_id=f"RP-{accession}",
        sex="F",
        pregnancy_status=PregnancyStatus.NOT_PREGNANT,
        medical_alerts=("FALL RISK",) if modality == "CT" else (),
        allergies=("IODINATED CONTRAST",) if hour == 9 else (),
        requested_procedure_description=f"{modality} EXAM",
        requested_procedure_codes=(CodedEntry("71260", "C4", f"{modality} EXAM"),),
        requested_procedure_priority="ROUTINE",
        referring_physician=PersonName("OKAFOR^NGOZI"),
        scheduled_step=ScheduledProcedureStep(
            step_id=f"SPS-{accession}",
            modality=modality,
            station_ae_title=station,
            start=datetime(2026, 2, day, hour, 0, tzinfo=SITE_ZONE),
            description=f"{modality} EXAM",
            protocol_codes=(CodedEntry(f"P-{accession}", "99RADFLOW", f"{modality} PROTOCOL"),),
            requested_contrast_agent="IOHEXOL 350" if modality == "CT" else "",
        ),
    )


WORKLIST = [
    _item("CT3-0700", "CT3", "CT", 7, "SMITH^JANE"),
    _item("CT3-0900", "CT3", "CT", 9, "JONES^MARY"),
    _item("CT3-1100", "CT3", "CT", 11, "BROWN^LISA"),
    _item("CT4-0900", "CT4", "CT", 9, "WHITE^ANNA"),
    _item("MR1-1000", "MR1", "MR", 10, "MÜLLER^JÜRGEN"),
    _item("MR1-1200", "MR1", "MR", 12, "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    _item("CT3-NEXT", "CT3", "CT", 8, "GREEN^EVA", day=5),
]


@pytest.fixture
def worklist() -> InMemoryWorklistSource:
    """A day's worklist on CT3, CT4 and MR1, with one CT3 item the next day."""
    return InMemoryWorklistSource(WORKLIST)


@pytest.fixture
def mpps_sink() -> RecordingStepSink:
    """Records performed steps; CT3-0700, CT3-0900 and MR1-1000 stand for existing orders."""
    return RecordingStepSink(known_accessions={"CT3-0700", "CT3-0900", "MR1-1000"})


StartServer = Callable[..., DicomServer]


@pytest.fixture
def start_server(worklist: InMemoryWorklistSource, mpps_sink: RecordingStepSink) -> Iterator[StartServer]:
    """Start radflow's SCP on an ephemeral port with short timeouts; stopped after the test."""
    servers: list[DicomServer] = []

    def start(**overrides: Any) -> DicomServer:
        settings: dict[str, Any] = {
            "port": 0,
            "zone": SITE_ZONE,
            "acse_timeout": 2.0,
            "pdu_timeout": 1.0,
            "network_timeout": 3.0,
            "dimse_timeout": 3.0,
        }
        settings.update(overrides)
        clock = FakeClock(datetime(2026, 2, 4, 14, 0, tzinfo=UTC))
        receiver = MppsReceiver(InMemoryMppsStore(), mpps_sink, clock, SITE_ZONE)
        server = DicomServer(DicomServerConfig(**settings), worklist, mpps=receiver).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def installed_tool() -> Callable[[str], str]:
    """Find a tool: installed_tool("Orthanc") is its path (skip locally, fail under CI=true)."""
    return require_tool


@pytest.fixture
def findscu() -> str:
    """dcmtk's findscu."""
    return require_tool("findscu")


RunFindscu = Callable[..., list[Dataset]]


@pytest.fixture
def run_findscu(findscu: str, tmp_path: Path) -> RunFindscu:
    """Query a worklist as a scanner does (one findscu process); the answers, as written by findscu -X."""
    runs = iter(range(1_000_000))

    def run(
        port: int, keys: Sequence[str | bytes], *, calling_ae: str = "CT3", called_ae: str = "RADFLOW"
    ) -> list[Dataset]:
        out = tmp_path / f"findscu-{next(runs)}"
        out.mkdir()
        args: list[str | bytes] = [
            findscu,
            "-W",
            "-X",
            "-od",
            str(out),
            "-to",
            "10",
            "-aet",
            calling_ae,
            "-aec",
            called_ae,
        ]
        for key in keys:
            args += ["-k", key]
        args += ["127.0.0.1", str(port)]
        done = subprocess.run(args, capture_output=True, timeout=30, env={**os.environ, "TCP_NODELAY": "1"})
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return [dcmread(path, force=True) for path in sorted(out.glob("rsp*.dcm"))]

    return run
