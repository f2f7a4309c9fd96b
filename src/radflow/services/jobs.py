"""Job kinds and how to enqueue them: rows written in the same transaction as their cause."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from radflow.domain.ids import new_id
from radflow.domain.jobs import Job
from radflow.services.context import ServiceContext
from radflow.services.unit_of_work import UnitOfWork

#: A job handler does its work inside `uow` (which also marks the job done) and may return a result.
JobHandler = Callable[[Job, UnitOfWork, ServiceContext], dict[str, Any] | None]


def enqueue(
    uow: UnitOfWork,
    ctx: ServiceContext,
    kind: str,
    key: str,
    payload: dict[str, Any],
    *,
    due_at: datetime | None = None,
    queue: str = "",
    max_attempts: int = 8,
) -> bool:
    """Add a job unless one with the same idempotency key exists; True when added."""
    now = ctx.clock.now()
    job = Job(id=new_id(), kind=kind, key=key, payload=payload, due_at=due_at or now, created_at=now,
              queue=queue, max_attempts=max_attempts)
    return uow.jobs.add(job)
