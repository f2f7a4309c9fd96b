"""Charts as inline SVG, drawn on the server: nothing is fetched or run in the browser.

Colours are SVG presentation attributes (the screens' CSP allows no inline style). Each chart has a
title and a description for screen readers, and the screen shows the same figures as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from radflow.domain.appointment import AppointmentState
from radflow.scheduling.planning import BacklogLine, DayLoad, ForecastDay, Utilization
from radflow.services.scheduling.planning import DaySheet

FONT = 'font-family="system-ui, sans-serif" font-size="11"'
STATE_FILL = {AppointmentState.BOOKED: "#2f6db5", AppointmentState.ATTENDED: "#2e8b57",
              AppointmentState.NO_SHOW: "#d98a1c"}
#: Track targets in days, to mark on the backlog chart (the configured defaults: 4 h, 3 days, 10 days).
TARGET_DAYS = {"stat": 4 / 24, "urgent": 3.0, "routine": 10.0}


def _svg(width: int, height: int, title: str, description: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-label="{escape(title)}" {FONT}><title>{escape(title)}</title>'
            f"<desc>{escape(description)}</desc>")
    return Markup(head + "".join(body) + "</svg>")


def _shade(share: float | None) -> str:
    """Light (idle) to dark blue (full); red above 95 % (no room left); grey when closed."""
    if share is None:
        return "#e6e6e6"
    if share > 0.95:
        return "#c0392b"
    level = int(235 - 170 * min(share, 1.0))
    return f"rgb({level - 40},{level},{min(255, level + 20)})"


def utilization_heatmap(loads: Sequence[DayLoad]) -> Markup:
    """Scanner × day grid of utilization, the percentage written in each cell."""
    scanners = sorted({x.scanner_id for x in loads})
    days = sorted({x.day for x in loads})
    cell, left, top = 44, 70, 30
    body = []
    for column, day in enumerate(days):
        x = left + column * cell
        body.append(f'<text x="{x + cell / 2}" y="14" text-anchor="middle">{day:%a}</text>'
                    f'<text x="{x + cell / 2}" y="26" text-anchor="middle" fill="#555">{day:%d %b}</text>')
    by_key = {(x.scanner_id, x.day): x for x in loads}
    for row, scanner_id in enumerate(scanners):
        y = top + row * 22
        body.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(scanner_id)}</text>')
        for column, day in enumerate(days):
            load = by_key.get((scanner_id, day))
            share = load.utilization if load else None
            label = "closed" if share is None else f"{share:.0%}"
            ink = "#fff" if share is not None and share > 0.55 else "#222"
            body.append(f'<rect x="{left + column * cell + 1}" y="{y}" width="{cell - 2}" height="20" '
                        f'fill="{_shade(share)}"><title>{escape(scanner_id)} {day}: {label}</title></rect>')
            if share is not None:
                body.append(f'<text x="{left + column * cell + cell / 2}" y="{y + 14}" text-anchor="middle" '
                            f'fill="{ink}">{label}</text>')
    return _svg(left + len(days) * cell + 10, top + len(scanners) * 22 + 8, "Utilization per scanner and day",
                "Booked minutes as a share of open, staffed minutes; red cells have no room left; grey: closed.",
                body)


def modality_bars(groups: Sequence[Utilization]) -> Markup:
    """One horizontal bar per modality: booked share of open minutes, with the hours."""
    width, left, bar = 520, 60, 300
    body = []
    for row, group in enumerate(groups):
        y = 8 + row * 26
        share = group.share or 0.0
        body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(group.key)}</text>'
                    f'<rect x="{left}" y="{y}" width="{bar}" height="18" fill="#e6e6e6"/>'
                    f'<rect x="{left}" y="{y}" width="{bar * min(share, 1.0):.1f}" height="18" '
                    f'fill="{_shade(share)}"/>'
                    f'<text x="{left + bar + 8}" y="{y + 14}">{share:.0%} · {group.booked_minutes / 60:.0f} of '
                    f'{group.open_minutes / 60:.0f} h</text>')
    return _svg(width, 16 + len(groups) * 26, "Utilization per modality",
                "Booked hours of open, staffed hours over the period, per modality.", body)


def backlog_chart(lines: Sequence[BacklogLine]) -> Markup:
    """Days to clear each track's backlog at today's free capacity, against the track's target."""
    width, left, scale_days = 560, 120, 14.0
    bar = 330
    body = []
    for row, line in enumerate(lines):
        y = 8 + row * 28
        days = line.days_to_clear
        target = TARGET_DAYS.get(line.track, 10.0)
        over = days is None or days > target
        shown = scale_days if days is None else min(days, scale_days)
        label = "no free capacity" if days is None else f"{days:.1f} days"
        body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(line.track)} {escape(line.modality)}'
                    f'</text><rect x="{left}" y="{y}" width="{bar * shown / scale_days:.1f}" height="18" '
                    f'fill="{"#c0392b" if over else "#2e8b57"}"/>'
                    f'<line x1="{left + bar * min(target, scale_days) / scale_days:.1f}" y1="{y - 2}" '
                    f'x2="{left + bar * min(target, scale_days) / scale_days:.1f}" y2="{y + 20}" stroke="#222" '
                    f'stroke-width="2"/>'
                    f'<text x="{left + bar + 8}" y="{y + 14}">{label} · {line.orders} orders'
                    f'{f", {line.overdue} overdue" if line.overdue else ""}</text>')
    return _svg(width, 16 + len(lines) * 28, "Backlog against capacity",
                "Days needed to book each track's waiting orders with the free capacity of the coming days; the "
                "black mark is the track's target; red bars miss it.", body)


def forecast_chart(days: Sequence[ForecastDay], modality: str) -> Markup:
    """Per day: capacity (outline), booked (solid) and expected new demand (light), red when short."""
    days = [d for d in days if d.modality == modality]
    peak = max([d.capacity_minutes for d in days] + [d.demand_minutes for d in days] + [1])
    column, height, top = 36, 120, 10
    body = []
    for k, day in enumerate(days):
        x = 30 + k * column
        scale = height / peak
        booked_h = day.booked_minutes * scale
        new_h = day.expected_new_minutes * scale
        base = top + height
        body.append(f'<rect x="{x}" y="{base - day.capacity_minutes * scale:.1f}" width="{column - 8}" '
                    f'height="{day.capacity_minutes * scale:.1f}" fill="none" stroke="#555"/>'
                    f'<rect x="{x + 3}" y="{base - booked_h:.1f}" width="{column - 14}" height="{booked_h:.1f}" '
                    f'fill="{"#c0392b" if day.short else "#2f6db5"}"/>'
                    f'<rect x="{x + 3}" y="{base - booked_h - new_h:.1f}" width="{column - 14}" height="{new_h:.1f}" '
                    f'fill="{"#e8a09a" if day.short else "#9cbde3"}"/>'
                    f'<text x="{x + (column - 8) / 2}" y="{base + 13}" text-anchor="middle">{day.day:%d}</text>'
                    f'<title>{day.day} {escape(modality)}: capacity {day.capacity_minutes / 60:.0f} h, booked '
                    f'{day.booked_minutes / 60:.0f} h, expected new {day.expected_new_minutes / 60:.0f} h</title>')
    return _svg(40 + len(days) * column, top + height + 20, f"{modality}: demand against capacity",
                "Outline: open hours; solid: booked; light: expected new demand (the weekday's mean of the last "
                "four weeks); red days need more than the capacity.", body)


def gantt(sheet: DaySheet, zone: ZoneInfo, *, first_hour: int = 6, last_hour: int = 22) -> Markup:
    """One row per scanner across the day: closed time grey, open white, appointments as labelled blocks."""
    day_start = datetime(sheet.day.year, sheet.day.month, sheet.day.day, first_hour, tzinfo=zone)
    span = timedelta(hours=last_hour - first_hour)
    left, width, row_h = 90, 900, 30

    def x_of(moment: datetime) -> float:
        share = (moment.astimezone(zone) - day_start) / span
        return left + width * min(max(share, 0.0), 1.0)

    body = []
    for hour in range(first_hour, last_hour + 1):
        x = left + width * (hour - first_hour) / (last_hour - first_hour)
        body.append(f'<line x1="{x:.1f}" y1="18" x2="{x:.1f}" y2="{22 + len(sheet.rows) * row_h}" stroke="#ddd"/>'
                    f'<text x="{x:.1f}" y="14" text-anchor="middle">{hour:02d}</text>')
    for k, row in enumerate(sheet.rows):
        y = 22 + k * row_h
        body.append(f'<text x="{left - 6}" y="{y + 18}" text-anchor="end">{escape(row.scanner.name)}</text>'
                    f'<rect x="{left}" y="{y}" width="{width}" height="{row_h - 4}" fill="#e6e6e6"/>')
        for start, end in row.open_periods:
            body.append(f'<rect x="{x_of(start):.1f}" y="{y}" width="{max(0.0, x_of(end) - x_of(start)):.1f}" '
                        f'height="{row_h - 4}" fill="#fff" stroke="#ccc"/>')
        for line in row.lines:
            appointment = line.appointment
            if appointment.state is AppointmentState.CANCELLED:
                continue
            x0, x1 = x_of(appointment.start), x_of(appointment.end)
            local = appointment.start.astimezone(zone)
            lane_offset = 6 * appointment.lane
            body.append(f'<g><title>{local:%H:%M} {escape(line.protocol_code)} {escape(line.accession_number)} · '
                        f'{escape(line.patient_name)} ({appointment.state.value.replace("_", " ")})</title>'
                        f'<rect x="{x0:.1f}" y="{y + 2 + lane_offset}" width="{max(1.0, x1 - x0 - 1):.1f}" '
                        f'height="{row_h - 8 - lane_offset}" rx="2" fill="{STATE_FILL[appointment.state]}"/>'
                        f'<text x="{x0 + 2:.1f}" y="{y + 18}" fill="#fff" font-size="9">'
                        f'{escape(line.protocol_code) if x1 - x0 > 40 else ""}</text></g>')
    return _svg(left + width + 10, 26 + len(sheet.rows) * row_h, f"Schedule of {sheet.day:%A %d %B %Y}",
                "Each scanner's day: grey is closed or unstaffed, white is open; blocks are appointments (blue booked, "
                "green attended, orange no-show).", body)
