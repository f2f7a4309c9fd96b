"""The MQSA medical outcomes audit: biopsy pathology captured per exam, figures per radiologist and year.

21 CFR 900.12(f): outcome data for every mammogram, pathology correlated with the interpreting
physician's report, analysed at least every 12 months, per interpreting physician and for the
facility. The exams are radflow's signed mammograms (overall BI-RADS category of the report, its
signer, the day the exam was performed); the pathology is captured here by a radiologist or the
breast center's staff (or an interface) as the biopsy results come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from radflow.catalog.results import load_outcome_definitions
from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.mammography_outcomes import (
    AuditedExam,
    BiopsyResult,
    OutcomeFigures,
    PathologyOutcome,
    outcomes_audit,
)
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.followups import region_of
from radflow.services.result_documents import exam_day
from radflow.services.results_ports import biopsies_in, results_queries_in
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RecordBiopsyResult:
    """Capture the pathology of a breast biopsy that followed one of radflow's breast imaging exams."""

    actor: Principal
    order_id: str
    biopsy_date: date
    outcome: str
    pathology_text: str
    laterality: str = ""
    source: str = ""


def record_biopsy_result(cmd: RecordBiopsyResult, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Store the result (audited); returns its id."""
    try:
        outcome = PathologyOutcome(cmd.outcome)
    except ValueError:
        raise ValidationError("outcome is invasive, dcis, high_risk or benign", field="outcome") from None
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.PATHOLOGY_RECORD, order)
        if region_of(ctx, order) != "breast":
            raise Conflict(f"order {order.accession_number} is not a breast imaging exam; the outcomes audit "
                           "correlates breast biopsies with breast imaging")
        if cmd.biopsy_date > ctx.clock.now().astimezone(ctx.settings.zone).date():
            raise ValidationError("the biopsy date is in the future", field="biopsy_date")
        result = BiopsyResult(id=new_id(), patient_id=order.patient_id, order_id=order.id,
                              biopsy_date=cmd.biopsy_date, laterality=cmd.laterality.strip().upper(),
                              outcome=outcome, pathology_text=cmd.pathology_text.strip(),
                              recorded_by=cmd.actor.user_id, recorded_at=ctx.clock.now(), source=cmd.source.strip())
        biopsies_in(uow).add(result)
        record_access(uow, ctx, cmd.actor, "pathology.record", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=f"{outcome.value} on {cmd.biopsy_date.isoformat()}")
        uow.commit()
        return result.id


@dataclass(frozen=True)
class OutcomesAudit:
    """The audit of one year: figures per radiologist and for the facility, and what they rest on."""

    year: int
    figures: list[OutcomeFigures]
    exams: int
    without_assessment: list[str]
    sources: dict[str, str]


@dataclass(frozen=True)
class GetOutcomesAudit:
    """The medical outcomes audit for a calendar year."""

    actor: Principal
    year: int


def get_outcomes_audit(cmd: GetOutcomesAudit, uow: UnitOfWork, ctx: ServiceContext) -> OutcomesAudit:
    """Compute the year's audit from the signed mammograms and the captured pathology (audited)."""
    guard(cmd.actor, Action.OUTCOMES_AUDIT)
    definitions, zone = load_outcome_definitions(), ctx.settings.zone
    start = datetime(cmd.year, 1, 1, tzinfo=UTC) - timedelta(days=31)
    end = datetime(cmd.year + 1, 1, 1, tzinfo=UTC) + timedelta(days=90)
    with uow:
        exams, missing = [], []
        for report, order in results_queries_in(uow).signed_mammograms(start, end):
            birads = [r for r in report.rads_results if r.system == "BI-RADS"]
            if not birads:
                missing.append(order.accession_number)
                continue
            exams.append(AuditedExam(order_id=order.id, patient_id=order.patient_id,
                                     radiologist_id=report.signed_by or "", radiologist_name=report.signed_by_name,
                                     exam_date=exam_day(order, zone),
                                     screening=order.protocol_code in definitions.screening_protocols,
                                     category=birads[0].category))
        biopsies = biopsies_in(uow).between(date(cmd.year, 1, 1),
                                            date(cmd.year + 1, 1, 1) + timedelta(days=definitions.follow_up_days))
        figures = outcomes_audit(exams, biopsies, definitions, cmd.year)
        record_access(uow, ctx, cmd.actor, "outcomes.audit", object_type="outcomes-audit",
                      detail=f"{cmd.year}: {len(exams)} exams")
        uow.commit()
    in_year = sum(1 for e in exams if e.exam_date.year == cmd.year)
    return OutcomesAudit(cmd.year, figures, in_year, missing, dict(definitions.sources))


HANDLERS: dict[type, Handler] = {RecordBiopsyResult: record_biopsy_result, GetOutcomesAudit: get_outcomes_audit}
