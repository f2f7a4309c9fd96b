"""Receiving on in-memory fakes: exactly-once answers, held and refused messages, the outside-report event."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from radflow.adapters.hl7.messages import InboundMerge
from radflow.adapters.hl7.parsing import parse_message
from radflow.bootstrap import command_handlers, event_handlers, memory_repositories
from radflow.catalog.checklist import load_checklist
from radflow.catalog.loader import Catalog, load_catalog
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.hl7_message import ExternalReportReceived, Hl7Message, MessageStatus
from radflow.domain.jobs import Job
from radflow.domain.lifecycle import TRANSITIONS, OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.users import Principal, Role
from radflow.services.bus import ServiceBus
from radflow.services.context import ServiceContext
from radflow.services.interfaces.inbound import Hl7Inbound
from radflow.services.interfaces.mappings import LoadMapping, current_mapping
from radflow.services.interfaces.outbound import PATIENT_MERGE
from radflow.services.interfaces.status_messages import merge_message
from radflow.services.memory import InMemoryUnitOfWork, MemoryStore
from radflow.services.patients import MergePatients
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

        self.bus = bus = ServiceBus(uow, self.ctx, command_handlers())
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


def _read_ready(interface: Interface) -> Order:
    """The Epic order, walked through its exam day by the lifecycle table to `imaging_completed`."""
    interface.send("epic_orm_o01_251_new.hl7")
    (order,) = interface.store.table("orders").values()
    at = interface.ctx.clock.now()
    # the shortest walk through the lifecycle table (wherever the check left the order)
    paths: dict[OrderState, list[OrderEvent]] = {order.state: []}
    frontier = [order.state]
    while OrderState.IMAGING_COMPLETED not in paths:
        state = frontier.pop(0)
        for (source, event), target in TRANSITIONS.items():
            if source is state and target not in paths and event is not OrderEvent.CANCEL:
                paths[target] = [*paths[state], event]
                frontier.append(target)
    for event in paths[OrderState.IMAGING_COMPLETED]:
        order.transition(event, by="t", at=at)
    order.pull_events()
    assert order.state is OrderState.IMAGING_COMPLETED
    return order


def test_a_final_outside_report_becomes_the_signed_report_and_is_handed_to_distribution(
        interface: Interface) -> None:
    order = _read_ready(interface)
    reply = interface.send("dictation_oru_r01_251_final.hl7", (b"RAD0000123", order.accession_number.encode()))
    assert msa(reply)[1] == "AA"
    assert interface.store.table("orders")[order.id].state is OrderState.REPORTED
    (report,) = interface.store.table("reports").values()
    assert report.is_signed and report.template_key == "outside" and report.order_id == order.id
    assert "Left L4-5 protrusion." in report.text()
    # Signing started what radflow's own signed reports start: distribution, the patient's side, follow-ups.
    jobs = {job.kind for job in interface.store.table("jobs").values()}
    assert {"results.distribute", "results.patient_communication", "followups.from_report"} <= jobs
    assert "followups.from_outside_report" not in jobs



def _outside_report(interface: Interface, order: Order, status: str, control_id: str) -> bytes:
    """The dictation system's ORU for this order, with result status `status` (HL7 table 0123)."""
    raw = (DATA / "dictation_oru_r01_251_final.hl7").read_bytes()
    raw = raw.replace(b"RAD0000123", order.accession_number.encode())
    raw = raw.replace(b"|PS-2026-000441|", f"|{control_id}|".encode())
    segments = []
    for segment in raw.split(b"\r"):
        fields = segment.split(b"|")
        if fields[0] == b"OBR":
            fields[25] = status.encode()
        if fields[0] == b"OBX":
            fields[11] = status.encode()
        segments.append(b"|".join(fields))
    return interface.inbound.handle(b"\r".join(segments), "test")


def test_a_corrected_outside_report_is_signed_as_an_addendum(interface: Interface) -> None:
    order = _read_ready(interface)
    assert msa(_outside_report(interface, order, "F", "PS-1"))[1] == "AA"
    assert msa(_outside_report(interface, order, "C", "PS-2"))[1] == "AA"
    (report,) = interface.store.table("reports").values()
    assert [a.kind for a in report.addendum_list] == ["addendum"]
    assert interface.store.table("orders")[order.id].state is OrderState.REPORTED
    assert "Left L4-5 protrusion." in report.addendum_list[0].text


def test_a_preliminary_outside_report_stays_a_document_read_for_follow_ups(interface: Interface) -> None:
    order = _read_ready(interface)
    assert msa(_outside_report(interface, order, "P", "PS-3"))[1] == "AA"
    assert interface.store.table("orders")[order.id].state is OrderState.IMAGING_COMPLETED
    assert interface.store.table("reports") == {}
    assert any(d.kind == "prior_report" for d in interface.store.table("documents").values())


def _two_epic_records(interface: Interface) -> tuple[str, str]:
    """Patient 884422 with an Epic order, and a second record 884499 with another Epic order."""
    raw = (DATA / "epic_orm_o01_251_new.hl7").read_bytes()
    assert msa(interface.inbound.handle(raw, "test"))[1] == "CA"  # Epic asks for enhanced mode (MSH-15 AL)
    second = (raw.replace(b"884422", b"884499").replace(b"EPIC000101", b"EPIC000199")
              .replace(b"E1029384", b"E1029999").replace(b"PL-5001", b"PL-5099").replace(b"Zo\xc3\xab^", b"Zoe^"))
    assert msa(interface.inbound.handle(second, "test"))[1] == "CA"
    by_mrn = {next(i.value for i in p.identifiers if i.authority == "MAINHOSP"): p.id
              for p in interface.store.table("patients").values()}
    return by_mrn["884422"], by_mrn["884499"]


def _merge_jobs(interface: Interface) -> list[Job]:
    return [job for job in interface.store.table("jobs").values() if job.kind == PATIENT_MERGE]


def test_a_merge_made_in_radflow_goes_to_the_placer_as_adt_a40(interface: Interface) -> None:
    survivor, merged = _two_epic_records(interface)
    intake = Principal.system("desk", role=Role.INTAKE)
    interface.bus.handle(MergePatients(actor=intake, survivor_id=survivor, merged_id=merged))
    (job,) = _merge_jobs(interface)
    assert (job.payload["survivor_id"], job.payload["merged_id"]) == (survivor, merged)
    assert job.payload["sender"] == ["EPIC", "MAINHOSP"] and job.queue.startswith("hl7:")
    # what the job would send: the survivor in PID, the merged record's Epic MRN in MRG-1
    uow = InMemoryUnitOfWork(interface.store, event_handlers(), memory_repositories())
    with uow:
        destination = current_mapping(uow).sender_named("EPIC", "MAINHOSP").outbound  # type: ignore[union-attr]
        message = merge_message(uow, interface.ctx, job, destination, "RFM1")  # type: ignore[arg-type]
    parsed = parse_message(message)
    assert isinstance(parsed, InboundMerge)
    assert parsed.merges[0].surviving.identifiers[0].value == "884422"
    assert [i.value for i in parsed.merges[0].prior_identifiers] == ["884499"]


def test_a_merge_the_placer_sent_is_not_echoed_back_to_it(interface: Interface) -> None:
    survivor, merged = _two_epic_records(interface)
    assert msa(interface.send("epic_adt_a40_251.hl7"))[1] == "AA"
    assert interface.store.table("patients")[merged].merged_into_id == survivor  # the merge took place
    assert _merge_jobs(interface) == []
