"""The results area's contributions: distribution, patient release and communication, follow-ups, the audit.

Its handlers and jobs read report text (the extraction port) and print PDFs (the printer port). Where
the composition root set neither, they are given the process's medspaCy reader (the reporting area's,
loaded on first use) and the WeasyPrint printer here, so that no recommendation goes unread and no
letter unprinted for want of wiring.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from radflow.adapters.db.results_memory import MEMORY_REPOSITORIES
from radflow.adapters.db.results_repositories import (
    SqlBiopsies,
    SqlDistributions,
    SqlFollowUps,
    SqlRecordsRequests,
    SqlReleaseHolds,
    SqlResultCommunications,
    SqlResultsQueries,
    map_results,
)
from radflow.adapters.notify.report_pdf import WeasyPrintReportPrinter
from radflow.domain.events import DomainEvent
from radflow.services import (
    distribution,
    followups,
    mammography_audit,
    outside_reports,
    patient_communication,
    patient_release,
    records_requests,
    result_resources,
)
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.jobs import JobHandler
from radflow.services.results_ports import (
    BIOPSIES,
    DISTRIBUTIONS,
    FOLLOWUPS,
    RECORDS_REQUESTS,
    RELEASE_HOLDS,
    RESULT_COMMUNICATIONS,
    RESULTS_QUERIES,
)
from radflow.services.unit_of_work import EventHandler, UnitOfWork
from radflow.wiring import Area
from radflow.wiring.reporting import default_reader

_PRINTER = WeasyPrintReportPrinter()


def with_tools(handler: Callable[[Any, UnitOfWork, ServiceContext], Any]) -> Callable[[Any, UnitOfWork, ServiceContext],
                                                                                       Any]:
    """The handler, given the default report reader and PDF printer when the context has none."""

    def run(command: Any, uow: UnitOfWork, ctx: ServiceContext) -> Any:
        if ctx.extractor is None or ctx.report_printer is None:
            ctx = dataclasses.replace(ctx, extractor=ctx.extractor or default_reader(),
                                      report_printer=ctx.report_printer or _PRINTER)
        return handler(command, uow, ctx)

    run.__name__ = getattr(handler, "__name__", "handler")
    run.__doc__ = handler.__doc__
    return run


def _events(*tables: Mapping[type[DomainEvent], Sequence[EventHandler]]) -> dict[type[DomainEvent], list[EventHandler]]:
    merged: dict[type[DomainEvent], list[EventHandler]] = {}
    for table in tables:
        for event, handlers in table.items():
            merged.setdefault(event, []).extend(handlers)
    return merged


_MODULES = (distribution, patient_release, patient_communication, followups, records_requests, mammography_audit,
            result_resources)
_HANDLERS: dict[type, Handler] = {kind: with_tools(handler) for module in _MODULES
                                  for kind, handler in module.HANDLERS.items()}
_JOBS: dict[str, JobHandler] = {kind: with_tools(handler) for module in _MODULES
                                for kind, handler in getattr(module, "JOB_HANDLERS", {}).items()}

AREA = Area(
    name="results",
    handlers=_HANDLERS,
    job_handlers=_JOBS,
    event_handlers=_events(distribution.EVENT_HANDLERS, patient_release.EVENT_HANDLERS,
                           patient_communication.EVENT_HANDLERS, followups.EVENT_HANDLERS,
                           outside_reports.EVENT_HANDLERS),
    mappers=(map_results,),
    repositories={
        DISTRIBUTIONS: SqlDistributions, RELEASE_HOLDS: SqlReleaseHolds, RESULT_COMMUNICATIONS: SqlResultCommunications,
        FOLLOWUPS: SqlFollowUps, BIOPSIES: SqlBiopsies, RECORDS_REQUESTS: SqlRecordsRequests,
        RESULTS_QUERIES: SqlResultsQueries,
    },
    memory_repositories=MEMORY_REPOSITORIES,
)
