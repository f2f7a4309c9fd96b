"""REST routes of scheduling: slot search, appointments, visits, capacity, the backlog plan, planning.

Times in and out are ISO 8601 instants with an offset (UTC on the way out); a site's local times
appear only in the capacity documents (opening hours, shifts), which are local wall-clock by nature.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from radflow.domain.appointment import Appointment, AppointmentState
from radflow.domain.errors import ValidationError
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.schemas import jsonable
from radflow.scheduling.capacity_document import scanner_document, site_document
from radflow.services.scheduling import appointments as appts
from radflow.services.scheduling import backlog, booking, capacity_admin, planning, slots
from radflow.services.scheduling.pictures import PatientNeeds

router = APIRouter(tags=["scheduling"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NeedsIn(_Strict):
    """What the slot and the scanner must allow for this patient."""

    sedation: bool = False
    interpreter: bool | None = None
    weight_kg: int | None = Field(default=None, ge=1, le=500)
    requires: list[str] = []

    def needs(self) -> PatientNeeds:
        """As the services take it."""
        return PatientNeeds(sedation=self.sedation, interpreter=self.interpreter, weight_kg=self.weight_kg,
                            requires=frozenset(self.requires))


class WishesIn(_Strict):
    """When the patient can come and what they prefer."""

    availability: list[tuple[datetime, datetime]] | None = None
    preferred_sites: list[str] = []
    part_of_day: str = ""

    def wishes(self) -> slots.PatientWishes:
        """As the services take it."""
        return slots.PatientWishes(availability=tuple(self.availability) if self.availability is not None else None,
                                   preferred_sites=tuple(self.preferred_sites), part_of_day=self.part_of_day)


class SlotSearchIn(_Strict):
    """Search slots for one order, or a one-day visit for several orders of one patient."""

    order_ids: list[str] = Field(min_length=1, max_length=5)
    days: int = Field(default=14, ge=1, le=62)
    not_before: datetime | None = None
    limit: int = Field(default=5, ge=1, le=50)
    needs: NeedsIn = NeedsIn()
    wishes: WishesIn = WishesIn()


class BookIn(_Strict):
    """Book an order's exam on a scanner at a start time."""

    order_id: str
    scanner_id: str
    start: datetime
    lane: int = Field(default=0, ge=0, le=3)
    needs: NeedsIn = NeedsIn()
    note: str = ""


class VisitLineIn(_Strict):
    """One exam of a visit."""

    order_id: str
    scanner_id: str
    start: datetime


class VisitIn(_Strict):
    """Book several exams of one patient together."""

    bookings: list[VisitLineIn] = Field(min_length=1, max_length=5)
    needs: NeedsIn = NeedsIn()


class RescheduleIn(_Strict):
    """Move an appointment."""

    scanner_id: str
    start: datetime
    reason: str = Field(min_length=1)
    lane: int = Field(default=0, ge=0, le=3)
    needs: NeedsIn = NeedsIn()


class CancelIn(_Strict):
    """Cancel an appointment (and its order: see the service's note)."""

    reason: str = Field(min_length=1)
    cancel_order: bool = False  # True withdraws the order too; by default it returns to the scheduling queue


class ClosureIn(_Strict):
    """A holiday (site and local day) or a scanner closure (UTC start and end)."""

    kind: str
    reason: str = Field(min_length=1)
    site_id: str = ""
    scanner_id: str = ""
    day: date | None = None
    start: datetime | None = None
    end: datetime | None = None


class OverbookingIn(_Strict):
    """An explicit overbooking policy for a scanner."""

    lanes: int = Field(ge=0, le=3)
    reason: str = ""


class ProposeIn(_Strict):
    """Ask the optimizer for a plan of the backlog."""

    days: int = Field(default=14, ge=1, le=28)
    seconds: int = Field(default=10, ge=1, le=600)
    policy: str = "optimize"


class LinesIn(_Strict):
    """Lines of a plan (all open ones when empty, for accepting)."""

    order_ids: list[str] = []


def appointment_json(appointment: Appointment) -> dict[str, Any]:
    """An appointment as the API shows it."""
    return {"id": appointment.id, "order_id": appointment.order_id, "patient_id": appointment.patient_id,
            "scanner_id": appointment.scanner_id, "site_id": appointment.site_id, "lane": appointment.lane,
            "start": appointment.start.isoformat(), "end": appointment.end.isoformat(),
            "patient_from": appointment.patient_from.isoformat(), "state": appointment.state.value,
            "visit_id": appointment.visit_id, "overbooking_policy": appointment.overbooking_policy,
            "booked_at": appointment.booked_at.isoformat(), "booked_by": appointment.booked_by,
            "cancel_reason": appointment.cancel_reason, "log": appointment.log}


def _appointment(radflow: App, actor: Principal, appointment_id: str) -> dict[str, Any]:
    return appointment_json(radflow.bus.handle(appts.GetAppointment(actor=actor, appointment_id=appointment_id)))


@router.post("/slot-searches")
def search_slots(body: SlotSearchIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.SCHEDULE_SEARCH)]) -> dict[str, Any]:
    """The best options for one order; for several orders of one patient, one-day visits in a valid sequence."""
    if len(body.order_ids) == 1:
        found = radflow.bus.handle(slots.FindSlots(
            actor=actor, order_id=body.order_ids[0], days=body.days, not_before=body.not_before, limit=body.limit,
            needs=body.needs.needs(), wishes=body.wishes.wishes()))
        return {"kind": "slots", **jsonable(found)}
    visits = radflow.bus.handle(slots.FindVisit(
        actor=actor, order_ids=tuple(body.order_ids), days=body.days, not_before=body.not_before,
        limit=min(body.limit, 10), needs=body.needs.needs(), wishes=body.wishes.wishes()))
    return {"kind": "visits", "visits": jsonable(visits)}


@router.post("/appointments", status_code=201)
def book(body: BookIn, radflow: App, actor: Annotated[Principal, requires(Action.APPOINTMENT_BOOK)]) -> dict[str, Any]:
    """Book an exam; the order becomes scheduled. 409 when the slot or the patient is taken meanwhile."""
    appointment_id = radflow.bus.handle(booking.BookAppointment(
        actor=actor, order_id=body.order_id, scanner_id=body.scanner_id, start=body.start, lane=body.lane,
        needs=body.needs.needs(), note=body.note))
    return _appointment(radflow, actor, appointment_id)


@router.post("/visits", status_code=201)
def book_visit(body: VisitIn, radflow: App,
               actor: Annotated[Principal, requires(Action.APPOINTMENT_BOOK)]) -> dict[str, Any]:
    """Book the exams of one visit together: all or none."""
    made = radflow.bus.handle(booking.BookVisit(
        actor=actor, bookings=tuple((b.order_id, b.scanner_id, b.start) for b in body.bookings),
        needs=body.needs.needs()))
    return {"appointments": [_appointment(radflow, actor, appointment_id) for appointment_id in made]}


@router.get("/appointments/{appointment_id}")
def read_appointment(appointment_id: str, radflow: App,
                     actor: Annotated[Principal, requires(Action.APPOINTMENT_READ)]) -> dict[str, Any]:
    """One appointment with its log."""
    return _appointment(radflow, actor, appointment_id)


@router.get("/appointments")
def list_appointments(
    radflow: App, actor: Annotated[Principal, requires(Action.APPOINTMENT_READ)], order_id: str = "",
    patient_id: str = "", start: datetime | None = None, end: datetime | None = None,
    scanner: Annotated[list[str] | None, Query()] = None, state: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    """Appointments of an order, of a patient, or starting in [start, end)."""
    try:
        states = tuple(AppointmentState(s) for s in state or ())
    except ValueError:
        raise ValidationError(f"state is one of {', '.join(s.value for s in AppointmentState)}",
                              field="state") from None
    found = radflow.bus.handle(appts.ListAppointments(actor=actor, order_id=order_id, patient_id=patient_id,
                                                      start=start, end=end, scanner_ids=tuple(scanner or ()),
                                                      states=states))
    return {"appointments": [appointment_json(a) for a in found]}


@router.post("/appointments/{appointment_id}/reschedule")
def reschedule(appointment_id: str, body: RescheduleIn, radflow: App,
               actor: Annotated[Principal, requires(Action.APPOINTMENT_BOOK)]) -> dict[str, Any]:
    """Move an appointment to another scanner or time."""
    radflow.bus.handle(booking.RescheduleAppointment(actor=actor, appointment_id=appointment_id,
                                                     scanner_id=body.scanner_id, start=body.start, reason=body.reason,
                                                     lane=body.lane, needs=body.needs.needs()))
    return _appointment(radflow, actor, appointment_id)


@router.post("/appointments/{appointment_id}/cancel")
def cancel(appointment_id: str, body: CancelIn, radflow: App,
           actor: Annotated[Principal, requires(Action.APPOINTMENT_BOOK)]) -> dict[str, Any]:
    """Cancel an appointment: the order returns to the scheduling queue (or is withdrawn with `cancel_order`)."""
    radflow.bus.handle(booking.CancelAppointment(actor=actor, appointment_id=appointment_id, reason=body.reason,
                                                 cancel_order=body.cancel_order))
    return _appointment(radflow, actor, appointment_id)


@router.get("/capacity")
def read_capacity(radflow: App, actor: Annotated[Principal, requires(Action.CAPACITY_READ)],
                  start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """Sites and scanners with their calendars, and the closures touching [start, end) (default: 60 days)."""
    begin = start or radflow.ctx.clock.now()
    view = radflow.bus.handle(capacity_admin.GetCapacity(actor=actor, start=begin,
                                                         end=end or begin + timedelta(days=60)))
    return {"sites": [site_document(s) for s in view.sites], "scanners": [scanner_document(s) for s in view.scanners],
            "closures": jsonable(view.closures)}


@router.put("/capacity/sites/{site_id}")
def save_site(site_id: str, body: dict[str, Any], radflow: App,
              actor: Annotated[Principal, requires(Action.CAPACITY_MANAGE)]) -> dict[str, Any]:
    """Add or replace a site (its document: name, timezone, phone, address, supervision windows)."""
    radflow.bus.handle(capacity_admin.SaveSite(actor=actor, document={**body, "id": site_id}))
    return {"site_id": site_id}


@router.put("/capacity/scanners/{scanner_id}")
def save_scanner(scanner_id: str, body: dict[str, Any], radflow: App,
                 actor: Annotated[Principal, requires(Action.CAPACITY_MANAGE)]) -> dict[str, Any]:
    """Add or replace a scanner (modality, capabilities, table limit, opening hours, shifts, reserved blocks)."""
    radflow.bus.handle(capacity_admin.SaveScanner(actor=actor, document={**body, "id": scanner_id}))
    return {"scanner_id": scanner_id}


@router.post("/capacity/scanners/{scanner_id}/overbooking")
def set_overbooking(scanner_id: str, body: OverbookingIn, radflow: App,
                    actor: Annotated[Principal, requires(Action.CAPACITY_MANAGE)]) -> dict[str, Any]:
    """Allow (or withdraw) numbered overbooking lanes on a scanner; audited with the reason."""
    radflow.bus.handle(capacity_admin.SetOverbookingPolicy(actor=actor, scanner_id=scanner_id, lanes=body.lanes,
                                                           reason=body.reason))
    return {"scanner_id": scanner_id, "overbooking_lanes": body.lanes}


@router.post("/capacity/closures", status_code=201)
def add_closure(body: ClosureIn, radflow: App,
                actor: Annotated[Principal, requires(Action.CAPACITY_MANAGE)]) -> dict[str, Any]:
    """Close a site for a day or a scanner for a while; refused while booked appointments would be stranded."""
    closure_id = radflow.bus.handle(capacity_admin.AddClosure(actor=actor, **body.model_dump()))
    return {"closure_id": closure_id}


@router.delete("/capacity/closures/{closure_id}")
def remove_closure(closure_id: str, radflow: App,
                   actor: Annotated[Principal, requires(Action.CAPACITY_MANAGE)]) -> dict[str, Any]:
    """Withdraw a closure."""
    radflow.bus.handle(capacity_admin.RemoveClosure(actor=actor, closure_id=closure_id))
    return {"closure_id": closure_id}


@router.get("/capacity/dashboard")
def dashboard(radflow: App, actor: Annotated[Principal, requires(Action.CAPACITY_READ)], start: date | None = None,
              days: Annotated[int, Query(ge=1, le=62)] = 14) -> dict[str, Any]:
    """Utilization per scanner and day, per modality and week; backlog per track; the demand forecast."""
    result = radflow.bus.handle(planning.CapacityDashboard(actor=actor, start=start, days=days))
    out: dict[str, Any] = jsonable(result)
    out["by_modality"] = [{**jsonable(u), "utilization": u.share} for u in result.by_modality]
    out["backlog"] = [{**jsonable(b), "days_to_clear": b.days_to_clear} for b in result.backlog]
    return out


@router.get("/schedule/{day}")
def day_schedule(day: date, radflow: App, actor: Annotated[Principal, requires(Action.CAPACITY_READ)],
                 site: str = "") -> dict[str, Any]:
    """The day sheet: each scanner's open periods, closures and appointments."""
    sheet = radflow.bus.handle(planning.DaySchedule(actor=actor, day=day, site_id=site))
    return {"day": sheet.day.isoformat(), "zone": sheet.zone, "scanners": [
        {"scanner_id": row.scanner.id, "name": row.scanner.name, "site_id": row.site.id,
         "open": [[a.isoformat(), b.isoformat()] for a, b in row.open_periods], "closures": jsonable(row.closures),
         "appointments": [{**appointment_json(line.appointment), "accession_number": line.accession_number,
                           "protocol_code": line.protocol_code, "patient_name": line.patient_name}
                          for line in row.lines]} for row in sheet.rows]}


@router.post("/backlog/plans", status_code=201)
def propose(body: ProposeIn, radflow: App,
            actor: Annotated[Principal, requires(Action.BACKLOG_PLAN)]) -> dict[str, Any]:
    """Let the optimizer propose a plan for the orders ready to schedule (nothing is booked yet)."""
    plan_id = radflow.bus.handle(backlog.ProposeBacklogPlan(actor=actor, days=body.days, seconds=body.seconds,
                                                            policy=body.policy))
    return jsonable(radflow.bus.handle(backlog.GetPlan(actor=actor, plan_id=plan_id)))  # type: ignore[no-any-return]


@router.get("/backlog/plans")
def list_plans(radflow: App, actor: Annotated[Principal, requires(Action.BACKLOG_PLAN)]) -> dict[str, Any]:
    """The newest proposals."""
    return {"plans": jsonable(radflow.bus.handle(backlog.ListPlans(actor=actor)))}


@router.get("/backlog/plans/{plan_id}")
def read_plan(plan_id: str, radflow: App,
              actor: Annotated[Principal, requires(Action.BACKLOG_PLAN)]) -> dict[str, Any]:
    """A proposal with its lines and what became of each."""
    return jsonable(radflow.bus.handle(backlog.GetPlan(actor=actor, plan_id=plan_id)))  # type: ignore[no-any-return]


@router.post("/backlog/plans/{plan_id}/accept")
def accept(plan_id: str, body: LinesIn, radflow: App,
           actor: Annotated[Principal, requires(Action.BACKLOG_PLAN)]) -> dict[str, Any]:
    """Book the chosen lines (all open ones when none is named); each line succeeds or fails on its own."""
    result = radflow.bus.handle(backlog.AcceptPlanLines(actor=actor, plan_id=plan_id, order_ids=tuple(body.order_ids)))
    return jsonable(result)  # type: ignore[no-any-return]


@router.post("/backlog/plans/{plan_id}/skip")
def skip(plan_id: str, body: LinesIn, radflow: App,
         actor: Annotated[Principal, requires(Action.BACKLOG_PLAN)]) -> dict[str, Any]:
    """Leave lines out of the plan (their orders stay in the backlog)."""
    count = radflow.bus.handle(backlog.SkipPlanLines(actor=actor, plan_id=plan_id, order_ids=tuple(body.order_ids)))
    return {"skipped": count}
