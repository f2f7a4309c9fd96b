"""The real thing: a `radflow serve` process on an ephemeral port with a temporary SQLite database,
and Debian's Chromium driven by Playwright (never `playwright install`: no browser is downloaded)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from radflow_test_support import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


@dataclass(frozen=True)
class Account:
    """A user the server knows, to sign in as."""

    username: str
    password: str
    display_name: str
    role: str


ACCOUNTS = (
    Account("iris.intake", "intake-e2e-password", "Iris Intake", "intake"),
    Account("rhea.radiologist", "radiologist-e2e-password", "Dr. Rhea Radiologist", "radiologist"),
    Account("alex.auth", "authorization-e2e-password", "Alex Authorization", "authorization"),
)


@dataclass(frozen=True)
class Server:
    """A running radflow server."""

    url: str
    accounts: dict[str, Account]
    data_dir: Path


def _radflow_command() -> list[str]:
    installed = Path(sys.executable).parent / "radflow"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "radflow.entrypoints.cli"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run(args: list[str], environment: dict[str, str]) -> None:
    result = subprocess.run([*_radflow_command(), *args], env=environment, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, f"radflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Migrate a fresh database, add the users, start `radflow serve --no-mllp --no-dicom`, wait until it answers."""
    data_dir = tmp_path_factory.mktemp("radflow-e2e")
    port = _free_port()
    # The server's settings come only from here: nothing of the calling shell's RADFLOW_* leaks in.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("RADFLOW_")}
    environment.update({"RADFLOW_DATA_DIR": str(data_dir), "RADFLOW_HTTP_PORT": str(port),
                        "RADFLOW_HTTP_HOST": "127.0.0.1", "RADFLOW_TIMEZONE": "America/New_York"})
    _run(["db", "upgrade"], environment)
    for account in ACCOUNTS:
        _run(["users", "add", account.username, "--role", account.role, "--display-name", account.display_name,
              "--password", account.password], environment)
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen([*_radflow_command(), "serve", "--no-mllp", "--no-dicom"], env=environment,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"radflow serve exited: {(data_dir / 'server.log').read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"radflow serve did not answer: {(data_dir / 'server.log').read_text()}")
            time.sleep(0.2)
        yield Server(url, {a.role: a for a in ACCOUNTS}, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; missing, it skips the browser tests (and fails them under CI=true)."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        message = f"{CHROMIUM} is not installed (Debian package 'chromium')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
