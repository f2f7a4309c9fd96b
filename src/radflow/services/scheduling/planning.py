"""Capacity planning and the day schedule: the figures a manager reads, the Gantt a scheduler reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from radflow.domain.appointment import AppointmentState
from radflow.domain.capacity.calendar import Timeline, local_instant
from radflow.domain.capacity.model import Closure, Scanner, Site
from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.policy import Action
from radflow.domain.protocols import Modality
from radflow.domain.users import Principal
from radflow.scheduling import planning
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.scheduling.pictures import EPOCH, PatientNeeds, capacity_picture, exam_need, slot_rules
from radflow.services.scheduling.ports import SheetLine, appointments, backlog, capacity
from radflow.services.unit_of_work import UnitOfWork

#: What counts as booked time for utilization: what is booked and what took place.
BOOKED_OR_DONE = (AppointmentState.BOOKED, AppointmentState.ATTENDED)


@dataclass(frozen=True)
class CapacityDashboard:
    """Utilization, backlog and forecast from `start` (default: today) for `days` days."""

    actor: Principal
    start: date | None = None
    days: int = 14


@dataclass(frozen=True)
class Dashboard:
    """Everything the capacity dashboard draws."""

    start: date
    days: int
    zone: str
    loads: tuple[planning.DayLoad, ...]
    by_modality: tuple[planning.Utilization, ...]
    by_week: tuple[planning.Utilization, ...]
    backlog: tuple[planning.BacklogLine, ...]
    forecast: tuple[planning.ForecastDay, ...]


def _line(zone: ZoneInfo, start: date, days: int) -> Timeline:
    return Timeline(local_instant(start, 0, zone), local_instant(start + timedelta(days=days), 0, zone))


def _booked(uow: UnitOfWork, line: Timeline, scanner_ids: list[str]) -> dict[str, list[tuple[int, int]]]:
    shift = line.minute(EPOCH)
    out: dict[str, list[tuple[int, int]]] = {s: [] for s in scanner_ids}
    for scanner_id, start, end in appointments(uow).busy_minutes(scanner_ids, line.origin, line.end, lane=None,
                                                                 states=BOOKED_OR_DONE):
        out[scanner_id].append((start + shift, end + shift))
    return out


def capacity_dashboard(cmd: CapacityDashboard, uow: UnitOfWork, ctx: ServiceContext) -> Dashboard:
    """Compute the dashboard's figures (aggregates only: no patient is named)."""
    guard(cmd.actor, Action.CAPACITY_READ)
    if not 1 <= cmd.days <= 62:
        raise ValidationError("the dashboard covers 1 to 62 days", field="days")
    zone = ctx.settings.zone
    now = ctx.clock.now()
    today = now.astimezone(zone).date()
    start = cmd.start or today
    line = _line(zone, start, cmd.days)
    with uow:
        picture = capacity_picture(uow, ctx, line, list(Modality))
        loads = planning.day_loads(picture.calendars, _booked(uow, line, list(picture.calendars)), line, zone)
        horizon = _line(zone, today, cmd.days)
        waiting = []
        for order in backlog(uow).ready_orders(5000):
            try:
                need = exam_need(ctx, order, None, PatientNeeds(), horizon)
            except NotFound:
                continue
            waiting.append(planning.WaitingOrder(order.track.value, need.kind.protocol.modality.value, need.minutes,
                                                 order.target_at))
        history = []
        for received_at, protocol_code, _contrast in backlog(uow).received_since(now - timedelta(days=28)):
            try:
                protocol = ctx.catalog.protocol(protocol_code)
            except NotFound:
                continue
            minutes = max(v.minutes for v in protocol.variants) + slot_rules().turnover.get(protocol.modality.value, 0)
            history.append(planning.ReceivedOrder(received_at.astimezone(zone).date(), protocol.modality.value,
                                                  minutes))
        record_access(uow, ctx, cmd.actor, "capacity.dashboard", object_type="capacity",
                      detail=f"{start.isoformat()} +{cmd.days} days; {len(waiting)} orders waiting")
        uow.commit()
    future_loads = [load for load in loads if load.day >= today]
    return Dashboard(
        start=start, days=cmd.days, zone=zone.key, loads=tuple(loads),
        by_modality=tuple(planning.summed(loads, "modality")), by_week=tuple(planning.summed(loads, "modality-week")),
        backlog=tuple(planning.backlog_lines(waiting, future_loads, now, cmd.days)),
        forecast=tuple(planning.forecast(loads, history, today)),
    )


@dataclass(frozen=True)
class DaySchedule:
    """One local day of every scanner (of one site, when given): the Gantt's data."""

    actor: Principal
    day: date
    site_id: str = ""


@dataclass(frozen=True)
class ScannerDay:
    """One row of the Gantt: the scanner, its open periods and closures, its appointments."""

    scanner: Scanner
    site: Site
    open_periods: tuple[tuple[datetime, datetime], ...]
    closures: tuple[Closure, ...]
    lines: tuple[SheetLine, ...]


@dataclass(frozen=True)
class DaySheet:
    """The day's schedule, scanner by scanner."""

    day: date
    zone: str
    day_start: datetime
    day_end: datetime
    rows: tuple[ScannerDay, ...]


def day_schedule(cmd: DaySchedule, uow: UnitOfWork, ctx: ServiceContext) -> DaySheet:
    """The day sheet: who is booked where and when (audited: it names patients)."""
    guard(cmd.actor, Action.CAPACITY_READ)
    zone = ctx.settings.zone
    line = _line(zone, cmd.day, 1)
    with uow:
        picture = capacity_picture(uow, ctx, line, list(Modality))
        closures = capacity(uow).closures_between(line.origin, line.end)
        sheet = appointments(uow).day_sheet(line.origin, line.end)
        rows = []
        for scanner_id, calendar in sorted(picture.calendars.items(), key=lambda kv: (kv[1].site.id, kv[0])):
            if cmd.site_id and calendar.site.id != cmd.site_id:
                continue
            rows.append(ScannerDay(
                scanner=calendar.scanner, site=calendar.site,
                open_periods=tuple((line.instant(a), line.instant(b)) for a, b in calendar.usable),
                closures=tuple(c for c in closures if c.scanner_id == scanner_id
                               or (not c.scanner_id and c.site_id == calendar.site.id)),
                lines=tuple(s for s in sheet if s.appointment.scanner_id == scanner_id)))
        record_access(uow, ctx, cmd.actor, "schedule.day", object_type="schedule",
                      object_id=f"{cmd.day.isoformat()} {cmd.site_id}".strip(),
                      detail=f"{sum(len(r.lines) for r in rows)} appointments")
        uow.commit()
    return DaySheet(cmd.day, zone.key, line.origin, line.end, tuple(rows))
