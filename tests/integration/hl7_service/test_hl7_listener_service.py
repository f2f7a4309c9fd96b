"""The listener `radflow serve` starts (`make_listener`): real application behind it, counters on /metrics,
TLS from the settings."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hl7_service_support import DATA, load_mapping_text, sample, segment

from radflow.adapters.hl7.mllp import MllpClient
from radflow.bootstrap import Radflow
from radflow.config import Settings
from radflow.entrypoints.api.app import create_app
from radflow.entrypoints.mllp_listener import MllpService, tls_context, worker_count
from radflow_test_support import backends


def test_the_listener_applies_messages_and_its_counters_are_on_metrics(radflow: Radflow) -> None:
    load_mapping_text(radflow, (DATA / "mapping.yaml").read_text())
    service = MllpService(radflow, host="127.0.0.1", port=0)
    service.start()
    try:
        with MllpClient("127.0.0.1", service.port) as client:
            assert segment(client.send(sample("epic_orm_o01_251_two_orders.hl7")), "MSA")[1] == "AA"
            assert segment(client.send(sample("error_unsupported_type.hl7")), "MSA")[1] == "AR"
        metrics = TestClient(create_app(radflow)).get("/metrics").text
    finally:
        service.stop()
    assert "radflow_mllp_messages_received 2.0" in metrics
    assert "radflow_mllp_acks_sent 2.0" in metrics
    assert "radflow_mllp_connections_opened 1.0" in metrics


@pytest.mark.parametrize("test_settings", backends(), indirect=True)
def test_the_listener_applies_with_a_few_threads_unless_told(radflow: Radflow) -> None:
    # Ten threads (the pool's size) applied 75 new orders/s over 8 connections, three 104 (bench/results/hl7.md):
    # the work is Python, one thread at a time per process.
    assert worker_count(radflow) == (3 if radflow.engine.dialect.name == "postgresql" else 2)
    radflow.settings.mllp_workers = 6
    assert worker_count(radflow) == 6


def test_tls_needs_both_certificate_and_key(tmp_path: Path) -> None:
    assert tls_context(Settings(data_dir=tmp_path)) is None
    with pytest.raises(ValueError, match="both"):
        tls_context(Settings(data_dir=tmp_path, mllp_tls_cert=tmp_path / "cert.pem"))


def test_the_listener_speaks_tls_when_configured(radflow: Radflow, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    load_mapping_text(radflow, (DATA / "mapping.yaml").read_text())
    radflow.settings = radflow.settings.model_copy(update={"mllp_tls_cert": cert, "mllp_tls_key": key})
    service = MllpService(radflow, host="127.0.0.1", port=0)
    service.start()
    try:
        client_context = ssl.create_default_context(cafile=str(cert))
        with MllpClient("127.0.0.1", service.port, ssl_context=client_context, server_hostname="localhost") as client:
            assert segment(client.send(sample("cerner_adt_a04_231.hl7")), "MSA")[1] == "AA"
    finally:
        service.stop()
