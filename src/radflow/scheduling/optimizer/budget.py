"""A time budget read from the injected Clock (scheduling code never reads the wall clock itself)."""

from __future__ import annotations

from datetime import timedelta

from radflow.domain.clock import Clock


class Deadline:
    """The moment by which the optimizer must have its answer."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self._began = clock.now()
        self._end = self._began + timedelta(seconds=max(0.0, seconds))

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, (self._end - self._clock.now()).total_seconds())

    def elapsed(self) -> float:
        """Seconds since the budget was set."""
        return (self._clock.now() - self._began).total_seconds()

    def expired(self) -> bool:
        """Whether no time is left."""
        return self.remaining() <= 0.0
