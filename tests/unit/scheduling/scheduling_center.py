"""A small imaging center on in-memory fakes for the scheduling tests: one site in New York, a few scanners.

Monday 2 March 2026, 09:00 in New York (14:00 UTC); daylight saving starts on Sunday 8 March.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from radflow.catalog.loader import Catalog
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent
from radflow.domain.order import Order, Track
from radflow.domain.patient import Patient, Sex
from radflow.domain.protocols import ContrastPhase
from radflow.domain.users import Principal, Role
from radflow.services.bus import ServiceBus
from radflow.services.context import ServiceContext
from radflow.services.memory import InMemoryUnitOfWork, MemoryStore
from radflow.services.ports import RecordingGateway
from radflow.services.scheduling.capacity_admin import SaveScanner, SaveSite
from radflow.services.unit_of_work import EventHandler, UnitOfWork
from radflow.wiring import foundation, scheduling

NY = ZoneInfo("America/New_York")
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
TARGET_HOURS = {"stat": 4, "urgent": 72, "routine": 240}


def week(start: str, end: str, days: tuple[str, ...] = WEEKDAYS, **extra: Any) -> list[dict[str, Any]]:
    """The same period on each of `days`."""
    return [{"day": d, "from": start, "to": end, **extra} for d in days]


def ny(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A New York wall-clock time in March 2026, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


SITE = {"id": "MAIN", "name": "Main campus", "timezone": "America/New_York", "phone": "+1 555 010 2000",
        "supervision": week("08:00", "17:00")}


def scanner(scanner_id: str, modality: str, *, capabilities: tuple[str, ...] = (),
            hours: tuple[str, str] = ("07:00", "19:00"), shifts: tuple[str, str] | None = None,
            days: tuple[str, ...] = WEEKDAYS, site: str = "MAIN", **extra: Any) -> dict[str, Any]:
    """A scanner document open `hours` on `days`, staffed the same hours unless `shifts` says otherwise."""
    staffed = shifts or hours
    return {"id": scanner_id, "site_id": site, "name": scanner_id, "modality": modality,
            "capabilities": list(capabilities), "opening": week(*hours, days=days),
            "shifts": week(*staffed, days=days, technologist="tech"), **extra}


class SchedulingCenter:
    """A bus on an in-memory store with capacity configured and helpers to make ready orders."""

    def __init__(self, catalog: Catalog, scanners: list[dict[str, Any]] | None = None,
                 sites: list[dict[str, Any]] | None = None) -> None:
        self.store = MemoryStore()
        self.clock = FakeClock(START)
        self.catalog = catalog
        self.ctx = ServiceContext(clock=self.clock, settings=Settings(), catalog=catalog,
                                  checklist_rules=(), audit_key=b"k" * 32, gateway=RecordingGateway())
        # Only the foundation and scheduling are composed: other areas' work in progress stays out.
        areas = (foundation.AREA, scheduling.AREA)
        events: dict[type, list[EventHandler]] = {}
        for area in areas:
            for event_type, handlers in area.event_handlers.items():
                events.setdefault(event_type, []).extend(handlers)
        repositories = {k: v for area in areas for k, v in area.memory_repositories.items()}

        def uow() -> UnitOfWork:
            return InMemoryUnitOfWork(self.store, events, repositories)

        self.uow = uow
        self.bus = ServiceBus(uow, self.ctx, {k: v for area in areas for k, v in area.handlers.items()})
        self.scheduler = Principal(user_id="u-sched", username="sam", role=Role.SCHEDULER)
        self.manager = Principal(user_id="u-mgr", username="mo", role=Role.MANAGER)
        for site in sites or [SITE]:
            self.bus.handle(SaveSite(actor=self.manager, document=site))
        for document in scanners if scanners is not None else default_scanners():
            self.bus.handle(SaveScanner(actor=self.manager, document=document))

    def patient(self, *, birth: date = date(1970, 5, 1), language: str = "en") -> str:
        """A new patient's id."""
        patient = Patient(id=new_id(), family_name="Doe", given_name="Jo", birth_date=birth, sex=Sex.FEMALE,
                          created_at=self.clock.now(), preferred_language=language)
        with self.uow() as uow:
            uow.patients.add(patient)
            uow.commit()
        return patient.id

    def order(self, protocol: str, patient_id: str | None = None, *, contrast: str | None = None,
              track: str = "routine", received: datetime | None = None) -> str:
        """An order of `protocol`, ready to schedule."""
        protocol_entry = self.catalog.protocol(protocol)
        at = received or self.clock.now()
        order = Order.receive(by="test", at=at, target=timedelta(hours=TARGET_HOURS[track]), id=new_id(),
                              patient_id=patient_id or self.patient(), accession_number=new_id()[:10],
                              study_instance_uid="2.25.1", protocol_code=protocol,
                              requested_modality=protocol_entry.modality.value, priority=Track(track),
                              contrast=ContrastPhase(contrast) if contrast else None,
                              body_part=protocol_entry.body_part)
        order.transition(OrderEvent.CLEARED_FOR_SCHEDULING, by="test", at=at)
        with self.uow() as uow:
            uow.orders.add(order)
            uow.commit()
        return order.id

    def state(self, order_id: str) -> str:
        """The order's state."""
        with self.uow() as uow:
            return uow.orders.get(order_id).state.value


def default_scanners() -> list[dict[str, Any]]:
    """MR1 1.5T, MR2 3T wide bore, CT1, US1, NM1, PT1 on weekdays 07:00–19:00."""
    return [
        scanner("MR1", "MR", capabilities=("1.5T",), table_limit_kg=160),
        scanner("MR2", "MR", capabilities=("3T", "wide_bore"), table_limit_kg=250),
        scanner("CT1", "CT"),
        scanner("US1", "US"),
        scanner("NM1", "NM", capabilities=("spect_ct",)),
        scanner("PT1", "PT", capabilities=("pet_ct",)),
    ]
