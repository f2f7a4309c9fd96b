"""For all small instances: every policy's plan is feasible, and optimize is never worse than greedy."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optimizer_instances import plan_for, report, validator

from radflow.scheduling.optimizer.engine import Policy

DAYS = ("2025-06-02", "2025-06-03", "2025-06-04")  # Monday to Wednesday
PROTOCOLS = [
    {"code": "CT-HEAD", "modality": "CT", "requires": [], "minutes": 15, "contrast": False},
    {"code": "CT-PE", "modality": "CT", "requires": [], "minutes": 25, "contrast": True},
    {"code": "CT-CCTA", "modality": "CT", "requires": ["cardiac"], "minutes": 30, "contrast": True},
    {"code": "MR-KNEE", "modality": "MR", "requires": [], "minutes": 30, "contrast": False},
    {"code": "MR-CARDIAC", "modality": "MR", "requires": ["cardiac"], "minutes": 75, "contrast": True},
]


def _clock(minute: int) -> str:
    day, rest = divmod(minute, 1440)
    day_text = ["2025-05-31", "2025-06-01", *DAYS, "2025-06-05", "2025-06-06"][day + 2]
    return f"{day_text}T{rest // 60:02d}:{rest % 60:02d}"


@st.composite
def instances(draw: st.DrawFn) -> dict[str, Any]:
    """Two sites, up to four scanners, three days, up to 14 orders over up to 8 patients."""
    scanners = []
    for k in range(draw(st.integers(1, 4))):
        opening = draw(st.sampled_from([["08:00", "12:00"], ["00:00", "24:00"], ["13:00", "17:30"]]))
        days = draw(st.sets(st.sampled_from(["mon", "tue", "wed"]), min_size=1))
        blocked = []
        if draw(st.booleans()):
            start = draw(st.integers(0, 3 * 288 - 12)) * 5
            blocked.append([_clock(start), _clock(start + draw(st.integers(1, 24)) * 5)])
        scanners.append(
            {
                "id": f"S{k}",
                "site": draw(st.sampled_from(["A", "B"])),
                "modality": draw(st.sampled_from(["CT", "MR"])),
                "capabilities": draw(st.sampled_from([[], ["cardiac"]])),
                "hours": {d: opening for d in days},
                "blocked": blocked,
            }
        )
    supervision = [{"site": "A", "windows": [[f"{d}T09:00", f"{d}T11:00"] for d in DAYS]}]
    if draw(st.booleans()):
        supervision.append({"site": "B", "windows": [[f"{d}T13:00", f"{d}T16:00"] for d in DAYS]})
    orders = []
    for k in range(draw(st.integers(1, 14))):
        priority = draw(st.sampled_from(["stat", "urgent", "routine"]))
        release = draw(st.integers(-2 * 1440, 3 * 1440 - 60))
        due = release + {"stat": 240, "urgent": 3 * 1440, "routine": 10 * 1440}[priority] // draw(
            st.sampled_from([1, 2])
        )
        availability = None
        if draw(st.booleans()):
            day = draw(st.integers(0, 2))
            availability = [
                [
                    f"{DAYS[day]}T{draw(st.sampled_from(['07:00', '09:30', '12:00']))}",
                    f"{DAYS[day]}T{draw(st.sampled_from(['13:00', '16:00', '19:00']))}",
                ]
            ]
        orders.append(
            {
                "id": f"O{k}",
                "patient": f"P{draw(st.integers(0, 7))}",
                "protocol": draw(st.sampled_from([p["code"] for p in PROTOCOLS])),
                "priority": priority,
                "release": _clock(release),
                "due": _clock(min(due, 4 * 1440)),
                "availability": availability,
            }
        )
    instance = {
        "format": "radflow-schedule-instance/1",
        "name": "drawn",
        "timezone": "UTC",
        "horizon": {"start": DAYS[0], "days": 3},
        "granularity_minutes": 5,
        "scanners": scanners,
        "supervision": supervision,
        "protocols": PROTOCOLS,
        "orders": orders,
        "fixed": [],
    }
    if draw(st.booleans()):  # a fixed booking, kept only if feasible on its own (FORMAT §2 promises that)
        fixed = {
            "order": orders[0]["id"],
            "scanner": draw(st.sampled_from(scanners))["id"],
            "start": _clock(draw(st.integers(0, 3 * 288 - 1)) * 5),
        }
        module = validator()
        probe = {**instance, "fixed": [fixed]}
        placed = {
            "format": "radflow-schedule-plan/1",
            "assignments": [{k: fixed[k] for k in fixed}],
            "unscheduled": [o["id"] for o in orders[1:]],
        }
        if module.evaluate(module.load_instance(probe), placed)["valid"]:
            instance["fixed"] = [fixed]
    return instance


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_drawn_instances_give_valid_plans_and_optimize_never_loses_to_greedy(instance: dict[str, Any]) -> None:
    metrics = {}
    for policy in Policy:
        _, document = plan_for(instance, policy, seconds=0.6)
        result = report(instance, document)
        assert result["valid"], (policy, result["violations"])
        metrics[policy] = result["metrics"]
    optimized, greedy = metrics[Policy.OPTIMIZE], metrics[Policy.GREEDY]
    assert optimized["on_time_score"] >= greedy["on_time_score"]
    for priority in ("stat", "urgent"):
        assert optimized["by_priority"][priority]["on_time"] >= greedy["by_priority"][priority]["on_time"]
