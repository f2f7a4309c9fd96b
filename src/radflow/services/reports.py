"""Reports: start from the exam's template, write, compute RADS fields, check, release, sign, amend.

A radiologist reports only a study they hold a claim on (renewed with every change, inside the same
transaction, so two radiologists never report one study). Report QC runs before every release and
blocks a failing report with the list of problems. The text reader (the extraction port) runs
outside the database transaction: loading it takes seconds the first time, and SQLite's write lock
must not wait on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from radflow.catalog.rads import load_rulebook
from radflow.catalog.report_templates import CONTRAST_PHRASES, SIDE_WORDS, ReportTemplate, load_templates
from radflow.domain.critical_result import CriticalResult
from radflow.domain.errors import Conflict, NotFound, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.policy import Action
from radflow.domain.rads import assess_finding
from radflow.domain.rads.extraction import CriticalFinding
from radflow.domain.report import RadsResult, Report, ReportState
from radflow.domain.report_qc import (
    OrderFacts,
    QcInput,
    QcProblem,
    ReportNotReleasable,
    ViewerContext,
    check_report,
)
from radflow.domain.users import Principal, Role
from radflow.services.access import guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.patient_release import withheld_from_patient
from radflow.services.reading import claims_in, critical_results_in, hold_claim, reports_in
from radflow.services.unit_of_work import UnitOfWork


def _audit(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order: Order, what: str, detail: str = "") -> None:
    record_access(uow, ctx, actor, f"report.{what}", patient_id=order.patient_id, object_type="order",
                  object_id=order.id, detail=detail)


def _report_of(uow: UnitOfWork, order: Order) -> Report:
    report = reports_in(uow).for_order(order.id)
    if report is None:
        raise NotFound(f"order {order.accession_number} has no report yet")
    return report


def _writable(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order_id: str) -> tuple[Order, Report]:
    """The order and its unsigned report, with the actor's claim renewed."""
    order = uow.orders.get(order_id)
    guard_order(actor, Action.REPORT_WRITE, order)
    report = _report_of(uow, order)
    if report.is_signed:
        raise Conflict(f"the report of {order.accession_number} is signed; add an addendum instead")
    hold_claim(uow, ctx, actor, order)
    return order, report


# -- starting and writing --------------------------------------------------------------------------


def template_facts(order: Order, protocol_name: str) -> dict[str, str]:
    """What a template's placeholders are filled with."""
    contrast = order.contrast.value if order.contrast else ""
    side = order.laterality.value if order.laterality else ""
    return {"protocol_name": protocol_name, "contrast_phrase": CONTRAST_PHRASES.get(contrast, ""),
            "side": SIDE_WORDS.get(side, ""), "reason_for_exam": order.reason_for_exam.strip()}


@dataclass(frozen=True)
class StartReport:
    """Open the report of a claimed study (from its exam's template); again: the same report."""

    actor: Principal
    order_id: str


def start_report(cmd: StartReport, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Create the draft from the template (sections pre-filled from the order); returns the report id."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.REPORT_WRITE, order)
        existing = reports_in(uow).for_order(order.id)
        if existing is not None:
            return existing.id
        if order.state is not OrderState.IMAGING_COMPLETED:
            raise Conflict(f"order {order.accession_number} is {order.state.value}: a report is started for a "
                           "study waiting to be read")
        hold_claim(uow, ctx, cmd.actor, order)
        protocol = ctx.catalog.protocol(order.protocol_code)
        template = load_templates().get(protocol.report_template)
        now = ctx.clock.now()
        report = Report(
            id=new_id(), order_id=order.id, patient_id=order.patient_id, accession_number=order.accession_number,
            study_instance_uid=order.study_instance_uid, template_key=template.key, state=ReportState.DRAFT,
            created_at=now, updated_at=now, author_id=cmd.actor.user_id,
            author_name=cmd.actor.display_name or cmd.actor.username, exam_body_part=order.body_part,
            exam_laterality=order.laterality.value if order.laterality else "",
        )
        # The sections start from the template with the order's facts filled in.
        for name, text in template.fill(template_facts(order, protocol.name)).items():
            setattr(report, name, text)
        reports_in(uow).add(report)
        _audit(uow, ctx, cmd.actor, order, "create", template.key)
        uow.commit()
        return report.id


@dataclass(frozen=True)
class SaveReport:
    """Change sections (and the stated body part or side) of a draft or preliminary report."""

    actor: Principal
    order_id: str
    sections: Mapping[str, str] = field(default_factory=dict)
    exam_body_part: str | None = None
    exam_laterality: str | None = None


def save_report(cmd: SaveReport, uow: UnitOfWork, ctx: ServiceContext) -> int:
    """Save the text; returns the report's new version."""
    with uow:
        order, report = _writable(uow, ctx, cmd.actor, cmd.order_id)
        report.edit(dict(cmd.sections), by=cmd.actor.user_id, at=ctx.clock.now(), exam_body_part=cmd.exam_body_part,
                    exam_laterality=cmd.exam_laterality)
        _audit(uow, ctx, cmd.actor, order, "edit", ",".join(sorted(cmd.sections)))
        uow.commit()
        return report.version


def assess_rads(findings: Sequence[Mapping[str, Any]]) -> list[RadsResult]:
    """Run each structured finding through its calculator (a bad field is a ValidationError naming it)."""
    rulebook = load_rulebook()
    results = []
    for index, finding in enumerate(findings):
        try:
            results.append(RadsResult.of(finding, assess_finding(dict(finding), rulebook)))
        except ValidationError as error:
            raise ValidationError(f"RADS finding {index + 1}: {error.message}", field=error.field) from error
    return results


@dataclass(frozen=True)
class SetRadsFindings:
    """Replace the report's structured RADS findings; category and recommendation are computed."""

    actor: Principal
    order_id: str
    findings: tuple[Mapping[str, Any], ...]


def set_rads_findings(cmd: SetRadsFindings, uow: UnitOfWork, ctx: ServiceContext) -> list[RadsResult]:
    """Compute every finding with its calculator and write the recommendations into the report."""
    results = assess_rads(cmd.findings)
    with uow:
        order, report = _writable(uow, ctx, cmd.actor, cmd.order_id)
        report.set_rads(results, by=cmd.actor.user_id, at=ctx.clock.now())
        _audit(uow, ctx, cmd.actor, order, "rads", ", ".join(r.label for r in results))
        uow.commit()
        return results


# -- report QC and release -------------------------------------------------------------------------


def read_critical_findings(ctx: ServiceContext, text: str) -> tuple[CriticalFinding, ...]:
    """The critical findings the text asserts (nothing when no reader is configured)."""
    if ctx.extractor is None or not text.strip():
        return ()
    return ctx.extractor.extract(text).actionable_critical_findings


def order_facts(order: Order, patient: Patient) -> OrderFacts:
    """What report QC compares the report with."""
    return OrderFacts(patient_id=order.patient_id, patient_mrn=patient.mrn, accession_number=order.accession_number,
                      study_instance_uid=order.study_instance_uid, body_part=order.body_part,
                      laterality=order.laterality.value if order.laterality else "")


def _snapshot(uow: UnitOfWork, actor: Principal, order_id: str, action: Action) -> tuple[str, int]:
    """Read the report's narrative (and version) in a short transaction of its own."""
    with uow:
        order = uow.orders.get(order_id)
        guard_order(actor, action, order)
        report = _report_of(uow, order)
        return report.narrative(), report.version


def _problems(uow: UnitOfWork, order: Order, report: Report, findings: Sequence[CriticalFinding],
              viewer: ViewerContext | None) -> list[QcProblem]:
    patient = uow.patients.get(order.patient_id)
    records: list[CriticalResult] = critical_results_in(uow).for_order(order.id)
    return check_report(QcInput(report=report, order=order_facts(order, patient), critical_findings=findings,
                                critical_results=records, viewer=viewer))


@dataclass(frozen=True)
class CheckReport:
    """Run report QC now without releasing (what the editor shows)."""

    actor: Principal
    order_id: str
    viewer: ViewerContext | None = None


def check_report_now(cmd: CheckReport, uow: UnitOfWork, ctx: ServiceContext) -> list[QcProblem]:
    """The problems that would block release (empty: releasable)."""
    narrative, _ = _snapshot(uow, cmd.actor, cmd.order_id, Action.REPORT_WRITE)
    findings = read_critical_findings(ctx, narrative)
    with uow:
        order = uow.orders.get(cmd.order_id)
        problems = _problems(uow, order, _report_of(uow, order), findings, cmd.viewer)
        _audit(uow, ctx, cmd.actor, order, "check", f"{len(problems)} problems")
        uow.commit()
        return problems


@dataclass(frozen=True)
class ReleasePreliminary:
    """Release the report as preliminary (report QC first)."""

    actor: Principal
    order_id: str
    viewer: ViewerContext | None = None


@dataclass(frozen=True)
class SignReport:
    """Sign the report (report QC first): it becomes final and the order `reported`."""

    actor: Principal
    order_id: str
    viewer: ViewerContext | None = None


def _release(cmd: ReleasePreliminary | SignReport, uow: UnitOfWork, ctx: ServiceContext) -> Report:
    narrative, version = _snapshot(uow, cmd.actor, cmd.order_id, Action.REPORT_WRITE)
    findings = read_critical_findings(ctx, narrative)
    with uow:
        order, report = _writable(uow, ctx, cmd.actor, cmd.order_id)
        if report.version != version:
            raise Conflict("the report changed while it was being checked; check it again")
        problems = _problems(uow, order, report, findings, cmd.viewer)
        if problems:
            raise ReportNotReleasable(problems)
        now, name = ctx.clock.now(), cmd.actor.display_name or cmd.actor.username
        if isinstance(cmd, SignReport):
            report.sign(by=cmd.actor.user_id, by_name=name, at=now)
            order.transition(OrderEvent.REPORT_FINALIZED, by=cmd.actor.user_id, at=now,
                             details={"report_id": report.id,
                                      "rads": ", ".join(r.label for r in report.rads_results)})
            claims_in(uow).release(order.id, cmd.actor.user_id)
            _audit(uow, ctx, cmd.actor, order, "sign")
        else:
            report.release_preliminary(by=cmd.actor.user_id, at=now)
            order.note("report_preliminary", by=cmd.actor.user_id, at=now, details={"report_id": report.id})
            _audit(uow, ctx, cmd.actor, order, "preliminary")
        uow.commit()
        return report


def release_preliminary(cmd: ReleasePreliminary, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Release a preliminary report; returns its state."""
    return _release(cmd, uow, ctx).state.value


def sign_report(cmd: SignReport, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Sign: final report, order `reported`, the claim given back; returns the report's state."""
    return _release(cmd, uow, ctx).state.value


@dataclass(frozen=True)
class AddAddendum:
    """Add a signed addendum to a signed report (any radiologist; no claim needed)."""

    actor: Principal
    order_id: str
    text: str
    reason: str = ""


def add_addendum(cmd: AddAddendum, uow: UnitOfWork, ctx: ServiceContext) -> int:
    """Sign the addendum; the order goes back to `reported` to be delivered again. Returns its number."""
    findings = read_critical_findings(ctx, cmd.text)
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.REPORT_WRITE, order)
        report = _report_of(uow, order)
        if not report.is_signed:
            raise Conflict("the report is not signed yet: edit it instead of adding an addendum")
        problems = _problems(uow, order, report, findings, None)
        critical = [p for p in problems if p.code == "critical_finding_unrecorded"]
        if critical:
            raise ReportNotReleasable(critical)
        now = ctx.clock.now()
        addendum = report.sign_addendum(cmd.text, reason=cmd.reason, by=cmd.actor.user_id,
                                        by_name=cmd.actor.display_name or cmd.actor.username, at=now)
        order.transition(OrderEvent.ADDENDUM_SIGNED, by=cmd.actor.user_id, at=now,
                         details={"report_id": report.id, "addendum": addendum.seq})
        _audit(uow, ctx, cmd.actor, order, "addendum", cmd.reason)
        uow.commit()
        return addendum.seq


# -- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GetReport:
    """An order's report, with the template it follows and the critical results raised on it."""

    actor: Principal
    order_id: str


@dataclass
class ReportView:
    """What the report screen and the API show."""

    report: Report
    order: Order
    patient: Patient
    template: ReportTemplate
    critical_results: list[CriticalResult]


#: Who outside the reading room sees which reports: a referrer from the preliminary on, a patient once signed.
_VISIBLE_TO = {
    Role.REFERRING_PROVIDER: (ReportState.PRELIMINARY, ReportState.FINAL, ReportState.AMENDED),
    Role.PATIENT: (ReportState.FINAL, ReportState.AMENDED),
}


def get_report(cmd: GetReport, uow: UnitOfWork, ctx: ServiceContext) -> ReportView:
    """Read a report (audited); a referrer or a patient sees it only once released to them."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.REPORT_READ, order)
        report = _report_of(uow, order)
        visible = _VISIBLE_TO.get(cmd.actor.role)
        if visible is not None and report.state not in visible:
            raise NotFound(f"order {order.accession_number} has no released report yet")
        # Patient release (services.patient_release): only a hold on this one report keeps it back.
        if cmd.actor.role is Role.PATIENT and withheld_from_patient(uow, order.id, ctx.clock.now()):
            raise NotFound(f"order {order.accession_number} has no released report yet")
        view = ReportView(report=report, order=order, patient=uow.patients.get(order.patient_id),
                          template=load_templates().get(report.template_key),
                          critical_results=critical_results_in(uow).for_order(order.id))
        _audit(uow, ctx, cmd.actor, order, "read", report.state.value)
        uow.commit()
        return view


HANDLERS: dict[type, Handler] = {
    StartReport: start_report, SaveReport: save_report, SetRadsFindings: set_rads_findings,
    CheckReport: check_report_now, ReleasePreliminary: release_preliminary, SignReport: sign_report,
    AddAddendum: add_addendum, GetReport: get_report,
}
