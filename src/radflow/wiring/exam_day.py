"""The exam day's contributions: check-in, screening, the worklist projection, MPPS, QC (issue 5)."""

from __future__ import annotations

from radflow.adapters.db import exam_day_tables  # noqa: F401  (declares the tables on the shared metadata)
from radflow.adapters.db.exam_day_memory import MEMORY_REPOSITORIES
from radflow.adapters.db.exam_day_repositories import REPOSITORIES, map_exam_day
from radflow.services.exam_day.worklist import EVENT_HANDLERS
from radflow.wiring import Area

AREA = Area(
    name="exam_day",
    event_handlers=EVENT_HANDLERS,
    mappers=(map_exam_day,),
    repositories=REPOSITORIES,
    memory_repositories=MEMORY_REPOSITORIES,
)
