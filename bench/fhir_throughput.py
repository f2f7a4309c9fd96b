"""FHIR ServiceRequest create and read throughput against a real uvicorn server, on SQLite and PostgreSQL.

    .venv/bin/python bench/fhir_throughput.py [--db sqlite,postgres] [--workers 3] [--connections 32]
                                              [--seconds 15]
    .venv/bin/python bench/fhir_throughput.py --profile read|create [--db postgres] [--requests 2000]
    .venv/bin/python bench/fhir_throughput.py --compare-paths [--db postgres,sqlite]

Each run seeds a fresh database (SQLite file in a temporary directory, or a PostgreSQL schema of its
own, dropped afterwards), starts `uvicorn --workers N` as a separate process, and drives it with `wrk`
(Debian package `wrk`) as the load generator, a further process: first POST /fhir/ServiceRequest (a
complete referral: routed, audited, answered with the representation), then GET /fhir/ServiceRequest/{id}
over the orders just created. Every request carries a bearer token and writes its audit records;
commits are durable (SQLite synchronous=FULL in WAL mode, PostgreSQL as configured: the script prints
synchronous_commit, fsync and wal_sync_method). CPU seconds of the server workers, of PostgreSQL and
of wrk are read from /proc around each phase, giving CPU time per request.

`--profile` runs the same requests in this process through the ASGI app, with the thread-pool hops made
inline so that cProfile sees the handlers, and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parents[1]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REFERRER_STEM = "123456789"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Seeded:
    """What the load needs: a token, the ServiceRequest bodies to post, the environment of the server."""

    token: str
    bodies: list[str]
    env: dict[str, str]


def server_app() -> Any:
    """The ASGI app uvicorn's workers build (`--factory`): radflow wired from RADFLOW_* settings."""
    from radflow.bootstrap import bootstrap
    from radflow.entrypoints.api.app import create_app

    return create_app(bootstrap())


def _environment(database: str, data_dir: Path) -> dict[str, str]:
    env = {"RADFLOW_DATA_DIR": str(data_dir), "RADFLOW_AUDIT_KEY": "bench-" + "k" * 32}
    if database == "postgres":
        env["RADFLOW_DATABASE_URL"] = PG_URL
        env["RADFLOW_DATABASE_SCHEMA"] = f"bench_fhir_{os.getpid()}"
    else:
        env["RADFLOW_DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    return env


def seed(database: str, data_dir: Path, patients: int = 40) -> Seeded:
    """Migrate a fresh database and create an integration user, patients with coverage, request bodies."""
    env = _environment(database, data_dir)
    os.environ.pop("RADFLOW_DATABASE_SCHEMA", None)  # left by an earlier PostgreSQL run in this process
    os.environ.update(env)
    from radflow.adapters.db.migrate import upgrade
    from radflow.bootstrap import bootstrap
    from radflow.domain.users import Principal, Role
    from radflow.domain.values import npi_check_digit
    from radflow.services.accounts import CreateUser, create_user, issue_api_token
    from radflow.services.patients import AddCoverage, RegisterPatient

    radflow = bootstrap()
    upgrade(radflow.engine, schema=radflow.settings.database_schema)
    admin = Principal.system("bench", role=Role.ADMIN)
    create_user(CreateUser(actor=admin, username="ehr", display_name="EHR interface", role="integration",
                           password="bench-password-123"), radflow.uow(), radflow.ctx, radflow.hasher)
    token = issue_api_token(radflow.bus.uow_factory, radflow.ctx, admin, "ehr")
    npi = f"{REFERRER_STEM}{npi_check_digit(REFERRER_STEM)}"
    bodies = []
    for index in range(patients):
        registered = radflow.bus.handle(RegisterPatient(
            actor=admin, family_name=f"Bench{index:03d}", given_name="Pat", birth_date=date(1960 + index % 40, 1, 1),
            sex="F", phone=f"555-400-{index:04d}"))
        coverage = radflow.bus.handle(AddCoverage(actor=admin, patient_id=registered.patient_id,
                                                  payer_id="aetna_commercial", member_id=f"W{index:05d}"))
        bodies.append(json.dumps(_service_request(registered.patient_id, coverage, npi, index)))
    radflow.engine.dispose()
    return Seeded(token=token, bodies=bodies, env=env)


def _service_request(patient_id: str, coverage_id: str, npi: str, index: int) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order", "priority": "routine",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": f"BENCH-{index}"}],
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "requester": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": npi}, "display": "Dr Bench"},
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.16"}]},
                       {"text": "Lumbar radiculopathy, 6 weeks of conservative care"}],
        "insurance": [{"reference": f"Coverage/{coverage_id}"}],
        "note": [{"text": "Benchmark order"}],
    }


def commit_settings(seeded: Seeded) -> dict[str, str]:
    """The database's durability settings, as the benchmark ran with them."""
    url = seeded.env["RADFLOW_DATABASE_URL"]
    engine = create_engine(url)
    with engine.connect() as connection:
        if url.startswith("sqlite"):
            mode = connection.execute(text("PRAGMA journal_mode")).scalar_one()
            found = {"journal_mode": str(mode), "synchronous": "FULL (set on every connection by radflow)"}
        else:
            found = {name: str(connection.execute(text(f"SHOW {name}")).scalar_one())
                     for name in ("synchronous_commit", "fsync", "wal_sync_method", "server_version")}
    engine.dispose()
    return found


def drop_schema(seeded: Seeded) -> None:
    """Remove the PostgreSQL schema the run worked in."""
    schema = seeded.env.get("RADFLOW_DATABASE_SCHEMA")
    if schema:
        engine = create_engine(PG_URL)
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@contextmanager
def running_server(seeded: Seeded, workers: int, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`uvicorn --workers N` serving radflow until the block ends (started once every worker is up)."""
    command = [sys.executable, "-m", "uvicorn", "--factory", "fhir_throughput:server_app", "--app-dir",
               str(ROOT / "bench"), "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--no-access-log", "--log-level", "info"]
    env = {**os.environ, **seeded.env, "PYTHONPATH": str(ROOT / "src")}
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=env, start_new_session=True, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 300  # each worker imports and wires radflow: slow on a busy machine
        while log.read_text(errors="replace").count("Application startup complete") < workers:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"the server did not come up; its log:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10):
            pass
        yield server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of proc(5))
    return found


def _cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two snapshots (a process that started meanwhile counts from zero; one
    that ended meanwhile is lost, so a figure for short-lived processes is a lower bound)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def server_env(server: subprocess.Popen[bytes]) -> str:
    """The server's database URL (PostgreSQL CPU is counted only when the server uses PostgreSQL)."""
    for entry in Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0"):
        if entry.startswith(b"RADFLOW_DATABASE_URL="):
            return entry.decode(errors="replace")
    return ""


LUA = """
local items = {items}
local token = "{token}"
local i = 0
request = function()
  i = i + 1
  local item = items[(i % #items) + 1]
  if "{method}" == "POST" then
    return wrk.format("POST", "/fhir/ServiceRequest",
      {{["Content-Type"] = "application/fhir+json", ["Authorization"] = "Bearer " .. token}}, item)
  end
  return wrk.format("GET", item, {{["Authorization"] = "Bearer " .. token}})
end
"""


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def run_wrk(port: int, method: str, items: list[str], token: str, connections: int, seconds: int,
            work_dir: Path, server: subprocess.Popen[bytes]) -> dict[str, Any]:
    """One wrk run; returns its figures and the CPU seconds each party spent."""
    script = work_dir / f"{method.lower()}.lua"
    script.write_text(LUA.format(items="{" + ",".join(_lua_string(i) for i in items) + "}", token=token,
                                 method=method))
    server_pids = _descendants(server.pid)
    on_postgres = "postgresql" in server_env(server)
    server_before, pg_before = _cpu_by_pid(server_pids), _cpu_by_pid(_postgres_pids() if on_postgres else [])
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "--latency",
                            "-s", str(script), f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
    output, _ = wrk.communicate()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the only child reaped meanwhile
    wrk_cpu = (children_after.ru_utime + children_after.ru_stime) - (children_before.ru_utime
                                                                     + children_before.ru_stime)
    server_cpu = _cpu_spent(server_before, _cpu_by_pid(server_pids))
    pg_cpu = _cpu_spent(pg_before, _cpu_by_pid(_postgres_pids() if on_postgres else []))
    socket_errors = re.search(r"Socket errors: (.*)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    figures = {
        "method": method, "connections": connections, "seconds": seconds, "requests": requests,
        "req_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
        # the latency distribution's own lines: "99%" also ends a figure of the thread stats above them
        "p50": re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1),  # type: ignore[union-attr]
        "p99": re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1),  # type: ignore[union-attr]
        "server_cpu_s": round(server_cpu, 2), "postgres_cpu_s": round(pg_cpu, 2), "wrk_cpu_s": round(wrk_cpu, 2),
        "server_cpu_ms_per_req": round(1000 * server_cpu / max(requests, 1), 3),
        "postgres_cpu_ms_per_req": round(1000 * pg_cpu / max(requests, 1), 3),
    }
    return figures


def created_ids(seeded: Seeded) -> list[str]:
    """Ids of the orders the create phase made (the read phase reads them)."""
    url = seeded.env["RADFLOW_DATABASE_URL"]
    schema = seeded.env.get("RADFLOW_DATABASE_SCHEMA")
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"} if schema else {})
    with engine.connect() as connection:
        ids = [row[0] for row in connection.execute(text("SELECT id FROM orders ORDER BY received_at LIMIT 2000"))]
        audit = connection.execute(text("SELECT count(*) FROM audit_records")).scalar_one()
    engine.dispose()
    print(f"  orders: {len(ids)} read back; audit records in the database: {audit}")
    return ids


def benchmark(database: str, workers: int, connections: int, seconds: int, port: int) -> dict[str, Any]:
    """Seed, serve, create, read, tear down; returns every figure of the run."""
    work_dir = Path(tempfile.mkdtemp(prefix=f"fhir-bench-{database}-"))
    seeded = seed(database, work_dir)
    result: dict[str, Any] = {"database": database, "workers": workers, "settings": commit_settings(seeded),
                              "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
                              "reference_ms_before": round(reference_ms(), 1)}
    try:
        with running_server(seeded, workers, port, work_dir / "server.log") as server:
            run_wrk(port, "POST", seeded.bodies, seeded.token, connections, 3, work_dir, server)  # warm-up
            result["create"] = run_wrk(port, "POST", seeded.bodies, seeded.token, connections, seconds, work_dir,
                                       server)
            paths = [f"/fhir/ServiceRequest/{i}" for i in created_ids(seeded)]
            run_wrk(port, "GET", paths, seeded.token, connections, 3, work_dir, server)  # warm-up
            result["read"] = run_wrk(port, "GET", paths, seeded.token, connections, seconds, work_dir, server)
    finally:
        drop_schema(seeded)
        log = (work_dir / "server.log").read_text(errors="replace")
        errors = log.split("unhandled error")[1:]
        disconnects = sum("ClientDisconnect" in error for error in errors)
        result["server_errors_logged"] = {"client_disconnected": disconnects, "other": len(errors) - disconnects}
        (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
        (ROOT / "bench" / "out" / f"fhir-server-{database}.log").write_text(log)
        shutil.rmtree(work_dir, ignore_errors=True)
    result["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    result["reference_ms_after"] = round(reference_ms(), 1)
    return result


def profile(database: str, mode: str, requests: int, *, enabled: bool = True) -> None:
    """Run `requests` creates or reads in this process under cProfile and print where the time goes."""
    import anyio.to_thread
    import httpx

    work_dir = Path(tempfile.mkdtemp(prefix="fhir-profile-"))
    seeded = seed(database, work_dir)

    async def inline(func: Any, *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = inline  # type: ignore[assignment]  # cProfile sees only this thread
    app = server_app()
    statements: list[str] = []
    event.listen(app.state.radflow.engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_: statements.append(statement.split()[0].upper()))
    headers = {"Authorization": f"Bearer {seeded.token}", "Content-Type": "application/fhir+json"}

    async def drive() -> float:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            ids = []
            for index in range(max(requests if mode == "create" else 200, 1)):
                response = await client.post("/fhir/ServiceRequest", content=seeded.bodies[index % len(seeded.bodies)],
                                             headers=headers)
                ids.append(response.json()["id"])
            if mode == "create":
                return 0.0
            statements.clear()
            profiler.enable()
            started = time.process_time()
            for index in range(requests):
                await client.get(f"/fhir/ServiceRequest/{ids[index % len(ids)]}", headers=headers)
            profiler.disable()
            return time.process_time() - started

    profiler = cProfile.Profile(time.process_time)  # CPU time, not time spent waiting for the database
    if not enabled:
        profiler.enable = profiler.disable = lambda: None  # type: ignore[method-assign]
    if mode == "create":
        profiler.enable()
        started = time.process_time()
        anyio.run(drive)
        profiler.disable()
        spent = time.process_time() - started
    else:
        spent = anyio.run(drive)
    print(f"{mode}: {requests} requests, {1000 * spent / requests:.2f} ms CPU per request in this process "
          f"(client{' and profiler' if enabled else ''} overhead included); machine reference: "
          f"{reference_ms():.1f} ms CPU for sum(range(10**6))")
    kinds = {kind: statements.count(kind) for kind in sorted(set(statements))}
    print(f"SQL statements per request: {len(statements) / requests:.1f} "
          + ", ".join(f"{kind} {count / requests:.1f}" for kind, count in kinds.items()))
    if enabled:
        stats = pstats.Stats(profiler)
        print_by_package(stats, requests)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
    drop_schema(seeded)
    shutil.rmtree(work_dir, ignore_errors=True)


def compare_service_paths(database: str, rounds: int = 3) -> None:
    """CPU per operation and SQL statements of the FHIR paths against the general ones they replace:
    ReadOrder vs GetOrder, ReceiveServiceRequest vs ReceiveReferral followed by GetOrder (no HTTP)."""
    from radflow.adapters.fhir.queries import ReadOrder, ReceiveServiceRequest, register_queries
    from radflow.adapters.fhir.service_request import referral_command
    from radflow.bootstrap import bootstrap
    from radflow.services.views import GetOrder

    work_dir = Path(tempfile.mkdtemp(prefix="fhir-paths-"))
    seeded = seed(database, work_dir, patients=10)
    radflow = bootstrap()
    register_queries(radflow.bus)
    with radflow.uow() as uow:
        user = uow.users.by_username("ehr")
    assert user is not None
    actor = user.principal("bench")
    statements: list[str] = []
    event.listen(radflow.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    bodies = [json.loads(body) for body in seeded.bodies]

    def command(index: int) -> Any:
        return referral_command(bodies[index % len(bodies)], actor, radflow.catalog)

    def create_then_get(index: int) -> Any:
        received = radflow.bus.handle(command(index))
        return radflow.bus.handle(GetOrder(actor=actor, order_id=received.order_ids[0]))

    def create_in_one(index: int) -> Any:
        return radflow.bus.handle(ReceiveServiceRequest(referral=command(index)))

    ids = [create_in_one(index).id for index in range(20)]
    paths = {
        "read: GetOrder": (lambda i: radflow.bus.handle(GetOrder(actor=actor, order_id=ids[i % 20])), 100),
        "read: ReadOrder": (lambda i: radflow.bus.handle(ReadOrder(actor=actor, order_id=ids[i % 20])), 100),
        "create: ReceiveReferral + GetOrder": (create_then_get, 40),
        "create: ReceiveServiceRequest": (create_in_one, 40),
    }
    print(f"{database}: machine reference {reference_ms():.1f} ms CPU for sum(range(10**6))")
    for name, (operation, count) in paths.items():
        figures = []
        for _ in range(rounds):
            statements.clear()
            started = time.process_time()
            for index in range(count):
                operation(index)
            figures.append(1000 * (time.process_time() - started) / count)
        print(f"  {name:36s} CPU ms per operation {[round(f, 1) for f in figures]}, "
              f"SQL statements {len(statements) / count:.0f}")
    radflow.engine.dispose()
    drop_schema(seeded)
    shutil.rmtree(work_dir, ignore_errors=True)


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/src/radflow/" in filename:
        return "radflow." + filename.split("/src/radflow/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C)"
    if "/bench/" in filename:
        return "bench client"
    return "python stdlib"


def print_by_package(stats: pstats.Stats, requests: int) -> None:
    """Own CPU time per package (where the time is spent, not who called it), per request."""
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        totals[_package(filename)] = totals.get(_package(filename), 0.0) + own
    whole = sum(totals.values())
    print(f"own CPU time by package (profiled: {1000 * whole / requests:.1f} ms per request)")
    for package, seconds in sorted(totals.items(), key=lambda item: -item[1])[:16]:
        print(f"  {package:28s} {1000 * seconds / requests:7.2f} ms  {100 * seconds / whole:5.1f} %")


def reference_ms() -> float:
    """CPU milliseconds this machine spends on sum(range(10**6)) right now (about 10 on an idle modern core):
    a shared or contended virtual CPU shows here, and every figure of the run scales with it."""
    started = time.process_time()
    for _ in range(10):
        sum(range(10**6))
    return 100 * (time.process_time() - started)


def main() -> None:
    """Parse the command line and run the benchmark or the profile."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--profile", choices=("read", "create"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--no-profiler", action="store_true", help="with --profile: only time the requests")
    parser.add_argument("--compare-paths", action="store_true",
                        help="CPU and statements of the FHIR read/create paths against GetOrder and ReceiveReferral")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.compare_paths:
        for database in args.db.split(","):
            compare_service_paths(database)
        return
    if args.profile:
        profile(args.db.split(",")[0], args.profile, args.requests, enabled=not args.no_profiler)
        return
    if shutil.which("wrk") is None:
        sys.exit("the load generator is wrk: install the Debian package 'wrk'")
    for database in args.db.split(","):
        print(f"== {database}: {args.workers} uvicorn workers, wrk -t1 -c{args.connections} -d{args.seconds}s")
        result = benchmark(database, args.workers, args.connections, args.seconds, args.port)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
