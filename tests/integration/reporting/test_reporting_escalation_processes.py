"""Durable critical-result deadlines with real worker processes: two workers, one killed mid-deadline.

The workers are `radflow worker` processes on the test's database, with their clock read from a file
(RADFLOW_CLOCK_FILE) that the test runs at wall-clock speed from a few seconds before each deadline.
At each deadline one worker is killed (SIGKILL) just after it passed; the other must fire every
escalation once, no later than 60 s after its due time (measured on the workers' clock: the job's
finished_at against its due_at), and the outbox — a receiver that deduplicates on the message key —
holds exactly one message per recipient and step.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from reporting_world import COVERING_NPI, ORDERING_NPI, new_study
from sqlalchemy import select

from radflow.adapters.db import tables as t
from radflow.adapters.db.reporting_tables import critical_results
from radflow.bootstrap import Radflow
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.services.critical_results import MarkCritical
from radflow.services.reading import ClaimStudy
from radflow.services.reports import SaveReport, StartReport
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)

RADFLOW = [sys.executable, "-m", "radflow.entrypoints.cli", "worker"]
LEASE_SECONDS = 10
LATEST_SECONDS = 60  # the acceptance bound: fired no later than 60 s after its due time


class RunningClock:
    """Writes the workers' clock file: `start` plus the wall-clock time elapsed since `run_from` was called."""

    def __init__(self, path: Path, moment: datetime) -> None:
        self.path = path
        self._base, self._since, self._running = moment, time.monotonic(), False
        self._stop = threading.Event()
        self._write(moment)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _write(self, moment: datetime) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(moment.isoformat())
        temporary.replace(self.path)  # atomic: a worker never reads half an instant

    def now(self) -> datetime:
        """The instant the workers see."""
        if not self._running:
            return self._base
        return self._base + timedelta(seconds=time.monotonic() - self._since)

    def run_from(self, moment: datetime) -> None:
        """Jump to `moment`, then run at wall-clock speed."""
        self._base, self._since, self._running = moment, time.monotonic(), True
        self._write(moment)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            if self._running:
                self._write(self.now())

    def stop(self) -> None:
        """Stop writing."""
        self._stop.set()
        self._thread.join(timeout=5)


def worker_env(settings: Settings, clock_file: Path) -> dict[str, str]:
    env = {**os.environ, "RADFLOW_DATA_DIR": str(settings.data_dir), "RADFLOW_DATABASE_URL": settings.database_url,
           "RADFLOW_DATABASE_SCHEMA": settings.database_schema, "RADFLOW_AUDIT_KEY": settings.audit_key,
           "RADFLOW_CLOCK_FILE": str(clock_file), "RADFLOW_WORKER_POLL_SECONDS": "0.2",
           "RADFLOW_WORKER_LEASE_SECONDS": str(LEASE_SECONDS)}
    return env


@pytest.fixture
def workers(test_settings: Settings, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes the test starts (and kills); all stopped at the end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def start_worker(env: dict[str, str], name: str, log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{name}.log").open("wb")
    return subprocess.Popen([*RADFLOW, "--name", name], env=env, stdout=log, stderr=subprocess.STDOUT)


def raise_criticals(radflow: Radflow, make_user: UserFactory, count: int) -> list[str]:
    """`count` head CTs with a critical result each, raised now, nobody acknowledging."""
    rad = make_user("radiologist").principal
    ids = []
    for number in range(count):
        study = new_study(radflow, "CT-HEAD", family=f"Kill{number}")
        radflow.bus.handle(ClaimStudy(actor=rad, order_id=study.order_id))
        radflow.bus.handle(StartReport(actor=rad, order_id=study.order_id))
        radflow.bus.handle(SaveReport(actor=rad, order_id=study.order_id, sections={
            "impression": "Acute subdural hematoma."}))
        ids.append(radflow.bus.handle(MarkCritical(actor=rad, order_id=study.order_id, level="critical",
                                                   finding="Acute subdural hematoma",
                                                   finding_types=("intracranial_hemorrhage",))))
    return ids


def jobs_done(radflow: Radflow, keys: list[str]) -> list[tuple[str, datetime, datetime | None, str]]:
    with radflow.session_factory() as session:
        rows = session.execute(select(t.jobs.c.key, t.jobs.c.due_at, t.jobs.c.finished_at, t.jobs.c.state)
                               .where(t.jobs.c.key.in_(keys))).all()
    return [(row.key, row.due_at, row.finished_at, str(row.state)) for row in rows]


def wait_for(radflow: Radflow, keys: list[str], *, seconds: float, logs: Path) -> list[tuple[str, datetime,
                                                                                            datetime | None, str]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = jobs_done(radflow, keys)
        if len(rows) == len(keys) and all(state == "done" for *_, state in rows):
            return rows
        time.sleep(0.3)
    worker_logs = "\n".join(p.read_text()[-3000:] for p in sorted(logs.glob("*.log")))
    pytest.fail(f"jobs not done in {seconds} s: {jobs_done(radflow, keys)}\n{worker_logs}")


def logs_of(radflow: Radflow, ids: list[str]) -> dict[str, list[dict[str, str]]]:
    with radflow.session_factory() as session:
        rows = session.execute(select(critical_results.c.id, critical_results.c.log)
                               .where(critical_results.c.id.in_(ids))).all()
    return {row.id: list(row.log) for row in rows}


def run_deadline(radflow: Radflow, running: RunningClock, due: datetime, victim: subprocess.Popen[bytes],
                 keys: list[str], logs: Path) -> float:
    """Run the clock over a deadline, kill `victim` just after it, wait for the jobs; the worst delay (s)."""
    running.run_from(due - timedelta(seconds=3))
    while running.now() < due + timedelta(seconds=0.4):
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    rows = wait_for(radflow, keys, seconds=LATEST_SECONDS + 30, logs=logs)
    delays = [(finished - due_at).total_seconds() for _, due_at, finished, _ in rows if finished is not None]
    return max(delays)


def test_each_escalation_fires_once_within_60_s_with_a_worker_killed_at_each_deadline(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, test_settings: Settings, tmp_path: Path,
        workers: list[subprocess.Popen[bytes]]) -> None:
    check_escalations(radflow, make_user, clock, test_settings, tmp_path, workers,
                      count=int(os.environ.get("RADFLOW_ESCALATION_RESULTS", "8")))


@pytest.mark.slow
def test_forty_critical_results_escalate_once_each_with_workers_killed(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, test_settings: Settings, tmp_path: Path,
        workers: list[subprocess.Popen[bytes]]) -> None:
    check_escalations(radflow, make_user, clock, test_settings, tmp_path, workers, count=40)


def check_escalations(radflow: Radflow, make_user: UserFactory, clock: FakeClock, test_settings: Settings,
                      tmp_path: Path, workers: list[subprocess.Popen[bytes]], *, count: int) -> None:
    """Raise `count` results, run both deadlines with a worker killed at each, check once-and-in-time."""
    ordering = make_user("referring_provider", npi=ORDERING_NPI).principal
    covering = make_user("referring_provider", npi=COVERING_NPI, covers_npis=(ORDERING_NPI,)).principal
    chief = make_user("radiologist", section_chief=True).principal
    raised_at = clock.now()
    ids = raise_criticals(radflow, make_user, count)

    clock_file, logs = tmp_path / "clock.txt", tmp_path / "logs"
    logs.mkdir()
    running = RunningClock(clock_file, raised_at)
    env = worker_env(test_settings, clock_file)
    workers.extend([start_worker(env, "worker-a", logs), start_worker(env, "worker-b", logs)])
    try:
        wait_for(radflow, [f"critical:{i}:notify:0" for i in ids], seconds=90, logs=logs)
        first = run_deadline(radflow, running, raised_at + timedelta(minutes=20), workers[0],
                             [f"critical:{i}:escalate:0" for i in ids], logs)
        wait_for(radflow, [f"critical:{i}:notify:1" for i in ids], seconds=60, logs=logs)
        workers.append(start_worker(env, "worker-c", logs))
        second = run_deadline(radflow, running, raised_at + timedelta(minutes=40), workers[1],
                              [f"critical:{i}:escalate:1" for i in ids], logs)
        wait_for(radflow, [f"critical:{i}:notify:2" for i in ids], seconds=60, logs=logs)
    finally:
        running.stop()
    print(f"\nworst escalation delay after the deadline: first {first:.1f} s, second {second:.1f} s "
          f"({count} critical results, lease {LEASE_SECONDS} s, a worker killed at each deadline)")
    assert first <= LATEST_SECONDS and second <= LATEST_SECONDS

    for result_id, log in logs_of(radflow, ids).items():
        escalations = [entry["step"] for entry in log if entry["event"] == "escalated"]
        assert escalations == ["covering_provider", "section_chief"], (result_id, log)
        told = [(entry["to"], entry["step"]) for entry in log if entry["event"] == "notified"]
        assert told == [(ordering.display_name, "ordering_provider"), (covering.display_name, "covering_provider"),
                        (chief.display_name, "section_chief")], (result_id, log)
    outbox = [json.loads(p.read_text()) for p in (test_settings.data_dir / "outbox").glob("*/*.json")]
    keys = sorted(message["key"] for message in outbox if message["key"].startswith("critical:"))
    expected = sorted(f"critical:{i}:step{step}:{user.user_id}" for i in ids
                      for step, user in enumerate((ordering, covering, chief)))
    assert keys == expected  # the deduplicating receiver saw each message exactly once
