"""Every feasibility rule of FORMAT §4: a plan a naive booker would make breaks it, the policies do not.

Each case builds a small instance and a naive plan (first free minute, rule ignored). validate.py
and the engine's own checker must both reject the naive plan (so the case can fail), and every
policy's plan must pass validate.py and place the order as the rule demands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from optimizer_instances import (
    WEEKDAYS,
    base_instance,
    naive_plan,
    order,
    own_check_rules,
    plan_for,
    report,
    starts,
    with_orders,
)

from radflow.scheduling.optimizer.engine import Policy


@dataclass(frozen=True)
class RuleCase:
    """An instance, the naive plan that breaks `rule`, and what a correct plan does instead."""

    rule: str
    instance: dict[str, Any]
    naive: list[tuple[str, str, str]]
    expect: Callable[[dict[str, tuple[str, str]]], bool]


def _second_scanner(
    instance: dict[str, Any], scanner_id: str, site: str = "A", caps: list[str] | None = None
) -> dict[str, Any]:
    instance["scanners"].append(
        {
            "id": scanner_id,
            "site": site,
            "modality": "CT",
            "capabilities": caps or [],
            "hours": {d: ["08:00", "12:00"] for d in WEEKDAYS},
            "blocked": [],
        }
    )
    return instance


def _cases() -> list[RuleCase]:
    cases: list[RuleCase] = []
    cases.append(
        RuleCase(
            "modality",
            with_orders(base_instance(), order("A1", "MR-BRAIN")),
            [("A1", "CT1", "2025-06-02T08:00")],
            lambda placed: "A1" not in placed,
        )
    )
    cases.append(
        RuleCase(
            "capability",
            with_orders(_second_scanner(base_instance(), "CT2", caps=["cardiac"]), order("A1", "CT-CCTA")),
            [("A1", "CT1", "2025-06-02T08:00")],
            lambda placed: placed["A1"][0] == "CT2",
        )
    )
    cases.append(
        RuleCase(
            "off-grid",
            with_orders(base_instance(), order("A1", release="2025-06-02T08:03")),
            [("A1", "CT1", "2025-06-02T08:03")],
            lambda placed: placed["A1"][1] == "2025-06-02T08:05",
        )
    )
    beyond = with_orders(base_instance(), order("A1", availability=[["2025-06-05T08:00", "2025-06-05T12:00"]]))
    cases.append(
        RuleCase("outside-horizon", beyond, [("A1", "CT1", "2025-06-05T08:00")], lambda placed: "A1" not in placed)
    )
    always = base_instance()
    always["scanners"][0]["hours"] = {d: ["00:00", "24:00"] for d in (*WEEKDAYS, "sat", "sun")}
    late_night = order("A1", availability=[["2025-06-02T23:50", "2025-06-03T00:30"]])
    cases.append(
        RuleCase(
            "outside-hours",
            with_orders(always, late_night),  # an exam never runs past midnight
            [("A1", "CT1", "2025-06-02T23:50")],
            lambda placed: placed["A1"][1] == "2025-06-03T00:00",
        )
    )
    blocked = base_instance()
    blocked["scanners"][0]["blocked"] = [
        ["2025-06-02T07:00", "2025-06-02T09:00"],
        ["2025-06-02T08:30", "2025-06-02T10:00"],
    ]
    cases.append(
        RuleCase(
            "blocked",
            with_orders(blocked, order("A1")),
            [("A1", "CT1", "2025-06-02T08:00")],
            lambda placed: placed["A1"][1] == "2025-06-02T10:00",
        )
    )
    cases.append(
        RuleCase(
            "scanner-overlap",
            with_orders(base_instance(), order("A1"), order("A2")),
            [("A1", "CT1", "2025-06-02T08:00"), ("A2", "CT1", "2025-06-02T08:00")],
            lambda placed: {placed["A1"][1], placed["A2"][1]} == {"2025-06-02T08:00", "2025-06-02T08:15"},
        )
    )
    cases.append(
        RuleCase(
            "patient-overlap",
            with_orders(_second_scanner(base_instance(), "CT2"), order("A1", patient="P1"), order("A2", patient="P1")),
            [("A1", "CT1", "2025-06-02T08:00"), ("A2", "CT2", "2025-06-02T08:00")],
            lambda placed: placed["A1"][1] != placed["A2"][1],
        )
    )
    two_sites = _second_scanner(base_instance(), "CT2", site="B", caps=["cardiac"])
    two_sites["supervision"].append({"site": "B", "windows": [["2025-06-02T08:00", "2025-06-02T12:00"]]})
    cases.append(
        RuleCase(
            "patient-site-gap",
            with_orders(two_sites, order("A1", "CT-HEAD", patient="P1"), order("A2", "CT-CCTA", patient="P1")),
            [("A1", "CT1", "2025-06-02T08:00"), ("A2", "CT2", "2025-06-02T08:15")],
            lambda placed: (
                abs(
                    int(placed["A2"][1][11:13]) * 60
                    + int(placed["A2"][1][14:16])
                    - int(placed["A1"][1][11:13]) * 60
                    - int(placed["A1"][1][14:16])
                )
                >= 75
                or placed["A1"][1][:10] != placed["A2"][1][:10]
            ),
        )
    )
    cases.append(
        RuleCase(
            "before-release",
            with_orders(base_instance(), order("A1", release="2025-06-02T09:00")),
            [("A1", "CT1", "2025-06-02T08:00")],
            lambda placed: placed["A1"][1] == "2025-06-02T09:00",
        )
    )
    cases.append(
        RuleCase(
            "outside-availability",
            with_orders(base_instance(), order("A1", availability=[["2025-06-02T10:00", "2025-06-02T11:00"]])),
            [("A1", "CT1", "2025-06-02T08:00")],
            lambda placed: placed["A1"][1] == "2025-06-02T10:00",
        )
    )
    lunch = base_instance()
    lunch["supervision"] = [{"site": "A", "windows": [["2025-06-02T10:00", "2025-06-02T12:00"]]}]
    cases.append(
        RuleCase(
            "contrast-unsupervised",
            with_orders(lunch, order("A1", "CT-CHEST-C")),
            [("A1", "CT1", "2025-06-02T08:00")],
            lambda placed: placed["A1"][1] == "2025-06-02T10:00",
        )
    )
    nobody = base_instance()
    nobody["supervision"] = []  # a site with no entry has no supervision at all
    cases.append(
        RuleCase(
            "contrast-unsupervised",
            with_orders(nobody, order("A1", "CT-CHEST-C")),
            [("A1", "CT1", "2025-06-02T08:00")],
            lambda placed: "A1" not in placed,
        )
    )
    fixed = with_orders(base_instance(), order("A1", patient="P1"), order("A2", patient="P1"))
    fixed["fixed"] = [{"order": "A2", "scanner": "CT1", "start": "2025-06-02T08:00"}]
    cases.append(
        RuleCase(
            "fixed-changed",
            fixed,
            [("A1", "CT1", "2025-06-02T08:00"), ("A2", "CT1", "2025-06-02T08:15")],
            lambda placed: placed["A2"] == ("CT1", "2025-06-02T08:00") and placed["A1"][1] == "2025-06-02T08:15",
        )
    )
    return cases


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{k}" for k, c in enumerate(CASES)])
def test_naive_plan_breaks_the_rule_for_both_checkers(case: RuleCase) -> None:
    naive = naive_plan(case.instance, case.naive)
    assert case.rule in report(case.instance, naive)["violations_by_rule"]
    assert case.rule in own_check_rules(case.instance, naive)


@pytest.mark.parametrize("policy", list(Policy))
@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{k}" for k, c in enumerate(CASES)])
def test_every_policy_keeps_the_rule(case: RuleCase, policy: Policy) -> None:
    _, document = plan_for(case.instance, policy, seconds=1.0)
    result = report(case.instance, document)
    assert result["valid"], result["violations"]
    assert case.expect(starts(document)), starts(document)


@pytest.mark.parametrize("policy", list(Policy))
def test_every_order_appears_exactly_once_even_when_none_fits(policy: Policy) -> None:
    instance = with_orders(
        base_instance(), *(order(f"A{k}", release="2025-06-04T11:45") for k in range(4)), order("M1", "MR-BRAIN")
    )
    _, document = plan_for(instance, policy, seconds=1.0)
    listed = [a["order"] for a in document["assignments"]] + document["unscheduled"]
    assert sorted(listed) == sorted(o["id"] for o in instance["orders"])
    assert len(document["assignments"]) == 1  # one 15-minute slot left before closing on the last day
