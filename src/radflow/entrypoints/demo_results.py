"""`radflow demo`, results: reports distributed, mammograms with their lay letters, follow-ups, a portal patient.

Runs after the reading room (`seeded["reporting"]`): its signed Lung-RADS 3 report is distributed, and
three mammograms are read (a negative screen with dense tissue, a recall, a suspicious diagnostic exam
whose biopsy pathology is then captured). The results jobs of those reports run at once, so the screens
show inboxes, letters and follow-ups straight away; everything else is left to `radflow worker`. A
patient login is made for the Lung-RADS patient, who reads the report on the portal and asks for a copy.
"""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console
from sqlalchemy import select

from radflow.adapters.db import tables as t
from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.jobs import JobEvent
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.users import Principal, Role
from radflow.services import distribution, followups, patient_communication
from radflow.services.accounts import CreateUser, create_user
from radflow.services.distribution import OpenInboxReport
from radflow.services.job_runner import run_claimed_job
from radflow.services.mammography_audit import RecordBiopsyResult
from radflow.services.orders import OrderLine, ReceivedReferral, ReceiveReferral
from radflow.services.patient_release import OpenMyResult
from radflow.services.reading import ClaimStudy
from radflow.services.records_requests import RequestRecords
from radflow.services.reports import SaveReport, SetRadsFindings, SignReport, StartReport

#: The results jobs the demo runs at once (the worker runs the rest: reminders, deadlines, escalations).
NOW_KINDS = (distribution.DISTRIBUTE, patient_communication.PATIENT_COMMUNICATION, patient_communication.SEND_LETTER,
             followups.FROM_REPORT, followups.FROM_OUTSIDE)
PATIENT_LOGIN = ("patient", "Maria Portal")

#: The event that moves a mammogram one step nearer to reading (until the exam day's demo reads them itself).
TOWARDS_READING = {
    OrderState.RECEIVED: OrderEvent.CLEARED_FOR_SCHEDULING, OrderState.READY_TO_SCHEDULE: OrderEvent.BOOKED,
    OrderState.SCHEDULED: OrderEvent.CHECKED_IN, OrderState.CHECKED_IN: OrderEvent.EXAM_STARTED,
    OrderState.IN_PROGRESS: OrderEvent.EXAM_COMPLETED, OrderState.AWAITING_QC: OrderEvent.QC_PASSED,
}
#: (protocol, BI-RADS per breast, density, incomplete reason, findings, impression) of the mammograms read.
MAMMOGRAMS = (
    ("MG-SCREEN", "1", "c", None, "No suspicious mass, calcification or architectural distortion.",
     "BI-RADS 1: negative. Heterogeneously dense breasts."),
    ("MG-SCREEN", "0", "b", "additional_imaging",
     "Possible asymmetry, right breast upper outer quadrant, CC view only.",
     "BI-RADS 0: incomplete. Additional imaging evaluation of the right breast is needed."),
    ("MG-DIAG", "4B", "b", None, "Irregular 9 mm mass at 10 o'clock, 6 cm from the nipple, right breast.",
     "BI-RADS 4B: suspicious right breast mass. Ultrasound-guided biopsy is recommended."),
)


def _run_now(radflow: Radflow) -> int:
    """Run the due results jobs of the seeded reports at the demo's time; returns how many ran."""
    ran = 0
    for _ in range(20):
        with radflow.session_factory() as session:
            ids = list(session.scalars(select(t.jobs.c.id).where(
                t.jobs.c.kind.in_(NOW_KINDS), t.jobs.c.state == "pending",
                t.jobs.c.due_at <= radflow.ctx.clock.now()).order_by(t.jobs.c.due_at)))
        if not ids:
            return ran
        for job_id in ids:
            with radflow.uow() as uow:
                job = uow.jobs.get(job_id)
                job.apply(JobEvent.CLAIM)
                job.attempts += 1
                job.lease_owner, job.lease_until = "demo", radflow.ctx.clock.now() + timedelta(minutes=5)
                uow.commit()
            run_claimed_job(job_id, "demo", radflow.bus.uow_factory, radflow.ctx, radflow.jobs)
            ran += 1
    return ran


def _read_mammograms(radflow: Radflow, clock: FakeClock, rad: Principal, patients: list[str],
                     referrer_npi: str) -> list[str]:
    intake = Principal.system("demo-intake", role=Role.INTAKE)
    order_ids = []
    for index, (protocol, category, density, reason, findings, impression) in enumerate(MAMMOGRAMS):
        received: ReceivedReferral = radflow.bus.handle(ReceiveReferral(
            actor=intake, patient_id=patients[(index + 1) % len(patients)], channel="e_order", lines=(OrderLine(
                protocol_code=protocol, reason_for_exam="Annual screening" if protocol == "MG-SCREEN" else
                "Palpable lump, right breast", diagnosis_codes=("Z12.31",) if protocol == "MG-SCREEN" else ("N63.10",),
                ordering_provider_npi=referrer_npi, ordering_provider_name="Dr. Robin Referrer", self_pay=True),)))
        order_id = received.order_ids[0]
        with radflow.uow() as uow:
            order = uow.orders.get(order_id)
            while order.state is not OrderState.IMAGING_COMPLETED:
                event = TOWARDS_READING[order.state]
                clock.advance(minutes=6)
                order.transition(event, by="demo:exam-day", at=clock.now(),
                                 details={"site": "Main"} if event is OrderEvent.QC_PASSED else {})
            uow.commit()
        right: dict[str, str] = {"category": category}
        if reason:
            right["incomplete_reason"] = reason
        finding = {"system": "bi-rads", "exam_modality": "MG", "right": right, "left": {"category": "1"},
                   "density": density}
        radflow.bus.handle(ClaimStudy(actor=rad, order_id=order_id))
        radflow.bus.handle(StartReport(actor=rad, order_id=order_id))
        radflow.bus.handle(SetRadsFindings(actor=rad, order_id=order_id, findings=(finding,)))
        radflow.bus.handle(SaveReport(actor=rad, order_id=order_id, sections={"findings": findings,
                                                                              "impression": impression}))
        radflow.bus.handle(SignReport(actor=rad, order_id=order_id))
        order_ids.append(order_id)
    return order_ids


def _patient_login(radflow: Radflow, patient_id: str) -> Principal:
    username, name = PATIENT_LOGIN
    admin = Principal.system("demo", role=Role.ADMIN)
    create_user(CreateUser(actor=admin, username=username, display_name=name, role=Role.PATIENT.value,
                           password=f"{username}-demo-2026", patient_id=patient_id),
                radflow.uow(), radflow.ctx, radflow.hasher)
    with radflow.uow() as uow:
        user = uow.users.by_username(username)
        assert user is not None
        return user.principal("demo")


def seed(radflow: Radflow, clock: FakeClock, seeded: dict[str, object], console: Console) -> None:
    """Seed distribution, letters, follow-ups and the portal (runs after the reading room)."""
    from radflow.entrypoints.demo import REFERRER_NPI

    reporting = seeded.get("reporting")
    patients = [pid for pid, _ in seeded.get("patients", [])]  # type: ignore[attr-defined]
    with radflow.uow() as uow:
        users = {name: uow.users.by_username(name) for name in ("rad", "drwho")}
    if not isinstance(reporting, dict) or not patients or None in users.values():
        console.print("[yellow]results not seeded: the reading room's demo is missing[/yellow]")
        return
    rad, referrer = (users[name].principal("demo") for name in ("rad", "drwho"))  # type: ignore[union-attr]
    ldct = str(reporting["ldct_final"])
    # The mammograms were done and read yesterday; the reading room's critical result is minutes old.
    present = clock.now()
    clock.set(present - timedelta(days=1))
    mammograms = _read_mammograms(radflow, clock, rad, patients, REFERRER_NPI)
    clock.set(max(clock.now(), present))
    ran = _run_now(radflow)
    # The referrer opened the Lung-RADS report (the mammograms wait unopened in the inbox).
    radflow.bus.handle(OpenInboxReport(actor=referrer, order_id=ldct))
    with radflow.uow() as uow:
        ldct_patient = uow.orders.get(ldct).patient_id
    patient = _patient_login(radflow, ldct_patient)
    radflow.bus.handle(OpenMyResult(actor=patient, order_id=ldct))
    radflow.bus.handle(RequestRecords(actor=patient, patient_id=ldct_patient, items=("report_copies", "images"),
                                      delivery="mail", order_ids=(ldct,),
                                      recipient="Dr. Second Opinion, 5 Oak Avenue, Springfield", third_party=True))
    # The suspicious mass was biopsied two days later: invasive ductal carcinoma (the outcomes audit counts it).
    biopsy_day = (clock.now() - timedelta(hours=1)).astimezone(radflow.settings.zone).date()
    radflow.bus.handle(RecordBiopsyResult(actor=rad, order_id=mammograms[2], biopsy_date=biopsy_day,
                                          outcome="invasive", laterality="R", source="PATH-26-0412",
                                          pathology_text="Invasive ductal carcinoma, grade 2, ER+/PR+/HER2-"))
    seeded["results"] = {"mammograms": mammograms, "patient_login": PATIENT_LOGIN[0], "portal_order": ldct}
    console.print(f"results: {ran} distribution, letter and follow-up jobs run; patient portal login "
                  f"'{PATIENT_LOGIN[0]}' / '{PATIENT_LOGIN[0]}-demo-2026' (see /results/inbox, /followups, "
                  "/results/letters, /portal)")
