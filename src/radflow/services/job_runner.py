"""Running one claimed job: its effect and its `done` mark commit together; failures retry with backoff."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum

from radflow.domain.errors import RadflowError
from radflow.domain.jobs import JobState
from radflow.services.context import ServiceContext
from radflow.services.jobs import JobHandler
from radflow.services.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("radflow.jobs")


class JobOutcome(StrEnum):
    """How running a claimed job ended."""

    DONE = "done"
    RETRY = "retry"
    DEAD = "dead"
    LOST = "lost"  # the lease passed to another worker; this one does nothing


def run_claimed_job(job_id: str, owner: str, uow_factory: UnitOfWorkFactory, ctx: ServiceContext,
                    handlers: Mapping[str, JobHandler]) -> JobOutcome:
    """Run a job this worker holds the lease on."""
    kind = "?"
    try:
        with uow_factory() as uow:
            job = uow.jobs.get(job_id)
            if job.state is not JobState.RUNNING or job.lease_owner != owner:
                return JobOutcome.LOST
            kind = job.kind
            handler = handlers.get(job.kind)
            if handler is None:
                raise LookupError(f"no handler for job kind '{job.kind}'")
            result = handler(job, uow, ctx)
            job.succeed(at=ctx.clock.now(), result=result)
            uow.commit()
            return JobOutcome.DONE
    except Exception as error:  # process boundary: one job's failure must never stop the worker
        # A partner down or a refusal is the daily weather of interfaces: one line, and the job retries.
        # Anything else is a defect and keeps its traceback.
        expected = isinstance(error, RadflowError | OSError)
        log.warning("job %s (%s) failed: %s", job_id, kind, error, exc_info=not expected)
        return _record_failure(job_id, owner, uow_factory, ctx, f"{type(error).__name__}: {error}")


def _record_failure(job_id: str, owner: str, uow_factory: UnitOfWorkFactory, ctx: ServiceContext,
                    message: str) -> JobOutcome:
    with uow_factory() as uow:
        job = uow.jobs.get(job_id)
        if job.state is not JobState.RUNNING or job.lease_owner != owner:
            return JobOutcome.LOST
        job.fail(message, at=ctx.clock.now())
        uow.commit()
        # fail() either schedules a retry or, out of attempts, gives up and stamps finished_at.
        return JobOutcome.DEAD if job.finished_at is not None else JobOutcome.RETRY
