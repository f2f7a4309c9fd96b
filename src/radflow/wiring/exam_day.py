"""The exam day's contributions: check-in, screening, the worklist projection, MPPS, QC (issue 5).

QC asks the PACS whether a study's images arrived through `ServiceContext.image_availability`. Where
the composition root has not set one and `RADFLOW_PACS_HOST` is configured, the QC handler is given a
DICOM C-FIND client for that PACS here (built per call, never at import).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from radflow.adapters.db import exam_day_tables  # noqa: F401  (declares the tables on the shared metadata)
from radflow.adapters.db.exam_day_memory import MEMORY_REPOSITORIES
from radflow.adapters.db.exam_day_repositories import REPOSITORIES, map_exam_day
from radflow.domain.events import DomainEvent
from radflow.services import screening
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.exam_day import HANDLERS
from radflow.services.exam_day.exam import ReviewQc
from radflow.services.exam_day.worklist import EVENT_HANDLERS as WORKLIST_EVENTS
from radflow.services.unit_of_work import EventHandler, UnitOfWork
from radflow.wiring import Area


def with_pacs(handler: Handler) -> Handler:
    """The handler, given the configured PACS as image-availability port when the context has none."""

    def run(command: Any, uow: UnitOfWork, ctx: ServiceContext) -> Any:
        if ctx.image_availability is None and ctx.settings.pacs_host:
            from radflow.adapters.dicom.pacs import PacsClient, PacsConfig

            settings = ctx.settings
            client = PacsClient(PacsConfig(host=settings.pacs_host, port=settings.pacs_port,
                                           called_ae_title=settings.pacs_aet, calling_ae_title=settings.dicom_aet,
                                           timeout=settings.pacs_timeout_seconds))
            ctx = dataclasses.replace(ctx, image_availability=client)
        return handler(command, uow, ctx)

    run.__name__ = getattr(handler, "__name__", "handler")
    run.__doc__ = handler.__doc__
    return run


def _events() -> dict[type[DomainEvent], list[EventHandler]]:
    merged: dict[type[DomainEvent], list[EventHandler]] = {}
    for table in (screening.EVENT_HANDLERS, WORKLIST_EVENTS):
        for event_type, handlers in table.items():
            merged.setdefault(event_type, []).extend(handlers)
    return merged


_HANDLERS: dict[type, Handler] = {**HANDLERS, **screening.HANDLERS}

AREA = Area(
    name="exam_day",
    handlers={kind: with_pacs(handler) if kind is ReviewQc else handler for kind, handler in _HANDLERS.items()},
    event_handlers=_events(),
    mappers=(map_exam_day,),
    repositories=REPOSITORIES,
    memory_repositories=MEMORY_REPOSITORIES,
)
