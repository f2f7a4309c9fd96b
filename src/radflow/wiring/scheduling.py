"""The scheduling area's contributions: appointments, capacity, slot search, booking, backlog plans."""

from __future__ import annotations

from functools import partial

from radflow.adapters.clock import SystemClock
from radflow.adapters.db import scheduling_tables  # noqa: F401  (declares the tables on the shared metadata)
from radflow.adapters.db.scheduling_repositories import SqlAppointments, SqlBacklog, SqlCapacity, map_scheduling
from radflow.domain.events import OrderTransitioned
from radflow.services.scheduling import HANDLERS
from radflow.services.scheduling.appointments import follow_order
from radflow.services.scheduling.backlog import ProposeBacklogPlan, propose_plan
from radflow.services.scheduling.memory import MemoryAppointments, MemoryBacklog, MemoryCapacity
from radflow.services.scheduling.ports import APPOINTMENTS, CAPACITY, PLANS
from radflow.wiring import Area

AREA = Area(
    name="scheduling",
    # The optimizer's time limit is compute time, read from the real clock even under a fake one.
    handlers={**HANDLERS, ProposeBacklogPlan: partial(propose_plan, budget_clock=SystemClock())},
    event_handlers={OrderTransitioned: [follow_order]},
    mappers=(map_scheduling,),
    repositories={APPOINTMENTS: SqlAppointments, CAPACITY: SqlCapacity, PLANS: SqlBacklog},
    memory_repositories={APPOINTMENTS: MemoryAppointments, CAPACITY: MemoryCapacity, PLANS: MemoryBacklog},
)
