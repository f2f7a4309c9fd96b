"""Report QC: the checks a report must pass before it leaves the radiologist (preliminary or final).

Each check is a small function that names the problem in words the radiologist can act on; the
list of problems blocks the release. They catch the errors the literature finds in released reports:
wrong patient or wrong study (a report dictated while another study was open), wrong side or wrong
body part (Sangwaiya et al., Radiology 2009;253:9-14: laterality errors in radiology reports), a
report without its impression (ACR Practice Parameter for Communication of Diagnostic Imaging
Findings: every report has an impression), a RADS category without the management its system
attaches (the ACR reporting systems give each category its recommendation), and a critical finding
written in the text with no critical-result record (ACR practice parameter: nonroutine communication,
documented) — the text is read through the extraction port.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from radflow.domain.critical_result import CriticalResult, CriticalState
from radflow.domain.errors import Conflict
from radflow.domain.rads.extraction import CriticalFinding
from radflow.domain.report import Report


@dataclass(frozen=True)
class QcProblem:
    """One reason a report cannot be released."""

    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True)
class OrderFacts:
    """What the order says the study is: QC compares the report with it."""

    patient_id: str
    patient_mrn: str
    accession_number: str
    study_instance_uid: str
    body_part: str
    laterality: str  # "L", "R", "B" or ""


@dataclass(frozen=True)
class ViewerContext:
    """The study the reporting application had open when the radiologist released (IHE context sharing)."""

    accession_number: str = ""
    patient_mrn: str = ""


@dataclass(frozen=True)
class QcInput:
    """Everything the checks look at."""

    report: Report
    order: OrderFacts
    critical_findings: Sequence[CriticalFinding] = ()  # what the extractor found in the narrative
    critical_results: Sequence[CriticalResult] = ()  # the records of this order
    viewer: ViewerContext | None = None


def check_patient(qc: QcInput) -> list[QcProblem]:
    """The report belongs to the order's patient, and the viewer showed that patient."""
    problems = []
    if qc.report.patient_id != qc.order.patient_id:
        problems.append(QcProblem("patient_mismatch", "the report was written for another patient record than the "
                                  "order's (the records were merged or moved); check the patient before releasing"))
    mrn = qc.viewer.patient_mrn.strip() if qc.viewer else ""
    if mrn and mrn != qc.order.patient_mrn:
        problems.append(QcProblem("patient_mismatch", f"the viewer shows patient {mrn}, but this order is for "
                                  f"patient {qc.order.patient_mrn}: the report may be about the wrong patient",
                                  "viewer_patient_mrn"))
    return problems


def check_study(qc: QcInput) -> list[QcProblem]:
    """The report is about the order's study (accession number and Study Instance UID)."""
    report, order = qc.report, qc.order
    problems = []
    if report.accession_number != order.accession_number or (
            report.study_instance_uid and order.study_instance_uid
            and report.study_instance_uid != order.study_instance_uid):
        problems.append(QcProblem("study_mismatch", f"the report names study {report.accession_number}, the order "
                                  f"is {order.accession_number}: check which study this report describes"))
    accession = qc.viewer.accession_number.strip() if qc.viewer else ""
    if accession and accession != order.accession_number:
        problems.append(QcProblem("study_mismatch", f"the viewer shows study {accession}, but this report is for "
                                  f"{order.accession_number}: the report may describe another study",
                                  "viewer_accession_number"))
    return problems


_SIDE_WORD: Final = {"L": "left", "R": "right"}


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"\b{word}\b", text, re.IGNORECASE) is not None


def check_laterality(qc: QcInput) -> list[QcProblem]:
    """A one-sided exam is reported on its own side (stated side, and no text naming only the other)."""
    ordered = qc.order.laterality
    if ordered not in _SIDE_WORD:
        return []
    problems = []
    stated = qc.report.exam_laterality
    if stated and stated != ordered:
        problems.append(QcProblem("laterality_mismatch", f"the report states side {stated}, the order is for the "
                                  f"{_SIDE_WORD[ordered]} side", "exam_laterality"))
    other = _SIDE_WORD["R" if ordered == "L" else "L"]
    narrative = qc.report.narrative()
    if _mentions(narrative, other) and not _mentions(narrative, _SIDE_WORD[ordered]):
        problems.append(QcProblem("laterality_mismatch", f"the findings and impression speak of the {other} side "
                                  f"only, but the exam is of the {_SIDE_WORD[ordered]} side", "findings"))
    return problems


def check_body_part(qc: QcInput) -> list[QcProblem]:
    """The stated body part is the order's (DICOM Body Part Examined terms)."""
    stated, ordered = qc.report.exam_body_part, qc.order.body_part
    if stated and ordered and stated.upper() != ordered.upper():
        return [QcProblem("body_part_mismatch", f"the report states body part {stated}, the order is for "
                          f"{ordered}", "exam_body_part")]
    return []


def check_impression(qc: QcInput) -> list[QcProblem]:
    """Every report has an impression."""
    if not qc.report.impression.strip():
        return [QcProblem("missing_impression", "write the impression: a report is not released without one",
                          "impression")]
    return []


_RADS_IN_TEXT: Final = re.compile(r"\b(BI-?RADS|Lung-?RADS|TI-?RADS)\b(?:\s*(?:category|cat\.?|:))?\s*"
                                  r"(TR\s?[1-5]|[0-6][ABCX]?)\b", re.IGNORECASE)


def _system_key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower()).replace("acr", "")


def check_rads(qc: QcInput) -> list[QcProblem]:
    """Each RADS category carries its recommendation, and a category in the text has its structured field."""
    report = qc.report
    problems = []
    recommendations = report.recommendations
    for result in report.rads_results:
        if result.management and result.management not in recommendations:
            problems.append(QcProblem("rads_without_recommendation", f"{result.label} needs its recommendation "
                                      f"in the report: \"{result.management}\"", "recommendations"))
    structured = {_system_key(r.system) for r in report.rads_results}
    for match in _RADS_IN_TEXT.finditer(report.narrative()):
        if _system_key(match.group(1)) not in structured:
            problems.append(QcProblem("rads_without_recommendation", f"the text gives {match.group(0).strip()} but "
                                      "the report has no structured field for it: enter the finding so that its "
                                      "recommendation is computed", "rads"))
    return problems


def check_critical_findings(qc: QcInput) -> list[QcProblem]:
    """A critical finding the text asserts has a critical-result record (any state but withdrawn)."""
    recorded = {kind for r in qc.critical_results if r.state is not CriticalState.WITHDRAWN for kind in r.finding_types}
    missing: dict[str, CriticalFinding] = {}
    for finding in qc.critical_findings:
        if finding.actionable and finding.type not in recorded:
            missing.setdefault(finding.type, finding)
    return [QcProblem("critical_finding_unrecorded", f"the report describes {f.label.lower()} (\"{f.text}\") but no "
                      "critical result is recorded: mark it critical and communicate it, or correct the text",
                      "critical_results")
            for f in missing.values()]


CHECKS: Final[tuple[Callable[[QcInput], list[QcProblem]], ...]] = (
    check_patient, check_study, check_laterality, check_body_part, check_impression, check_rads,
    check_critical_findings,
)


def check_report(qc: QcInput) -> list[QcProblem]:
    """Run every check; an empty list means the report may be released."""
    return [problem for check in CHECKS for problem in check(qc)]


class ReportNotReleasable(Conflict):
    """Report QC found problems: the report stays where it is until they are fixed."""

    code = "report-qc-failed"

    def __init__(self, problems: Sequence[QcProblem]) -> None:
        listed = "; ".join(f"({i}) {p.message}" for i, p in enumerate(problems, start=1))
        super().__init__(f"the report cannot be released: {listed}", field=problems[0].field if problems else None)
        self.problems = tuple(problems)
