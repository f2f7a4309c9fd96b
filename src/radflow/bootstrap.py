"""The composition root: the only module that wires adapters into services."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from radflow.adapters.clock import FileClock, SystemClock
from radflow.adapters.db.engine import make_engine, make_session_factory
from radflow.adapters.db.job_queue import SqlJobQueue
from radflow.adapters.db.mapping import start_mappers
from radflow.adapters.db.uow import SqlAlchemyUnitOfWork
from radflow.adapters.notify.outbox import OutboxGateway
from radflow.adapters.passwords import Argon2Hasher
from radflow.catalog.checklist import load_checklist
from radflow.catalog.loader import Catalog, load_catalog
from radflow.config import Settings
from radflow.domain.clock import Clock
from radflow.domain.events import DomainEvent
from radflow.services import authorizations, documents, order_changes, orders, patients, routing, views
from radflow.services.accounts import PasswordHasher
from radflow.services.bus import Handler, ServiceBus
from radflow.services.context import ServiceContext
from radflow.services.jobs import JobHandler
from radflow.services.ports import MessageGateway
from radflow.services.unit_of_work import EventHandler, UnitOfWork


def command_handlers() -> dict[type, Handler]:
    """Every command and query type with its handler."""
    handlers: dict[type, Handler] = {}
    tables: Sequence[Mapping[type, Handler]] = (
        patients.HANDLERS,
        authorizations.HANDLERS,
        documents.HANDLERS,
        views.HANDLERS,
        {
            orders.ReceiveReferral: orders.receive_referral,
            order_changes.SupplyDocumentation: order_changes.supply_documentation,
            order_changes.AssignProtocol: order_changes.assign_protocol,
            order_changes.CancelOrder: order_changes.cancel_order,
        },
    )
    for table in tables:
        for command_type, handler in table.items():
            if command_type in handlers:
                raise ValueError(f"two handlers for {command_type.__name__}")
            handlers[command_type] = handler
    return handlers


def job_handlers() -> dict[str, JobHandler]:
    """Every job kind with its handler."""
    return {**routing.JOB_HANDLERS, **authorizations.JOB_HANDLERS}


def event_handlers() -> dict[type[DomainEvent], list[EventHandler]]:
    """In-transaction reactions to domain events (the outbox writers)."""
    return {}


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
    start_mappers()
    engine = make_engine(settings.effective_database_url, schema=settings.database_schema)
    session_factory = make_session_factory(engine)
    catalog = load_catalog()
    ctx = ServiceContext(
        clock=clock or make_clock(settings),
        settings=settings,
        catalog=catalog,
        checklist_rules=load_checklist(),
        audit_key=audit_key(settings),
        gateway=gateway or OutboxGateway(settings.data_dir / "outbox"),
    )
    events = event_handlers()

    def uow_factory() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(session_factory, engine, events)

    return Radflow(
        settings=settings, engine=engine, session_factory=session_factory, ctx=ctx,
        bus=ServiceBus(uow_factory, ctx, command_handlers()), hasher=hasher or Argon2Hasher(), catalog=catalog,
        jobs=job_handlers(), job_queue=SqlJobQueue(engine, session_factory),
    )
