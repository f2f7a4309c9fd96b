"""In-memory fakes of the results repositories, on the InMemoryUnitOfWork's store (unit tests, simulation).

They behave as the SQL ones do where a test would notice: a unique key is refused twice, a missing id
is NotFound, lists come back in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from radflow.domain.distribution import DeliveryChannel, Distribution, DistributionState, Purpose, RecipientKind
from radflow.domain.errors import Conflict, NotFound
from radflow.domain.followup import OPEN_STATES as FOLLOWUP_OPEN
from radflow.domain.followup import FollowUp
from radflow.domain.jobs import Job
from radflow.domain.mammography_outcomes import BiopsyResult
from radflow.domain.order import Order
from radflow.domain.records_request import RecordsRequest
from radflow.domain.release import HoldState, ReleaseHold, ResultCommunication
from radflow.domain.report import Report
from radflow.services.memory import MemoryStore
from radflow.services.results_ports import (
    BIOPSIES,
    DISTRIBUTIONS,
    FOLLOWUPS,
    RECORDS_REQUESTS,
    RELEASE_HOLDS,
    RESULT_COMMUNICATIONS,
    RESULTS_QUERIES,
    FollowUpFilter,
)


class _Rows:
    label = "record"

    def __init__(self, rows: dict[Any, Any]) -> None:
        self.rows = rows

    def add(self, item: Any) -> None:
        key = getattr(item, "key", None)
        if key is not None and any(getattr(r, "key", None) == key for r in self.rows.values()):
            raise Conflict(f"the database refused the change: a {self.label} with key '{key}' exists")
        self.rows[getattr(item, "id", None) or item.order_id] = item

    def get(self, item_id: str) -> Any:
        found = self.rows.get(item_id)
        if found is None:
            raise NotFound(f"{self.label} '{item_id}' not found")
        return found

    def _where(self, match: Callable[[Any], bool], order: Callable[[Any], Any]) -> list[Any]:
        return sorted((r for r in self.rows.values() if match(r)), key=order)


class MemoryDistributions(_Rows):
    """Fake distributions."""

    label = "distribution"

    def by_key(self, key: str) -> Distribution | None:
        return next((d for d in self.rows.values() if d.key == key), None)

    def _created(self, d: Distribution) -> tuple[datetime, str]:
        return d.created_at, d.key

    def for_report(self, report_id: str) -> list[Distribution]:
        return self._where(lambda d: d.report_id == report_id, self._created)

    def for_order(self, order_id: str) -> list[Distribution]:
        return self._where(lambda d: d.order_id == order_id, self._created)

    def for_patient(self, patient_id: str) -> list[Distribution]:
        return self._where(lambda d: d.patient_id == patient_id, self._created)

    def inbox(self, npis: Sequence[str], *, unopened_only: bool, limit: int) -> list[Distribution]:
        kinds = (RecipientKind.ORDERING_PROVIDER, RecipientKind.COPIED_PROVIDER)
        found = self._where(lambda d: d.recipient_kind in kinds and d.recipient_ref in npis
                            and d.channel is DeliveryChannel.INBOX
                            and (not unopened_only or d.first_opened_at is None), self._created)
        return list(reversed(found))[:limit]

    def tracked(self, purposes: Sequence[Purpose], *, open_only: bool, limit: int) -> list[Distribution]:
        waiting = (DistributionState.PENDING, DistributionState.FAILED)
        found = self._where(lambda d: d.purpose in purposes and (not open_only or d.state in waiting),
                            lambda d: (d.due_at is None, d.due_at or d.created_at, d.created_at))
        return found[:limit]


class MemoryReleaseHolds(_Rows):
    """Fake release holds."""

    label = "release hold"

    def for_order(self, order_id: str) -> list[ReleaseHold]:
        return self._where(lambda h: h.order_id == order_id, lambda h: h.placed_at)

    def for_orders(self, order_ids: Sequence[str]) -> list[ReleaseHold]:
        wanted = set(order_ids)
        return self._where(lambda h: h.order_id in wanted, lambda h: h.placed_at)

    def active(self, limit: int) -> list[ReleaseHold]:
        return self._where(lambda h: h.state is HoldState.ACTIVE, lambda h: h.expires_at)[:limit]


class MemoryResultCommunications(_Rows):
    """Fake responsibility records, one per order."""

    label = "result communication"

    def add(self, item: Any) -> None:
        if item.order_id in self.rows:
            raise Conflict("the database refused the change: one responsibility record per order")
        self.rows[item.order_id] = item

    def find(self, order_id: str) -> ResultCommunication | None:
        found: ResultCommunication | None = self.rows.get(order_id)
        return found


class MemoryFollowUps(_Rows):
    """Fake follow-up items."""

    label = "follow-up"

    def by_key(self, key: str) -> FollowUp | None:
        return next((f for f in self.rows.values() if f.key == key), None)

    def open_for_patient(self, patient_id: str) -> list[FollowUp]:
        return self._where(lambda f: f.patient_id == patient_id and f.state in FOLLOWUP_OPEN, lambda f: f.due_date)

    def for_source(self, order_id: str) -> list[FollowUp]:
        return self._where(lambda f: f.source_order_id == order_id, lambda f: f.due_date)

    def worklist(self, wanted: FollowUpFilter) -> list[FollowUp]:
        def keep(item: FollowUp) -> bool:
            checks = (item.state in wanted.states,
                      not wanted.modality or item.modality == wanted.modality,
                      not wanted.body_region or item.body_region == wanted.body_region,
                      not wanted.patient_id or item.patient_id == wanted.patient_id,
                      not wanted.source or item.source == wanted.source,
                      wanted.due_before is None or item.due_date <= wanted.due_before,
                      wanted.due_after is None or item.due_date >= wanted.due_after,
                      not wanted.responsible_npis or item.responsible_npi in wanted.responsible_npis)
            return all(checks)

        return self._where(keep, lambda f: (f.due_date, f.id))[:wanted.limit]


class MemoryBiopsies(_Rows):
    """Fake biopsy results."""

    label = "biopsy result"

    def for_patient(self, patient_id: str) -> list[BiopsyResult]:
        return self._where(lambda b: b.patient_id == patient_id, lambda b: b.biopsy_date)

    def between(self, start: date, end: date) -> list[BiopsyResult]:
        return self._where(lambda b: start <= b.biopsy_date < end, lambda b: b.biopsy_date)


class MemoryRecordsRequests(_Rows):
    """Fake records requests."""

    label = "records request"

    def open_requests(self, limit: int) -> list[RecordsRequest]:
        return self._where(lambda r: r.is_open, lambda r: r.due_at)[:limit]

    def for_patient(self, patient_id: str) -> list[RecordsRequest]:
        return list(reversed(self._where(lambda r: r.patient_id == patient_id, lambda r: r.received_at)))


class MemoryResultsQueries:
    """Fake cross-area questions over the store's tables."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def report_jobs(self, report_id: str) -> list[Job]:
        jobs: list[Job] = [j for j in self.store.table("jobs").values()
                           if j.kind == "hl7.report" and f":{report_id}:" in j.key]
        return sorted(jobs, key=lambda j: j.created_at)

    def signed_mammograms(self, start: datetime, end: datetime) -> list[tuple[Report, Order]]:
        orders = self.store.table("orders")
        found = [(r, orders[r.order_id]) for r in self.store.table("reports").values()
                 if r.signed_at is not None and start <= r.signed_at < end and r.order_id in orders
                 and orders[r.order_id].requested_modality == "MG"]
        return sorted(found, key=lambda pair: pair[0].signed_at)


#: name on the unit of work -> factory(working store), for `wiring/results.py`.
MEMORY_REPOSITORIES: dict[str, Callable[[MemoryStore], Any]] = {
    DISTRIBUTIONS: lambda store: MemoryDistributions(store.table(DISTRIBUTIONS)),
    RELEASE_HOLDS: lambda store: MemoryReleaseHolds(store.table(RELEASE_HOLDS)),
    RESULT_COMMUNICATIONS: lambda store: MemoryResultCommunications(store.table(RESULT_COMMUNICATIONS)),
    FOLLOWUPS: lambda store: MemoryFollowUps(store.table(FOLLOWUPS)),
    BIOPSIES: lambda store: MemoryBiopsies(store.table(BIOPSIES)),
    RECORDS_REQUESTS: lambda store: MemoryRecordsRequests(store.table(RECORDS_REQUESTS)),
    RESULTS_QUERIES: MemoryResultsQueries,
}
