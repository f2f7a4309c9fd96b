"""FHIR R4 Schedule, Slot (computed availability) and Appointment (book, cancel, reschedule) at /fhir.

- Schedule: one per active scanner (R4 schedule.html: "a container for slots of time that may be
  available for booking"); actor = the scanner (a Device, by identifier) and its site (Location).
- Slot: computed, never stored. `GET /Slot?schedule=Schedule/MR1&start=ge…&start=lt…` lists the free
  gaps (status `free`) and booked time (`busy`) of that scanner; `GET /Slot?service-request=ID` runs
  radflow's slot search for that order and answers its best options as free Slots, each of which can
  be booked by creating an Appointment that names it. A Slot id encodes scanner, start and minutes
  (`MR1-202603031400-40`), so `GET /Slot/{id}` answers its current status.
- Appointment: read and search (patient, based-on, date, status); create = book (basedOn the
  ServiceRequest, and a Slot or a start with the scanner as a Device participant); update with
  status `cancelled` = cancel (cancelationReason), with a new start or scanner = reschedule.
  Status mapping: booked → booked, cancelled → cancelled, attended → checked-in, no_show → noshow.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool

from radflow.adapters.fhir.datatypes import concept, instant, reference, version_of
from radflow.adapters.fhir.parsing import Issue, Refusal, fhir_path
from radflow.domain.appointment import Appointment, AppointmentState
from radflow.domain.capacity.intervals import intersect, subtract
from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.fhir.exchange import base_url, created_response, fhir_json, read_response, refused
from radflow.services.scheduling import appointments as appts
from radflow.services.scheduling import booking, capacity_admin, slots
from radflow.services.scheduling.pictures import capacity_picture, search_line

router = APIRouter(tags=["FHIR scheduling"])

DCM = "http://dicom.nema.org/resources/ontology/DCM"  # DICOM modality codes (CID 29)
SCANNER_SYSTEM = "urn:radflow:scanner"
STATUS = {AppointmentState.BOOKED: "booked", AppointmentState.CANCELLED: "cancelled",
          AppointmentState.ATTENDED: "checked-in", AppointmentState.NO_SHOW: "noshow"}


def _bundle(request: Request, resource_type: str, resources: list[dict[str, Any]]) -> Response:
    base = base_url(request)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
                              "link": [{"relation": "self", "url": str(request.url)}]}
    if resources:
        bundle["entry"] = [{"fullUrl": f"{base}/{resource_type}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                           for r in resources]
    return fhir_json(bundle)


def _with_version(resource: dict[str, Any]) -> dict[str, Any]:
    resource["meta"] = {"versionId": version_of(resource)}
    return resource


def _instant_param(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name}: '{value}' is not a FHIR dateTime with a zone", field=name) from None
    if moment.tzinfo is None:
        raise ValidationError(f"{name}: give the time zone ('Z' or an offset)", field=name)
    return moment.astimezone(UTC)


def _range(request: Request, name: str, now: datetime, default_days: int = 14) -> tuple[datetime, datetime]:
    """ge/gt and le/lt prefixes of a date parameter (R4 search.html#prefix), as [start, end)."""
    start: datetime | None = None
    end: datetime | None = None
    for value in request.query_params.getlist(name):
        prefix, text = (value[:2], value[2:]) if value[:2] in ("ge", "gt", "le", "lt", "eq") else ("eq", value)
        moment = _instant_param(text, name)
        if prefix in ("ge", "gt", "eq"):
            start = moment
        if prefix in ("le", "lt"):
            end = moment
    start = start or now
    return start, end or start + timedelta(days=default_days)


# ---------------------------------------------------------------------------------------------- Schedule

def schedule_resource(scanner: Any, site: Any) -> dict[str, Any]:
    """A scanner as a Schedule."""
    hours = "; ".join(f"{p.weekday.name.lower()} {p.start // 60:02d}:{p.start % 60:02d}–{p.end // 60:02d}:"
                      f"{p.end % 60:02d}" for p in scanner.opening)
    return _with_version({
        "resourceType": "Schedule", "id": scanner.id, "active": scanner.active,
        "serviceType": [concept(DCM, scanner.modality.value, scanner.modality.value)],
        "actor": [{"type": "Device", "identifier": {"system": SCANNER_SYSTEM, "value": scanner.id},
                   "display": scanner.name},
                  {"type": "Location", "identifier": {"system": "urn:radflow:site", "value": site.id},
                   "display": site.name}],
        "comment": f"{', '.join(sorted(scanner.capabilities)) or 'standard'}; opening hours ({site.timezone}): "
                   f"{hours or 'none'}",
    })


def _capacity(radflow: App, actor: Principal) -> capacity_admin.CapacityView:
    now = radflow.ctx.clock.now()
    view: capacity_admin.CapacityView = radflow.bus.handle(capacity_admin.GetCapacity(actor=actor, start=now,
                                                                                      end=now))
    return view


@router.get("/Schedule/{scanner_id}")
def read_schedule(scanner_id: str, radflow: App,
                  actor: Annotated[Principal, requires(Action.CAPACITY_READ)]) -> Response:
    """One scanner's Schedule."""
    view = _capacity(radflow, actor)
    sites = {s.id: s for s in view.sites}
    for scanner in view.scanners:
        if scanner.id == scanner_id:
            return read_response(schedule_resource(scanner, sites[scanner.site_id]))
    raise NotFound(f"Schedule/{scanner_id} not found")


@router.get("/Schedule")
def search_schedules(request: Request, radflow: App,
                     actor: Annotated[Principal, requires(Action.CAPACITY_READ)]) -> Response:
    """Schedules of the active scanners; `service-type` filters by DICOM modality code."""
    view = _capacity(radflow, actor)
    sites = {s.id: s for s in view.sites}
    wanted = request.query_params.get("service-type", "").split("|")[-1].upper()
    found = [schedule_resource(s, sites[s.site_id]) for s in view.scanners
             if s.active and (not wanted or s.modality.value == wanted)]
    return _bundle(request, "Schedule", found)


# -------------------------------------------------------------------------------------------------- Slot

def slot_id(scanner_id: str, start: datetime, minutes: int) -> str:
    """'MR1-202603031400-40': scanner, UTC start, minutes."""
    return f"{scanner_id}-{start.astimezone(UTC):%Y%m%d%H%M}-{minutes}"


def parse_slot_id(value: str) -> tuple[str, datetime, int]:
    """The scanner, UTC start and minutes a Slot id encodes."""
    try:
        scanner_id, stamp, minutes = value.rsplit("-", 2)
        return scanner_id, datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=UTC), int(minutes)
    except ValueError:
        raise NotFound(f"Slot/{value} is not a slot radflow computed (expected SCANNER-YYYYMMDDHHMM-MINUTES)") from None


def slot_resource(scanner_id: str, start: datetime, end: datetime, status: str, comment: str = "") -> dict[str, Any]:
    """A computed Slot."""
    minutes = int((end - start) / timedelta(minutes=1))
    resource: dict[str, Any] = {"resourceType": "Slot", "id": slot_id(scanner_id, start, minutes),
                                "schedule": reference("Schedule", scanner_id), "status": status,
                                "start": instant(start), "end": instant(end)}
    if comment:
        resource["comment"] = comment
    return _with_version(resource)


def _scanner_slots(radflow: App, actor: Principal, scanner_id: str, start: datetime,
                   end: datetime) -> list[dict[str, Any]]:
    """Free gaps and busy time of one scanner over [start, end)."""
    view = _capacity(radflow, actor)
    scanner = next((s for s in view.scanners if s.id == scanner_id), None)
    if scanner is None:
        raise NotFound(f"Schedule/{scanner_id} not found")
    with radflow.uow() as uow:
        line = search_line(radflow.ctx, start, max(1, min(62, -(-(end - start).days // 1))))
        picture = capacity_picture(uow, radflow.ctx, line, [scanner.modality])
    calendar = picture.calendars[scanner_id]
    busy = picture.occupied.get(scanner_id, [])
    out = [slot_resource(scanner_id, line.instant(a), line.instant(b), "free")
           for a, b in subtract(calendar.usable, [(0, picture.now), *busy]) if line.instant(a) < end]
    out += [slot_resource(scanner_id, line.instant(a), line.instant(b), "busy")
            for a, b in intersect(busy, [(0, line.length)]) if line.instant(a) < end]
    return sorted(out, key=lambda r: (r["start"], r["status"]))


@router.get("/Slot")
def search_slots(request: Request, radflow: App,
                 actor: Annotated[Principal, requires(Action.CAPACITY_READ)]) -> Response:
    """`schedule` + `start`: free and busy time of a scanner; `service-request`: the best slots for an order."""
    order_id = request.query_params.get("service-request", "").rsplit("/", 1)[-1]
    if order_id:
        found: slots.SlotSearch = radflow.bus.handle(slots.FindSlots(actor=actor, order_id=order_id))
        return _bundle(request, "Slot", [
            slot_resource(o.scanner_id, o.start, o.end, "free",
                          f"{o.scanner_name} at {o.site_name}; arrive by {instant(o.arrive_by)}"
                          + ("; after the track's target" if o.past_target else ""))
            for o in found.offers])
    schedule = request.query_params.get("schedule", "").rsplit("/", 1)[-1]
    if not schedule:
        return refused(Refusal(400, (Issue("required", "search Slots by 'schedule' (a scanner) or by "
                                                       "'service-request' (an order to book)", "schedule"),)))
    start, end = _range(request, "start", radflow.ctx.clock.now())
    status = request.query_params.get("status", "")
    found_slots = _scanner_slots(radflow, actor, schedule, start, end)
    return _bundle(request, "Slot", [s for s in found_slots if not status or s["status"] == status])


@router.get("/Slot/{value}")
def read_slot(value: str, radflow: App, actor: Annotated[Principal, requires(Action.CAPACITY_READ)]) -> Response:
    """A computed Slot with its current status (busy once an appointment overlaps it)."""
    scanner_id, start, minutes = parse_slot_id(value)
    end = start + timedelta(minutes=minutes)
    found = _scanner_slots(radflow, actor, scanner_id, start - timedelta(days=1), end + timedelta(days=1))
    busy = any(s["status"] == "busy" and s["start"] < instant(end) and s["end"] > instant(start) for s in found)
    return read_response(slot_resource(scanner_id, start, end, "busy" if busy else "free"))


# ------------------------------------------------------------------------------------------- Appointment

def appointment_resource(appointment: Appointment) -> dict[str, Any]:
    """An appointment as an R4 Appointment."""
    resource: dict[str, Any] = {
        "resourceType": "Appointment", "id": appointment.id, "status": STATUS[appointment.state],
        "start": instant(appointment.start), "end": instant(appointment.end),
        "minutesDuration": appointment.minutes, "created": instant(appointment.booked_at),
        "basedOn": [reference("ServiceRequest", appointment.order_id)],
        "slot": [reference("Slot", slot_id(appointment.scanner_id, appointment.start, appointment.minutes))],
        "participant": [
            {"actor": reference("Patient", appointment.patient_id), "required": "required", "status": "accepted"},
            {"actor": {"type": "Device", "identifier": {"system": SCANNER_SYSTEM, "value": appointment.scanner_id},
                       "display": appointment.scanner_id}, "required": "required", "status": "accepted"},
            {"actor": {"type": "Location", "identifier": {"system": "urn:radflow:site",
                                                          "value": appointment.site_id}},
             "required": "required", "status": "accepted"}],
    }
    if appointment.patient_from < appointment.start:
        resource["comment"] = f"the patient is needed from {instant(appointment.patient_from)} (tracer uptake)"
    if appointment.cancel_reason:
        resource["cancelationReason"] = {"text": appointment.cancel_reason}
    return _with_version(resource)


def _read(radflow: App, actor: Principal, appointment_id: str) -> dict[str, Any]:
    found: Appointment = radflow.bus.handle(appts.GetAppointment(actor=actor, appointment_id=appointment_id))
    return appointment_resource(found)


@router.get("/Appointment/{appointment_id}")
def read_appointment(appointment_id: str, radflow: App,
                     actor: Annotated[Principal, requires(Action.APPOINTMENT_READ)]) -> Response:
    """One appointment."""
    return read_response(_read(radflow, actor, appointment_id))


@router.get("/Appointment")
def search_appointments(request: Request, radflow: App,
                        actor: Annotated[Principal, requires(Action.APPOINTMENT_READ)]) -> Response:
    """By `based-on` (a ServiceRequest), by `patient`, or by `date` (ge/lt) for the schedule; `status` filters."""
    params = request.query_params
    order_id = params.get("based-on", "").rsplit("/", 1)[-1]
    patient_id = params.get("patient", "").rsplit("/", 1)[-1]
    if order_id or patient_id:
        found = radflow.bus.handle(appts.ListAppointments(actor=actor, order_id=order_id, patient_id=patient_id))
    elif params.getlist("date"):
        start, end = _range(request, "date", radflow.ctx.clock.now(), 1)
        found = radflow.bus.handle(appts.ListAppointments(actor=actor, start=start, end=end))
    else:
        return refused(Refusal(400, (Issue("required", "search Appointments by 'based-on', 'patient' or 'date'"),)))
    status = params.get("status", "")
    resources = [appointment_resource(a) for a in found]
    return _bundle(request, "Appointment", [r for r in resources if not status or r["status"] == status])


def _body(raw: bytes) -> dict[str, Any] | Refusal:
    """The body as a structurally valid R4 Appointment (a plain dict), or why it is refused (400)."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return Refusal(400, (Issue("structure", "the body is not a JSON Appointment"),))
    if not isinstance(body, dict) or body.get("resourceType") != "Appointment":
        return Refusal(400, (Issue("invalid", "this endpoint takes an Appointment", "resourceType"),))
    try:
        FhirAppointment.model_validate(body)
    except PydanticValidationError as error:
        return Refusal(400, tuple(Issue("structure", f"{fhir_path('Appointment', e['loc'])}: {e['msg']}",
                                        fhir_path("Appointment", e["loc"])) for e in error.errors()[:10]))
    return body


def _placement(body: dict[str, Any]) -> tuple[str, datetime]:
    """The scanner and start an Appointment asks for: from its Slot, else its start and Device participant."""
    for item in body.get("slot") or ():
        value = str(item.get("reference", ""))
        if "Slot/" in value:
            scanner_id, slot_start, _minutes = parse_slot_id(value.rsplit("/", 1)[-1])
            return scanner_id, slot_start
    start = body.get("start")
    scanner = next((p["actor"]["identifier"]["value"] for p in body.get("participant") or ()
                    if p.get("actor", {}).get("identifier", {}).get("system") == SCANNER_SYSTEM), None)
    if not start or not scanner:
        raise ValidationError("name the slot (Appointment.slot = Slot/…) or the start with the scanner as a "
                              f"participant (actor.identifier.system = {SCANNER_SYSTEM})", field="Appointment.slot")
    return scanner, _instant_param(str(start), "Appointment.start")


def _order_of(body: dict[str, Any]) -> str:
    for item in body.get("basedOn") or ():
        value = str(item.get("reference", ""))
        if "ServiceRequest/" in value:
            return value.rsplit("/", 1)[-1]
    raise ValidationError("Appointment.basedOn must reference the ServiceRequest to book", field="Appointment.basedOn")


@router.post("/Appointment", status_code=201)
async def create_appointment(request: Request, radflow: App,
                             actor: Annotated[Principal, requires(Action.APPOINTMENT_BOOK)]) -> Response:
    """Book: the ServiceRequest in basedOn, at the Slot (or start and scanner) given; 409 when taken."""
    body = _body(await request.body())
    if isinstance(body, Refusal):
        return refused(body)
    if body.get("status") not in ("booked", "proposed", "pending"):
        raise ValidationError("a new Appointment is booked (status 'booked')", field="Appointment.status")
    scanner_id, start = _placement(body)
    command = booking.BookAppointment(actor=actor, order_id=_order_of(body), scanner_id=scanner_id, start=start,
                                      note=str(body.get("comment", "")))
    appointment_id: str = await run_in_threadpool(radflow.bus.handle, command)
    resource = await run_in_threadpool(_read, radflow, actor, appointment_id)
    return created_response(request, resource)


@router.put("/Appointment/{appointment_id}")
async def update_appointment(appointment_id: str, request: Request, radflow: App,
                             actor: Annotated[Principal, requires(Action.APPOINTMENT_BOOK)]) -> Response:
    """`cancelled` (with cancelationReason) cancels; a new slot or start moves the appointment."""
    body = _body(await request.body())
    if isinstance(body, Refusal):
        return refused(body)
    if body.get("id") not in (None, appointment_id):
        raise ValidationError("Appointment.id must match the id in the URL", field="Appointment.id")
    current = await run_in_threadpool(_read, radflow, actor, appointment_id)
    if body.get("status") == "cancelled":
        reason = str((body.get("cancelationReason") or {}).get("text", "")) or "cancelled through FHIR"
        await run_in_threadpool(radflow.bus.handle, booking.CancelAppointment(
            actor=actor, appointment_id=appointment_id, reason=reason))
    elif body.get("status") == current["status"]:
        scanner_id, start = _placement(body)
        if (slot_id(scanner_id, start, current["minutesDuration"]), instant(start)) != \
                (current["slot"][0]["reference"].rsplit("/", 1)[-1], current["start"]):
            await run_in_threadpool(radflow.bus.handle, booking.RescheduleAppointment(
                actor=actor, appointment_id=appointment_id, scanner_id=scanner_id, start=start,
                reason=str(body.get("comment", "")) or "rescheduled through FHIR"))
    else:
        raise ValidationError(f"an Appointment goes from '{current['status']}' only to 'cancelled' here "
                              "(check-in and no-show are recorded by the front desk)", field="Appointment.status")
    return read_response(await run_in_threadpool(_read, radflow, actor, appointment_id))
