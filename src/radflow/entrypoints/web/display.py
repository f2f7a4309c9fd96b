"""How screens show times, ages and targets: the center's timezone, ages as "3 d 4 h".

Stored instants are UTC (DESIGN §2, "Time is injected"); people read them in the center's zone.
Waiting time runs on the wall clock from `received` and is never paused (DESIGN §1, routing tracks).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def format_local(moment: datetime | None, zone: ZoneInfo) -> str:
    """'2026-03-02 08:00 EST': an instant in the center's zone, with the zone's abbreviation."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def format_local_date(moment: datetime | None, zone: ZoneInfo) -> str:
    """'2026-03-02': the calendar day of an instant in the center's zone."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%d")


def format_age(span: timedelta) -> str:
    """A duration as a coordinator reads it: '3 d 4 h', '5 h 12 min', '7 min' (never negative)."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def format_due(target: datetime, now: datetime) -> str:
    """Time left to a track's target, or how far past it: 'due in 2 d 3 h' / 'overdue by 5 h 0 min'."""
    if target >= now:
        return f"due in {format_age(target - now)}"
    return f"overdue by {format_age(now - target)}"


def is_overdue(target: datetime, now: datetime) -> bool:
    """True once the target instant has passed."""
    return now > target


def state_label(state: str) -> str:
    """'awaiting_documentation' → 'Awaiting documentation' (the lifecycle's words, readable)."""
    text = state.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def format_size(size: int) -> str:
    """A file's size as people read it: '812 bytes', '14.2 KB', '3.1 MB'."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
