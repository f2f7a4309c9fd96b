"""Capacity planning figures: utilization, backlog against capacity, forecast, the day sheet."""

from __future__ import annotations

from datetime import date, timedelta

from scheduling_center import SchedulingCenter, ny, scanner

from radflow.catalog.loader import Catalog
from radflow.services.scheduling.booking import BookAppointment
from radflow.services.scheduling.planning import CapacityDashboard, Dashboard, DaySchedule, DaySheet


def dashboard(center: SchedulingCenter, **fields: object) -> Dashboard:
    result: Dashboard = center.bus.handle(CapacityDashboard(actor=center.manager, **fields))  # type: ignore[arg-type]
    return result


def test_utilization_is_booked_over_open_minutes_per_scanner_and_day(center: SchedulingCenter) -> None:
    center.bus.handle(BookAppointment(actor=center.scheduler, order_id=center.order("MR-LSPINE"), scanner_id="MR1",
                                      start=ny(3, 9)))
    loads = {(x.scanner_id, x.day): x for x in dashboard(center).loads}
    tuesday = loads[("MR1", date(2026, 3, 3))]
    assert (tuesday.open_minutes, tuesday.booked_minutes) == (720, 40)
    assert loads[("MR1", date(2026, 3, 7))].utilization is None  # Saturday: closed


def test_a_scanner_open_around_the_clock_has_23_open_hours_on_the_spring_forward_day(catalog: Catalog) -> None:
    every_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    center = SchedulingCenter(catalog, scanners=[scanner("CT9", "CT", hours=("00:00", "24:00"), days=every_day)])
    loads = {x.day: x for x in dashboard(center).loads}
    assert loads[date(2026, 3, 8)].open_minutes == 23 * 60
    assert loads[date(2026, 3, 9)].open_minutes == 24 * 60


def test_the_backlog_is_counted_per_track_against_free_minutes(center: SchedulingCenter) -> None:
    center.order("MR-LSPINE", track="urgent")
    center.order("MR-BRAIN", track="urgent")
    center.order("CT-HEAD", track="stat")
    lines = {(x.track, x.modality): x for x in dashboard(center).backlog}
    urgent_mr = lines[("urgent", "MR")]
    assert (urgent_mr.orders, urgent_mr.minutes) == (2, 40 + 40)  # both 30 min without contrast + 10 turnover
    assert urgent_mr.days_to_clear is not None and urgent_mr.days_to_clear < 1
    assert next(iter(lines)) == ("stat", "CT")  # stat first


def test_the_forecast_expects_the_weekday_s_mean_demand_of_the_last_four_weeks(center: SchedulingCenter) -> None:
    for weeks_ago in (1, 2):
        center.order("MR-LSPINE", received=ny(2, 10) - timedelta(weeks=weeks_ago))  # two Mondays ago
    days = {(x.day, x.modality): x for x in dashboard(center).forecast}
    monday = days[(date(2026, 3, 9), "MR")]
    # Demand is counted at the longest variant (contrast not yet chosen) + turnover, twice in four weeks.
    longest = max(v.minutes for v in center.catalog.protocol("MR-LSPINE").variants) + 10
    assert monday.expected_new_minutes == round(2 * longest / 4)
    assert days[(date(2026, 3, 10), "MR")].expected_new_minutes == 0
    assert monday.capacity_minutes == 2 * 720


def test_the_day_sheet_lists_each_scanner_with_its_appointments(center: SchedulingCenter) -> None:
    order = center.order("MR-LSPINE")
    center.bus.handle(BookAppointment(actor=center.scheduler, order_id=order, scanner_id="MR2", start=ny(3, 9)))
    sheet: DaySheet = center.bus.handle(DaySchedule(actor=center.scheduler, day=date(2026, 3, 3)))
    rows = {r.scanner.id: r for r in sheet.rows}
    assert [line.appointment.order_id for line in rows["MR2"].lines] == [order]
    assert rows["MR1"].lines == () and rows["MR1"].open_periods[0][0] == ny(3, 7)
    assert any(r.action == "schedule.day" for r in center.store.audit)
