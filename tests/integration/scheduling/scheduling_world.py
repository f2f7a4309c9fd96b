"""Capacity and ready orders for the scheduling integration tests, written through the real unit of work."""

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
from radflow.services.scheduling.capacity_admin import SaveScanner, SaveSite

NY = ZoneInfo("America/New_York")
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MANAGER = Principal.system("capacity-test", role=Role.MANAGER)
SCHEDULER = Principal.system("scheduler-test", role=Role.SCHEDULER)


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time in March 2026, as UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=NY).astimezone(UTC)


def _week(start: str, end: str, days: tuple[str, ...], **extra: Any) -> list[dict[str, Any]]:
    return [{"day": d, "from": start, "to": end, **extra} for d in days]


def seed_capacity(radflow: Radflow) -> None:
    """Site MAIN (New York): MR1 07:00–19:00 weekdays, MR2 and CT1 open around the clock every day."""
    radflow.bus.handle(SaveSite(actor=MANAGER, document={
        "id": "MAIN", "name": "Main campus", "timezone": "America/New_York",
        "supervision": _week("08:00", "17:00", EVERY_DAY[:5])}))
    weekdays = EVERY_DAY[:5]
    for scanner_id, modality, caps, hours, days in (
            ("MR1", "MR", ["1.5T"], ("07:00", "19:00"), weekdays),
            ("MR2", "MR", ["3T"], ("00:00", "24:00"), EVERY_DAY),
            ("CT1", "CT", [], ("00:00", "24:00"), EVERY_DAY)):
        radflow.bus.handle(SaveScanner(actor=MANAGER, document={
            "id": scanner_id, "site_id": "MAIN", "name": scanner_id, "modality": modality, "capabilities": caps,
            "opening": _week(*hours, days), "shifts": _week(*hours, days, technologist="tech")}))


def add_patients(radflow: Radflow, count: int) -> list[str]:
    """`count` new patients."""
    now = radflow.ctx.clock.now()
    patients = [Patient(id=new_id(), family_name=f"Test{k}", given_name="Pat", birth_date=date(1970, 1, 1),
                        sex=Sex.FEMALE, created_at=now) for k in range(count)]
    with radflow.uow() as uow:
        for patient in patients:
            uow.patients.add(patient)
        uow.commit()
    return [p.id for p in patients]


def add_ready_orders(radflow: Radflow, patient_ids: list[str], protocol: str = "MR-LSPINE") -> list[str]:
    """One order ready to schedule per patient id given (repeat ids for several orders)."""
    now = radflow.ctx.clock.now()
    entry = radflow.catalog.protocol(protocol)
    orders = []
    for patient_id in patient_ids:
        order = Order.receive(by="test", at=now, target=timedelta(days=10), id=new_id(), patient_id=patient_id,
                              accession_number=new_id()[:12], study_instance_uid=f"2.25.{new_id()[:8]}",
                              protocol_code=protocol, requested_modality=entry.modality.value,
                              priority=Track.ROUTINE, body_part=entry.body_part)
        order.transition(OrderEvent.CLEARED_FOR_SCHEDULING, by="test", at=now)
        orders.append(order)
    with radflow.uow() as uow:
        for order in orders:
            uow.orders.add(order)
        uow.commit()
    return [o.id for o in orders]
