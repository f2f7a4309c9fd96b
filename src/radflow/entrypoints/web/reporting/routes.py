"""Reading screens: the radiologist's worklist and the report editor (template, RADS calculators, QC, sign).

The critical-results board and its forms are in `critical.py`, included here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.bootstrap import Radflow
from radflow.catalog.rads import assess_json
from radflow.domain.errors import NotFound, RadflowError
from radflow.domain.policy import Action
from radflow.domain.protocols import BodyRegion, Modality, Subspecialty
from radflow.domain.reading import WorklistFilter
from radflow.domain.report import SECTION_TITLES, SECTIONS
from radflow.domain.report_qc import QcProblem, ReportNotReleasable
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.navigation import NavItem
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.entrypoints.web.reporting import critical
from radflow.entrypoints.web.reporting.rads_forms import CHOICES, SYSTEM_TITLES, finding_from_form
from radflow.services.critical_results import ListCriticalResults, MarkCritical
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

router = APIRouter(route_class=ScreenRoute, include_in_schema=False)
router.include_router(critical.router)

#: This area's menu entries (web/areas.py shows them to the roles the policy lets use them).
MENU = (
    NavItem("Reading worklist", "/reading", (Action.READING_WORKLIST,)),
    NavItem("Critical results", "/critical-results", (Action.CRITICAL_RESULT_READ,)),
)

_LEVELS = (("critical", "Critical (within 60 min)"), ("urgent", "Urgent (within hours)"),
           ("unexpected_significant", "Unexpected significant (within days)"))


@router.get("/reading")
def worklist(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.READING_WORKLIST)],
             modality: str = "", body_region: str = "", subspecialty: str = "", site: str = "",
             unclaimed_only: str = "") -> Response:
    """Studies waiting to be read: stat first, then by reporting deadline; filters; who holds each."""
    wanted = WorklistFilter(modality=modality.upper(), body_region=body_region, subspecialty=subspecialty,
                            site=site, unclaimed_only=unclaimed_only == "on")
    rows = radflow.bus.handle(GetReadingWorklist(actor=actor, filter=wanted))
    options = {
        "modality": [(m.value, m.value) for m in Modality],
        "body_region": [(r.value, r.value.replace("_", " ")) for r in BodyRegion],
        "subspecialty": [(s.value, s.value) for s in Subspecialty],
    }
    return render(request, actor, "reporting/worklist.html", rows=rows, options=options,
                  values={"modality": modality.upper(), "body_region": body_region, "subspecialty": subspecialty,
                          "site": site, "unclaimed_only": unclaimed_only})


@router.post("/reading/{order_id}/claim")
def claim(order_id: str, request: Request, radflow: ScreenApp,
          actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> Response:
    """Claim the study and open its report (from the exam's template)."""
    radflow.bus.handle(ClaimStudy(actor=actor, order_id=order_id))
    radflow.bus.handle(StartReport(actor=actor, order_id=order_id))
    return see_other(f"/reading/{order_id}")


@router.post("/reading/{order_id}/release")
def release(order_id: str, request: Request, radflow: ScreenApp,
            actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> Response:
    """Give the study back to the worklist (the draft stays)."""
    radflow.bus.handle(ReleaseClaim(actor=actor, order_id=order_id))
    return see_other("/reading")


def editor(request: Request, radflow: Radflow, actor: Principal, order_id: str, *, status_code: int = 200,
           error: FormError | None = None, problems: list[QcProblem] | None = None, notice: str = "",
           values: dict[str, str] | None = None) -> Response:
    """The report editor (or the signed report with its addendum form)."""
    view: ReportView = radflow.bus.handle(GetReport(actor=actor, order_id=order_id))
    criticals = radflow.bus.handle(ListCriticalResults(actor=actor, order_id=order_id))
    report = view.report
    texts = {name: report.section(name) for name in SECTIONS} | {
        "exam_body_part": report.exam_body_part, "exam_laterality": report.exam_laterality}
    context: dict[str, Any] = {
        "view": view, "report": report, "order": view.order, "patient": view.patient,
        "protocol": radflow.catalog.protocol(view.order.protocol_code), "sections": SECTIONS,
        "titles": SECTION_TITLES, "values": texts | (values or {}), "error": error, "problems": problems,
        "notice": notice, "criticals": criticals, "levels": _LEVELS, "choices": CHOICES,
        "systems": view.template.rads_systems, "system_titles": SYSTEM_TITLES,
        "rads": report.rads_results, "findings": report.rads,
    }
    return render(request, actor, "reporting/editor.html", status_code=status_code, **context)


@router.get("/reading/{order_id}")
def report_editor(order_id: str, request: Request, radflow: ScreenApp,
                  actor: Annotated[Principal, requires(Action.REPORT_WRITE)], saved: str = "") -> Response:
    """The report of a claimed study: sections from the template, RADS calculators, priors, critical results."""
    notices = {"text": "Report saved.", "rads": "RADS finding computed.", "critical": "Critical result marked: the "
               "ordering provider is being notified.", "preliminary": "Released as preliminary.",
               "signed": "Report signed.", "addendum": "Addendum signed."}
    return editor(request, radflow, actor, order_id, notice=notices.get(saved, ""))


@router.get("/reading/{order_id}/priors")
def priors_panel(order_id: str, request: Request, radflow: ScreenApp,
                 actor: Annotated[Principal, requires(Action.READING_WORKLIST)]) -> Response:
    """Priors of the same body region (htmx loads this after the page: the PACS may take a moment)."""
    found: Priors = radflow.bus.handle(ListPriors(actor=actor, order_id=order_id))
    return render(request, actor, "reporting/priors.html", priors=found)


def _form_error(request: Request, radflow: Radflow, actor: Principal, order_id: str, refused: RadflowError,
                values: dict[str, str] | None = None) -> Response:
    if isinstance(refused, ReportNotReleasable):
        return editor(request, radflow, actor, order_id, status_code=409, problems=list(refused.problems),
                      values=values)
    return editor(request, radflow, actor, order_id, status_code=status_for(refused), error=FormError.of(refused),
                  values=values)


@router.post("/reading/{order_id}")
def save(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
         actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> Response:
    """Save the sections; 'check', 'preliminary' or 'sign' then run report QC and release."""
    fields = FormFields(form)
    sections = {name: fields.text(name) for name in SECTIONS if name in form}
    then = fields.text("then")
    try:
        radflow.bus.handle(SaveReport(
            actor=actor, order_id=order_id, sections=sections,
            exam_body_part=fields.text("exam_body_part") if "exam_body_part" in form else None,
            exam_laterality=fields.text("exam_laterality") if "exam_laterality" in form else None))
        if then == "check":
            problems = radflow.bus.handle(CheckReport(actor=actor, order_id=order_id))
            return editor(request, radflow, actor, order_id, problems=problems,
                          notice="" if problems else "Report QC passed: the report can be released.")
        if then == "preliminary":
            radflow.bus.handle(ReleasePreliminary(actor=actor, order_id=order_id))
            return see_other(f"/reading/{order_id}?saved=preliminary")
        if then == "sign":
            radflow.bus.handle(SignReport(actor=actor, order_id=order_id))
            return see_other(f"/reading/{order_id}?saved=signed")
    except (*FORM_ERRORS, ReportNotReleasable) as refused:
        return _form_error(request, radflow, actor, order_id, refused, fields.values())
    return see_other(f"/reading/{order_id}?saved=text")


@router.post("/reading/{order_id}/rads/{system}")
def add_rads(order_id: str, system: str, request: Request, radflow: ScreenApp, form: PostedForm,
             actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> Response:
    """Add a structured RADS finding from a calculator's form; the recommendation is computed."""
    view: ReportView = radflow.bus.handle(GetReport(actor=actor, order_id=order_id))
    try:
        current = [entry["finding"] for entry in view.report.rads]
        findings = finding_from_form(system, FormFields(form), current)
        radflow.bus.handle(SetRadsFindings(actor=actor, order_id=order_id, findings=tuple(findings)))
    except FORM_ERRORS as refused:
        return _form_error(request, radflow, actor, order_id, refused)
    return see_other(f"/reading/{order_id}?saved=rads")


@router.post("/rads/preview/{system}")
def preview_rads(system: str, request: Request, form: PostedForm,
                 actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> Response:
    """The calculator's answer for the form as filled so far (htmx): points, category, management.

    It reads no record and saves nothing (the calculators are pure), so it names no order.
    """
    try:
        finding = finding_from_form(system, FormFields(form), [])[-1]
        answer: dict[str, Any] | None = assess_json(finding)
        problem = ""
    except FORM_ERRORS as refused:
        answer, problem = None, refused.message
    return render(request, actor, "reporting/rads_preview.html", answer=answer, problem=problem)


@router.post("/reading/{order_id}/rads-remove")
def remove_rads(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> Response:
    """Remove one structured RADS finding (its recommendation leaves the section with it)."""
    view: ReportView = radflow.bus.handle(GetReport(actor=actor, order_id=order_id))
    index = FormFields(form).text("index")
    if not index.isdigit() or int(index) >= len(view.report.rads):
        raise NotFound("no such RADS finding on this report")
    kept = [f["finding"] for i, f in enumerate(view.report.rads) if i != int(index)]
    radflow.bus.handle(SetRadsFindings(actor=actor, order_id=order_id, findings=tuple(kept)))
    return see_other(f"/reading/{order_id}?saved=rads")


@router.post("/reading/{order_id}/critical")
def mark_critical(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                  actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_RAISE)]) -> Response:
    """Mark a finding critical, urgent or unexpected-significant: the communication loop starts."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(MarkCritical(actor=actor, order_id=order_id, level=fields.text("level") or "critical",
                                        finding=fields.text("finding")))
    except FORM_ERRORS as refused:
        return _form_error(request, radflow, actor, order_id, refused)
    return see_other(f"/reading/{order_id}?saved=critical")


@router.post("/reading/{order_id}/addendum")
def addendum(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
             actor: Annotated[Principal, requires(Action.REPORT_WRITE)]) -> Response:
    """Sign an addendum to a signed report."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(AddAddendum(actor=actor, order_id=order_id, text=fields.text("addendum_text"),
                                       reason=fields.text("addendum_reason")))
    except (*FORM_ERRORS, ReportNotReleasable) as refused:
        return _form_error(request, radflow, actor, order_id, refused, fields.values())
    return see_other(f"/reading/{order_id}?saved=addendum")
