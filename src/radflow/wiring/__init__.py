"""How each area plugs into the composition root (radflow.bootstrap), one module per area.

An area lists its command handlers, job kinds, in-transaction event handlers, ORM mappings and the
extra repositories its unit of work carries. `bootstrap` imports every module named in `AREAS` and
composes them; nothing else wires adapters into services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, registry

from radflow.domain.events import DomainEvent
from radflow.services.bus import Handler
from radflow.services.jobs import JobHandler
from radflow.services.memory import MemoryStore
from radflow.services.unit_of_work import EventHandler

#: Areas in the order they are composed (their modules: radflow.wiring.<name>).
AREAS: tuple[str, ...] = ("foundation", "scheduling", "exam_day", "hl7", "reporting", "reminders", "results")


@dataclass(frozen=True)
class Area:
    """What one area contributes to the composed application."""

    name: str
    handlers: Mapping[type, Handler] = field(default_factory=dict)
    job_handlers: Mapping[str, JobHandler] = field(default_factory=dict)
    event_handlers: Mapping[type[DomainEvent], Sequence[EventHandler]] = field(default_factory=dict)
    mappers: Sequence[Callable[[registry], None]] = ()
    #: Extra repositories on the SQL unit of work: attribute name -> factory(session).
    repositories: Mapping[str, Callable[[Session], Any]] = field(default_factory=dict)
    #: The same repositories for the in-memory unit of work: attribute name -> factory(working store).
    memory_repositories: Mapping[str, Callable[[MemoryStore], Any]] = field(default_factory=dict)
