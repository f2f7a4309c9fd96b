"""The aggregate root mixin: collects domain events until the unit of work dispatches them."""

from __future__ import annotations

from radflow.domain.events import DomainEvent


class Aggregate:
    """Base for aggregates; the ORM never maps the event list (it is transient)."""

    def record(self, event: DomainEvent) -> None:
        """Remember `event` for dispatch after the unit of work commits."""
        self.__dict__.setdefault("_pending_events", []).append(event)

    def pull_events(self) -> list[DomainEvent]:
        """Hand over and forget the events recorded so far."""
        events: list[DomainEvent] = self.__dict__.pop("_pending_events", [])
        return events
