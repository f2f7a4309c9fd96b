"""SQL repositories of the reporting area, and the imperative mapping of its aggregates.

Reading claims are kept with single conditional statements, so that the database decides who holds
a study even when two radiologists click at the same moment: a claim is taken over only when expired
(`UPDATE ... WHERE expires_at <= now`), and a new one is inserted with ON CONFLICT DO NOTHING, which
on PostgreSQL waits for a concurrent inserter and then inserts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, registry

from radflow.adapters.db import tables as t
from radflow.adapters.db.reporting_tables import critical_results, reading_claims, reports
from radflow.domain.critical_result import CriticalResult, CriticalState
from radflow.domain.errors import NotFound
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.reading import ReadingClaim, check_claimable
from radflow.domain.report import Report
from radflow.domain.users import Role, User


def map_reporting(reg: registry) -> None:
    """Map Report and CriticalResult on the shared registry (with optimistic locking)."""
    reg.map_imperatively(Report, reports, version_id_col=reports.c.version)
    reg.map_imperatively(CriticalResult, critical_results, version_id_col=critical_results.c.version)


class SqlReports:
    """Reports in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, report: Report) -> None:
        self.session.add(report)

    def get(self, report_id: str) -> Report:
        found = self.session.get(Report, report_id)
        if found is None:
            raise NotFound(f"report '{report_id}' not found")
        return found

    def for_order(self, order_id: str) -> Report | None:
        return self.session.scalars(select(Report).where(reports.c.order_id == order_id)).first()

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, Report]:
        if not order_ids:
            return {}
        found = self.session.scalars(select(Report).where(reports.c.order_id.in_(list(order_ids))))
        return {report.order_id: report for report in found}


class SqlCriticalResults:
    """Critical results in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, result: CriticalResult) -> None:
        self.session.add(result)

    def get(self, result_id: str) -> CriticalResult:
        found = self.session.get(CriticalResult, result_id)
        if found is None:
            raise NotFound(f"critical result '{result_id}' not found")
        return found

    def for_order(self, order_id: str) -> list[CriticalResult]:
        stmt = select(CriticalResult).where(critical_results.c.order_id == order_id) \
            .order_by(critical_results.c.raised_at)
        return list(self.session.scalars(stmt))

    def for_orders(self, order_ids: Sequence[str]) -> list[CriticalResult]:
        if not order_ids:
            return []
        stmt = select(CriticalResult).where(critical_results.c.order_id.in_(list(order_ids)))
        return list(self.session.scalars(stmt))

    def open_results(self) -> list[CriticalResult]:
        open_states = [CriticalState.RAISED.value, CriticalState.NOTIFIED.value, CriticalState.ESCALATED.value]
        stmt = select(CriticalResult).where(critical_results.c.state.in_(open_states)) \
            .order_by(critical_results.c.due_at)
        return list(self.session.scalars(stmt))


def _claim(row: Any) -> ReadingClaim:
    return ReadingClaim(order_id=row.order_id, user_id=row.user_id, claimed_at=row.claimed_at,
                        expires_at=row.expires_at, user_name=row.user_name)


class SqlReadingClaims:
    """Reading claims: one row per study, taken over only when expired."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, order_id: str) -> ReadingClaim | None:
        row = self.session.execute(select(reading_claims).where(reading_claims.c.order_id == order_id)).first()
        return None if row is None else _claim(row)

    def acquire(self, claim: ReadingClaim, now: datetime) -> ReadingClaim:
        values = {"user_id": claim.user_id, "user_name": claim.user_name[:200], "claimed_at": claim.claimed_at,
                  "expires_at": claim.expires_at}
        taken = self.session.execute(
            update(reading_claims)
            .where(reading_claims.c.order_id == claim.order_id,
                   (reading_claims.c.expires_at <= now) | (reading_claims.c.user_id == claim.user_id))
            .values(**values))
        if getattr(taken, "rowcount", 0) == 1:
            return claim
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        inserted = self.session.execute(
            insert(reading_claims).values(order_id=claim.order_id, **values)
            .on_conflict_do_nothing(index_elements=[reading_claims.c.order_id]))
        if getattr(inserted, "rowcount", 0) == 1:
            return claim
        check_claimable(self.current(claim.order_id), claim.user_id, now)
        # The row exists, is live and is ours after all (a race with our own other tab): keep it.
        return self.current(claim.order_id) or claim

    def renew(self, order_id: str, user_id: str, now: datetime, until: datetime) -> bool:
        renewed = self.session.execute(
            update(reading_claims)
            .where(reading_claims.c.order_id == order_id, reading_claims.c.user_id == user_id,
                   reading_claims.c.expires_at > now)
            .values(expires_at=until))
        return getattr(renewed, "rowcount", 0) == 1

    def release(self, order_id: str, user_id: str) -> bool:
        gone = self.session.execute(reading_claims.delete().where(reading_claims.c.order_id == order_id,
                                                                  reading_claims.c.user_id == user_id))
        return getattr(gone, "rowcount", 0) == 1

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, ReadingClaim]:
        if not order_ids:
            return {}
        rows = self.session.execute(select(reading_claims).where(reading_claims.c.order_id.in_(list(order_ids))))
        return {row.order_id: _claim(row) for row in rows}


class SqlReadingQueries:
    """The reading services' questions about orders, patients and people, in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def orders_in_state(self, state: OrderState, limit: int) -> list[Order]:
        stmt = select(Order).where(t.orders.c.state == state.value).order_by(t.orders.c.received_at).limit(limit)
        return list(self.session.scalars(stmt))

    def patients(self, patient_ids: Sequence[str]) -> dict[str, Patient]:
        if not patient_ids:
            return {}
        found = self.session.scalars(select(Patient).where(t.patients.c.id.in_(list(patient_ids))))
        return {patient.id: patient for patient in found}

    def covering_providers(self, npi: str) -> list[User]:
        # JSON text on SQLite and JSONB's text form on PostgreSQL both write the list as '["…", "…"]'.
        stmt = select(User).where(cast(t.users.c.covers_npis, Text).like(f'%"{npi}"%'), t.users.c.active.is_(True))
        return [user for user in self.session.scalars(stmt) if npi in user.covers_npis]

    def section_chiefs(self) -> list[User]:
        stmt = select(User).where(t.users.c.is_section_chief.is_(True), t.users.c.active.is_(True),
                                  t.users.c.role == Role.RADIOLOGIST.value).order_by(t.users.c.username)
        return list(self.session.scalars(stmt))
