"""In-memory fakes of the reporting repositories, on the InMemoryUnitOfWork's store (unit tests, simulation).

They behave as the SQL ones do where it matters to a test: one report per order, one live claim per
study, a missing id is NotFound.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from radflow.domain.critical_result import CriticalResult
from radflow.domain.errors import Conflict, NotFound
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.reading import ReadingClaim, check_claimable
from radflow.domain.report import Report
from radflow.domain.users import Role, User
from radflow.services.memory import MemoryStore


class MemoryReports:
    """Fake reports repository."""

    def __init__(self, rows: dict[Any, Any]) -> None:
        self.rows = rows

    def add(self, report: Report) -> None:
        if self.for_order(report.order_id) is not None:
            raise Conflict("the database refused the change: one report per order")
        self.rows[report.id] = report

    def get(self, report_id: str) -> Report:
        found: Report | None = self.rows.get(report_id)
        if found is None:
            raise NotFound(f"report '{report_id}' not found")
        return found

    def for_order(self, order_id: str) -> Report | None:
        return next((r for r in self.rows.values() if r.order_id == order_id), None)

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, Report]:
        wanted = set(order_ids)
        return {r.order_id: r for r in self.rows.values() if r.order_id in wanted}


class MemoryCriticalResults:
    """Fake critical-results repository."""

    def __init__(self, rows: dict[Any, Any]) -> None:
        self.rows = rows

    def add(self, result: CriticalResult) -> None:
        self.rows[result.id] = result

    def get(self, result_id: str) -> CriticalResult:
        found: CriticalResult | None = self.rows.get(result_id)
        if found is None:
            raise NotFound(f"critical result '{result_id}' not found")
        return found

    def for_order(self, order_id: str) -> list[CriticalResult]:
        return sorted((r for r in self.rows.values() if r.order_id == order_id), key=lambda r: r.raised_at)

    def for_orders(self, order_ids: Sequence[str]) -> list[CriticalResult]:
        wanted = set(order_ids)
        return [r for r in self.rows.values() if r.order_id in wanted]

    def open_results(self) -> list[CriticalResult]:
        return sorted((r for r in self.rows.values() if r.is_open), key=lambda r: r.due_at)


class MemoryReadingClaims:
    """Fake claims: a dict per study."""

    def __init__(self, rows: dict[Any, Any]) -> None:
        self.rows = rows

    def current(self, order_id: str) -> ReadingClaim | None:
        found: ReadingClaim | None = self.rows.get(order_id)
        return found

    def acquire(self, claim: ReadingClaim, now: datetime) -> ReadingClaim:
        check_claimable(self.current(claim.order_id), claim.user_id, now)
        self.rows[claim.order_id] = claim
        return claim

    def renew(self, order_id: str, user_id: str, now: datetime, until: datetime) -> bool:
        current = self.current(order_id)
        if current is None or not current.held_by(user_id, now):
            return False
        self.rows[order_id] = ReadingClaim(order_id, user_id, current.claimed_at, until, current.user_name)
        return True

    def release(self, order_id: str, user_id: str) -> bool:
        current = self.current(order_id)
        if current is None or current.user_id != user_id:
            return False
        del self.rows[order_id]
        return True

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, ReadingClaim]:
        return {order_id: self.rows[order_id] for order_id in order_ids if order_id in self.rows}


class MemoryReadingQueries:
    """Fake reading queries over the store's tables."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def orders_in_state(self, state: OrderState, limit: int) -> list[Order]:
        orders: list[Order] = [o for o in self.store.table("orders").values() if o.state is state]
        return sorted(orders, key=lambda o: o.received_at)[:limit]

    def patients(self, patient_ids: Sequence[str]) -> dict[str, Patient]:
        table = self.store.table("patients")
        return {pid: table[pid] for pid in patient_ids if pid in table}

    def covering_providers(self, npi: str) -> list[User]:
        return [u for u in self.store.table("users").values() if npi in u.covers_npis and u.active]

    def section_chiefs(self) -> list[User]:
        users: list[User] = [u for u in self.store.table("users").values()
                             if u.is_section_chief and u.active and u.role is Role.RADIOLOGIST]
        return sorted(users, key=lambda u: u.username)


#: name on the unit of work -> factory(working store), for `wiring/reporting.py`.
MEMORY_REPOSITORIES = {
    "reports": lambda store: MemoryReports(store.table("reports")),
    "critical_results": lambda store: MemoryCriticalResults(store.table("critical_results")),
    "reading_claims": lambda store: MemoryReadingClaims(store.table("reading_claims")),
    "reading": MemoryReadingQueries,
}
