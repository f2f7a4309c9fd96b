"""A small imaging center wired on in-memory fakes, for service tests."""


from __future__ import annotations

from datetime import UTC, datetime

from radflow.bootstrap import command_handlers, event_handlers, job_handlers, memory_repositories
from radflow.catalog.checklist import load_checklist
from radflow.catalog.loader import Catalog
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.users import Principal, Role
from radflow.services.bus import ServiceBus
from radflow.services.context import ServiceContext
from radflow.services.memory import InMemoryUnitOfWork, MemoryStore
from radflow.services.ports import RecordingGateway
from radflow.services.unit_of_work import UnitOfWork


class FakeCenter:
    """A bus on an in-memory store, with the people of a small center."""

    def __init__(self, catalog: Catalog) -> None:
        self.store = MemoryStore()
        self.clock = FakeClock(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
        self.gateway = RecordingGateway()
        self.ctx = ServiceContext(clock=self.clock, settings=Settings(), catalog=catalog,
                                  checklist_rules=load_checklist(), audit_key=b"k" * 32, gateway=self.gateway)
        events = event_handlers()

        def uow() -> UnitOfWork:
            return InMemoryUnitOfWork(self.store, events, memory_repositories())

        self.uow = uow
        self.bus = ServiceBus(uow, self.ctx, command_handlers())
        self.jobs = job_handlers()
        self.intake = Principal(user_id="u-intake", username="ines", role=Role.INTAKE)
        self.auth = Principal(user_id="u-auth", username="avery", role=Role.AUTHORIZATION)
        self.radiologist = Principal(user_id="u-rad", username="riley", role=Role.RADIOLOGIST)
        self.scheduler = Principal(user_id="u-sched", username="sam", role=Role.SCHEDULER)
