"""Slot search latency: one order over a 14-day horizon, 35 scanners, 50,000 booked appointments, PostgreSQL.

    .venv/bin/python bench/slot_search.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                          [--appointments 50000] [--searches 300] [--profile]

Seeds a schema of its own (dropped afterwards): three sites in New York, 35 scanners (MR 8, CT 8,
US 8, MG 4, DX 4, NM 2, PT 1) open 07:00–21:00 on weekdays and 08:00–14:00 on Saturdays, staffed
the same hours, supervision 08:00–18:00, a holiday in the horizon; then 50,000 booked appointments
bulk-loaded with executemany (patients and orders first: the appointments reference them), spread
over the 30 days after "now" and as many days before as it takes, about 80 % of each scanner day
filled with random gaps, no patient twice on one day. Every search is one `FindSlots` through the service bus,
in this process: a transaction that reads the order, the patient, the capacity model, the booked
time of the capable scanners and the patient's other exams, runs the search and writes its audit
record. Reported: p50, p95 and max per protocol and overall, after 10 warm-up searches.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from radflow.adapters.db import scheduling_tables as st  # noqa: E402
from radflow.adapters.db import tables as t  # noqa: E402
from radflow.adapters.db.engine import make_engine  # noqa: E402
from radflow.adapters.db.migrate import upgrade  # noqa: E402
from radflow.bootstrap import Radflow, bootstrap  # noqa: E402
from radflow.config import Settings  # noqa: E402
from radflow.domain.clock import FakeClock  # noqa: E402
from radflow.domain.users import Principal, Role  # noqa: E402
from radflow.services.scheduling.capacity_admin import (  # noqa: E402
    AddClosure,
    GetCapacity,
    SaveScanner,
    SaveSite,
)
from radflow.services.scheduling.slots import FindSlots  # noqa: E402

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 4, 13, 7, 30, tzinfo=NY).astimezone(UTC)  # a Monday morning
MANAGER = Principal.system("bench", role=Role.MANAGER)
SCHEDULER = Principal.system("bench", role=Role.SCHEDULER)
FLEET = {"MR": 8, "CT": 8, "US": 8, "MG": 4, "DX": 4, "NM": 2, "PT": 1}
SLOT = {"MR": 45, "CT": 20, "US": 30, "MG": 20, "DX": 10, "NM": 60, "PT": 45}
CAPS = {"MR": [["1.5T"], ["3T"], ["3T", "wide_bore"], ["1.5T", "wide_bore"]], "MG": [["tomo"]],
        "NM": [["spect_ct"]], "PT": [["pet_ct"]]}
SEARCHED = ("MR-LSPINE", "MR-BRAIN", "CT-ABDPEL", "CT-CHEST", "US-ABD", "MG-SCREEN-TOMO", "DX-CHEST", "PT-FDG")


def _id() -> str:
    return uuid.uuid4().hex


def _week(start: str, end: str, days: tuple[str, ...], **extra: object) -> list[dict[str, object]]:
    return [{"day": d, "from": start, "to": end, **extra} for d in days]


def seed_capacity(radflow: Radflow) -> list[tuple[str, str, str]]:
    """Three sites, 35 scanners; returns (scanner id, site id, modality)."""
    weekdays = ("mon", "tue", "wed", "thu", "fri")
    for site in ("EAST", "WEST", "NORTH"):
        radflow.bus.handle(SaveSite(actor=MANAGER, document={
            "id": site, "name": f"{site.title()} imaging", "timezone": "America/New_York",
            "supervision": _week("08:00", "18:00", weekdays)}))
    scanners = []
    sites = ("EAST", "WEST", "NORTH")
    for modality, count in FLEET.items():
        for k in range(count):
            scanner_id, site = f"{modality}{k + 1}", sites[k % 3]
            hours = [*_week("07:00", "21:00", weekdays), *_week("08:00", "14:00", ("sat",))]
            radflow.bus.handle(SaveScanner(actor=MANAGER, document={
                "id": scanner_id, "site_id": site, "name": scanner_id, "modality": modality,
                "capabilities": CAPS.get(modality, [[]])[k % len(CAPS.get(modality, [[]]))],
                "opening": hours, "shifts": [{**h, "technologist": "tech"} for h in hours]}))
            scanners.append((scanner_id, site, modality))
    radflow.bus.handle(AddClosure(actor=MANAGER, kind="holiday", site_id="EAST", day=date(2026, 4, 20),
                                  reason="bench holiday"))
    return scanners


def _slots(scanners: list[tuple[str, str, str]], wanted: int, rng: random.Random) -> Iterator[tuple[str, str, datetime,
                                                                                                   datetime]]:
    """Booked (scanner, site, start, end) spans, ~80 % of each opening filled: the next 30 days, then backwards."""
    today = NOW.astimezone(NY).date()
    days = [today + timedelta(days=k) for k in range(30)] + [today - timedelta(days=k) for k in range(1, 400)]
    made = 0
    for day in days:
        if day.weekday() == 6:
            continue
        open_, close = (7, 21) if day.weekday() < 5 else (8, 14)
        for scanner_id, site, modality in scanners:
            cursor = datetime(day.year, day.month, day.day, open_, tzinfo=NY)
            end_of_day = datetime(day.year, day.month, day.day, close, tzinfo=NY)
            while cursor + timedelta(minutes=SLOT[modality]) <= end_of_day:
                if rng.random() < 0.8:
                    yield scanner_id, site, cursor.astimezone(UTC), (cursor + timedelta(minutes=SLOT[modality])
                                                                     ).astimezone(UTC)
                    made += 1
                    if made >= wanted:
                        return
                cursor += timedelta(minutes=SLOT[modality])


def bulk_load(radflow: Radflow, scanners: list[tuple[str, str, str]], wanted: int, rng: random.Random) -> int:
    """Patients, orders and booked appointments, inserted with executemany."""
    patients = [_id() for _ in range(max(1000, wanted // 2))]
    busy_days: dict[str, set[date]] = {}
    patient_rows, order_rows, appointment_rows = [], [], []
    for pid in patients:
        patient_rows.append({"id": pid, "family_name": "Bench", "given_name": "Pat", "middle_name": "",
                             "birth_date": date(1970, 1, 1), "sex": "F", "created_at": NOW, "phone": "", "email": "",
                             "address_line": "", "city": "", "state": "", "postal_code": "", "preferred_language": "en",
                             "probable_duplicate_ids": [], "merged_into_id": None, "is_temporary": False})
    for scanner_id, site, start, end in _slots(scanners, wanted, rng):
        day = start.astimezone(NY).date()
        while True:
            pid = rng.choice(patients)
            if day not in busy_days.setdefault(pid, set()):
                busy_days[pid].add(day)
                break
        oid = _id()
        order_rows.append(_order_row(oid, pid, "scheduled"))
        appointment_rows.append({
            "id": _id(), "order_id": oid, "patient_id": pid, "scanner_id": scanner_id, "site_id": site, "lane": 0,
            "start": start, "end": end, "patient_from": start, "state": "booked" if end > NOW else "attended",
            "booked_at": start - timedelta(days=10), "booked_by": "bench", "visit_id": "", "overbooking_policy": "",
            "cancel_reason": "", "version": 1, "log": []})
    with radflow.engine.begin() as connection:
        connection.execute(insert(t.patients), patient_rows)
        connection.execute(insert(t.orders), order_rows)
        connection.execute(insert(st.scheduling_appointments), appointment_rows)
    return len(appointment_rows)


def _order_row(oid: str, pid: str, state: str, protocol: str = "MR-LSPINE", modality: str = "MR",
               contrast: str | None = None) -> dict[str, object]:
    return {"id": oid, "patient_id": pid, "referral_id": None, "accession_number": oid[:16],
            "study_instance_uid": f"2.25.{int(oid, 16)}"[:64], "placer_order_number": "", "placer_system": "",
            "protocol_code": protocol, "requested_modality": modality, "contrast": contrast, "cpt_code": "",
            "body_part": "", "laterality": None, "reason_for_exam": "", "diagnosis_codes": [], "clinical_notes": "",
            "ordering_provider_npi": "", "ordering_provider_name": "", "copy_to": [], "priority": "routine",
            "track": "routine", "setting": "outpatient", "coverage_id": None, "self_pay": True,
            "special_instructions": "", "protocolled_by": None, "protocolled_at": None, "missing_items": [],
            "state": state, "held_from": None, "cancel_reason": "", "received_at": NOW - timedelta(days=2),
            "target_at": NOW + timedelta(days=8), "created_by": "bench", "version": 1}


def searched_orders(radflow: Radflow, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(order id, protocol) of new ready orders, for patients who already have appointments."""
    with radflow.engine.connect() as connection:
        patients = [row[0] for row in connection.execute(text(
            "SELECT DISTINCT patient_id FROM scheduling_appointments WHERE state = 'booked' LIMIT 2000"))]
    rows, made = [], []
    for k in range(count):
        protocol = SEARCHED[k % len(SEARCHED)]
        entry = radflow.catalog.protocol(protocol)
        contrast = "with" if protocol == "CT-ABDPEL" else None
        oid = _id()
        rows.append(_order_row(oid, rng.choice(patients), "ready_to_schedule", protocol, entry.modality.value,
                               contrast))
        made.append((oid, protocol))
    with radflow.engine.begin() as connection:
        connection.execute(insert(t.orders), rows)
    return made


def _watch_backends(radflow: Radflow) -> set[int]:
    """The PostgreSQL backend process of every connection this process opens (filled as they open)."""
    pids: set[int] = set()

    def remember(dbapi_connection: Any, _record: Any) -> None:
        pids.add(int(dbapi_connection.info.backend_pid))

    event.listen(radflow.engine, "connect", remember)
    return pids


def _cpu_ms(pids: set[int]) -> float:
    """User + system CPU milliseconds of these processes so far (Linux /proc; 0 for any gone or foreign)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    return total


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-int(share * len(ordered) * 1000) // 1000) - 1)]


def main() -> None:
    """Seed, search, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--appointments", type=int, default=50_000)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", metavar="SCHEMA", default="",
                        help="seed into (or reuse) this schema and keep it afterwards (for profiling)")
    parser.add_argument("--profile", action="store_true", help="print where the search's time goes (cProfile)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    schema = args.keep or f"bench_slots_{uuid.uuid4().hex[:8]}"
    engine = make_engine(args.url, schema=schema)
    with engine.connect() as connection:
        reused = connection.execute(text("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = :s "
                                         "AND table_name = 'scheduling_appointments'"), {"s": schema}).scalar_one()
    upgrade(engine, schema=schema)
    engine.dispose()
    settings = Settings(database_url=args.url, database_schema=schema, data_dir=Path("/tmp") / schema,
                        audit_key="bench-audit-key-" + "0" * 32)
    radflow = bootstrap(settings, clock=FakeClock(NOW))
    backends = _watch_backends(radflow)
    try:
        began = time.perf_counter()
        if reused:
            with radflow.engine.connect() as connection:
                loaded = connection.execute(text("SELECT COUNT(*) FROM scheduling_appointments")).scalar_one()
            scanners = [(s.id, s.site_id, s.modality.value) for s in radflow.bus.handle(GetCapacity(
                actor=MANAGER, start=NOW, end=NOW)).scanners]
        else:
            scanners = seed_capacity(radflow)
            loaded = bulk_load(radflow, scanners, args.appointments, rng)
            with radflow.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        orders = searched_orders(radflow, args.searches + 10, rng)
        with radflow.engine.connect() as connection:
            in_horizon = connection.execute(text(
                "SELECT COUNT(*) FROM scheduling_appointments WHERE state = 'booked' AND start < :end"),
                {"end": NOW + timedelta(days=14)}).scalar_one()
        print(f"seeded {loaded:,} appointments ({in_horizon:,} booked in the next 14 days) on {len(scanners)} "
              f"scanners in {time.perf_counter() - began:.1f} s")
        timings: dict[str, list[float]] = {}
        cpu: list[float] = []
        offered = 0
        profiler = cProfile.Profile()
        if args.profile:
            profiler.enable()
        for number, (order_id, protocol) in enumerate(orders):
            server_before = _cpu_ms(backends)
            client_before = time.process_time()
            started = time.perf_counter()
            result = radflow.bus.handle(FindSlots(actor=SCHEDULER, order_id=order_id))
            elapsed = (time.perf_counter() - started) * 1000
            spent = (time.process_time() - client_before) * 1000 + _cpu_ms(backends) - server_before
            if number >= 10:  # warm-up
                timings.setdefault(protocol, []).append(elapsed)
                cpu.append(spent)
                offered += bool(result.offers)
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        everything = [v for values in timings.values() for v in values]
        print(f"\n{len(everything)} searches, {offered} with options; milliseconds per FindSlots (in-process)\n")
        print("| protocol | searches | p50 | p95 | max |\n|---|---:|---:|---:|---:|")
        for protocol, values in sorted(timings.items()):
            print(f"| {protocol} | {len(values)} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} "
                  f"| {max(values):.1f} |")
        print(f"| **all** | {len(everything)} | {statistics.median(everything):.1f} | "
              f"{percentile(everything, 0.95):.1f} | {max(everything):.1f} |")
        print(f"\nCPU per search (this process + its PostgreSQL backend), ms: p50 {statistics.median(cpu):.1f}, "
              f"p95 {percentile(cpu, 0.95):.1f}; load average during the run: {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores")
    finally:
        radflow.engine.dispose()
        if not args.keep:
            cleanup = make_engine(args.url)
            with cleanup.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            cleanup.dispose()


if __name__ == "__main__":
    main()
