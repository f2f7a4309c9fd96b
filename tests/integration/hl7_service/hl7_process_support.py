"""Real `radflow serve` processes (MLLP only, on an ephemeral port) over one database, for the tests that
talk to the server over sockets and the ones that kill it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from radflow.adapters.db.engine import make_engine
from radflow.adapters.db.migrate import upgrade
from radflow.bootstrap import bootstrap
from radflow.config import Settings
from radflow_test_support import PG_URL

RADFLOW = [sys.executable, "-m", "radflow.entrypoints.cli"]
START_TIMEOUT_S = 240  # a busy two-core machine imports every area slowly


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Center:
    """One database (SQLite file or PostgreSQL schema) with the mapping loaded, and how to reach it."""

    env: dict[str, str]
    settings: Settings
    engine: Engine

    def serve(self) -> ServeProcess:
        """Start a `radflow serve --no-http --no-dicom` on a fresh ephemeral port (not yet waited for)."""
        port = free_port()
        env = {**self.env, "RADFLOW_MLLP_PORT": str(port)}
        log = open(Path(self.env["RADFLOW_DATA_DIR"]) / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed in stop
        process = subprocess.Popen([*RADFLOW, "serve", "--no-http", "--no-dicom"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        return ServeProcess(process, port, log)


@dataclass
class ServeProcess:
    """A running server and its MLLP port."""

    process: subprocess.Popen[bytes]
    port: int
    log: object

    def wait_until_listening(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Block until the MLLP port accepts connections (fail if the process died first)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"radflow serve exited with {self.process.returncode} before listening")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"radflow serve did not listen on {self.port} within {timeout_s:.0f} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        self.process.kill()
        self.process.wait(30)

    def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL) and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
        close = getattr(self.log, "close", None)
        if close is not None:
            close()


@contextmanager
def center(tmp_path: Path, backend: str, mapping: str) -> Iterator[Center]:
    """A migrated database on `backend` with `mapping` loaded, and the environment for its processes."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RADFLOW_")}
    env.update(RADFLOW_DATA_DIR=str(tmp_path), RADFLOW_AUDIT_KEY="test-audit-key-" + "0" * 32,
               RADFLOW_ENABLE_HTTP="false", RADFLOW_ENABLE_DICOM="false", PYTHONUNBUFFERED="1")
    schema = ""
    if backend == "postgres":
        schema = f"k_{uuid.uuid4().hex[:10]}"
        env.update(RADFLOW_DATABASE_URL=PG_URL, RADFLOW_DATABASE_SCHEMA=schema)
        settings = Settings(database_url=PG_URL, database_schema=schema, data_dir=tmp_path,
                            audit_key=env["RADFLOW_AUDIT_KEY"])
    else:
        url = f"sqlite:///{tmp_path / 'radflow.sqlite3'}"
        env["RADFLOW_DATABASE_URL"] = url
        settings = Settings(database_url=url, data_dir=tmp_path, audit_key=env["RADFLOW_AUDIT_KEY"])
    engine = make_engine(settings.effective_database_url, schema=schema)
    upgrade(engine, schema=schema)
    wired = bootstrap(settings)
    from hl7_service_support import load_mapping_text

    load_mapping_text(wired, mapping)
    wired.engine.dispose()
    try:
        yield Center(env, settings, engine)
    finally:
        if schema:
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
