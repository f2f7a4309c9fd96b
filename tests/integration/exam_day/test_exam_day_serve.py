"""A real `radflow serve` process (DICOM only) answers findscu as a scanner would, and holds up against junk
peers under its configured limits and timeouts (RADFLOW_DICOM_*): C-ECHO and the worklist still answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from exam_day_world import SPS, accession_of, add_order, add_patient, book, findscu, free_port, ny
from pynetdicom import AE

from radflow.bootstrap import Radflow
from radflow.config import Settings
from radflow_test_support import backends

pytestmark = [pytest.mark.parametrize("test_settings", backends(), indirect=True), pytest.mark.dcmtk]
VERIFICATION = "1.2.840.10008.1.1"


def echo(port: int, calling: str = "MR1") -> bool:
    ae = AE(ae_title=calling)
    ae.add_requested_context(VERIFICATION)
    ae.acse_timeout = ae.connection_timeout = ae.network_timeout = 3
    assoc = ae.associate("127.0.0.1", port, ae_title="RADFLOW")
    if not assoc.is_established:
        return False
    status = assoc.send_c_echo()
    assoc.release()
    return status is not None and int(status.Status) == 0


@pytest.fixture
def served(center: Radflow, test_settings: Settings, tmp_path: Path) -> Iterator[int]:
    """`radflow serve --no-http --no-mllp` on the test's database, two associations at most, short timeouts."""
    port = free_port()
    env = {**os.environ, "RADFLOW_DATABASE_URL": test_settings.effective_database_url,
           "RADFLOW_DATABASE_SCHEMA": test_settings.database_schema, "RADFLOW_DATA_DIR": str(tmp_path),
           "RADFLOW_AUDIT_KEY": test_settings.audit_key, "RADFLOW_DICOM_PORT": str(port),
           "RADFLOW_DICOM_MAX_ASSOCIATIONS": "2", "RADFLOW_DICOM_ACSE_TIMEOUT_SECONDS": "2",
           "RADFLOW_DICOM_PDU_TIMEOUT_SECONDS": "1", "RADFLOW_DICOM_NETWORK_TIMEOUT_SECONDS": "4"}
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "radflow.entrypoints.cli", "serve", "--no-http", "--no-mllp"],
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not echo(port):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "radflow serve did not answer C-ECHO in 90 s"
            time.sleep(0.5)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
        log.close()


def test_findscu_gets_the_rooms_day_from_a_running_server_even_after_junk_peers(
        center: Radflow, served: int, tmp_path: Path) -> None:
    order_id = add_order(center, "MR-BRAIN", add_patient(center))
    book(center, order_id, "MR1", ny(2, 10))
    keys = [f"{SPS}.ScheduledProcedureStepStartDate=20260302", "AccessionNumber", "PatientName"]
    # The scanner sends no station AE title: it is matched by its calling AE (RADFLOW_DICOM_STATION_FROM_CALLING_AE).
    assert [str(a.AccessionNumber) for a in findscu(tmp_path / "q1", served, keys, calling_ae="MR1")] == [
        accession_of(center, order_id)]
    assert findscu(tmp_path / "q2", served, keys, calling_ae="MR2") == []

    junk = []
    for payload in (b"GET / HTTP/1.1\r\nHost: radflow\r\n\r\n", b"\x01\x00\xff\xff\xff\xff", b"\x01\x00\x00\x00"):
        sock = socket.create_connection(("127.0.0.1", served), timeout=5)
        sock.sendall(payload)
        junk.append(sock)
    held = []
    for _ in range(2):
        ae = AE(ae_title="IDLE")
        ae.add_requested_context(VERIFICATION)
        held.append(ae.associate("127.0.0.1", served, ae_title="RADFLOW"))
    assert all(a.is_established for a in held)
    assert not echo(served, "THIRD")  # association N+1 over the limit is refused
    for assoc in held:
        assoc.release()
    for sock in junk:
        sock.close()
    # The released associations' slots free as the server's threads finish them: within the configured
    # timeouts (network 4 s), never later.
    deadline = time.monotonic() + 8
    while not echo(served):
        assert time.monotonic() < deadline, "C-ECHO not answered within the timeouts after the peers left"
        time.sleep(0.25)
    again = findscu(tmp_path / "q3", served, keys, calling_ae="MR1")
    assert [str(a.AccessionNumber) for a in again] == [accession_of(center, order_id)]
