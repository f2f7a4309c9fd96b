"""A center for the messaging integration tests, written through the real services and unit of work.

Site MAIN in New York (its callback number and address), MR1 and CT1 open 07:00–19:00 on weekdays;
patients with a mobile number, an email and a postal address; orders ready to schedule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from radflow.bootstrap import Radflow
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent
from radflow.domain.order import Order, Track
from radflow.domain.patient import Patient, Sex
from radflow.domain.users import Principal, Role
from radflow.services.scheduling.booking import BookAppointment
from radflow.services.scheduling.capacity_admin import SaveScanner, SaveSite

NY = ZoneInfo("America/New_York")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
MANAGER = Principal.system("capacity-test", role=Role.MANAGER)
SCHEDULER = Principal.system("scheduler-test", role=Role.SCHEDULER)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time in March 2026, as UTC."""
    return local(2026, 3, day, hour, minute)


def _week(start: str, end: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"day": d, "from": start, "to": end, **extra} for d in WEEKDAYS]


def seed_capacity(radflow: Radflow) -> None:
    """Site MAIN with MR1 and CT1, weekdays 07:00–19:00 New York time."""
    radflow.bus.handle(SaveSite(actor=MANAGER, document={
        "id": "MAIN", "name": "Main campus", "timezone": "America/New_York", "phone": "+1 555 010 2000",
        "address": "100 Riverside Drive, Springfield", "supervision": _week("08:00", "17:00")}))
    for scanner_id, modality, caps in (("MR1", "MR", ["1.5T"]), ("CT1", "CT", [])):
        radflow.bus.handle(SaveScanner(actor=MANAGER, document={
            "id": scanner_id, "site_id": "MAIN", "name": scanner_id, "modality": modality, "capabilities": caps,
            "opening": _week("07:00", "19:00"), "shifts": _week("07:00", "19:00", technologist="tech")}))


def add_patient(radflow: Radflow, number: int = 1, *, email: str | None = None) -> str:
    """A patient with a mobile number 555-010-1NNN, an email and an address."""
    patient = Patient(id=new_id(), family_name=f"Doe{number}", given_name="Jo", birth_date=date(1970, 5, 1),
                      sex=Sex.FEMALE, created_at=radflow.ctx.clock.now(), phone=f"555-010-{1000 + number}",
                      email=f"jo{number}@example.org" if email is None else email, address_line="1 Main Street",
                      city="Springfield", state="NY", postal_code="10001")
    with radflow.uow() as uow:
        uow.patients.add(patient)
        uow.commit()
    return patient.id


def add_ready_order(radflow: Radflow, patient_id: str, protocol: str = "MR-LSPINE") -> str:
    """An order ready to schedule."""
    now = radflow.ctx.clock.now()
    entry = radflow.catalog.protocol(protocol)
    order = Order.receive(by="test", at=now, target=timedelta(days=10), id=new_id(), patient_id=patient_id,
                          accession_number=new_id()[:12], study_instance_uid=f"2.25.{new_id()[:8]}",
                          protocol_code=protocol, requested_modality=entry.modality.value, priority=Track.ROUTINE,
                          body_part=entry.body_part)
    order.transition(OrderEvent.CLEARED_FOR_SCHEDULING, by="test", at=now)
    with radflow.uow() as uow:
        uow.orders.add(order)
        uow.commit()
    return order.id


def book(radflow: Radflow, order_id: str, start: datetime, scanner_id: str = "MR1") -> str:
    """Book through the booking service."""
    appointment_id: str = radflow.bus.handle(BookAppointment(actor=SCHEDULER, order_id=order_id,
                                                             scanner_id=scanner_id, start=start))
    return appointment_id
