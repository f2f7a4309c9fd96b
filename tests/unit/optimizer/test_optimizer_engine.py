"""The optimize policy: no worse than greedy whatever its budget, and fewer trips for multi-exam patients."""

from __future__ import annotations

from optimizer_instances import WEEKDAYS, base_instance, order, plan_for, public_instance, report, with_orders

from radflow.scheduling.optimizer.engine import Policy


def test_optimize_with_no_time_left_still_returns_a_valid_plan_no_worse_than_greedy() -> None:
    instance = public_instance("small-2")
    _, optimized = plan_for(instance, Policy.OPTIMIZE, seconds=0.0)
    _, greedy = plan_for(instance, Policy.GREEDY)
    result = report(instance, optimized)
    assert result["valid"]
    assert result["metrics"]["on_time_score"] >= report(instance, greedy)["metrics"]["on_time_score"]


def test_a_patient_with_two_exams_comes_once_where_greedy_makes_them_come_twice() -> None:
    instance = base_instance()
    instance["scanners"].append({"id": "MR1", "site": "A", "modality": "MR", "capabilities": [],
                                 "hours": {d: ["08:00", "12:00"] for d in WEEKDAYS}, "blocked": []})
    # Monday's MR is full with exams due sooner, so greedy books P1's MR on Tuesday and its CT on Monday.
    busy = [order(f"M{k}", "MR-BRAIN", due="2025-06-05T12:00") for k in range(8)]
    instance = with_orders(instance, *busy, order("C1", "CT-HEAD", patient="P1"), order("M9", "MR-BRAIN", patient="P1"))
    _, greedy = plan_for(instance, Policy.GREEDY)
    _, optimized = plan_for(instance, Policy.OPTIMIZE, seconds=2.0)
    greedy_visits = report(instance, greedy)["metrics"]["multi_order_patients"]["mean_visit_days"]
    optimized_report = report(instance, optimized)
    assert greedy_visits == 2.0
    assert optimized_report["valid"]
    assert optimized_report["metrics"]["multi_order_patients"]["mean_visit_days"] == 1.0
    assert optimized_report["metrics"]["on_time_score"] >= report(instance, greedy)["metrics"]["on_time_score"]


def test_optimize_books_a_short_exam_ahead_of_a_long_one_when_only_the_short_ones_all_fit() -> None:
    # One CT morning left (08:00-12:00 Monday only); two 120-minute-equivalent slots of demand:
    # eight 15-minute heads and one long exam. Greedy books by due (the long one first); the
    # optimizer keeps more orders on time.
    instance = base_instance()
    instance["horizon"]["days"] = 1
    instance["protocols"].append({"code": "CT-LONG", "modality": "CT", "requires": [], "minutes": 120,
                                  "contrast": False})
    long_first = order("L1", "CT-LONG", due="2025-06-02T11:00")
    heads = [order(f"H{k}", due="2025-06-02T12:00") for k in range(12)]
    instance = with_orders(instance, long_first, *heads)
    _, greedy = plan_for(instance, Policy.GREEDY)
    _, optimized = plan_for(instance, Policy.OPTIMIZE, seconds=2.0)
    assert report(instance, greedy)["metrics"]["on_time_score"] == 9  # the long exam, then 8 heads
    assert report(instance, optimized)["metrics"]["on_time_score"] == 12
