"""Durable jobs: everything that must happen later is a row, written with the change that causes it.

A job's own state machine is one table too. Side effects inside the database happen once (the job's
effect and its `done` mark commit together); side effects outside it are delivered at least once,
each carrying the job's idempotency key so a receiver can deduplicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from radflow.domain.errors import InvalidTransition


class JobState(StrEnum):
    """Where a job stands."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"  # gave up after its attempts; shown on the dead-letter view, can be resent
    CANCELLED = "cancelled"


class JobEvent(StrEnum):
    """What happens to a job."""

    CLAIM = "claim"
    SUCCEED = "succeed"
    FAIL = "fail"  # retry later, or die when out of attempts
    GIVE_UP = "give_up"
    RESEND = "resend"
    CANCEL = "cancel"


J = JobState
TRANSITIONS: Final[Mapping[tuple[JobState, JobEvent], JobState]] = {
    (J.PENDING, JobEvent.CLAIM): J.RUNNING,
    # A lease that ran out (a killed worker) lets another worker claim a running job again.
    (J.RUNNING, JobEvent.CLAIM): J.RUNNING,
    (J.RUNNING, JobEvent.SUCCEED): J.DONE,
    (J.RUNNING, JobEvent.FAIL): J.PENDING,
    (J.RUNNING, JobEvent.GIVE_UP): J.DEAD,
    (J.DEAD, JobEvent.RESEND): J.PENDING,
    (J.PENDING, JobEvent.CANCEL): J.CANCELLED,
}


def backoff(attempt: int, *, base_seconds: float = 15, cap_seconds: float = 3600) -> timedelta:
    """Delay before retry number `attempt` (1-based): exponential, capped."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempt - 1)))


@dataclass(eq=False)
class Job:
    """One unit of deferred work with an idempotency key."""

    id: str
    kind: str
    key: str
    payload: dict[str, Any]
    due_at: datetime
    created_at: datetime
    state: JobState = JobState.PENDING
    attempts: int = 0
    max_attempts: int = 8
    lease_owner: str | None = None
    lease_until: datetime | None = None
    last_error: str = ""
    finished_at: datetime | None = None
    queue: str = ""  # jobs sharing a queue run in due order, one at a time (per HL7 destination)
    result: dict[str, Any] = field(default_factory=dict)

    def apply(self, event: JobEvent) -> JobState:
        """Move along the job table, or raise InvalidTransition."""
        target = TRANSITIONS.get((self.state, event))
        if target is None:
            raise InvalidTransition(self.state.value, event.value, aggregate="job")
        self.state = target
        return target

    def fail(self, error: str, *, at: datetime) -> None:
        """Record a failed attempt: retry with backoff, or give up after `max_attempts`."""
        self.last_error = error[:2000]
        self.lease_owner, self.lease_until = None, None
        if self.attempts >= self.max_attempts:
            self.apply(JobEvent.GIVE_UP)
            self.finished_at = at
        else:
            self.apply(JobEvent.FAIL)
            self.due_at = at + backoff(self.attempts)

    def succeed(self, *, at: datetime, result: dict[str, Any] | None = None) -> None:
        """Mark the job done."""
        self.apply(JobEvent.SUCCEED)
        self.finished_at = at
        self.lease_owner, self.lease_until = None, None
        self.result = dict(result or {})
