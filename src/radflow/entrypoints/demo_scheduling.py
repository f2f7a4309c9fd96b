"""Demo seeding for scheduling: a two-site center's scanners and calendars, and the ready orders booked.

Main campus (MR1 1.5T, MR2 3T wide bore, CT1, CT2, US1, US2, MG1 with tomosynthesis, DX1, NM1, PT1)
and the North clinic (US3, DX2); weekday hours with evening MR and CT, Saturday mornings, technologist
shifts, radiologist supervision on site (with a Wednesday-afternoon gap at North: no contrast there),
a staff-training holiday at North, screening-mammography blocks released the day before, and an
urgent hold on MR2. Every order the demo left ready to schedule is then booked at its best option
through the same services the screens use; `seeded["appointments"]` lists them (order id →
appointment id) for later areas, and `seeded["mr_ready_appointment"]` is the MRI lumbar spine's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.console import Console

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.errors import RadflowError
from radflow.domain.users import Principal, Role
from radflow.entrypoints.demo import REFERRER_NPI as DEMO_REFERRER_NPI
from radflow.services.orders import OrderLine, ReceiveReferral
from radflow.services.scheduling.booking import BookAppointment
from radflow.services.scheduling.capacity_admin import AddClosure, SaveScanner, SaveSite
from radflow.services.scheduling.ports import backlog
from radflow.services.scheduling.slots import FindSlots, SlotSearch

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _week(start: str, end: str, days: tuple[str, ...] = WEEKDAYS, **extra: Any) -> list[dict[str, Any]]:
    return [{"day": d, "from": start, "to": end, **extra} for d in days]


def _scanner(scanner_id: str, site: str, modality: str, name: str, hours: list[dict[str, Any]], *,
             capabilities: tuple[str, ...] = (), table_limit_kg: int | None = None,
             reserved: list[dict[str, Any]] | None = None, informative: tuple[str, ...] = ()) -> dict[str, Any]:
    # One technologist per opening period, named by shift (a scanner runs only while staffed).
    shifts = [{**h, "technologist": "early" if h["from"] < "12:00" else "late"} for h in hours]
    return {"id": scanner_id, "site_id": site, "name": name, "modality": modality,
            "capabilities": list(capabilities), "informative": list(informative), "table_limit_kg": table_limit_kg,
            "opening": hours, "shifts": shifts, "reserved": reserved or []}


SITES = (
    {"id": "MAIN", "name": "Riverside Imaging, main campus", "timezone": "America/New_York",
     "phone": "+1 555 010 2000", "address": "100 Riverside Drive, Springfield",
     "supervision": [*_week("07:30", "19:30", radiologist="Dr. Riley Radiologist"),
                     *_week("08:00", "12:00", ("sat",), radiologist="on-call radiologist")]},
    {"id": "NORTH", "name": "Riverside Imaging, North clinic", "timezone": "America/New_York",
     "phone": "+1 555 010 2100", "address": "12 Hill Road, Springfield North",
     "supervision": [*_week("08:00", "17:00", ("mon", "tue", "thu", "fri")),
                     *_week("08:00", "12:00", ("wed",))]},
)

LONG_DAY = [*_week("07:00", "21:00"), *_week("08:00", "13:00", ("sat",))]
OFFICE = _week("08:00", "17:00")
SCREENING_BLOCKS = [{"day": d, "from": "08:00", "to": "11:00", "purpose": "screening mammography",
                     "protocols": ["MG-SCREEN", "MG-SCREEN-TOMO"], "release_hours_before": 24}
                    for d in ("tue", "thu")]
URGENT_HOLD = [{"day": d, "from": "16:00", "to": "17:00", "purpose": "urgent hold", "tracks": ["stat", "urgent"],
                "release_hours_before": 24} for d in WEEKDAYS]

SCANNERS = (
    _scanner("MR1", "MAIN", "MR", "MR1 1.5T", LONG_DAY, capabilities=("1.5T",), table_limit_kg=159),
    _scanner("MR2", "MAIN", "MR", "MR2 3T wide bore", LONG_DAY, capabilities=("3T", "wide_bore"),
             table_limit_kg=250, reserved=URGENT_HOLD),
    _scanner("CT1", "MAIN", "CT", "CT1", LONG_DAY, table_limit_kg=227),
    _scanner("CT2", "MAIN", "CT", "CT2 cardiac", OFFICE, capabilities=("cardiac",), table_limit_kg=227),
    _scanner("US1", "MAIN", "US", "US1", OFFICE),
    _scanner("US2", "MAIN", "US", "US2", OFFICE),
    _scanner("MG1", "MAIN", "MG", "MG1 tomosynthesis", OFFICE, capabilities=("tomo",), reserved=SCREENING_BLOCKS),
    _scanner("DX1", "MAIN", "DX", "DX1", LONG_DAY),
    _scanner("NM1", "MAIN", "NM", "NM1 SPECT/CT", _week("07:30", "16:30"), capabilities=("spect_ct",)),
    _scanner("PT1", "MAIN", "PT", "PT1 PET/CT", _week("07:00", "16:00", ("mon", "wed", "thu")),
             capabilities=("pet_ct",)),
    _scanner("US3", "NORTH", "US", "US3 (North)", OFFICE),
    _scanner("DX2", "NORTH", "DX", "DX2 (North)", OFFICE),
)


#: A week's worth of simple self-pay referrals (no protocol, no prior authorization), so that the day
#: schedule and the capacity dashboard show a working center: (patient index, protocol, reason, ICD-10).
MORE_REFERRALS = (
    (0, "DX-CHEST", "Cough for three weeks", "R05.9"), (1, "US-ABD", "Right upper quadrant pain", "R10.11"),
    (2, "MG-SCREEN-TOMO", "Screening mammogram", "Z12.31"), (3, "DX-KNEE", "Knee pain after a fall", "M25.561"),
    (4, "CT-STONE", "Left flank pain, suspected stone", "N23"), (5, "US-AAA", "AAA screening", "Z13.6"),
    (6, "MG-DIAG-TOMO", "Palpable lump, left breast", "N63.20"), (7, "DX-LSPINE", "Low back pain", "M54.50"),
    (0, "NM-THYROID-UPTAKE", "Hyperthyroidism", "E05.90"), (1, "DX-HAND", "Hand pain", "M79.641"),
)


def _more_referrals(radflow: Radflow, seeded: dict[str, object]) -> None:
    patients = seeded.get("patients")
    if not isinstance(patients, list) or not patients:
        return
    intake = Principal.system("demo-intake", role=Role.INTAKE)
    for index, protocol, reason, code in MORE_REFERRALS:
        patient_id = patients[index % len(patients)][0]
        radflow.bus.handle(ReceiveReferral(actor=intake, patient_id=patient_id, channel="e_order", lines=(OrderLine(
            protocol_code=protocol, reason_for_exam=reason, diagnosis_codes=(code,), self_pay=True,
            ordering_provider_npi=DEMO_REFERRER_NPI, ordering_provider_name="Dr. Robin Referrer"),)))


LEFT_FOR_THE_SCHEDULER = 3


def seed(radflow: Radflow, clock: FakeClock, seeded: dict[str, object], console: Console) -> None:
    """Configure the center's capacity, then book every ready order at its best option."""
    manager = Principal.system("demo", role=Role.MANAGER)
    scheduler = Principal.system("demo-scheduler", role=Role.SCHEDULER)
    for site in SITES:
        radflow.bus.handle(SaveSite(actor=manager, document=site))
    for scanner in SCANNERS:
        radflow.bus.handle(SaveScanner(actor=manager, document=scanner))
    zone = radflow.settings.zone
    training = (clock.now() + timedelta(days=9)).astimezone(zone).date()
    radflow.bus.handle(AddClosure(actor=manager, kind="holiday", site_id="NORTH", day=training,
                                  reason="staff training day"))
    radflow.bus.handle(AddClosure(actor=manager, kind="maintenance", scanner_id="CT2",
                                  start=clock.now() + timedelta(days=3), end=clock.now() + timedelta(days=3, hours=4),
                                  reason="tube replacement (vendor service)"))
    _more_referrals(radflow, seeded)
    with radflow.uow() as uow:
        ready = [order.id for order in backlog(uow).ready_orders(200)]
    booked: dict[str, str] = {}
    # The last few stay ready, for the scheduler to book from the screens.
    for order_id in ready[:-LEFT_FOR_THE_SCHEDULER] if len(ready) > LEFT_FOR_THE_SCHEDULER + 1 else ready:
        try:
            found: SlotSearch = radflow.bus.handle(FindSlots(actor=scheduler, order_id=order_id, limit=1))
            if not found.offers:
                continue
            offer = found.offers[0]
            booked[order_id] = radflow.bus.handle(BookAppointment(actor=scheduler, order_id=order_id,
                                                                  scanner_id=offer.scanner_id, start=offer.start,
                                                                  note="demo"))
        except RadflowError as refused:
            console.print(f"[yellow]demo: order {order_id} not booked: {refused.message}[/yellow]")
    seeded["appointments"] = booked
    mr_ready = seeded.get("mr_ready")
    if isinstance(mr_ready, str) and mr_ready in booked:
        seeded["mr_ready_appointment"] = booked[mr_ready]
    console.print(f"scheduling: {len(SITES)} sites, {len(SCANNERS)} scanners, {len(booked)} appointments booked, "
                  f"{len(ready) - len(booked)} orders left to book on /scheduling")
