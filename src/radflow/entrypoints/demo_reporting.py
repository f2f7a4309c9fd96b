"""`radflow demo`, reading room: studies on the worklist, a signed Lung-RADS report, an open critical result.

Studies that the exam day's seeding left in `imaging_completed` are read first; where there are too
few, referrals are made through the services and moved along their lifecycle events (booked → checked
in → exam started → exam completed → QC passed) until the exam-day services seed them themselves.
The critical result is raised minutes before the real time, so that the live board counts down and
the worker escalates it while someone watches.
"""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console

from radflow.adapters.clock import SystemClock
from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.jobs import JobEvent
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.users import Principal, Role
from radflow.services.critical_results import MarkCritical
from radflow.services.job_runner import run_claimed_job
from radflow.services.orders import OrderLine, ReceivedReferral, ReceiveReferral
from radflow.services.reading import ClaimStudy
from radflow.services.reports import ReleasePreliminary, SaveReport, SetRadsFindings, SignReport, StartReport

#: The event that moves an order one step nearer to reading, from each state on the way.
TOWARDS_READING = {
    OrderState.RECEIVED: OrderEvent.CLEARED_FOR_SCHEDULING,
    OrderState.AWAITING_PROTOCOL: OrderEvent.CLEARED_FOR_SCHEDULING,
    OrderState.PENDING_AUTHORIZATION: OrderEvent.AUTHORIZATION_APPROVED,
    OrderState.READY_TO_SCHEDULE: OrderEvent.BOOKED,
    OrderState.SCHEDULED: OrderEvent.CHECKED_IN,
    OrderState.CHECKED_IN: OrderEvent.EXAM_STARTED,
    OrderState.IN_PROGRESS: OrderEvent.EXAM_COMPLETED,
    OrderState.AWAITING_QC: OrderEvent.QC_PASSED,
}

#: (protocol, priority, contrast, laterality, reason, site) of the studies the demo reads.
STUDIES = (
    ("CT-HEAD", "stat", "without", None, "Fall on warfarin, headache and confusion", "Main"),
    ("CT-LDCT", "routine", None, None, "Lung cancer screening, 35 pack-years", "Main"),
    ("MR-BRAIN", "routine", "without_and_with", None, "New onset seizures", "North"),
    ("CT-ABDPEL", "urgent", "with", None, "Right lower quadrant pain, fever", "Main"),
    ("US-THYROID", "routine", None, None, "Palpable thyroid nodule", "North"),
    ("MR-KNEE", "routine", "without", "L", "Medial knee pain after a twisting injury", "Main"),
)


def _people(radflow: Radflow) -> dict[str, Principal]:
    with radflow.uow() as uow:
        found = {name: uow.users.by_username(name) for name in ("rad", "chief", "drwho")}
    return {name: user.principal("demo") for name, user in found.items() if user is not None}


def _to_reading(radflow: Radflow, clock: FakeClock, order_id: str, site: str) -> None:
    """Move an order along its lifecycle events until its images are complete (until the exam day does)."""
    with radflow.uow() as uow:
        order = uow.orders.get(order_id)
        while order.state is not OrderState.IMAGING_COMPLETED:
            event = TOWARDS_READING[order.state]
            clock.advance(minutes=7)
            order.transition(event, by="demo:exam-day", at=clock.now(),
                             details={"site": site} if event is OrderEvent.QC_PASSED else {})
        uow.commit()


def _studies(radflow: Radflow, clock: FakeClock, patients: list[str], referrer_npi: str) -> list[str]:
    intake = Principal.system("demo-intake", role=Role.INTAKE)
    order_ids = []
    for index, (protocol, priority, contrast, side, reason, site) in enumerate(STUDIES):
        received: ReceivedReferral = radflow.bus.handle(ReceiveReferral(
            actor=intake, patient_id=patients[index % len(patients)], channel="e_order", lines=(OrderLine(
                protocol_code=protocol, contrast=contrast, laterality=side, priority=priority, reason_for_exam=reason,
                diagnosis_codes=("R51.9",), ordering_provider_npi=referrer_npi,
                ordering_provider_name="Dr. Robin Referrer", self_pay=True),)))
        _to_reading(radflow, clock, received.order_ids[0], site)
        order_ids.append(received.order_ids[0])
    return order_ids


def _notify_now(radflow: Radflow, result_id: str) -> None:
    """Run the critical result's first notification at the demo's time (the worker does the rest)."""
    with radflow.uow() as uow:
        job = uow.jobs.by_key(f"critical:{result_id}:notify:0")
        if job is None:
            return
        job.apply(JobEvent.CLAIM)
        job.attempts += 1
        job.lease_owner, job.lease_until = "demo", radflow.ctx.clock.now() + timedelta(minutes=5)
        uow.commit()
        job_id = job.id
    run_claimed_job(job_id, "demo", radflow.bus.uow_factory, radflow.ctx, radflow.jobs)


def seed(radflow: Radflow, clock: FakeClock, seeded: dict[str, object], console: Console) -> None:
    """Seed the reading room (runs last in `radflow demo`)."""
    from radflow.entrypoints.demo import REFERRER_NPI

    people = _people(radflow)
    patients = [pid for pid, _ in seeded.get("patients", [])]  # type: ignore[attr-defined]
    if not patients or not {"rad", "chief"} <= set(people):
        console.print("[yellow]reading room not seeded: the foundation's demo users or patients are missing[/yellow]")
        return
    rad, chief, bus = people["rad"], people["chief"], radflow.bus
    head, ldct, brain, abdomen, thyroid, knee = _studies(radflow, clock, patients, REFERRER_NPI)

    # A screening CT read and signed: Lung-RADS 3, the 6-month LDCT computed from the rule.
    clock.advance(minutes=30)
    bus.handle(ClaimStudy(actor=rad, order_id=ldct))
    bus.handle(StartReport(actor=rad, order_id=ldct))
    bus.handle(SetRadsFindings(actor=rad, order_id=ldct, findings=(
        {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 7.2}]},)))
    bus.handle(SaveReport(actor=rad, order_id=ldct, sections={
        "findings": "Lung nodules: 7.2 mm solid nodule in the right upper lobe (series 3, image 41).\n"
                    "Other lung findings: mild centrilobular emphysema.\nCoronary artery calcification: mild.",
        "impression": "Lung-RADS 3: probably benign solid nodule, right upper lobe."}))
    bus.handle(SignReport(actor=rad, order_id=ldct))

    # A preliminary report on the urgent CT, and the chief holding the MR brain.
    bus.handle(ClaimStudy(actor=rad, order_id=abdomen))
    bus.handle(StartReport(actor=rad, order_id=abdomen))
    bus.handle(SaveReport(actor=rad, order_id=abdomen, sections={
        "findings": "Appendix: dilated to 11 mm with periappendiceal fat stranding; no abscess.",
        "impression": "Acute uncomplicated appendicitis."}))
    bus.handle(ReleasePreliminary(actor=rad, order_id=abdomen))

    # The stat head CT: a subdural hematoma marked critical minutes ago; the worker escalates it live.
    clock.set(max(clock.now(), SystemClock().now() - timedelta(minutes=8)))
    bus.handle(ClaimStudy(actor=rad, order_id=head))
    bus.handle(StartReport(actor=rad, order_id=head))
    bus.handle(SaveReport(actor=rad, order_id=head, sections={
        "findings": "Extra-axial spaces: acute subdural hematoma along the left convexity, 9 mm thick.\n"
                    "Mass effect: 5 mm rightward midline shift; basal cisterns patent.",
        "impression": "Acute left subdural hematoma with 5 mm midline shift."}))
    critical = bus.handle(MarkCritical(actor=rad, order_id=head, level="critical",
                                       finding="Acute left subdural hematoma with 5 mm midline shift",
                                       finding_types=("intracranial_hemorrhage", "brain_herniation")))
    _notify_now(radflow, critical)
    bus.handle(ClaimStudy(actor=chief, order_id=brain))
    seeded["reporting"] = {"head_ct": head, "critical_result": critical, "ldct_final": ldct,
                           "abdomen_preliminary": abdomen, "unread": [brain, thyroid, knee]}
    console.print(f"reading room: {len(STUDIES)} studies read or waiting, one critical result open "
                  "(see /critical-results)")
