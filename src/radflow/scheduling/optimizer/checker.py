"""An independent check of a plan against a snapshot: every feasibility rule of FORMAT §4.

It works from the snapshot itself, not from the engine's precomputed start ranges, so that a
mistake in the engine cannot hide from it. The rule codes are those of validate.py.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from radflow.scheduling.optimizer.snapshot import Interval, OrderToSchedule, Plan, ScannerCapacity, Snapshot


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: its validate.py code, the order concerned and what is wrong."""

    rule: str
    order_id: str | None
    message: str


def _inside_one(windows: Sequence[Interval], start: int, end: int) -> bool:
    starts = [w[0] for w in windows]
    k = bisect_right(starts, start) - 1
    return k >= 0 and end <= windows[k][1]


def check_plan(snapshot: Snapshot, plan: Plan) -> list[Violation]:
    """Every violation of FORMAT §4 in `plan`; an empty list means the plan is feasible."""
    found: list[Violation] = []
    orders = {o.order_id: o for o in snapshot.orders}
    scanners = {s.scanner_id: s for s in snapshot.scanners}
    listed: set[str] = set()
    placed: list[tuple[str, str, int, int]] = []  # order, scanner, start, end
    for a in plan.assignments:
        if a.order_id not in orders:
            found.append(Violation("unknown-order", a.order_id, f"order {a.order_id} is not in the snapshot"))
            continue
        if a.order_id in listed:
            found.append(Violation("duplicate-order", a.order_id, f"order {a.order_id} is listed twice"))
            continue
        listed.add(a.order_id)
        if a.scanner_id not in scanners:
            found.append(Violation("unknown-scanner", a.order_id, f"scanner {a.scanner_id} is not in the snapshot"))
            continue
        order = orders[a.order_id]
        placed.append((a.order_id, a.scanner_id, a.start, a.start + snapshot.protocols[order.protocol].minutes))
    for order_id in plan.unscheduled:
        if order_id not in orders:
            found.append(Violation("unknown-order", order_id, f"order {order_id} is not in the snapshot"))
        elif order_id in listed:
            found.append(Violation("duplicate-order", order_id, f"order {order_id} is listed twice"))
        else:
            listed.add(order_id)
    found += [
        Violation("missing-order", o, f"order {o} is neither assigned nor unscheduled")
        for o in orders
        if o not in listed
    ]
    for order_id, scanner_id, start, end in placed:
        found += _single_exam_violations(snapshot, orders[order_id], scanners[scanner_id], start, end)
    found += _fixed_violations(snapshot, plan)
    found += _overlap_violations(snapshot, placed)
    return found


def _hours_or_blocked(scanner: ScannerCapacity, start: int, end: int) -> str:
    """validate.py's code for an exam outside the usable periods: outside the opening hours of its
    day (rule 6), or inside them but over blocked time (rule 7)."""
    return "blocked" if _inside_one(scanner.opening, start, end) else "outside-hours"


def _single_exam_violations(
    snapshot: Snapshot, order: OrderToSchedule, scanner: ScannerCapacity, start: int, end: int
) -> list[Violation]:
    """Rules 3-7 and 10-12: everything about one exam that does not depend on the others."""
    found: list[Violation] = []
    protocol = snapshot.protocols[order.protocol]
    when = f"order {order.order_id} on {scanner.scanner_id} at minute {start}"

    def broken(rule: str, what: str) -> None:
        found.append(Violation(rule, order.order_id, f"{when}: {what}"))

    if scanner.modality != protocol.modality:
        broken("modality", f"scanner is {scanner.modality}, protocol {protocol.code} is {protocol.modality}")
    if not protocol.requires <= scanner.capabilities:
        broken("capability", f"scanner lacks {sorted(protocol.requires - scanner.capabilities)}")
    if (start - snapshot.grid_origin) % snapshot.grid_minutes:
        broken("off-grid", f"start is not on the {snapshot.grid_minutes}-minute grid")
    if start < 0 or end > snapshot.horizon_end:
        broken("outside-horizon", "exam is not inside the horizon")
    elif not _inside_one(scanner.usable, start, end):
        rule = _hours_or_blocked(scanner, start, end)
        broken(rule, "exam is not inside one open, unblocked period of the scanner")
    if start < order.release:
        broken("before-release", f"starts before release at minute {order.release}")
    if order.availability is not None and not _inside_one(order.availability, start, end):
        broken("outside-availability", "exam is not inside one of the patient's availability windows")
    if protocol.contrast and not _inside_one(snapshot.supervision.get(scanner.site, ()), start, end):
        broken("contrast-unsupervised", f"contrast exam outside the supervision windows of site {scanner.site}")
    return found


def _fixed_violations(snapshot: Snapshot, plan: Plan) -> list[Violation]:
    where = {a.order_id: (a.scanner_id, a.start) for a in plan.assignments}
    return [
        Violation(
            "fixed-changed",
            f.order_id,
            f"fixed booking {f.order_id} must stay on {f.scanner_id} at {f.start}",
        )
        for f in snapshot.fixed
        if where.get(f.order_id) != (f.scanner_id, f.start)
    ]


def _overlap_violations(snapshot: Snapshot, placed: list[tuple[str, str, int, int]]) -> list[Violation]:
    found: list[Violation] = []
    site = {s.scanner_id: s.site for s in snapshot.scanners}
    patient = {o.order_id: o.patient_id for o in snapshot.orders}
    by_scanner: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    by_patient: dict[str, list[tuple[int, int, str, str]]] = defaultdict(list)
    for order_id, scanner_id, start, end in placed:
        by_scanner[scanner_id].append((start, end, order_id))
        by_patient[patient[order_id]].append((start, end, order_id, site[scanner_id]))
    for scanner_id, scanner_exams in by_scanner.items():
        scanner_exams.sort()
        latest_end, latest = -1 << 40, ""
        for start, end, order_id in scanner_exams:
            if start < latest_end:
                found.append(Violation("scanner-overlap", order_id, f"{order_id} overlaps {latest} on {scanner_id}"))
            if end > latest_end:
                latest_end, latest = end, order_id
    gap = snapshot.site_gap_minutes
    for patient_id, exams in by_patient.items():
        exams.sort()
        for k, (_, end, first, first_site) in enumerate(exams):
            for start, _, second, second_site in exams[k + 1 :]:
                if start >= end + gap:
                    break
                if start < end:
                    found.append(
                        Violation("patient-overlap", second, f"patient {patient_id}: {first} and {second} overlap")
                    )
                elif first_site != second_site:
                    found.append(
                        Violation(
                            "patient-site-gap",
                            second,
                            f"patient {patient_id}: {first} and {second} are on different sites "
                            f"less than {gap} minutes apart",
                        )
                    )
    return found
