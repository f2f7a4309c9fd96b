"""The reporting area's contributions: reading worklist, reports, report QC, critical results.

Report QC and marking a critical result read report text through the extraction port
(`ServiceContext.extractor`). Where the composition root has not set one, the handlers that need it
are given the process's medspaCy reader here (built on first use, never at import), so that a report
describing a hemorrhage is never released unrecorded for want of wiring.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from radflow.adapters.db.reporting_memory import MEMORY_REPOSITORIES
from radflow.adapters.db.reporting_repositories import (
    SqlCriticalResults,
    SqlReadingClaims,
    SqlReadingQueries,
    SqlReports,
    map_reporting,
)
from radflow.domain.rads.extraction import FollowupExtractor
from radflow.services import critical_results, reading, reports
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.unit_of_work import UnitOfWork
from radflow.wiring import Area

_lock = threading.Lock()
_reader: list[FollowupExtractor] = []


def default_reader() -> FollowupExtractor:
    """The process's medspaCy report reader (one per process; its pipeline loads on first extraction)."""
    with _lock:
        if not _reader:
            from radflow.adapters.nlp import default_extractor

            _reader.append(default_extractor())
        return _reader[0]


def with_reader(handler: Callable[[Any, UnitOfWork, ServiceContext], Any]) -> Handler:
    """The handler, given the default report reader when the context has none."""

    def run(command: Any, uow: UnitOfWork, ctx: ServiceContext) -> Any:
        if ctx.extractor is None:
            ctx = dataclasses.replace(ctx, extractor=default_reader())
        return handler(command, uow, ctx)

    run.__name__ = getattr(handler, "__name__", "handler")
    run.__doc__ = handler.__doc__
    return run


_READS_TEXT = (reports.CheckReport, reports.ReleasePreliminary, reports.SignReport, reports.AddAddendum,
               critical_results.MarkCritical)

_HANDLERS: dict[type, Handler] = {**reading.HANDLERS, **reports.HANDLERS, **critical_results.HANDLERS}

AREA = Area(
    name="reporting",
    handlers={kind: with_reader(handler) if kind in _READS_TEXT else handler for kind, handler in _HANDLERS.items()},
    job_handlers=critical_results.JOB_HANDLERS,
    mappers=(map_reporting,),
    repositories={
        "reports": SqlReports,
        "critical_results": SqlCriticalResults,
        "reading_claims": SqlReadingClaims,
        "reading": SqlReadingQueries,
    },
    memory_repositories=MEMORY_REPOSITORIES,
)
