"""Reading the benchmark format into a snapshot: per-day usable periods, and clear errors."""

from __future__ import annotations

import pytest
from optimizer_instances import base_instance, order, with_orders

from radflow.domain.errors import ValidationError
from radflow.scheduling.optimizer.benchmark_format import BenchmarkCalendar, read_instance, write_plan
from radflow.scheduling.optimizer.snapshot import Assignment, Plan


def test_a_scanner_open_around_the_clock_has_one_period_per_day_split_at_midnight() -> None:
    instance = base_instance()
    instance["scanners"][0]["hours"] = {d: ["00:00", "24:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    snapshot, _ = read_instance(instance)
    assert snapshot.scanners[0].usable == ((0, 1440), (1440, 2880), (2880, 4320))


def test_blocked_time_is_the_union_of_overlapping_blocks_and_a_missing_weekday_is_closed() -> None:
    instance = base_instance()
    instance["horizon"] = {"start": "2025-06-06", "days": 4}  # Friday to Monday
    instance["scanners"][0]["blocked"] = [
        ["2025-06-06T09:00", "2025-06-06T10:00"],
        ["2025-06-06T09:30", "2025-06-06T10:30"],
        ["2025-06-08T00:00", "2025-06-10T00:00"],
    ]
    snapshot, _ = read_instance(instance)
    # Friday 08:00-12:00 less 09:00-10:30; Saturday and Sunday closed; Monday blocked all day
    assert snapshot.scanners[0].usable == ((480, 540), (630, 720))


def test_calendar_minutes_and_iso_are_inverse_and_wall_clock() -> None:
    calendar = BenchmarkCalendar(__import__("datetime").date(2025, 3, 8))
    # 2025-03-09 is a daylight-saving day in New York; the format ignores it (FORMAT §1)
    assert calendar.minutes("2025-03-10T08:05") == 2 * 1440 + 8 * 60 + 5
    assert calendar.iso(calendar.minutes("2025-03-09T23:55")) == "2025-03-09T23:55"
    assert calendar.minutes("2025-03-07T23:00") == -60


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda i: i.update(format="x"), "format must be"),
        (lambda i: i["orders"].append(order("Z", "NO-SUCH")), "protocol 'NO-SUCH'"),
        (lambda i: i["orders"].append(order("Z", release="2025-06-02 08:00")), "YYYY-MM-DDTHH:MM"),
        (
            lambda i: i["orders"].append(order("Z", release="2025-06-03T08:00", due="2025-06-02T08:00")),
            "release must be before due",
        ),
        (lambda i: i["scanners"][0]["hours"].update(mon=["12:00", "08:00"]), "opening must be before closing"),
        (
            lambda i: i["orders"].append(
                order(
                    "Z",
                    availability=[["2025-06-02T10:00", "2025-06-02T11:00"], ["2025-06-02T11:00", "2025-06-02T12:00"]],
                )
            ),
            "non-adjacent",
        ),
        (
            lambda i: i["fixed"].append({"order": "nobody", "scanner": "CT1", "start": "2025-06-02T08:00"}),
            "known order",
        ),
    ],
)
def test_a_malformed_instance_is_refused_with_a_message_naming_the_defect(change, message: str) -> None:  # type: ignore[no-untyped-def]
    instance = with_orders(base_instance(), order("A1"))
    change(instance)
    with pytest.raises(ValidationError, match=message):
        read_instance(instance)


def test_a_plan_is_written_in_the_format_with_local_datetimes() -> None:
    _, calendar = read_instance(base_instance())
    plan = Plan((Assignment("A1", "CT1", 1440 + 485),), ("A2",))
    assert write_plan(plan, calendar) == {
        "format": "radflow-schedule-plan/1",
        "assignments": [{"order": "A1", "scanner": "CT1", "start": "2025-06-03T08:05"}],
        "unscheduled": ["A2"],
    }
