"""REST routes of reading and reporting: worklist, claims, priors, reports, report QC, critical results.

Each route names its policy action; the services check the object and write the audit records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from radflow.catalog.report_templates import ReportTemplate, load_templates
from radflow.domain.critical_result import CriticalResult
from radflow.domain.errors import NotFound
from radflow.domain.policy import Action
from radflow.domain.reading import WorklistFilter
from radflow.domain.report import SECTIONS
from radflow.domain.report_qc import QcProblem, ViewerContext
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.schemas import jsonable
from radflow.services import critical_results as cr
from radflow.services.reading import ClaimStudy, GetReadingWorklist, ListPriors, Priors, ReleaseClaim
from radflow.services.reports import (
    AddAddendum,
    CheckReport,
    GetReport,
    ReleasePreliminary,
    ReportView,
    SaveReport,
    SetRadsFindings,
    SignReport,
    StartReport,
)

router = APIRouter(tags=["reading and reporting"])


class ReportSectionsIn(BaseModel):
    """Sections to change (any subset), and the stated body part or side."""

    sections: dict[str, str] = Field(default_factory=dict)
    exam_body_part: str | None = None
    exam_laterality: str | None = None


class RadsFindingsIn(BaseModel):
    """The report's structured RADS findings (docs/rads-finding.schema.json), replacing the previous ones."""

    findings: list[dict[str, Any]]


class ViewerIn(BaseModel):
    """The study the reporting application shows (checked against the order by report QC)."""

    viewer_accession_number: str = ""
    viewer_patient_mrn: str = ""

    def context(self) -> ViewerContext | None:
        """The viewer context, when one was sent."""
        if not (self.viewer_accession_number or self.viewer_patient_mrn):
            return None
        return ViewerContext(accession_number=self.viewer_accession_number, patient_mrn=self.viewer_patient_mrn)


class AddendumIn(BaseModel):
    """An addendum's text and reason."""

    text: str
    reason: str = ""


class CriticalIn(BaseModel):
    """A finding marked critical, urgent or unexpected-significant."""

    level: str = "critical"
    finding: str
    finding_types: list[str] = Field(default_factory=list)


class AcknowledgeIn(BaseModel):
    """Receipt confirmed with read-back (a radiologist names the clinician reached and the channel)."""

    read_back: str
    acknowledged_by_name: str = ""
    channel: str = ""


class AttemptIn(BaseModel):
    """A failed attempt to reach someone."""

    detail: str


class WithdrawIn(BaseModel):
    """Why a critical result is withdrawn."""

    reason: str


def report_json(view: ReportView) -> dict[str, Any]:
    """A report with its sections, RADS fields, addenda, communication record and plain text."""
    report = view.report
    return {
        "id": report.id, "order_id": report.order_id, "accession_number": report.accession_number,
        "patient_id": report.patient_id, "state": report.state.value, "template": report.template_key,
        "rads_systems": list(view.template.rads_systems), "author": report.author_name,
        "exam_body_part": report.exam_body_part, "exam_laterality": report.exam_laterality,
        "sections": {name: report.section(name) for name in SECTIONS},
        "rads": [r.to_json() for r in report.rads_results],
        "communications": list(report.communications),
        "addenda": [a.to_json() for a in report.addendum_list],
        "signed_at": jsonable(report.signed_at), "signed_by": report.signed_by_name,
        "preliminary_at": jsonable(report.preliminary_at), "version": report.version, "text": report.text(),
        "critical_results": [r.id for r in view.critical_results],
    }


def critical_json(result: CriticalResult, now: datetime) -> dict[str, Any]:
    """A critical result with its deadline, time left and communication record."""
    return {
        "id": result.id, "order_id": result.order_id, "accession_number": result.accession_number,
        "patient_id": result.patient_id, "report_id": result.report_id, "level": result.level.value,
        "finding": result.finding, "finding_types": list(result.finding_types), "state": result.state.value,
        "raised_by": result.raised_by_name, "raised_at": result.raised_at.isoformat(),
        "due_at": result.due_at.isoformat(), "seconds_left": int(result.time_left(now).total_seconds()),
        "overdue": result.is_overdue(now), "step": result.chain_step.value, "chain_exhausted": result.chain_exhausted,
        "step_due_at": result.step_due_at.isoformat(),
        "ordering_provider": {"npi": result.ordering_provider_npi, "name": result.ordering_provider_name},
        "recipients": list(result.recipients), "log": list(result.log),
        "acknowledged_at": jsonable(result.acknowledged_at), "acknowledged_by": result.acknowledged_by_name,
        "channel": result.acknowledged_channel, "read_back": result.read_back,
    }


def _problems(problems: list[QcProblem]) -> dict[str, Any]:
    return {"releasable": not problems, "problems": jsonable(problems)}


def _report(radflow: App, actor: Principal, order_id: str) -> dict[str, Any]:
    return report_json(radflow.bus.handle(GetReport(actor=actor, order_id=order_id)))


# -- worklist, claims, priors ----------------------------------------------------------------------


@router.get("/reading/worklist")
def reading_worklist(radflow: App, actor: Annotated[Principal, requires(Action.READING_WORKLIST)],
                     modality: str = "", body_region: str = "", subspecialty: str = "", site: str = "",
                     unclaimed_only: bool = False,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 300) -> dict[str, Any]:
    """Studies waiting to be read: by track, then reporting deadline; with who holds each."""
    rows = radflow.bus.handle(GetReadingWorklist(actor=actor, limit=limit, filter=WorklistFilter(
        modality=modality.upper(), body_region=body_region, subspecialty=subspecialty, site=site,
        unclaimed_only=unclaimed_only)))
    return {"total": len(rows), "studies": jsonable(rows)}


@router.post("/orders/{order_id}/claim")
def claim_study(order_id: str, radflow: App,
                actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> dict[str, Any]:
    """Claim a study to report it (409 names who holds it); claiming again renews your claim."""
    claim = radflow.bus.handle(ClaimStudy(actor=actor, order_id=order_id))
    return {"order_id": claim.order_id, "claimed_by": claim.user_name, "expires_at": claim.expires_at.isoformat()}


@router.post("/orders/{order_id}/claim/release")
def release_claim(order_id: str, radflow: App,
                  actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> dict[str, Any]:
    """Give the study back to the worklist."""
    return {"order_id": order_id, "released": radflow.bus.handle(ReleaseClaim(actor=actor, order_id=order_id))}


@router.get("/orders/{order_id}/priors")
def priors(order_id: str, radflow: App,
           actor: Annotated[Principal, requires(Action.READING_WORKLIST)]) -> dict[str, Any]:
    """The patient's earlier studies of the same body region, radflow's and the PACS's."""
    found: Priors = radflow.bus.handle(ListPriors(actor=actor, order_id=order_id))
    return {"body_region": found.body_region, "pacs_asked": found.pacs_asked, "pacs_problem": found.pacs_problem,
            "priors": jsonable(found.studies)}


# -- reports ---------------------------------------------------------------------------------------


@router.post("/orders/{order_id}/report", status_code=201)
def start_report(order_id: str, radflow: App,
                 actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> dict[str, Any]:
    """Start the report of a claimed study from its exam's template (again: the same report)."""
    radflow.bus.handle(StartReport(actor=actor, order_id=order_id))
    return _report(radflow, actor, order_id)


@router.get("/orders/{order_id}/report")
def read_report(order_id: str, radflow: App,
                actor: Annotated[Principal, requires(Action.REPORT_READ)]) -> dict[str, Any]:
    """The order's report (a referrer sees it once released, a patient once signed)."""
    return _report(radflow, actor, order_id)


@router.patch("/orders/{order_id}/report")
def save_report(order_id: str, body: ReportSectionsIn, radflow: App,
                actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> dict[str, Any]:
    """Change sections of a draft or preliminary report."""
    radflow.bus.handle(SaveReport(actor=actor, order_id=order_id, sections=body.sections,
                                  exam_body_part=body.exam_body_part, exam_laterality=body.exam_laterality))
    return _report(radflow, actor, order_id)


@router.post("/orders/{order_id}/report/rads")
def set_rads(order_id: str, body: RadsFindingsIn, radflow: App,
             actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> dict[str, Any]:
    """Set the structured RADS findings: category, recommendation and interval computed by the calculators."""
    radflow.bus.handle(SetRadsFindings(actor=actor, order_id=order_id, findings=tuple(body.findings)))
    return _report(radflow, actor, order_id)


@router.post("/orders/{order_id}/report/check")
def check_report(order_id: str, body: ViewerIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> dict[str, Any]:
    """Report QC now: the problems that would block release."""
    return _problems(radflow.bus.handle(CheckReport(actor=actor, order_id=order_id, viewer=body.context())))


@router.post("/orders/{order_id}/report/preliminary")
def release_preliminary(order_id: str, body: ViewerIn, radflow: App,
                        actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> dict[str, Any]:
    """Release as preliminary (409 with the problems when report QC fails)."""
    radflow.bus.handle(ReleasePreliminary(actor=actor, order_id=order_id, viewer=body.context()))
    return _report(radflow, actor, order_id)


@router.post("/orders/{order_id}/report/sign")
def sign_report(order_id: str, body: ViewerIn, radflow: App,
                actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> dict[str, Any]:
    """Sign: the report is final and the order `reported` (409 with the problems when report QC fails)."""
    radflow.bus.handle(SignReport(actor=actor, order_id=order_id, viewer=body.context()))
    return _report(radflow, actor, order_id)


@router.post("/orders/{order_id}/report/addenda", status_code=201)
def add_addendum(order_id: str, body: AddendumIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> dict[str, Any]:
    """Add a signed addendum to a signed report."""
    radflow.bus.handle(AddAddendum(actor=actor, order_id=order_id, text=body.text, reason=body.reason))
    return _report(radflow, actor, order_id)


# -- critical results ------------------------------------------------------------------------------


@router.post("/orders/{order_id}/critical-results", status_code=201)
def mark_critical(order_id: str, body: CriticalIn, radflow: App,
                  actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_RAISE)]) -> dict[str, Any]:
    """Mark a finding critical (60 min), urgent or unexpected-significant: notification and escalation start."""
    result_id = radflow.bus.handle(cr.MarkCritical(actor=actor, order_id=order_id, level=body.level,
                                                   finding=body.finding, finding_types=tuple(body.finding_types)))
    result = radflow.bus.handle(cr.GetCriticalResult(actor=actor, critical_result_id=result_id))
    return critical_json(result, radflow.ctx.clock.now())


@router.get("/orders/{order_id}/critical-results")
def order_critical_results(order_id: str, radflow: App,
                           actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_READ)]) -> dict[str, Any]:
    """The order's critical results with their communication records."""
    now = radflow.ctx.clock.now()
    results = radflow.bus.handle(cr.ListCriticalResults(actor=actor, order_id=order_id))
    return {"critical_results": [critical_json(r, now) for r in results]}


@router.get("/critical-results")
def critical_board(radflow: App,
                   actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_READ)]) -> dict[str, Any]:
    """Open critical results, least time left first (a referrer: those of their orders)."""
    now = radflow.ctx.clock.now()
    results = radflow.bus.handle(cr.CriticalBoard(actor=actor))
    return {"now": now.isoformat(), "open": [critical_json(r, now) for r in results]}


@router.get("/critical-results/{critical_result_id}")
def read_critical_result(critical_result_id: str, radflow: App,
                         actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_READ)]) -> dict[str, Any]:
    """One critical result with its communication record."""
    result = radflow.bus.handle(cr.GetCriticalResult(actor=actor, critical_result_id=critical_result_id))
    return critical_json(result, radflow.ctx.clock.now())


@router.post("/critical-results/{critical_result_id}/acknowledge")
def acknowledge(critical_result_id: str, body: AcknowledgeIn, radflow: App,
                actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_ACKNOWLEDGE)]) -> dict[str, Any]:
    """Receipt with read-back: documented in the report, and the loop closed."""
    radflow.bus.handle(cr.AcknowledgeCriticalResult(actor=actor, critical_result_id=critical_result_id,
                                                    read_back=body.read_back,
                                                    acknowledged_by_name=body.acknowledged_by_name,
                                                    channel=body.channel))
    return read_critical_result(critical_result_id, radflow, actor)


@router.post("/critical-results/{critical_result_id}/attempts")
def record_attempt(critical_result_id: str, body: AttemptIn, radflow: App,
                   actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_RAISE)]) -> dict[str, Any]:
    """Note an attempt to reach someone that failed."""
    radflow.bus.handle(cr.RecordContactAttempt(actor=actor, critical_result_id=critical_result_id,
                                               detail=body.detail))
    return read_critical_result(critical_result_id, radflow, actor)


@router.post("/critical-results/{critical_result_id}/withdraw")
def withdraw(critical_result_id: str, body: WithdrawIn, radflow: App,
             actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_RAISE)]) -> dict[str, Any]:
    """Withdraw a critical result marked by mistake."""
    radflow.bus.handle(cr.WithdrawCriticalResult(actor=actor, critical_result_id=critical_result_id,
                                                 reason=body.reason))
    return read_critical_result(critical_result_id, radflow, actor)


# -- templates (reference data, no patient data) ---------------------------------------------------


def _template_json(template: ReportTemplate) -> dict[str, Any]:
    return {"key": template.key, "title": template.title, "source": template.source,
            "rads_systems": list(template.rads_systems), "sections": dict(template.sections)}


@router.get("/catalog/report-templates")
def report_templates(actor: Annotated[Principal, requires(Action.CATALOG_READ)]) -> dict[str, Any]:
    """Every report template (keyed by the catalog's report_template keys)."""
    return {"templates": [_template_json(t) for _, t in sorted(load_templates().by_key.items())]}


@router.get("/catalog/report-templates/{template_key}")
def report_template(template_key: str,
                    actor: Annotated[Principal, requires(Action.CATALOG_READ)]) -> dict[str, Any]:
    """One report template."""
    template = load_templates().by_key.get(template_key)
    if template is None:
        raise NotFound(f"no report template '{template_key}'")
    return _template_json(template)
