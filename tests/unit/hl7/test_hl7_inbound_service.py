"""Receiving on in-memory fakes: exactly-once answers, held and refused messages, the outside-report event."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from radflow.bootstrap import command_handlers, event_handlers, memory_repositories
from radflow.catalog.checklist import load_checklist
from radflow.catalog.loader import Catalog, load_catalog
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.hl7_message import ExternalReportReceived, Hl7Message, MessageStatus
from radflow.domain.users import Principal, Role
from radflow.services.bus import ServiceBus
from radflow.services.context import ServiceContext
from radflow.services.interfaces.inbound import Hl7Inbound
from radflow.services.interfaces.mappings import LoadMapping
from radflow.services.memory import InMemoryUnitOfWork, MemoryStore
from radflow.services.unit_of_work import UnitOfWork

DATA = Path(__file__).parents[2] / "data" / "hl7"


class Interface:
    """The receiving application on a memory store, with the sample senders' mapping loaded."""

    def __init__(self, catalog: Catalog) -> None:
        self.store = MemoryStore()
        self.last: list[UnitOfWork] = []
        clock = FakeClock(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
        self.ctx = ServiceContext(clock=clock, settings=Settings(), catalog=catalog,
                                  checklist_rules=load_checklist(), audit_key=b"k" * 32)
        events = event_handlers()

        def uow() -> UnitOfWork:
            made = InMemoryUnitOfWork(self.store, events, memory_repositories())
            self.last.append(made)
            return made

        bus = ServiceBus(uow, self.ctx, command_handlers())
        mapping = (DATA / "mapping.yaml").read_text()
        bus.handle(LoadMapping(actor=Principal.system("t", role=Role.ADMIN), content=mapping))
        self.inbound = Hl7Inbound(uow, self.ctx)

    def send(self, name: str, replace: tuple[bytes, bytes] = (b"", b"")) -> bytes:
        raw = (DATA / name).read_bytes()
        if replace[0]:
            raw = raw.replace(*replace)
        return self.inbound.handle(raw, "test")

    def messages(self) -> list[Hl7Message]:
        return list(self.store.table("hl7_messages").values())


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def interface(catalog: Catalog) -> Interface:
    return Interface(catalog)


def msa(reply: bytes) -> list[str]:
    line = next(s for s in reply.decode("latin-1").split("\r") if s.startswith("MSA"))
    return line.split("|")


def test_the_same_message_twice_is_one_stored_message_and_one_order(interface: Interface) -> None:
    first = interface.send("epic_orm_o01_251_two_orders.hl7")
    assert interface.send("epic_orm_o01_251_two_orders.hl7") == first
    (message,) = interface.messages()
    assert (message.status, message.deliveries, message.ack) == (MessageStatus.APPLIED, 2, first)
    assert len(interface.store.table("orders")) == 2


def test_a_refused_message_keeps_nothing_of_its_effects(interface: Interface) -> None:
    reply = interface.send("error_unknown_procedure.hl7")
    assert msa(reply)[1] == "AE"
    (message,) = interface.messages()
    assert message.status is MessageStatus.REJECTED and message.error_code == "103"
    # The patient the message named was not registered: the refused transaction left nothing.
    assert interface.store.table("patients") == {} and interface.store.table("orders") == {}


def test_the_outside_report_event_is_recorded_for_the_reporting_side(interface: Interface) -> None:
    interface.send("epic_orm_o01_251_new.hl7")
    (order,) = interface.store.table("orders").values()
    interface.last.clear()
    reply = interface.send("dictation_oru_r01_251_final.hl7", (b"RAD0000123", order.accession_number.encode()))
    assert msa(reply)[1] == "AA"
    events = [e for uow in interface.last for e in uow.dispatched if isinstance(e, ExternalReportReceived)]
    (event,) = events
    assert (event.order_id, event.result_status, event.accession_number) == (order.id, "F", order.accession_number)
    assert "Left L4-5 protrusion." in event.text and ("BI-RADS", "2", "Benign") in event.coded_findings
