"""Opening hours, shifts, holidays and supervision resolved into UTC minutes, daylight saving included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from scheduling_center import NY, SITE, ny, scanner, week

from radflow.domain.capacity.calendar import Timeline, holiday, resolve_scanner, resolve_supervision
from radflow.domain.capacity.intervals import total
from radflow.domain.capacity.model import Closure, ClosureKind
from radflow.domain.errors import ValidationError
from radflow.scheduling.capacity_document import read_scanner, read_site

SPRING = Timeline(datetime(2026, 3, 6, 5, 0, tzinfo=UTC), datetime(2026, 3, 11, 5, 0, tzinfo=UTC))


def _instants(line: Timeline, intervals: list[tuple[int, int]]) -> list[tuple[datetime, datetime]]:
    return [(line.instant(a), line.instant(b)) for a, b in intervals]


def test_opening_hours_follow_the_wall_clock_across_the_spring_change() -> None:
    calendar = resolve_scanner(read_scanner(scanner("MR1", "MR")), read_site(SITE), [], SPRING)
    opens = _instants(SPRING, calendar.usable)
    # Friday 6 March (EST, UTC-5) and Monday 9 March (EDT, UTC-4): both 07:00–19:00 in New York.
    assert opens[0] == (datetime(2026, 3, 6, 12, 0, tzinfo=UTC), datetime(2026, 3, 7, 0, 0, tzinfo=UTC))
    assert opens[1] == (datetime(2026, 3, 9, 11, 0, tzinfo=UTC), datetime(2026, 3, 9, 23, 0, tzinfo=UTC))


def test_a_scanner_open_around_the_clock_has_23_hours_on_the_spring_forward_sunday() -> None:
    every_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    document = scanner("CT9", "CT", hours=("00:00", "24:00"), days=every_day)
    calendar = resolve_scanner(read_scanner(document), read_site(SITE), [], SPRING)
    sunday = ny(8, 0), ny(9, 0)
    minutes = [min(b, SPRING.minute(sunday[1])) - max(a, SPRING.minute(sunday[0]))
               for a, b in calendar.usable if a < SPRING.minute(sunday[1]) and b > SPRING.minute(sunday[0])]
    assert sum(minutes) == 23 * 60
    # Open straight through: the days join at midnight, so an exam may run past it.
    assert calendar.usable == [(0, SPRING.length)]
    # A scanner that closes in the evening still does: its days stay apart.
    evenings = resolve_scanner(read_scanner(scanner("MR1", "MR")), read_site(SITE), [], SPRING)
    assert all(b - a == 12 * 60 for a, b in evenings.usable)


def test_a_holiday_closes_the_whole_local_day_and_its_supervision() -> None:
    site = read_site(SITE)
    closed = holiday(site, date(2026, 3, 9), closure_id="h1", reason="staff day")
    calendar = resolve_scanner(read_scanner(scanner("MR1", "MR")), site, [closed], SPRING)
    days = {SPRING.instant(a).astimezone(NY).date() for a, _ in calendar.usable}
    assert date(2026, 3, 9) not in days and date(2026, 3, 10) in days
    windows = resolve_supervision(site, [closed], SPRING)
    assert all(SPRING.instant(a).astimezone(NY).date() != date(2026, 3, 9) for a, _ in windows)


def test_a_scanner_runs_only_while_a_technologist_staffs_it() -> None:
    document = scanner("MR1", "MR", hours=("07:00", "19:00"), shifts=("07:00", "15:00"))
    calendar = resolve_scanner(read_scanner(document), read_site(SITE), [], SPRING)
    assert all(SPRING.instant(b).astimezone(NY).hour <= 15 for _, b in calendar.usable)
    assert total(calendar.usable) == 3 * 8 * 60  # Fri, Mon, Tue inside the window


def test_downtime_removes_only_its_scanner_s_time() -> None:
    down = Closure(id="d1", kind=ClosureKind.DOWNTIME, start=ny(9, 10), end=ny(9, 12), scanner_id="MR1",
                   reason="coil fault")
    site = read_site(SITE)
    mr1 = resolve_scanner(read_scanner(scanner("MR1", "MR")), site, [down], SPRING)
    mr2 = resolve_scanner(read_scanner(scanner("MR2", "MR")), site, [down], SPRING)
    assert total(mr2.usable) - total(mr1.usable) == 120


def test_supervision_has_the_site_s_weekly_windows_less_a_gap() -> None:
    gap = Closure(id="g", kind=ClosureKind.NO_SUPERVISION, start=ny(9, 12), end=ny(9, 13), site_id="MAIN",
                  reason="radiologist at tumour board")
    windows = resolve_supervision(read_site(SITE), [gap], SPRING)
    assert total(windows) == 3 * 9 * 60 - 60


@pytest.mark.parametrize(("field", "document", "message"), [
    ("opening", {"opening": [{"day": "mon", "from": "19:00", "to": "07:00"}]}, "start before it ends"),
    ("opening", {"opening": [{"day": "mon", "from": "7", "to": "19:00"}]}, "HH:MM"),
    ("opening", {"opening": [{"day": "funday", "from": "07:00", "to": "19:00"}]}, "weekday"),
    ("capabilities", {"capabilities": ["7T"]}, "unknown capabilities"),
    ("modality", {"modality": "XR"}, "DICOM code"),
])
def test_a_wrong_scanner_document_is_refused_with_a_clear_message(field: str, document: dict[str, object],
                                                                   message: str) -> None:
    base = scanner("MR1", "MR")
    base.update(document)
    with pytest.raises(ValidationError, match=message):
        read_scanner(base)


def test_an_unknown_timezone_is_refused() -> None:
    with pytest.raises(ValidationError, match="IANA"):
        read_site({**SITE, "timezone": "Mars/Olympus"})


def test_overlapping_opening_periods_on_one_day_are_refused() -> None:
    base = scanner("MR1", "MR")
    base["opening"] = [*week("07:00", "12:00", days=("mon",)), *week("11:00", "19:00", days=("mon",))]
    with pytest.raises(ValidationError, match="overlap"):
        read_scanner(base)


def test_a_timeline_converts_instants_and_minutes_both_ways() -> None:
    line = Timeline.covering(datetime(2026, 3, 2, 14, 3, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    assert line.origin == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert line.instant(line.minute(datetime(2026, 3, 2, 16, 45, tzinfo=UTC))) == datetime(2026, 3, 2, 16, 45,
                                                                                           tzinfo=UTC)
    assert line.minute_up(line.origin + timedelta(seconds=30)) == 1
