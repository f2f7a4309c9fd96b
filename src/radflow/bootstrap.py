"""The composition root: the only module that wires adapters into services."""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from radflow.adapters.clock import FileClock, SystemClock
from radflow.adapters.db.engine import make_engine, make_session_factory
from radflow.adapters.db.job_queue import SqlJobQueue
from radflow.adapters.db.mapping import start_mappers
from radflow.adapters.db.uow import SqlAlchemyUnitOfWork
from radflow.adapters.notify.channels import gateway_from_settings
from radflow.adapters.passwords import Argon2Hasher
from radflow.catalog.checklist import load_checklist
from radflow.catalog.loader import Catalog, load_catalog
from radflow.config import Settings
from radflow.domain.clock import Clock
from radflow.domain.events import DomainEvent
from radflow.services.accounts import PasswordHasher
from radflow.services.bus import Handler, ServiceBus
from radflow.services.context import ServiceContext
from radflow.services.jobs import JobHandler
from radflow.services.memory import MemoryStore
from radflow.services.ports import MessageGateway
from radflow.services.unit_of_work import EventHandler, UnitOfWork
from radflow.wiring import AREAS, Area


def areas() -> list[Area]:
    """Every area's contributions, in composition order."""
    return [importlib.import_module(f"radflow.wiring.{name}").AREA for name in AREAS]


def _merge[K, V](what: str, tables: list[Mapping[K, V]]) -> dict[K, V]:
    merged: dict[K, V] = {}
    for table in tables:
        for key, value in table.items():
            if key in merged:
                raise ValueError(f"two {what} for {getattr(key, '__name__', key)}")
            merged[key] = value
    return merged


def command_handlers() -> dict[type, Handler]:
    """Every command and query type with its handler."""
    return _merge("handlers", [area.handlers for area in areas()])


def job_handlers() -> dict[str, JobHandler]:
    """Every job kind with its handler."""
    return _merge("job handlers", [area.job_handlers for area in areas()])


def event_handlers() -> dict[type[DomainEvent], list[EventHandler]]:
    """In-transaction reactions to domain events (the outbox writers), all areas together."""
    merged: dict[type[DomainEvent], list[EventHandler]] = {}
    for area in areas():
        for event_type, handlers in area.event_handlers.items():
            merged.setdefault(event_type, []).extend(handlers)
    return merged


def memory_repositories() -> dict[str, Callable[[MemoryStore], Any]]:
    """Area repositories for the in-memory unit of work."""
    return _merge("memory repositories", [area.memory_repositories for area in areas()])


def audit_key(settings: Settings) -> bytes:
    """The audit chain's key: RADFLOW_AUDIT_KEY, else a key file beside the data (created once, mode 0600)."""
    if settings.audit_key:
        return settings.audit_key.encode()
    path = settings.data_dir / "audit.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def make_clock(settings: Settings) -> Clock:
    """The real clock, or the test-only file clock when RADFLOW_CLOCK_FILE is set."""
    if settings.clock_file is not None:
        return FileClock(settings.clock_file)
    return SystemClock()


@dataclass
class Radflow:
    """Everything an entrypoint needs, wired."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    ctx: ServiceContext
    bus: ServiceBus
    hasher: PasswordHasher
    catalog: Catalog
    jobs: dict[str, JobHandler]
    job_queue: SqlJobQueue
    extras: dict[str, Any] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        """A new unit of work."""
        return self.bus.uow_factory()


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None,
              gateway: MessageGateway | None = None, hasher: PasswordHasher | None = None) -> Radflow:
    """Wire radflow for one process: database, catalog, clock, gateways, services."""
    settings = settings or Settings()
    composed = areas()
    start_mappers(*(mapper for area in composed for mapper in area.mappers))
    engine = make_engine(settings.effective_database_url, schema=settings.database_schema)
    session_factory = make_session_factory(engine)
    catalog = load_catalog()
    ctx = ServiceContext(
        clock=clock or make_clock(settings),
        settings=settings,
        catalog=catalog,
        checklist_rules=load_checklist(),
        audit_key=audit_key(settings),
        gateway=gateway or gateway_from_settings(settings.data_dir),
    )
    events = event_handlers()

    repositories = _merge("repositories", [area.repositories for area in composed])

    def uow_factory() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(session_factory, engine, events, repositories)

    return Radflow(
        settings=settings, engine=engine, session_factory=session_factory, ctx=ctx,
        bus=ServiceBus(uow_factory, ctx, command_handlers()), hasher=hasher or Argon2Hasher(), catalog=catalog,
        jobs=job_handlers(), job_queue=SqlJobQueue(engine, session_factory),
    )
