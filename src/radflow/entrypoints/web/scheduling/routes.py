"""Scheduling screens: order → options → book (or move), the day Gantt, the capacity dashboard, backlog plans."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.bootstrap import Radflow
from radflow.domain.appointment import Appointment
from radflow.domain.errors import ValidationError
from radflow.domain.lifecycle import OrderState
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.navigation import NavItem
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.entrypoints.web.scheduling import charts
from radflow.services.scheduling import appointments as appts
from radflow.services.scheduling import backlog, booking, planning, slots
from radflow.services.scheduling.pictures import PatientNeeds
from radflow.services.views import GetOrder, ListOrders, OrderDetail, OrderFilter, OrderList

router = APIRouter(route_class=ScreenRoute)

MENU = (
    NavItem("Scheduling", "/scheduling", (Action.SCHEDULE_SEARCH,)),
    NavItem("Day schedule", "/scheduling/day", (Action.CAPACITY_READ,)),
    NavItem("Capacity", "/scheduling/capacity", (Action.CAPACITY_READ,)),
    NavItem("Backlog plan", "/scheduling/plans", (Action.BACKLOG_PLAN,)),
)

#: The fields of the search form, carried into each option's booking form.
NEED_FIELDS = ("days", "sedation", "interpreter", "weight_kg", "requires", "site", "part_of_day")


@router.get("/scheduling")
def worklist(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.SCHEDULE_SEARCH)],
             modality: str = "", booked: str = "") -> Response:
    """Orders ready to schedule, oldest target first (the scheduler's queue)."""
    result: OrderList = radflow.bus.handle(ListOrders(actor=actor, query=OrderFilter(
        states=(OrderState.READY_TO_SCHEDULE.value,), modality=modality.upper(), limit=500)))
    return render(request, actor, "scheduling/worklist.html", rows=result.rows, total=result.total, booked=booked,
                  modality=modality)


def _needs(values: dict[str, str]) -> PatientNeeds:
    weight = values.get("weight_kg", "").strip()
    if weight and not weight.isdigit():
        raise ValidationError("weight is a whole number of kilograms", field="weight_kg")
    interpreter = values.get("interpreter", "")
    return PatientNeeds(sedation=values.get("sedation", "") in ("on", "1", "true"),
                        interpreter=None if not interpreter else interpreter == "yes",
                        weight_kg=int(weight) if weight else None,
                        requires=frozenset(c for c in values.get("requires", "").replace(",", " ").split() if c))


def _wishes(values: dict[str, str]) -> slots.PatientWishes:
    site = values.get("site", "").strip()
    return slots.PatientWishes(preferred_sites=(site,) if site else (), part_of_day=values.get("part_of_day", ""))


def _days(values: dict[str, str]) -> int:
    raw = values.get("days", "") or "14"
    if not raw.isdigit() or not 1 <= int(raw) <= 62:
        raise ValidationError("search 1 to 62 days ahead", field="days")
    return int(raw)


def _options(request: Request, radflow: Radflow, actor: Principal, order_id: str, values: dict[str, str], *,
             error: FormError | None = None, status_code: int = 200) -> Response:
    detail: OrderDetail = radflow.bus.handle(GetOrder(actor=actor, order_id=order_id))
    found: list[Appointment] = radflow.bus.handle(appts.ListAppointments(actor=actor, order_id=order_id))
    live = next((a for a in found if a.holds_capacity), None)
    search: slots.SlotSearch | None = None
    try:
        search = radflow.bus.handle(slots.FindSlots(actor=actor, order_id=order_id, days=_days(values),
                                                    needs=_needs(values), wishes=_wishes(values), limit=8))
    except FORM_ERRORS as refused:
        error = error or FormError.of(refused)
    carried = {k: values.get(k, "") for k in NEED_FIELDS}
    return render(request, actor, "scheduling/options.html", status_code=status_code, order=detail.order,
                  patient=detail.patient, search=search, live=live, values=values, carried=carried, error=error)


@router.get("/scheduling/orders/{order_id}")
def options(order_id: str, request: Request, radflow: ScreenApp,
            actor: Annotated[Principal, requires(Action.SCHEDULE_SEARCH)]) -> Response:
    """The best options for an order (with the scheduler's notes on the patient), each bookable in one click."""
    values = {k: v for k, v in request.query_params.items() if k in NEED_FIELDS}
    return _options(request, radflow, actor, order_id, values)


@router.post("/scheduling/orders/{order_id}/book")
def book(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
         actor: Annotated[Principal, requires(Action.APPOINTMENT_BOOK)]) -> Response:
    """Book the chosen option (or move the order's appointment there, with the reason given)."""
    fields = FormFields(form)
    values = fields.values()
    try:
        start = datetime.fromisoformat(fields.text("start"))
        needs = _needs(values)
        if fields.text("appointment_id"):
            radflow.bus.handle(booking.RescheduleAppointment(
                actor=actor, appointment_id=fields.text("appointment_id"), scanner_id=fields.text("scanner_id"),
                start=start, reason=fields.text("reason"), needs=needs))
        else:
            radflow.bus.handle(booking.BookAppointment(actor=actor, order_id=order_id,
                                                       scanner_id=fields.text("scanner_id"), start=start, needs=needs))
    except ValueError:
        return _options(request, radflow, actor, order_id, values, error=FormError("choose one of the options"),
                        status_code=422)
    except FORM_ERRORS as refused:
        return _options(request, radflow, actor, order_id, values, error=FormError.of(refused),
                        status_code=status_for(refused))
    day = start.astimezone(radflow.settings.zone).date().isoformat()
    order = radflow.bus.handle(GetOrder(actor=actor, order_id=order_id)).order
    return see_other(f"/scheduling/day?day={day}&booked={order.accession_number}")


@router.get("/scheduling/day")
def day_view(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.CAPACITY_READ)],
             day: str = "", site: str = "", booked: str = "") -> Response:
    """The day Gantt: every scanner's open time and appointments."""
    zone = radflow.settings.zone
    try:
        chosen = date.fromisoformat(day) if day else radflow.ctx.clock.now().astimezone(zone).date()
    except ValueError:
        raise ValidationError(f"'{day}' is not a date; use YYYY-MM-DD", field="day") from None
    sheet: planning.DaySheet = radflow.bus.handle(planning.DaySchedule(actor=actor, day=chosen, site_id=site))
    return render(request, actor, "scheduling/day.html", sheet=sheet, chart=charts.gantt(sheet, zone), site=site,
                  booked=booked, previous=(chosen - timedelta(days=1)).isoformat(),
                  following=(chosen + timedelta(days=1)).isoformat())


@router.get("/scheduling/capacity")
def capacity(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.CAPACITY_READ)],
             days: int = 14) -> Response:
    """Utilization, backlog against capacity and the two-week forecast, as charts and tables."""
    board: planning.Dashboard = radflow.bus.handle(planning.CapacityDashboard(actor=actor, days=days))
    modalities = sorted({f.modality for f in board.forecast if f.capacity_minutes})
    context: dict[str, Any] = {
        "board": board, "heatmap": charts.utilization_heatmap(board.loads),
        "modality_chart": charts.modality_bars(board.by_modality), "backlog_chart": charts.backlog_chart(board.backlog),
        "forecasts": [(m, charts.forecast_chart(board.forecast, m)) for m in modalities],
    }
    return render(request, actor, "scheduling/capacity.html", **context)


@router.get("/scheduling/plans")
def plans(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.BACKLOG_PLAN)]) -> Response:
    """Recent proposals and the form to ask for a new one."""
    recent = radflow.bus.handle(backlog.ListPlans(actor=actor))
    return render(request, actor, "scheduling/plans.html", plans=recent, error=None, values={})


@router.post("/scheduling/plans")
def propose(request: Request, radflow: ScreenApp, form: PostedForm,
            actor: Annotated[Principal, requires(Action.BACKLOG_PLAN)]) -> Response:
    """Let the optimizer propose a plan for the backlog."""
    fields = FormFields(form)
    try:
        plan_id = radflow.bus.handle(backlog.ProposeBacklogPlan(
            actor=actor, days=int(fields.text("days") or 14), seconds=int(fields.text("seconds") or 10),
            policy=fields.text("policy") or "optimize"))
    except ValueError:
        raise ValidationError("days and seconds are whole numbers", field="days") from None
    return see_other(f"/scheduling/plans/{plan_id}")


@router.get("/scheduling/plans/{plan_id}")
def plan(plan_id: str, request: Request, radflow: ScreenApp,
         actor: Annotated[Principal, requires(Action.BACKLOG_PLAN)], done: str = "") -> Response:
    """A proposal line by line: where each order would go, on time or not; choose lines to book."""
    proposal = radflow.bus.handle(backlog.GetPlan(actor=actor, plan_id=plan_id))
    return render(request, actor, "scheduling/plan.html", plan=proposal, done=done)


@router.post("/scheduling/plans/{plan_id}/accept")
def accept(plan_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
           actor: Annotated[Principal, requires(Action.BACKLOG_PLAN)]) -> Response:
    """Book the ticked lines (each through the booking service, one by one)."""
    chosen = tuple(v for k, v in form.multi_items() if k == "order_id" and isinstance(v, str))
    if not chosen:
        raise ValidationError("tick the lines to book", field="order_id")
    result: backlog.AcceptResult = radflow.bus.handle(backlog.AcceptPlanLines(actor=actor, plan_id=plan_id,
                                                                              order_ids=chosen))
    return see_other(f"/scheduling/plans/{plan_id}?done={result.booked}-{result.failed}")
