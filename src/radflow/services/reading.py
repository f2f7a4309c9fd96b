"""Reading: the worklist, claims on studies and the priors to compare; and the reporting area's ports.

The repositories the reporting services use (`uow.reports`, `uow.critical_results`,
`uow.reading_claims`, `uow.reading`) are declared here as ports; the SQL ones are in
`adapters/db/reporting_repositories.py`, their in-memory fakes in `adapters/db/reporting_memory.py`,
and `wiring/reporting.py` puts both on the units of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from radflow.domain.critical_result import CriticalResult
from radflow.domain.errors import Conflict, RadflowError
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.policy import Action
from radflow.domain.reading import (
    PriorStudy,
    ReadingClaim,
    WorklistEntry,
    WorklistFilter,
    reading_worklist,
    region_of_description,
    relevant_priors,
    reporting_deadline,
)
from radflow.domain.report import Report
from radflow.domain.users import Principal, User
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.unit_of_work import UnitOfWork

# -- ports -----------------------------------------------------------------------------------------


class ReportRepository(Protocol):
    """Reports by id and by order (one report per order)."""

    def add(self, report: Report) -> None: ...
    def get(self, report_id: str) -> Report: ...
    def for_order(self, order_id: str) -> Report | None: ...
    def for_orders(self, order_ids: Sequence[str]) -> dict[str, Report]: ...


class CriticalResultRepository(Protocol):
    """Critical results by id, by order, and the open ones."""

    def add(self, result: CriticalResult) -> None: ...
    def get(self, result_id: str) -> CriticalResult: ...
    def for_order(self, order_id: str) -> list[CriticalResult]: ...
    def for_orders(self, order_ids: Sequence[str]) -> list[CriticalResult]: ...
    def open_results(self) -> list[CriticalResult]: ...


class ReadingClaims(Protocol):
    """Claims on studies; the store refuses a second live claim on one study."""

    def current(self, order_id: str) -> ReadingClaim | None: ...
    def acquire(self, claim: ReadingClaim, now: datetime) -> ReadingClaim: ...
    def renew(self, order_id: str, user_id: str, now: datetime, until: datetime) -> bool: ...
    def release(self, order_id: str, user_id: str) -> bool: ...
    def for_orders(self, order_ids: Sequence[str]) -> dict[str, ReadingClaim]: ...


class ReadingQueries(Protocol):
    """The questions the reading services ask about orders, patients and people."""

    def orders_in_state(self, state: OrderState, limit: int) -> list[Order]: ...
    def patients(self, patient_ids: Sequence[str]) -> dict[str, Patient]: ...
    def covering_providers(self, npi: str) -> list[User]: ...
    def section_chiefs(self) -> list[User]: ...


def _port(uow: UnitOfWork, name: str) -> Any:
    port = getattr(uow, name, None)
    if port is None:
        raise RuntimeError(f"this unit of work has no '{name}' repository (radflow.wiring.reporting adds it)")
    return port


def reports_in(uow: UnitOfWork) -> ReportRepository:
    """The reports repository of this unit of work."""
    port: ReportRepository = _port(uow, "reports")
    return port


def critical_results_in(uow: UnitOfWork) -> CriticalResultRepository:
    """The critical-results repository of this unit of work."""
    port: CriticalResultRepository = _port(uow, "critical_results")
    return port


def claims_in(uow: UnitOfWork) -> ReadingClaims:
    """The reading-claims store of this unit of work."""
    port: ReadingClaims = _port(uow, "reading_claims")
    return port


def reading_in(uow: UnitOfWork) -> ReadingQueries:
    """The reading queries of this unit of work."""
    port: ReadingQueries = _port(uow, "reading")
    return port


# -- the worklist ----------------------------------------------------------------------------------


def completed_at(order: Order) -> datetime:
    """When the images were complete (QC passed): the last move into `imaging_completed`."""
    moves = [t.at for t in order.transitions if t.to_state == OrderState.IMAGING_COMPLETED.value
             and t.from_state != t.to_state]
    return max(moves) if moves else order.received_at


def performing_site(order: Order, default: str) -> str:
    """Where the exam was done, as the exam-day steps recorded it (`details['site']`), else the center."""
    for line in reversed(order.transitions):
        site = str((line.details or {}).get("site", "")).strip()
        if site:
            return site
    return default


@dataclass(frozen=True)
class GetReadingWorklist:
    """Studies waiting to be read, in reading order, narrowed by the filter."""

    actor: Principal
    filter: WorklistFilter = field(default_factory=WorklistFilter)
    limit: int = 300


def get_reading_worklist(cmd: GetReadingWorklist, uow: UnitOfWork, ctx: ServiceContext) -> list[WorklistEntry]:
    """The reading worklist (audited: it lists patients)."""
    guard(cmd.actor, Action.READING_WORKLIST)
    now, policy = ctx.clock.now(), ctx.reporting
    with uow:
        orders = reading_in(uow).orders_in_state(OrderState.IMAGING_COMPLETED, limit=5000)
        ids = [o.id for o in orders]
        patients = reading_in(uow).patients(sorted({o.patient_id for o in orders}))
        claims = claims_in(uow).for_orders(ids)
        reports = reports_in(uow).for_orders(ids)
        open_counts: dict[str, int] = {}
        for result in critical_results_in(uow).for_orders(ids):
            if result.is_open:
                open_counts[result.order_id] = open_counts.get(result.order_id, 0) + 1
        entries = []
        for order in orders:
            protocol = ctx.catalog.protocol(order.protocol_code)
            patient = patients[order.patient_id]
            claim, report, done = claims.get(order.id), reports.get(order.id), completed_at(order)
            entries.append(WorklistEntry(
                order_id=order.id, accession_number=order.accession_number, patient_id=order.patient_id,
                patient_name=patient.display_name, mrn=patient.mrn, birth_date=patient.birth_date,
                protocol_code=order.protocol_code, protocol_name=protocol.name, modality=order.requested_modality,
                body_part=order.body_part, body_region=protocol.body_region.value,
                subspecialty=protocol.subspecialty.value, site=performing_site(order, ctx.settings.center_name),
                track=order.track.value, completed_at=done,
                due_at=reporting_deadline(done, order.track.value, policy.turnaround),
                report_state=report.state.value if report else "",
                claimed_by=claim.user_id if claim and claim.is_live(now) else "",
                claimed_by_name=claim.user_name if claim and claim.is_live(now) else "",
                claim_expires_at=claim.expires_at if claim and claim.is_live(now) else None,
                open_critical_results=open_counts.get(order.id, 0),
            ))
        rows = reading_worklist(entries, cmd.filter, now)[: cmd.limit]
        record_access(uow, ctx, cmd.actor, "reading.worklist", object_type="order-list",
                      patient_id=rows[0].patient_id if len({r.patient_id for r in rows}) == 1 else "",
                      detail=f"{len(rows)} studies")
        uow.commit()
        return rows


# -- claims ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimStudy:
    """Take a study off the worklist to report it (a lock that expires unless renewed)."""

    actor: Principal
    order_id: str


def claim_study(cmd: ClaimStudy, uow: UnitOfWork, ctx: ServiceContext) -> ReadingClaim:
    """Claim (or renew the claim on) a study waiting to be read; Conflict when someone else holds it."""
    now = ctx.clock.now()
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.REPORT_WRITE, order)
        if order.state is not OrderState.IMAGING_COMPLETED:
            raise Conflict(f"order {order.accession_number} is {order.state.value}: only studies waiting to be "
                           "read (imaging completed) can be claimed")
        until = now + timedelta(minutes=ctx.reporting.claim_minutes)
        claim = claims_in(uow).acquire(ReadingClaim(order_id=order.id, user_id=cmd.actor.user_id, claimed_at=now,
                                                    expires_at=until,
                                                    user_name=cmd.actor.display_name or cmd.actor.username), now)
        record_access(uow, ctx, cmd.actor, "reading.claim", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=f"until {until.isoformat()}")
        uow.commit()
        return claim


def hold_claim(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order: Order) -> None:
    """Renew the actor's live claim, inside the caller's transaction; Conflict when they do not hold it."""
    now = ctx.clock.now()
    until = now + timedelta(minutes=ctx.reporting.claim_minutes)
    if not claims_in(uow).renew(order.id, actor.user_id, now, until):
        current = claims_in(uow).current(order.id)
        if current is not None and current.is_live(now) and current.user_id != actor.user_id:
            raise Conflict(f"{current.user_name or current.user_id} is reading study {order.accession_number}; "
                           "it cannot be reported by two radiologists")
        raise Conflict(f"claim study {order.accession_number} on the reading worklist before reporting it "
                       "(your claim has expired or was never taken)")


@dataclass(frozen=True)
class ReleaseClaim:
    """Give a claimed study back to the worklist."""

    actor: Principal
    order_id: str


def release_claim(cmd: ReleaseClaim, uow: UnitOfWork, ctx: ServiceContext) -> bool:
    """Release the actor's own claim; True when there was one."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.REPORT_WRITE, order)
        released = claims_in(uow).release(order.id, cmd.actor.user_id)
        record_access(uow, ctx, cmd.actor, "reading.release", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail="released" if released else "no claim held")
        uow.commit()
        return released


# -- priors ----------------------------------------------------------------------------------------

_READ_STATES = (OrderState.IMAGING_COMPLETED, OrderState.REPORTED, OrderState.DELIVERED)


@dataclass(frozen=True)
class ListPriors:
    """The patient's earlier studies of the same body region, radflow's and the PACS's."""

    actor: Principal
    order_id: str


@dataclass(frozen=True)
class Priors:
    """Relevant priors, and whether the PACS was asked (and what went wrong if it failed)."""

    studies: tuple[PriorStudy, ...]
    body_region: str
    pacs_asked: bool
    pacs_problem: str = ""


def list_priors(cmd: ListPriors, uow: UnitOfWork, ctx: ServiceContext) -> Priors:
    """Priors for comparison; the PACS is asked after the database work (no lock held over the network)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.READING_WORKLIST, order)
        patient = uow.patients.get(order.patient_id)
        region = ctx.catalog.protocol(order.protocol_code).body_region.value
        earlier = [o for o in uow.orders.for_patient(patient.id) if o.id != order.id and o.state in _READ_STATES]
        reports = reports_in(uow).for_orders([o.id for o in earlier])
        own = []
        for other in earlier:
            report = reports.get(other.id)
            own.append(PriorStudy(
                source="radflow", accession_number=other.accession_number,
                study_instance_uid=other.study_instance_uid, study_date=completed_at(other).date(),
                modality=other.requested_modality, description=ctx.catalog.protocol(other.protocol_code).name,
                body_region=ctx.catalog.protocol(other.protocol_code).body_region.value, order_id=other.id,
                report_state=report.state.value if report else "", impression=report.impression if report else ""))
        record_access(uow, ctx, cmd.actor, "reading.priors", patient_id=patient.id, object_type="order",
                      object_id=order.id, detail=f"{len(own)} radflow studies")
        uow.commit()
    pacs = ctx.pacs
    if pacs is None:
        return Priors(tuple(relevant_priors(order.accession_number, order.study_instance_uid, region, own)),
                      region, pacs_asked=False)
    try:
        found = pacs.studies_for_patient(patient.mrn)
    except RadflowError as unavailable:  # the PACS being down must not hide radflow's own priors
        return Priors(tuple(relevant_priors(order.accession_number, order.study_instance_uid, region, own)),
                      region, pacs_asked=True, pacs_problem=unavailable.message)
    from_pacs = [PriorStudy(source="pacs", accession_number=s.accession_number,
                            study_instance_uid=s.study_instance_uid, study_date=s.study_date,
                            modality="/".join(s.modalities), description=s.description,
                            body_region=region_of_description(s.description)) for s in found]
    return Priors(tuple(relevant_priors(order.accession_number, order.study_instance_uid, region, own + from_pacs)),
                  region, pacs_asked=True)


HANDLERS: dict[type, Handler] = {
    GetReadingWorklist: get_reading_worklist, ClaimStudy: claim_study, ReleaseClaim: release_claim,
    ListPriors: list_priors,
}
