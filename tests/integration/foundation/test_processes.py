"""What `make run` starts, as real processes: migrate, demo, serve and worker on a fresh SQLite."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

RADFLOW = [sys.executable, "-m", "radflow.entrypoints.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def center(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {**os.environ, "RADFLOW_DATA_DIR": str(tmp_path), "RADFLOW_HTTP_PORT": str(port),
           "RADFLOW_WORKER_POLL_SECONDS": "0.2", "RADFLOW_ENABLE_MLLP": "false", "RADFLOW_ENABLE_DICOM": "false"}
    env.pop("RADFLOW_DATABASE_URL", None)
    subprocess.run([*RADFLOW, "db", "upgrade"], env=env, check=True, capture_output=True)
    demo = subprocess.run([*RADFLOW, "demo"], env=env, check=True, capture_output=True, text=True)
    assert "intake-demo-2026" in demo.stdout and f":{port}/" in demo.stdout
    processes = [subprocess.Popen([*RADFLOW, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT),
                 subprocess.Popen([*RADFLOW, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        pytest.fail("radflow serve did not come up within 60 s")
    yield base, env
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_make_run_processes_serve_the_login_page_and_the_worker_does_jobs(center: tuple[str, dict[str, str]]) -> None:
    base, env = center
    login = httpx.get(f"{base}/login", timeout=5)
    assert login.status_code == 200 and re.search(r"<form[^>]*>", login.text) and "password" in login.text.lower()
    outbox = Path(env["RADFLOW_DATA_DIR"]) / "outbox" / "fax"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(outbox.glob("*.json")):
        time.sleep(0.3)
    sent = list(outbox.glob("*.json"))
    assert sent, "the worker sent no documentation request from the demo's incomplete orders"
    metrics = httpx.get(f"{base}/metrics", timeout=5).text
    assert re.search(r'radflow_jobs\{state="done"\} [1-9]', metrics)
