"""Claiming due jobs: FOR UPDATE SKIP LOCKED on PostgreSQL (many workers), one writer on SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from radflow.adapters.db import tables as t
from radflow.domain.jobs import JobState


class SqlJobQueue:
    """Hands due jobs to workers under a lease; a job whose worker died is claimable once its lease ends."""

    def __init__(self, engine: Engine, session_factory: sessionmaker[Session]) -> None:
        self.engine = engine
        self.session_factory = session_factory

    def claim(self, owner: str, now: datetime, lease: timedelta, limit: int = 10) -> list[str]:
        """Claim up to `limit` due jobs for `owner`; returns their ids (committed before any runs)."""
        jobs = t.jobs
        earlier = t.jobs.alias("earlier")
        # Jobs in one queue (an HL7 destination) run one at a time, in creation order.
        queue_clear = or_(
            jobs.c.queue == "",
            ~exists(select(earlier.c.seq).where(
                earlier.c.queue == jobs.c.queue,
                earlier.c.seq < jobs.c.seq,
                earlier.c.state.in_([JobState.PENDING.value, JobState.RUNNING.value]),
            )),
        )
        due = (
            select(jobs.c.seq)
            .where(or_(and_(jobs.c.state == JobState.PENDING, jobs.c.due_at <= now),
                       and_(jobs.c.state == JobState.RUNNING, jobs.c.lease_until < now)),
                   queue_clear)
            .order_by(jobs.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(jobs)
            .where(jobs.c.seq.in_(due.scalar_subquery()))
            .values(state=JobState.RUNNING, lease_owner=owner, lease_until=now + lease,
                    attempts=jobs.c.attempts + 1)
            .returning(jobs.c.id)
        )
        with self.session_factory() as session:
            ids = [str(row[0]) for row in session.execute(claim)]
            session.commit()
        return ids

    def next_due_at(self) -> datetime | None:
        """When the earliest pending job is due (the worker sleeps until then, or its poll interval)."""
        with self.session_factory() as session:
            row = session.execute(select(t.jobs.c.due_at).where(t.jobs.c.state == JobState.PENDING)
                                  .order_by(t.jobs.c.due_at).limit(1)).first()
            session.rollback()
        return None if row is None else row[0]
