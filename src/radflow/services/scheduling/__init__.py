"""Scheduling use cases: capacity, slot search, booking, the backlog plan, capacity planning.

`HANDLERS` maps each command and query to its handler; `radflow.wiring.scheduling` registers them
(and `ProposeBacklogPlan`, whose solver budget needs a real clock from the composition root).
"""

from __future__ import annotations

from radflow.services.bus import Handler
from radflow.services.scheduling import appointments, backlog, booking, capacity_admin, planning, slots

HANDLERS: dict[type, Handler] = {
    booking.BookAppointment: booking.book_appointment,
    booking.BookVisit: booking.book_visit,
    booking.RescheduleAppointment: booking.reschedule_appointment,
    booking.CancelAppointment: booking.cancel_appointment,
    slots.FindSlots: slots.find_order_slots,
    slots.FindVisit: slots.find_visit,
    appointments.GetAppointment: appointments.get_appointment,
    appointments.ListAppointments: appointments.list_appointments,
    capacity_admin.SaveSite: capacity_admin.save_site,
    capacity_admin.SaveScanner: capacity_admin.save_scanner,
    capacity_admin.SetOverbookingPolicy: capacity_admin.set_overbooking_policy,
    capacity_admin.AddClosure: capacity_admin.add_closure,
    capacity_admin.RemoveClosure: capacity_admin.remove_closure,
    capacity_admin.GetCapacity: capacity_admin.get_capacity,
    backlog.GetPlan: backlog.get_plan,
    backlog.ListPlans: backlog.list_plans,
    backlog.AcceptPlanLines: backlog.accept_plan_lines,
    backlog.SkipPlanLines: backlog.skip_plan_lines,
    planning.CapacityDashboard: planning.capacity_dashboard,
    planning.DaySchedule: planning.day_schedule,
}
