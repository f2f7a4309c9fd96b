"""A worker still busy when its lease runs out cannot commit the job's effects (PostgreSQL: many workers).

On SQLite a running job holds the one write lock until it commits, so no other worker can claim it meanwhile;
the race only exists where several workers write at once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_jobs import LEASE, incomplete_referral, jobs_of

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.jobs import JobState
from radflow.services.job_runner import JobOutcome, run_claimed_job
from radflow.services.ports import RecordingGateway
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("test_settings", [b for b in backends() if b == "postgres"], indirect=True)


def test_a_worker_whose_lease_was_taken_over_cannot_commit_the_jobs_effects(radflow: Radflow, clock: FakeClock,
                                                                              gateway: RecordingGateway) -> None:
    incomplete_referral(radflow)
    (job_id,) = radflow.job_queue.claim("slow-worker", clock.now(), LEASE)

    def slow_handler(job, uow, ctx):  # type: ignore[no-untyped-def]
        # While this worker is still busy, its lease runs out and another worker takes the job.
        clock.advance(LEASE + timedelta(seconds=1))
        assert radflow.job_queue.claim("w2", clock.now(), LEASE) == [job_id]
        return {"done_by": "slow-worker"}

    handlers = {**radflow.jobs, "documentation_request": slow_handler}
    outcome = run_claimed_job(job_id, "slow-worker", radflow.bus.uow_factory, radflow.ctx, handlers)
    assert outcome is JobOutcome.LOST
    assert run_claimed_job(job_id, "w2", radflow.bus.uow_factory, radflow.ctx, radflow.jobs) is JobOutcome.DONE
    assert jobs_of(radflow, "documentation_request")[0][1] is JobState.DONE
