"""Small benchmark-format instances for the optimizer's tests, and the shared validator.

The validator lives outside the project, in ../shared/bench/schedule beside the clone (DESIGN.md §5);
importing it fails the test (never skips it) when that folder is missing.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from radflow.adapters.clock import SystemClock
from radflow.scheduling.optimizer.benchmark_format import read_instance, write_plan
from radflow.scheduling.optimizer.engine import Policy, solve_schedule
from radflow.scheduling.optimizer.snapshot import Plan

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "bench" / "schedule"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def validator() -> ModuleType:
    """validate.py from ../shared/bench/schedule (AssertionError if the folder is missing)."""
    path = SHARED / "validate.py"
    assert path.is_file(), f"the shared benchmark is missing: expected {path} beside the clone"
    spec = importlib.util.spec_from_file_location("shared_schedule_validate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def public_instance(name: str) -> dict[str, Any]:
    """One of the public instances (small-1, small-2)."""
    path = SHARED / "public" / f"{name}.json"
    assert path.is_file(), f"the public instance {path} is missing"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def base_instance() -> dict[str, Any]:
    """One site, one CT open 08:00-12:00 on weekdays, supervision 08:00-12:00, three days from Monday."""
    return {
        "format": "radflow-schedule-instance/1",
        "name": "unit",
        "timezone": "America/New_York",
        "horizon": {"start": "2025-06-02", "days": 3},
        "granularity_minutes": 5,
        "scanners": [
            {
                "id": "CT1",
                "site": "A",
                "modality": "CT",
                "capabilities": [],
                "hours": {d: ["08:00", "12:00"] for d in WEEKDAYS},
                "blocked": [],
            },
        ],
        "supervision": [{"site": "A", "windows": [[f"2025-06-0{d}T08:00", f"2025-06-0{d}T12:00"] for d in (2, 3, 4)]}],
        "protocols": [
            {"code": "CT-HEAD", "modality": "CT", "requires": [], "minutes": 15, "contrast": False},
            {"code": "CT-CHEST-C", "modality": "CT", "requires": [], "minutes": 20, "contrast": True},
            {"code": "CT-CCTA", "modality": "CT", "requires": ["cardiac"], "minutes": 30, "contrast": True},
            {"code": "MR-BRAIN", "modality": "MR", "requires": [], "minutes": 30, "contrast": False},
        ],
        "orders": [],
        "fixed": [],
    }


def order(
    oid: str,
    protocol: str = "CT-HEAD",
    *,
    patient: str | None = None,
    priority: str = "routine",
    release: str = "2025-06-01T07:00",
    due: str = "2025-06-12T07:00",
    availability: list[list[str]] | None = None,
) -> dict[str, Any]:
    """An order in the format's words."""
    return {
        "id": oid,
        "patient": patient or f"P-{oid}",
        "protocol": protocol,
        "priority": priority,
        "release": release,
        "due": due,
        "availability": availability,
    }


def with_orders(instance: dict[str, Any], *orders: dict[str, Any]) -> dict[str, Any]:
    """A copy of `instance` with `orders` appended."""
    out = copy.deepcopy(instance)
    out["orders"] = [*out["orders"], *orders]
    return out


def plan_for(instance: dict[str, Any], policy: Policy, seconds: float = 2.0) -> tuple[Plan, dict[str, Any]]:
    """The engine's plan for an instance, and the same plan in the format."""
    snapshot, calendar = read_instance(instance)
    plan = solve_schedule(snapshot, policy, clock=SystemClock(), seconds=seconds)
    return plan, write_plan(plan, calendar)


def report(instance: dict[str, Any], plan_document: dict[str, Any]) -> dict[str, Any]:
    """validate.py's report on a plan."""
    module = validator()
    result: dict[str, Any] = module.evaluate(module.load_instance(instance), plan_document)
    return result


def naive_plan(instance: dict[str, Any], assignments: list[tuple[str, str, str]]) -> dict[str, Any]:
    """A plan in the format: the given (order, scanner, start) and every other order unscheduled."""
    placed = {a[0] for a in assignments}
    return {
        "format": "radflow-schedule-plan/1",
        "assignments": [{"order": o, "scanner": s, "start": t} for o, s, t in assignments],
        "unscheduled": [o["id"] for o in instance["orders"] if o["id"] not in placed],
    }


def own_check_rules(instance: dict[str, Any], plan_document: dict[str, Any]) -> set[str]:
    """The rules the engine's own checker finds broken in a plan document."""
    from radflow.scheduling.optimizer.checker import check_plan
    from radflow.scheduling.optimizer.snapshot import Assignment

    snapshot, calendar = read_instance(instance)
    plan = Plan(
        tuple(Assignment(a["order"], a["scanner"], calendar.minutes(a["start"])) for a in plan_document["assignments"]),
        tuple(plan_document["unscheduled"]),
    )
    return {v.rule for v in check_plan(snapshot, plan)}


def starts(plan_document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """order -> (scanner, start) of a plan document."""
    return {a["order"]: (a["scanner"], a["start"]) for a in plan_document["assignments"]}
