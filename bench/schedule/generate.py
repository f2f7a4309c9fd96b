"""Generate scheduling benchmark instances (../shared/bench/schedule/FORMAT.md) that cover every item
of FORMAT's "What instances may contain".

    .venv/bin/python bench/schedule/generate.py bench/out/schedule          # every recipe
    .venv/bin/python bench/schedule/generate.py bench/out/schedule gen-03   # recipes whose name starts so

Each recipe is deterministic (its seed is part of it). A fleet of up to 35 scanners on three sites:
MAIN (hospital: 24h CT and XR, supervision into the evening and on weekends), NORTH (outpatient:
Saturday hours, supervision with a lunch gap) and EAST (small, no supervision at all). Orders are
stat 3 %, urgent 17 %, routine 80 % with targets of 4 h, 72 h and 240 h; a share is a backlog
released before the horizon (some already overdue); about 12 % of patients have two or three
orders; 40 % of orders carry availability windows (a few only after the horizon); some protocols
need a capability that no scanner of the fleet has; fixed bookings are taken from patients with
other orders first, and placed feasibly.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from radflow.scheduling.optimizer.benchmark_format import BenchmarkCalendar, read_instance
from radflow.scheduling.optimizer.problem import SchedulingProblem
from radflow.scheduling.optimizer.schedule import Schedule

DAY = 1440
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
PROTOCOLS: list[tuple[str, str, list[str], int, bool, float]] = [
    # code, modality, requires, minutes, contrast, relative frequency within the modality
    ("MR-BRAIN", "MR", [], 30, False, 3),
    ("MR-BRAIN-C", "MR", [], 45, True, 2),
    ("MR-BRAIN-EPI", "MR", ["3T"], 60, False, 0.5),
    ("MR-IAC-C", "MR", [], 45, True, 0.5),
    ("MR-CSPINE", "MR", [], 30, False, 1.5),
    ("MR-LSPINE", "MR", [], 30, False, 3),
    ("MR-LSPINE-WB", "MR", ["wide_bore"], 30, False, 0.7),
    ("MR-KNEE", "MR", [], 30, False, 2),
    ("MR-SHOULDER", "MR", [], 35, False, 1.2),
    ("MR-PROSTATE-C", "MR", ["3T"], 60, True, 0.8),
    ("MR-BREAST-C", "MR", [], 45, True, 0.8),
    ("MR-ABD-C", "MR", [], 60, True, 1),
    ("MR-MRCP", "MR", [], 45, False, 0.6),
    ("MR-CARDIAC-C", "MR", ["cardiac"], 75, True, 0.3),
    ("CT-HEAD", "CT", [], 15, False, 3),
    ("CT-HEAD-C", "CT", [], 20, True, 1),
    ("CT-CHEST", "CT", [], 15, False, 2),
    ("CT-CHEST-C", "CT", [], 20, True, 2),
    ("CT-ABDPEL-C", "CT", [], 25, True, 3),
    ("CT-CAP-C", "CT", [], 30, True, 1.5),
    ("CT-LDCT", "CT", [], 15, False, 1),
    ("CT-SINUS", "CT", [], 15, False, 0.5),
    ("CT-PE", "CT", [], 25, True, 1),
    ("CT-CCTA", "CT", ["cardiac"], 30, True, 0.5),
    ("CT-CACS", "CT", ["cardiac"], 15, False, 0.4),
    ("CT-STONE", "CT", [], 15, False, 0.8),
    ("CT-CTA-HN", "CT", [], 30, True, 0.6),
    ("CT-PERFUSION", "CT", ["perfusion"], 40, True, 0.15),
    ("US-ABD", "US", [], 30, False, 3),
    ("US-PELVIS", "US", [], 30, False, 2),
    ("US-THYROID", "US", [], 30, False, 1),
    ("US-DVT", "US", [], 45, False, 1),
    ("US-CAROTID", "US", [], 45, False, 0.8),
    ("US-BREAST", "US", [], 30, False, 1),
    ("MG-SCREEN", "MG", [], 15, False, 3),
    ("MG-SCREEN-TOMO", "MG", ["tomo"], 15, False, 2),
    ("MG-DIAG", "MG", [], 30, False, 1),
    ("MG-DIAG-TOMO", "MG", ["tomo"], 30, False, 1),
    ("XR-CHEST", "XR", [], 10, False, 3),
    ("XR-KNEE", "XR", [], 10, False, 2),
    ("XR-SPINE", "XR", [], 15, False, 1),
    ("NM-BONE", "NM", [], 60, False, 2),
    ("NM-MPI", "NM", [], 90, False, 1.5),
    ("NM-HIDA", "NM", [], 90, False, 0.7),
    ("NM-THYROID", "NM", [], 60, False, 0.8),
]
WEEKDAY_HOURS = {d: ["08:00", "17:00"] for d in WEEKDAYS}
LONG_HOURS = {**{d: ["07:00", "21:00"] for d in WEEKDAYS}, "sat": ["08:00", "14:00"]}
ALWAYS_OPEN = {d: ["00:00", "24:00"] for d in (*WEEKDAYS, "sat", "sun")}
# Fleet: (site, id suffix, modality, capabilities, hours). The first N of a site's list are used.
FLEET: dict[str, list[tuple[str, str, list[str], dict[str, list[str]]]]] = {
    "MAIN": [
        ("CT1", "CT", ["perfusion"], ALWAYS_OPEN),
        ("MR1", "MR", ["1.5T", "wide_bore"], LONG_HOURS),
        ("US1", "US", [], LONG_HOURS),
        ("XR1", "XR", [], ALWAYS_OPEN),
        ("MG1", "MG", ["tomo"], WEEKDAY_HOURS),
        ("NM1", "NM", [], {d: ["08:00", "15:00"] for d in WEEKDAYS}),
        ("MR2", "MR", ["3T"], LONG_HOURS),
        ("CT2", "CT", ["cardiac"], LONG_HOURS),
        ("CT3", "CT", [], WEEKDAY_HOURS),
        ("MR3", "MR", ["3T", "cardiac"], WEEKDAY_HOURS),
        ("US2", "US", [], WEEKDAY_HOURS),
        ("US3", "US", [], {"tue": ["08:00", "16:00"], "thu": ["08:00", "16:00"]}),
        ("MR4", "MR", ["1.5T"], {**WEEKDAY_HOURS, "sat": ["08:00", "16:00"]}),
        ("CT4", "CT", [], {"mon": ["12:00", "20:00"], "wed": ["12:00", "20:00"], "fri": ["12:00", "20:00"]}),
        ("XR2", "XR", [], WEEKDAY_HOURS),
        ("XR3", "XR", [], {d: ["08:00", "12:00"] for d in WEEKDAYS}),
        ("MG2", "MG", [], {d: ["08:00", "13:00"] for d in WEEKDAYS}),
        ("NM2", "NM", [], {"wed": ["08:00", "15:00"]}),
    ],
    "NORTH": [
        ("MR1", "MR", ["1.5T"], {**WEEKDAY_HOURS, "sat": ["08:00", "13:00"]}),
        ("CT1", "CT", [], WEEKDAY_HOURS),
        ("US1", "US", [], {**WEEKDAY_HOURS, "sat": ["08:00", "12:00"]}),
        ("MG1", "MG", ["tomo"], WEEKDAY_HOURS),
        ("XR1", "XR", [], WEEKDAY_HOURS),
        ("MR2", "MR", ["3T"], {"mon": ["08:00", "16:00"], "wed": ["08:00", "16:00"]}),
        ("CT2", "CT", [], {d: ["08:00", "13:00"] for d in ("tue", "thu", "fri")}),
        ("US2", "US", [], WEEKDAY_HOURS),
        ("MG2", "MG", ["tomo"], {"sat": ["08:00", "12:00"], **WEEKDAY_HOURS}),
        ("XR2", "XR", [], {d: ["08:00", "10:00"] for d in WEEKDAYS}),
        ("NM1", "NM", [], {"tue": ["08:00", "15:00"]}),
    ],
    "EAST": [
        ("MR1", "MR", ["1.5T", "wide_bore"], WEEKDAY_HOURS),
        ("CT1", "CT", [], WEEKDAY_HOURS),
        ("US1", "US", [], WEEKDAY_HOURS),
        ("US2", "US", [], {"mon": ["08:00", "12:00"], "fri": ["08:00", "12:00"]}),
        ("MG1", "MG", [], WEEKDAY_HOURS),
        ("XR1", "XR", [], {**WEEKDAY_HOURS, "sat": ["09:00", "12:00"]}),
    ],
}


@dataclass(frozen=True)
class Recipe:
    """What one generated instance looks like."""

    name: str
    seed: int
    load: float  # booked minutes asked for / open daytime minutes (07:00-21:00)
    days: int
    sites: dict[str, int]  # site -> how many of its fleet scanners
    start: date = date(2025, 6, 2)
    backlog: float = 0.12  # share of orders released before the horizon
    release_span: float = 0.6  # orders inside the horizon are released in its first share
    holiday: int | None = None  # day index of a holiday (whole day blocked on all but 24h scanners)
    down_days: int = 0  # scanners down for several days
    fixed_share: float = 0.01
    orders: int | None = None  # an exact count instead of the one the load gives


RECIPES = [
    Recipe("gen-01-outpatient-week", 101, 1.0, 4, {"NORTH": 6}, start=date(2025, 6, 5)),
    Recipe("gen-02-holiday", 102, 1.0, 5, {"MAIN": 8}, start=date(2025, 6, 30), holiday=4, down_days=1),
    Recipe("gen-03-two-sites", 103, 1.0, 7, {"MAIN": 6, "NORTH": 5}, start=date(2025, 9, 1), holiday=0),
    Recipe("gen-04-three-sites-2k", 104, 1.1, 7, {"MAIN": 6, "NORTH": 5, "EAST": 4}, down_days=2, orders=2000),
    Recipe("gen-05-backlog", 105, 1.2, 7, {"MAIN": 8, "NORTH": 6}, backlog=0.35, down_days=1),
    Recipe(
        "gen-06-weekend-stat", 106, 0.95, 10, {"MAIN": 10, "NORTH": 6, "EAST": 4}, start=date(2025, 6, 6), holiday=3
    ),
    Recipe("gen-07-down", 107, 1.0, 10, {"MAIN": 18, "NORTH": 11, "EAST": 6}, down_days=4),
    Recipe("gen-08-three-sites", 108, 1.05, 14, {"MAIN": 16, "NORTH": 9, "EAST": 5}, holiday=10, down_days=3),
    Recipe(
        "gen-09-winter",
        109,
        0.8,
        20,
        {"MAIN": 18, "NORTH": 11, "EAST": 6},
        start=date(2025, 11, 17),
        holiday=10,
        down_days=4,
        backlog=0.2,
    ),
    Recipe(
        "gen-10-12k",
        110,
        1.1,
        20,
        {"MAIN": 18, "NORTH": 11, "EAST": 6},
        start=date(2025, 12, 15),
        holiday=10,
        down_days=5,
        backlog=0.2,
        orders=12000,
    ),
    Recipe("gen-11-overload", 111, 1.35, 5, {"MAIN": 9, "NORTH": 5}, backlog=0.3),
    Recipe("gen-12-light", 112, 0.7, 7, {"MAIN": 14, "NORTH": 8}, release_span=0.5),
]


def _iso(calendar: BenchmarkCalendar, minute: int) -> str:
    return calendar.iso(minute)


def _fleet(recipe: Recipe, rng: random.Random, calendar: BenchmarkCalendar) -> list[dict[str, object]]:
    scanners: list[dict[str, object]] = []
    for site, count in recipe.sites.items():
        for suffix, modality, caps, hours in FLEET[site][:count]:
            blocked: list[list[str]] = []
            for _ in range(max(1, recipe.days // 5)):  # maintenance, sometimes outside opening hours
                day = rng.randrange(recipe.days)
                begin = day * DAY + rng.choice([6, 8, 9, 10, 13, 15]) * 60
                blocked.append([_iso(calendar, begin), _iso(calendar, begin + rng.choice([60, 90, 120, 180, 240]))])
            if rng.random() < 0.3:  # overlapping blocks: their union counts
                first = blocked[0]
                shifted = calendar.minutes(first[0]) + 30
                blocked.append([_iso(calendar, shifted), _iso(calendar, shifted + 120)])
            scanners.append(
                {
                    "id": f"{site}-{suffix}",
                    "site": site,
                    "modality": modality,
                    "capabilities": caps,
                    "hours": hours,
                    "blocked": blocked,
                }
            )
    if recipe.holiday is not None:  # a public holiday: every scanner that is not open around the clock
        day = recipe.holiday * DAY
        for scanner in scanners:
            if scanner["hours"] is not ALWAYS_OPEN:
                blocked_list = scanner["blocked"]
                assert isinstance(blocked_list, list)
                blocked_list.append([_iso(calendar, day), _iso(calendar, day + DAY)])
    for scanner in rng.sample(scanners, min(recipe.down_days, len(scanners))):  # down for days
        first = rng.randrange(max(1, recipe.days - 3))
        blocked_list = scanner["blocked"]
        assert isinstance(blocked_list, list)
        blocked_list.append(
            [_iso(calendar, first * DAY + 7 * 60), _iso(calendar, (first + rng.choice([2, 3, 4])) * DAY + 12 * 60)]
        )
    return scanners


def _supervision(recipe: Recipe, calendar: BenchmarkCalendar) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for site in recipe.sites:
        windows: list[list[str]] = []
        for day in range(-1, recipe.days + 1):
            weekday = (calendar.horizon_start + timedelta(days=day)).weekday()
            if site == "MAIN":  # a hospital: radiologists into the evening, and on weekends
                spans = [(7 * 60, 22 * 60)] if weekday < 5 else [(8 * 60, 16 * 60)]
            elif site == "NORTH":  # an outpatient center: a lunch gap, Saturday mornings
                spans = (
                    [(8 * 60, 12 * 60), (13 * 60, 17 * 60)]
                    if weekday < 5
                    else ([(8 * 60, 12 * 60)] if weekday == 5 else [])
                )
            else:  # EAST has no radiologist on site: no contrast exams there
                spans = []
            windows += [[_iso(calendar, day * DAY + a), _iso(calendar, day * DAY + b)] for a, b in spans]
        if windows:
            out.append({"site": site, "windows": windows})
    return out


def _release(recipe: Recipe, rng: random.Random, priority: str) -> int:
    if rng.random() < recipe.backlog:
        return -rng.randrange(1, 14 * DAY if priority == "routine" else 5 * DAY)
    day = rng.randrange(max(1, int(recipe.days * recipe.release_span)))
    if priority == "stat" or rng.random() < 0.15:  # stat at any hour: nights, weekends, near closing
        return day * DAY + rng.choice([rng.randrange(DAY), rng.randrange(15 * 60, 17 * 60)])
    return day * DAY + rng.randrange(7 * 60, 19 * 60)


def _availability(recipe: Recipe, rng: random.Random, release: int, calendar: BenchmarkCalendar) -> object:
    roll = rng.random()
    if roll < 0.6:
        return None
    first = max(0, release // DAY)
    if roll < 0.62:  # the patient can only come after the horizon
        first = recipe.days + rng.randrange(1, 4)
    pattern = rng.choice(
        [(7 * 60, 12 * 60), (12 * 60, 19 * 60), (16 * 60, 19 * 60), (7 * 60, 19 * 60), (8 * 60, 10 * 60)]
    )
    days = sorted(rng.sample(range(first, first + 8), rng.randint(2, 5)))
    return [[_iso(calendar, d * DAY + pattern[0]), _iso(calendar, d * DAY + pattern[1])] for d in days]


def generate(recipe: Recipe) -> dict[str, object]:
    """Build one instance (a JSON object) from a recipe."""
    rng = random.Random(recipe.seed)
    calendar = BenchmarkCalendar(recipe.start)
    scanners = _fleet(recipe, rng, calendar)
    modalities = sorted({str(s["modality"]) for s in scanners})
    by_modality = {m: [p for p in PROTOCOLS if p[1] == m] for m in modalities}
    # Demand follows capacity: each modality gets orders in proportion to its open minutes over its
    # mean exam length, so that every modality is about equally loaded.
    open_minutes = _open_minutes(scanners, recipe, calendar)
    share = {
        m: open_minutes[m] * sum(p[5] for p in by_modality[m]) / sum(p[3] * p[5] for p in by_modality[m])
        for m in modalities
    }
    mean_minutes = sum(
        share[m] * sum(p[3] * p[5] for p in by_modality[m]) / sum(p[5] for p in by_modality[m]) for m in modalities
    ) / sum(share.values())
    wanted = recipe.orders or round(recipe.load * sum(open_minutes.values()) / mean_minutes)
    orders: list[dict[str, object]] = []
    patients: list[str] = []
    while len(orders) < wanted:
        patient = f"P{rng.randrange(10**6):06d}"
        if patient in patients:
            continue
        patients.append(patient)
        count = 1 if rng.random() > 0.12 else rng.choice([2, 2, 3])
        priority = rng.choices(["stat", "urgent", "routine"], [3, 17, 80])[0]
        release = _release(recipe, rng, priority)
        availability = _availability(recipe, rng, release, calendar)
        for _ in range(min(count, wanted - len(orders))):
            modality = rng.choices(modalities, [share[m] for m in modalities])[0]
            protocol = rng.choices(by_modality[modality], [p[5] for p in by_modality[modality]])[0]
            due = release + {"stat": 4, "urgent": 72, "routine": 240}[priority] * 60
            orders.append(
                {
                    "id": f"A{len(orders) + 100000:06d}",
                    "patient": patient,
                    "protocol": protocol[0],
                    "priority": priority,
                    "release": _iso(calendar, release),
                    "due": _iso(calendar, due),
                    "availability": availability,
                }
            )
            release += rng.randrange(0, 20)
    rng.shuffle(orders)
    instance: dict[str, object] = {
        "format": "radflow-schedule-instance/1",
        "name": recipe.name,
        "timezone": "America/New_York",
        "horizon": {"start": recipe.start.isoformat(), "days": recipe.days},
        "granularity_minutes": 5,
        "scanners": scanners,
        "supervision": _supervision(recipe, calendar),
        "protocols": [
            {"code": c, "modality": m, "requires": r, "minutes": n, "contrast": x} for c, m, r, n, x, _ in PROTOCOLS
        ],
        "orders": orders,
        "fixed": [],
    }
    instance["fixed"] = _fixed_bookings(instance, recipe, rng)
    return instance


def _open_minutes(scanners: list[dict[str, object]], recipe: Recipe, calendar: BenchmarkCalendar) -> dict[str, int]:
    """Open, unblocked minutes per modality over the horizon."""
    probe = {
        "format": "radflow-schedule-instance/1",
        "name": "probe",
        "timezone": "UTC",
        "horizon": {"start": recipe.start.isoformat(), "days": recipe.days},
        "granularity_minutes": 5,
        "scanners": scanners,
        "supervision": [],
        "protocols": [],
        "orders": [],
        "fixed": [],
    }
    snapshot, _ = read_instance(probe)
    out: dict[str, int] = {}
    for scanner in snapshot.scanners:  # daytime only: outpatients are not booked at 3 am
        daytime = sum(
            max(0, min(b, a // DAY * DAY + 21 * 60) - max(a, a // DAY * DAY + 7 * 60)) for a, b in scanner.usable
        )
        out[scanner.modality] = out.get(scanner.modality, 0) + daytime
    return out


def _fixed_bookings(instance: dict[str, object], recipe: Recipe, rng: random.Random) -> list[dict[str, str]]:
    """Feasible bookings already made, preferring patients who have other orders too."""
    snapshot, calendar = read_instance(instance)
    problem = SchedulingProblem(snapshot)
    schedule = Schedule(problem)
    multi = [o for o in range(problem.n_orders) if len(problem.patient_orders[problem.patient[o]]) > 1]
    multi_set = set(multi)
    single = [o for o in range(problem.n_orders) if o not in multi_set]
    wanted = int(problem.n_orders * recipe.fixed_share)
    chosen = rng.sample(multi, min(len(multi), wanted // 2 + 1)) + rng.sample(single, wanted // 2)
    fixed: list[dict[str, str]] = []
    for order in chosen:
        for scanner in rng.sample(problem.eligible[order], len(problem.eligible[order])):
            offset = rng.randrange(0, 3 * DAY)
            start = schedule.earliest_start(order, scanner, problem.start_ranges(order, scanner, lo=offset))
            if start is not None:
                schedule.assign(order, scanner, start)
                fixed.append(
                    {
                        "order": problem.order_ids[order],
                        "scanner": problem.scanner_ids[scanner],
                        "start": calendar.iso(start),
                    }
                )
                break
    return fixed


def main(argv: list[str]) -> int:
    """Write every recipe's instance (or those whose name starts with a given prefix) into a folder."""
    if not argv:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for recipe in RECIPES:
        if len(argv) > 1 and not any(recipe.name.startswith(p) for p in argv[1:]):
            continue
        path = out / f"{recipe.name}.json"
        path.write_text(json.dumps(generate(recipe), separators=(",", ":")))
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
