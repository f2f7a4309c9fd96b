"""HL7 ingest: throughput and ACK latency of a real `radflow serve` over MLLP, durable commits, on SQLite
and PostgreSQL.

    .venv/bin/python bench/hl7_ingest.py [--db sqlite,postgres] [--kinds order,update,repeat]
                                         [--connections 1,8] [--seconds 20] [--workers N] [--processes N]
    .venv/bin/python bench/hl7_ingest.py --profile order|update|repeat [--db sqlite] [--messages 300]
                                         [--sort cumulative|tottime] [--top 35]

Each database is fresh (a SQLite file in a temporary directory — WAL, synchronous=FULL — or a
PostgreSQL schema of its own, dropped afterwards) with the sample senders' mapping loaded. The server
is `radflow serve --no-http --no-dicom` in a process of its own; the clients are threads of this
process, each a connection sending its next message when the previous ACK arrived (ACK after commit:
the latency measured is the sender's wait). Kinds:

- `order`: ORM^O01 NW, a new patient and a new order each (registration with the duplicate check,
  referral, order, completeness check and routing, status job for the placer, audit records);
- `update`: ADT^A08 of a known patient (found by MRN, demographics changed);
- `repeat`: a message already applied, sent again (looked up, counted, stored ACK returned).

Printed: messages per second, p50/p99 ACK latency, and the server process's CPU time per message
(from /proc), plus PostgreSQL's commit settings. The disk's flush rate is `pg_test_fsync` (run
separately: /usr/lib/postgresql/15/bin/pg_test_fsync -s 3 -f /tmp/pg_test_fsync.out).

`--profile` applies the messages in this process (no sockets) under cProfile and prints where the
time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import text

from radflow.adapters.db.engine import make_engine
from radflow.adapters.db.migrate import upgrade
from radflow.adapters.hl7.mllp import MllpClient
from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.domain.users import Principal, Role
from radflow.services.interfaces.inbound import Hl7Inbound
from radflow.services.interfaces.mappings import LoadMapping

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "tests" / "data" / "hl7" / "mapping.yaml"
PG_URL = os.environ.get("RADFLOW_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TICKS = os.sysconf("SC_CLK_TCK")

ORDER = "\r".join((
    "MSH|^~\\&|EPIC|MAINHOSP|RADFLOW|RIVERSIDE|20260302081500-0500||ORM^O01^ORM_O01|{control}|P|2.5.1",
    "PID|1||{mrn}^^^MAINHOSP^MR||Bench{family}^Pat||{birth}|F|||12 Elm St^^Springfield^IL^62701",
    "PV1|1|O",
    "ORC|NW|{placer}|||||||20260302081400|||1234567893^Welby^Marcus^^^^^^NPI^^^^NPI",
    "OBR|1|{placer}||IMG2001^CT head w/o contrast^EPICPROC|||||||||Headache for two weeks",
    "DG1|1||R51.9^Headache^I10",
)) + "\r"
UPDATE = "\r".join((
    "MSH|^~\\&|EPIC|MAINHOSP|RADFLOW|RIVERSIDE|20260303090000-0500||ADT^A08^ADT_A01|{control}|P|2.5",
    "EVN|A08|20260303085955-0500",
    "PID|1||{mrn}^^^MAINHOSP^MR||Bench{family}^Pat||{birth}|F|||48 Oak Ave^^Springfield^IL^62702"
    "||^PRN^PH^^1^217^{phone}",
)) + "\r"


def person(number: int) -> dict[str, str]:
    """A distinct person per number (name, birth date): registration finds no probable duplicates."""
    return {"mrn": f"B{number:07d}", "family": f"{number:07d}",
            "birth": f"{1930 + number % 70}{1 + number % 12:02d}{1 + number % 28:02d}"}


def order_message(run: str, number: int) -> bytes:
    return ORDER.format(control=f"{run}-{number}", placer=f"P{run}-{number}", **person(number)).encode()


def _numbered_order(run: str, offset: int, number: int) -> bytes:
    return order_message(run, offset + number)


def _same(message: bytes, number: int) -> bytes:
    return message


def update_message(run: str, number: int, population: int) -> bytes:
    who = person(number % population)
    return UPDATE.format(control=f"{run}-{number}", phone=f"{5550000 + number % 10000}", **who).encode()


@dataclass
class Database:
    """A fresh database for one run: settings for this process and environment for the server."""

    name: str
    settings: Settings
    env: dict[str, str]
    schema: str


@contextmanager
def fresh_database(name: str, workdir: Path) -> Iterator[Database]:
    """A migrated database with the sample mapping loaded; dropped (schema) or left in `workdir` after."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RADFLOW_")}
    env.update(RADFLOW_DATA_DIR=str(workdir), RADFLOW_AUDIT_KEY="bench-audit-key-" + "0" * 32,
               RADFLOW_ENABLE_HTTP="false", RADFLOW_ENABLE_DICOM="false")
    schema = ""
    if name == "postgres":
        schema = f"b_{uuid.uuid4().hex[:10]}"
        env.update(RADFLOW_DATABASE_URL=PG_URL, RADFLOW_DATABASE_SCHEMA=schema)
        settings = Settings(database_url=PG_URL, database_schema=schema, data_dir=workdir,
                            audit_key=env["RADFLOW_AUDIT_KEY"])
    else:
        url = f"sqlite:///{workdir / 'radflow.sqlite3'}"
        env["RADFLOW_DATABASE_URL"] = url
        settings = Settings(database_url=url, data_dir=workdir, audit_key=env["RADFLOW_AUDIT_KEY"])
    engine = make_engine(settings.effective_database_url, schema=schema)
    upgrade(engine, schema=schema)
    wired = bootstrap(settings)
    wired.bus.handle(LoadMapping(actor=Principal.system("bench", role=Role.ADMIN), content=MAPPING.read_text(),
                                 source=str(MAPPING)))
    wired.engine.dispose()
    try:
        yield Database(name, settings, env, schema)
    finally:
        if schema:
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(database: Database, workers: int, processes: int = 1) -> Iterator[tuple[int, list[int]]]:
    """`radflow serve --no-http --no-dicom` on an ephemeral port (several processes share it with
    SO_REUSEPORT); yields (port, pids) once every process listens."""
    port = free_port()
    env = {**database.env, "RADFLOW_MLLP_PORT": str(port), "RADFLOW_MLLP_REUSE_PORT": str(processes > 1).lower()}
    if workers:
        env["RADFLOW_MLLP_WORKERS"] = str(workers)
    workdir = Path(database.env["RADFLOW_DATA_DIR"])
    logs = [workdir / f"serve-{number}.log" for number in range(processes)]
    started = []
    for log in logs:
        with open(log, "wb") as output:
            started.append(subprocess.Popen([sys.executable, "-m", "radflow.entrypoints.cli", "serve", "--no-http",
                                             "--no-dicom"], env=env, stdout=output, stderr=subprocess.STDOUT))
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in started):
                raise RuntimeError("a radflow serve process exited before listening")
            if all(b"HL7 MLLP listener on" in log.read_bytes() for log in logs):
                break
            time.sleep(0.3)
        yield port, [p.pid for p in started]
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(30)


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the server processes, from /proc."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


@dataclass
class Result:
    """One measured run."""

    database: str
    kind: str
    connections: int
    messages: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_s: float
    refused: int

    def row(self) -> str:
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat) if lat else 0.0
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0.0
        rate = self.messages / self.seconds if self.seconds else 0.0
        cpu = 1000 * self.server_cpu_s / self.messages if self.messages else 0.0
        return (f"| {self.database} | {self.kind} | {self.connections} | {self.messages} | {rate:.1f} | {p50:.1f} | "
                f"{p99:.1f} | {cpu:.1f} | {self.refused} |")


def drive(port: int, pid: list[int], database: str, kind: str, connections: int, seconds: float,
          make: Callable[[int], bytes]) -> Result:
    """`connections` senders, each waiting for its ACK before the next message, for `seconds`."""
    latencies: list[float] = []
    refused = [0]
    counter = iter(range(10**9))
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def sender() -> None:
        with MllpClient("127.0.0.1", port, ack_timeout_s=120) as client:
            while time.monotonic() < stop_at:
                with lock:
                    number = next(counter)
                raw = make(number)
                started = time.perf_counter()
                reply = client.send(raw)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    if b"MSA|AA|" not in reply and b"MSA|CA|" not in reply:
                        refused[0] += 1

    cpu_before = cpu_seconds(pid)
    began = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began
    return Result(database, kind, connections, len(latencies), took, latencies, cpu_seconds(pid) - cpu_before,
                  refused[0])


def postgres_settings() -> str:
    engine = make_engine(PG_URL)
    names = ("synchronous_commit", "fsync", "wal_sync_method", "commit_delay", "commit_siblings",
             "full_page_writes")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT name, setting FROM pg_settings WHERE name = ANY(:names)"),
                                  {"names": list(names)}).all()
    engine.dispose()
    return ", ".join(f"{name}={setting}" for name, setting in sorted(rows))


def run(databases: list[str], kinds: list[str], connection_counts: list[int], seconds: float,
        workers: int, processes: int) -> None:
    print("| database | kind | connections | messages | msg/s | p50 ms | p99 ms | server CPU ms/msg | not AA |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in databases:
        workdir = Path(tempfile.mkdtemp(prefix=f"hl7bench-{name}-"))
        try:
            with fresh_database(name, workdir) as database, server(database, workers, processes) as (port, pid):
                population = 0
                for kind in kinds:
                    for connections in connection_counts:
                        run_id = f"{kind[0].upper()}{connections}{uuid.uuid4().hex[:4]}"
                        if kind == "order":
                            make = partial(_numbered_order, run_id, population)
                            result = drive(port, pid, name, kind, connections, seconds, make)
                            population += result.messages
                        elif kind == "update":
                            if population == 0:  # patients to update: register some first
                                seed = drive(port, pid, name, "order", 1, min(seconds, 10),
                                             partial(_numbered_order, "SEED", 0))
                                population = seed.messages
                            make = partial(update_message, run_id, population=population)
                            result = drive(port, pid, name, kind, connections, seconds, make)
                        else:
                            repeated = order_message("REPEAT", 10**8)
                            MllpClient("127.0.0.1", port, ack_timeout_s=120).send(repeated)
                            result = drive(port, pid, name, kind, connections, seconds, partial(_same, repeated))
                        print(result.row(), flush=True)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    if "postgres" in databases:
        print(f"\nPostgreSQL: {postgres_settings()}")


def profile(kind: str, database_name: str, messages: int, sort: str = "cumulative", top: int = 35) -> None:
    """Apply `messages` of one kind in this process under cProfile; print the top of the profile."""
    workdir = Path(tempfile.mkdtemp(prefix="hl7prof-"))
    try:
        with fresh_database(database_name, workdir) as database:
            wired: Radflow = bootstrap(database.settings)
            inbound = Hl7Inbound(wired.bus.uow_factory, wired.ctx)
            for number in range(200):
                inbound.handle(order_message("WARM", number), "bench")
            makers: dict[str, Callable[[int], bytes]] = {
                "order": partial(_numbered_order, "PROF", 1000),
                "update": partial(update_message, "PROF", population=200),
                "repeat": partial(_same, order_message("WARM", 0)),
            }
            make = makers[kind]
            profiler = cProfile.Profile()
            cpu, wall = time.process_time(), time.perf_counter()
            profiler.enable()
            for number in range(messages):
                inbound.handle(make(number), "bench")
            profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"{kind} on {database_name}: {1000 * wall / messages:.1f} ms wall, "
                  f"{1000 * cpu / messages:.1f} ms CPU per message (profiler on)")
            pstats.Stats(profiler).sort_stats(sort).print_stats(top)
            wired.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--kinds", default="order,update,repeat")
    parser.add_argument("--connections", default="1,8")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=0, help="RADFLOW_MLLP_WORKERS for the server (0: sized)")
    parser.add_argument("--processes", type=int, default=1, help="radflow serve processes sharing the port")
    parser.add_argument("--profile", choices=("order", "update", "repeat"))
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--sort", default="cumulative", help="profile order: cumulative, tottime, ...")
    parser.add_argument("--top", type=int, default=35, help="profile lines shown")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile, args.db.split(",")[0], args.messages, args.sort, args.top)
        return
    run(args.db.split(","), args.kinds.split(","), [int(c) for c in args.connections.split(",")], args.seconds,
        args.workers, args.processes)


if __name__ == "__main__":
    main()
