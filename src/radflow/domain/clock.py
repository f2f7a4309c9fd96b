"""The Clock port: the only way domain, services and scheduling learn the time.

`FakeClock` lives beside the port (tests, demo, simulation). The real clock and the
file-backed test clock are adapters (`radflow.adapters.clock`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current time as a timezone-aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current instant, tz-aware, in UTC."""
        ...


def ensure_utc(moment: datetime) -> datetime:
    """Return `moment` in UTC; a naive datetime is refused (it hides a zone bug)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: radflow stores only timezone-aware instants")
    return moment.astimezone(UTC)


class FakeClock:
    """A clock that stands still until told to move; for tests and simulations."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start or datetime(2026, 3, 2, 13, 0, tzinfo=UTC))

    def now(self) -> datetime:
        """Return the fake current instant."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment`."""
        self._now = ensure_utc(moment)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by `delta` (or timedelta(**kwargs)) and return the new instant."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards")
        self._now = self._now + step
        return self._now
