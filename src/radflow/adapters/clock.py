"""Clock adapters: the real wall clock, and a file-driven clock for tests of real processes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path


class SystemClock:
    """The real clock: the only place in radflow that reads the wall clock."""

    def now(self) -> datetime:
        """Return the wall-clock instant in UTC."""
        return datetime.now(UTC)


class FileClock:
    """A test-only clock: reads an ISO instant from a file on every call (RADFLOW_CLOCK_FILE).

    Lets a test move the time of a real `radflow serve` or `radflow worker` process.
    Falls back to the wall clock while the file is missing or empty.
    """

    def __init__(self, path: Path) -> None:
        self._path = path

    def now(self) -> datetime:
        """Return the instant written in the file, or the wall clock."""
        try:
            text = self._path.read_text().strip()
        except FileNotFoundError:
            text = ""
        if not text:
            return datetime.now(UTC)
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError(f"{self._path}: the clock file must hold a timezone-aware ISO instant")
        return moment.astimezone(UTC)
