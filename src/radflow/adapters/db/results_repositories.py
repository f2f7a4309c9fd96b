"""SQL repositories of the results area, and the imperative mapping of its aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, registry

from radflow.adapters.db import tables as t
from radflow.adapters.db.reporting_tables import reports
from radflow.adapters.db.results_tables import (
    biopsy_results,
    distributions,
    followups,
    records_requests,
    release_holds,
    result_communications,
)
from radflow.domain.distribution import DeliveryChannel, Distribution, DistributionState, Purpose, RecipientKind
from radflow.domain.errors import NotFound
from radflow.domain.followup import FollowUp, FollowUpState
from radflow.domain.jobs import Job
from radflow.domain.mammography_outcomes import BiopsyResult
from radflow.domain.order import Order
from radflow.domain.records_request import OPEN_STATES, RecordsRequest
from radflow.domain.release import HoldState, ReleaseHold, ResultCommunication
from radflow.domain.report import Report
from radflow.services.results_ports import FollowUpFilter

#: The HL7 engineer's outbound report job (radflow.services.interfaces.outbound.REPORT), read only.
HL7_REPORT_JOB = "hl7.report"


def map_results(reg: registry) -> None:
    """Map the results aggregates on the shared registry (with optimistic locking)."""
    for cls, table in ((Distribution, distributions), (ReleaseHold, release_holds),
                       (ResultCommunication, result_communications), (FollowUp, followups),
                       (BiopsyResult, biopsy_results), (RecordsRequest, records_requests)):
        reg.map_imperatively(cls, table, version_id_col=table.c.version)


class _Repository:
    model: Any
    label: str

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, item: Any) -> None:
        self.session.add(item)

    def _get(self, item_id: str) -> Any:
        found = self.session.get(self.model, item_id)
        if found is None:
            raise NotFound(f"{self.label} '{item_id}' not found")
        return found


class SqlDistributions(_Repository):
    """Distributions in SQL."""

    model, label = Distribution, "distribution"

    def get(self, distribution_id: str) -> Distribution:
        found: Distribution = self._get(distribution_id)
        return found

    def by_key(self, key: str) -> Distribution | None:
        return self.session.scalars(select(Distribution).where(distributions.c.key == key)).first()

    def _where(self, *conditions: Any) -> list[Distribution]:
        stmt = select(Distribution).where(*conditions).order_by(distributions.c.created_at, distributions.c.key)
        return list(self.session.scalars(stmt))

    def for_report(self, report_id: str) -> list[Distribution]:
        return self._where(distributions.c.report_id == report_id)

    def for_order(self, order_id: str) -> list[Distribution]:
        return self._where(distributions.c.order_id == order_id)

    def for_patient(self, patient_id: str) -> list[Distribution]:
        return self._where(distributions.c.patient_id == patient_id)

    def inbox(self, npis: Sequence[str], *, unopened_only: bool, limit: int) -> list[Distribution]:
        if not npis:
            return []
        conditions = [distributions.c.recipient_kind.in_([RecipientKind.ORDERING_PROVIDER.value,
                                                          RecipientKind.COPIED_PROVIDER.value]),
                      distributions.c.recipient_ref.in_(list(npis)),
                      distributions.c.channel == DeliveryChannel.INBOX.value]
        if unopened_only:
            conditions.append(distributions.c.first_opened_at.is_(None))
        stmt = select(Distribution).where(*conditions).order_by(distributions.c.created_at.desc()).limit(limit)
        return list(self.session.scalars(stmt))

    def tracked(self, purposes: Sequence[Purpose], *, open_only: bool, limit: int) -> list[Distribution]:
        conditions = [distributions.c.purpose.in_([p.value for p in purposes])]
        if open_only:
            conditions.append(distributions.c.state.in_([DistributionState.PENDING.value,
                                                         DistributionState.FAILED.value]))
        stmt = select(Distribution).where(*conditions) \
            .order_by(distributions.c.due_at.is_(None), distributions.c.due_at, distributions.c.created_at).limit(limit)
        return list(self.session.scalars(stmt))


class SqlReleaseHolds(_Repository):
    """Release holds in SQL."""

    model, label = ReleaseHold, "release hold"

    def get(self, hold_id: str) -> ReleaseHold:
        found: ReleaseHold = self._get(hold_id)
        return found

    def for_order(self, order_id: str) -> list[ReleaseHold]:
        stmt = select(ReleaseHold).where(release_holds.c.order_id == order_id).order_by(release_holds.c.placed_at)
        return list(self.session.scalars(stmt))

    def for_orders(self, order_ids: Sequence[str]) -> list[ReleaseHold]:
        if not order_ids:
            return []
        return list(self.session.scalars(select(ReleaseHold).where(release_holds.c.order_id.in_(list(order_ids)))))

    def active(self, limit: int) -> list[ReleaseHold]:
        stmt = select(ReleaseHold).where(release_holds.c.state == HoldState.ACTIVE.value) \
            .order_by(release_holds.c.expires_at).limit(limit)
        return list(self.session.scalars(stmt))


class SqlResultCommunications(_Repository):
    """Who tells the patient, in SQL."""

    model, label = ResultCommunication, "result communication"

    def find(self, order_id: str) -> ResultCommunication | None:
        return self.session.get(ResultCommunication, order_id)


class SqlFollowUps(_Repository):
    """Follow-up items in SQL."""

    model, label = FollowUp, "follow-up"

    def get(self, item_id: str) -> FollowUp:
        found: FollowUp = self._get(item_id)
        return found

    def by_key(self, key: str) -> FollowUp | None:
        return self.session.scalars(select(FollowUp).where(followups.c.key == key)).first()

    def open_for_patient(self, patient_id: str) -> list[FollowUp]:
        stmt = select(FollowUp).where(followups.c.patient_id == patient_id,
                                      followups.c.state.in_([FollowUpState.OPEN.value, FollowUpState.OVERDUE.value])) \
            .order_by(followups.c.due_date)
        return list(self.session.scalars(stmt))

    def for_source(self, order_id: str) -> list[FollowUp]:
        stmt = select(FollowUp).where(followups.c.source_order_id == order_id).order_by(followups.c.due_date)
        return list(self.session.scalars(stmt))

    def worklist(self, wanted: FollowUpFilter) -> list[FollowUp]:
        conditions: list[Any] = [followups.c.state.in_([s.value for s in wanted.states])]
        for column, value in ((followups.c.modality, wanted.modality), (followups.c.body_region, wanted.body_region),
                              (followups.c.patient_id, wanted.patient_id), (followups.c.source, wanted.source)):
            if value:
                conditions.append(column == value)
        if wanted.due_before is not None:
            conditions.append(followups.c.due_date <= wanted.due_before)
        if wanted.due_after is not None:
            conditions.append(followups.c.due_date >= wanted.due_after)
        if wanted.responsible_npis:
            conditions.append(followups.c.responsible_npi.in_(list(wanted.responsible_npis)))
        stmt = select(FollowUp).where(*conditions).order_by(followups.c.due_date, followups.c.id).limit(wanted.limit)
        return list(self.session.scalars(stmt))


class SqlBiopsies(_Repository):
    """Biopsy results in SQL."""

    model, label = BiopsyResult, "biopsy result"

    def for_patient(self, patient_id: str) -> list[BiopsyResult]:
        stmt = select(BiopsyResult).where(biopsy_results.c.patient_id == patient_id) \
            .order_by(biopsy_results.c.biopsy_date)
        return list(self.session.scalars(stmt))

    def between(self, start: date, end: date) -> list[BiopsyResult]:
        stmt = select(BiopsyResult).where(biopsy_results.c.biopsy_date >= start, biopsy_results.c.biopsy_date < end)
        return list(self.session.scalars(stmt))


class SqlRecordsRequests(_Repository):
    """Records requests in SQL."""

    model, label = RecordsRequest, "records request"

    def get(self, request_id: str) -> RecordsRequest:
        found: RecordsRequest = self._get(request_id)
        return found

    def open_requests(self, limit: int) -> list[RecordsRequest]:
        stmt = select(RecordsRequest).where(records_requests.c.state.in_([s.value for s in OPEN_STATES])) \
            .order_by(records_requests.c.due_at).limit(limit)
        return list(self.session.scalars(stmt))

    def for_patient(self, patient_id: str) -> list[RecordsRequest]:
        stmt = select(RecordsRequest).where(records_requests.c.patient_id == patient_id) \
            .order_by(records_requests.c.received_at.desc())
        return list(self.session.scalars(stmt))


class SqlResultsQueries:
    """The results services' questions across areas, in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def report_jobs(self, report_id: str) -> list[Job]:
        # The outbound job's key is 'hl7.report:<queue>:<report id>:<addendum seq>' (services.interfaces.outbound).
        stmt = select(Job).where(t.jobs.c.kind == HL7_REPORT_JOB, t.jobs.c.key.like(f"%:{report_id}:%")) \
            .order_by(t.jobs.c.created_at)
        return [job for job in self.session.scalars(stmt) if f":{report_id}:" in job.key]

    def signed_mammograms(self, start: datetime, end: datetime) -> list[tuple[Report, Order]]:
        stmt = select(Report, Order).join(Order, t.orders.c.id == reports.c.order_id) \
            .where(t.orders.c.requested_modality == "MG", reports.c.signed_at >= start, reports.c.signed_at < end) \
            .order_by(reports.c.signed_at)
        return [(row[0], row[1]) for row in self.session.execute(stmt)]
