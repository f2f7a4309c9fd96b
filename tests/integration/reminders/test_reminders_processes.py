"""Acceptance with real processes: `radflow worker` killed mid-run, and a fake clock walked by a file.

1. Two workers deliver reminders while one of them is killed by SIGKILL in the middle of each round;
   the outbox (a sink that deduplicates on the message key, as a receiver does on Message-ID) holds
   every reminder exactly once and no message is lost. RADFLOW_KILL_ROUNDS sets the rounds (20 by
   default; 100 under `-m slow`).
2. A worker reads the time from RADFLOW_CLOCK_FILE while the test walks it through the end of
   daylight saving time (Sunday 1 November 2026) and a holiday (Veterans Day, Wednesday 11 November,
   the center closed): opening hours hold on both sides, reminders go out at 10:00 local on both
   sides, and a preparation due at night waits for each recipient's own morning.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from reminders_world import MANAGER, SCHEDULER, add_ready_order, book, local, seed_capacity
from sqlalchemy import select, text

from radflow.adapters.db import messaging_tables as mt
from radflow.adapters.db import tables as t
from radflow.adapters.db.engine import make_engine
from radflow.adapters.db.migrate import upgrade
from radflow.adapters.notify.outbox import OutboxGateway
from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.domain.errors import ValidationError
from radflow.domain.ids import new_id
from radflow.domain.jobs import JobState
from radflow.domain.patient import Patient, Sex
from radflow.services.ports import OutboundMessage
from radflow.services.reminders.contacts import UpdateContactPreference
from radflow.services.scheduling.capacity_admin import AddClosure
from radflow.services.scheduling.slots import FindSlots
from radflow_test_support import PG_URL, backends

WORKER = [sys.executable, "-m", "radflow.entrypoints.cli", "worker"]
LEASE = 60
NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")


@dataclass
class Center:
    """A migrated database, the environment for worker processes, and a wired radflow on the clock file."""

    radflow: Radflow
    env: dict[str, str]
    clock_file: Path
    outbox: OutboxGateway

    def set_clock(self, moment: datetime, clock_file: Path | None = None) -> None:
        """Move the processes' time (written atomically: a reader never sees half a line)."""
        target = clock_file or self.clock_file
        temporary = target.with_suffix(".tmp")
        temporary.write_text(moment.astimezone(UTC).isoformat())
        temporary.replace(target)

    def start_worker(self, name: str, *, clock_file: Path | None = None,
                     poll_seconds: float = 0.2) -> subprocess.Popen[bytes]:
        """A `radflow worker` process (on its own clock file when given one)."""
        env = {**self.env, "RADFLOW_WORKER_POLL_SECONDS": str(poll_seconds)}
        if clock_file is not None:
            env["RADFLOW_CLOCK_FILE"] = str(clock_file)
        log = self.clock_file.with_name(f"{name}.log").open("wb")
        return subprocess.Popen([*WORKER, "--name", name], env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_started(self, name: str, timeout: float = 300) -> None:
        """Until the worker's log says it started (its imports are done: it polls)."""
        log = self.clock_file.with_name(f"{name}.log")
        deadline = time.monotonic() + timeout
        while f"worker {name} started" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, f"worker {name} did not start"
            time.sleep(0.05)

    def jobs(self) -> list[tuple[str, JobState, int, str | None]]:
        """(key, state, attempts, lease owner) of every message job."""
        with self.radflow.session_factory() as session:
            rows = session.execute(select(t.jobs.c.key, t.jobs.c.state, t.jobs.c.attempts, t.jobs.c.lease_owner)
                                   .where(t.jobs.c.kind == "patient_message"))
            return [(k, s, a, o) for k, s, a, o in rows]

    def wait_until_done(self, now: datetime, timeout: float = 120) -> None:
        """Until no message job due by `now` is pending or running."""
        deadline = time.monotonic() + timeout
        with self.radflow.session_factory() as session:
            while time.monotonic() < deadline:
                open_jobs = session.execute(select(t.jobs.c.key).where(
                    t.jobs.c.kind == "patient_message", t.jobs.c.due_at <= now,
                    t.jobs.c.state.in_([JobState.PENDING.value, JobState.RUNNING.value]))).first()
                session.rollback()
                if open_jobs is None:
                    return
                time.sleep(0.05)
        pytest.fail(f"the workers left due jobs undone at {now.isoformat()}")

    def in_outbox(self, key: str, channel: str) -> bool:
        """Whether the sink holds the message with this key."""
        return self.outbox.path_for(OutboundMessage(key=key, channel=channel, to="", subject="", body="")).exists()


@pytest.fixture
def center(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Center]:
    backend = getattr(request, "param", "sqlite")
    clock_file = tmp_path / "clock.txt"
    env = {**os.environ, "RADFLOW_DATA_DIR": str(tmp_path), "RADFLOW_CLOCK_FILE": str(clock_file),
           "RADFLOW_WORKER_POLL_SECONDS": "0.05", "RADFLOW_WORKER_LEASE_SECONDS": str(LEASE),
           "RADFLOW_AUDIT_KEY": "process-test-key-" + "0" * 32}
    schema = ""
    if backend == "postgres":
        schema = f"t_{uuid.uuid4().hex[:10]}"
        env.update(RADFLOW_DATABASE_URL=PG_URL, RADFLOW_DATABASE_SCHEMA=schema)
    else:
        env.pop("RADFLOW_DATABASE_URL", None)
        env.pop("RADFLOW_DATABASE_SCHEMA", None)
    settings = Settings(data_dir=tmp_path, clock_file=clock_file, database_url=env.get("RADFLOW_DATABASE_URL", ""),
                        database_schema=schema, audit_key=env["RADFLOW_AUDIT_KEY"])
    engine = make_engine(settings.effective_database_url, schema=schema)
    upgrade(engine, schema=schema)
    engine.dispose()
    wired = bootstrap(settings)
    yield Center(wired, env, clock_file, OutboxGateway(tmp_path / "outbox"))
    wired.engine.dispose()
    if schema:
        engine = make_engine(PG_URL)
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def add_patient(radflow: Radflow, number: int) -> str:
    """A patient reached by text only (no email, no address: no PDF to typeset, a fast round)."""
    patient = Patient(id=new_id(), family_name=f"Kill{number}", given_name="Pat", birth_date=date(1980, 1, 1),
                      sex=Sex.MALE, created_at=radflow.ctx.clock.now(), phone=f"555-020-{number:04d}")
    with radflow.uow() as uow:
        uow.patients.add(patient)
        uow.commit()
    return patient.id


def rounds() -> int:
    return int(os.environ.get("RADFLOW_KILL_ROUNDS", "20"))


def weekdays_from(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def run_kill_rounds(center: Center, count: int) -> None:
    radflow = center.radflow
    booked_at = local(2026, 3, 2, 9)
    center.set_clock(booked_at)
    seed_capacity(radflow)
    per_day, numbers = 8, itertools.count(1)
    for visit_day in weekdays_from(date(2026, 3, 16), count):
        for slot in range(per_day):
            patient_id = add_patient(radflow, next(numbers))
            start = datetime(visit_day.year, visit_day.month, visit_day.day, 7, tzinfo=NY) + timedelta(hours=slot)
            book(radflow, add_ready_order(radflow, patient_id), start.astimezone(UTC))
    m = mt.patient_messages
    with radflow.session_factory() as session:
        planned = [(k, c.value, p.value, at) for k, c, p, at in session.execute(
            select(m.c.key, m.c.channel, m.c.purpose, m.c.planned_for))]
    reminder_times = sorted({at for _, _, purpose, at in planned if purpose == "reminder"})
    # The survivor polls slowly, each round's victim fast: the victim claims the round's batch first.
    # Victims start ahead of their round (start-up is slow) on clocks of their own that stand still
    # before anything is due, so that they do nothing until their round begins.
    survivor = center.start_worker("survivor", poll_seconds=1.0)
    idle = booked_at - timedelta(days=1)
    clocks = [center.clock_file.with_name(f"victim-{i}.txt") for i in range(count)]
    for clock_file in clocks:
        center.set_clock(idle, clock_file)
    victims = [center.start_worker(f"victim-{i}", clock_file=clocks[i]) for i in range(min(count, 4))]
    killed_holding = 0
    try:
        center.wait_until_done(booked_at, timeout=300)  # the preparations go out first, unharmed
        for index, due in enumerate(reminder_times):
            if index >= count:
                center.set_clock(due)
                center.wait_until_done(due, timeout=300)
                continue
            victim = victims[index]
            center.wait_started(f"victim-{index}")
            sent_before = len(list(center.outbox.directory.glob("*/*.json")))
            center.set_clock(due, clocks[index])
            center.set_clock(due)
            deadline = time.monotonic() + 300
            while len(list(center.outbox.directory.glob("*/*.json"))) == sent_before:
                assert time.monotonic() < deadline, "nobody started on the round"
                time.sleep(0.01)
            victim.send_signal(signal.SIGKILL)  # mid-run: one message of the round has gone out
            victim.wait()
            killed_holding += any(state is JobState.RUNNING and owner == f"victim-{index}"
                                  for _, state, _, owner in center.jobs())
            if len(victims) < count:
                victims.append(center.start_worker(f"victim-{len(victims)}", clock_file=clocks[len(victims)]))
            center.set_clock(due + timedelta(seconds=LEASE + 1))  # the killed worker's lease runs out
            center.wait_until_done(due + timedelta(seconds=LEASE + 1), timeout=300)
    finally:
        for process in (survivor, *victims):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    assert killed_holding >= max(1, count // 4), "the victim was rarely killed while holding leased jobs"
    jobs = center.jobs()
    assert {state for _, state, _, _ in jobs} == {JobState.DONE}
    missing = [k for k, c, _, _ in planned if not center.in_outbox(k, c)]
    assert missing == [], f"{len(missing)} messages never reached the sink"
    assert len(list(center.outbox.directory.glob("*/*.json"))) == len(planned), "a message reached the sink twice"
    with radflow.session_factory() as session:
        states = [s.value for (s,) in session.execute(select(m.c.state))]
    assert states.count("sent") == len(planned)
    redelivered = [k for k, _, attempts, _ in jobs if attempts > 1]
    assert redelivered, "no job was ever picked up again after a kill"


@pytest.mark.parametrize("center", backends(), indirect=True)
def test_killed_workers_lose_no_reminder_and_the_sink_sees_each_once(center: Center) -> None:
    run_kill_rounds(center, rounds())


@pytest.mark.slow
@pytest.mark.parametrize("center", backends(), indirect=True)
def test_a_hundred_kill_rounds(center: Center) -> None:
    run_kill_rounds(center, int(os.environ.get("RADFLOW_KILL_ROUNDS_LONG", "100")))


def sent_at(center: Center, patient_id: str) -> dict[str, datetime | None]:
    """Each of the patient's messages (purpose.step.channel) and when it went out."""
    m = mt.patient_messages
    with center.radflow.session_factory() as session:
        rows = session.execute(select(m.c.key, m.c.purpose, m.c.channel, m.c.sent_at)
                               .where(m.c.patient_id == patient_id))
        return {f"{p.value}.{k.split('.')[3] if p.value == 'reminder' else 'prep'}.{c.value}": at
                for k, p, c, at in rows}


def walk(center: Center, moment: datetime) -> None:
    """Move the clock file and let the worker finish what is due."""
    center.set_clock(moment)
    time.sleep(0.3)  # the worker's poll interval, several times over
    center.wait_until_done(moment)


@pytest.mark.parametrize("center", backends(), indirect=True)
def test_a_file_clock_walks_the_worker_through_daylight_saving_time_a_holiday_and_a_night(center: Center) -> None:
    radflow = center.radflow
    center.set_clock(local(2026, 10, 30, 0, 30))  # Friday 30 October 2026, 00:30 EDT: 21:30 in Los Angeles
    seed_capacity(radflow)
    radflow.bus.handle(AddClosure(actor=MANAGER, kind="holiday", reason="Veterans Day", site_id="MAIN",
                                  day=date(2026, 11, 11)))
    in_new_york, in_los_angeles = (add_patient(radflow, n) for n in (1, 2))
    radflow.bus.handle(UpdateContactPreference(actor=SCHEDULER, patient_id=in_new_york, how="by phone",
                                               email="ny@example.org"))
    radflow.bus.handle(UpdateContactPreference(actor=SCHEDULER, patient_id=in_los_angeles, how="by phone",
                                               timezone="America/Los_Angeles"))
    first, second = add_ready_order(radflow, in_new_york), add_ready_order(radflow, in_los_angeles)

    # Opening hours on both sides of the change (07:00 local is 11:00 UTC in EDT, 12:00 UTC in EST) and none
    # on the holiday.
    def first_offer(order_id: str, day: date) -> datetime:
        search = radflow.bus.handle(FindSlots(actor=SCHEDULER, order_id=order_id, limit=50, days=3,
                                              not_before=datetime(day.year, day.month, day.day, tzinfo=NY)))
        return min(o.start for o in search.offers)

    assert first_offer(first, date(2026, 10, 30)) == datetime(2026, 10, 30, 11, tzinfo=UTC)
    assert first_offer(first, date(2026, 11, 2)) == datetime(2026, 11, 2, 12, tzinfo=UTC)
    assert first_offer(first, date(2026, 11, 11)).astimezone(NY).date() == date(2026, 11, 12)
    with pytest.raises(ValidationError, match="closed"):
        book(radflow, second, local(2026, 11, 11, 9))
    book(radflow, first, local(2026, 11, 3, 9))
    book(radflow, second, local(2026, 11, 12, 9))

    worker = center.start_worker("clock-walker")
    try:
        walk(center, local(2026, 10, 30, 0, 30))
        assert not list(center.outbox.directory.glob("*/*.json")), "nothing goes out at night, in either zone"
        walk(center, local(2026, 10, 30, 7, 59))
        assert sent_at(center, in_new_york)["preparation.prep.sms"] is None
        walk(center, local(2026, 10, 30, 8, 0))  # the New York patient's morning
        ny_sent = sent_at(center, in_new_york)
        assert ny_sent["preparation.prep.sms"] == ny_sent["preparation.prep.email"] == local(2026, 10, 30, 8)
        assert sent_at(center, in_los_angeles)["preparation.prep.sms"] is None  # 05:00 in Los Angeles
        walk(center, datetime(2026, 10, 30, 8, tzinfo=LA).astimezone(UTC))
        assert sent_at(center, in_los_angeles)["preparation.prep.sms"] == datetime(2026, 10, 30, 15, tzinfo=UTC)

        # The two-day reminder of the 3 November visit is due on Sunday 1 November at 10:00 EST (15:00 UTC):
        # at 10:00 EDT the day's clock still reads 09:00.
        walk(center, datetime(2026, 11, 1, 14, 30, tzinfo=UTC))
        assert sent_at(center, in_new_york)["reminder.d2.sms"] is None
        walk(center, datetime(2026, 11, 1, 15, 0, tzinfo=UTC))
        reminder = sent_at(center, in_new_york)["reminder.d2.sms"]
        assert reminder is not None and reminder.astimezone(NY).hour == 10 and reminder.hour == 15

        # The Los Angeles patient's week-ahead reminder: 10:00 PST on Thursday 5 November (18:00 UTC).
        walk(center, datetime(2026, 11, 5, 17, 59, tzinfo=UTC))
        assert sent_at(center, in_los_angeles)["reminder.d7.sms"] is None
        walk(center, datetime(2026, 11, 5, 18, 0, tzinfo=UTC))
        assert sent_at(center, in_los_angeles)["reminder.d7.sms"] == datetime(2026, 11, 5, 18, tzinfo=UTC)
    finally:
        worker.kill()
        worker.wait(timeout=30)
