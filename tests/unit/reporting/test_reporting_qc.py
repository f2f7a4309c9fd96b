"""Report QC: each check fails a report that has its problem, and passes one that has not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from radflow.catalog.rads import load_rulebook
from radflow.domain.critical_result import CriticalDeadlines, CriticalLevel, CriticalResult
from radflow.domain.rads import assess_finding
from radflow.domain.rads.extraction import CriticalFinding
from radflow.domain.report import RadsResult, Report, ReportState
from radflow.domain.report_qc import (
    OrderFacts,
    QcInput,
    ReportNotReleasable,
    ViewerContext,
    check_report,
)

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
ORDER = OrderFacts(patient_id="p1", patient_mrn="MRN1", accession_number="ACC1", study_instance_uid="2.25.1",
                   body_part="KNEE", laterality="L")
LUNG_RADS_3 = {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 7}]}


def good_report(**changes: object) -> Report:
    report = Report(id="r1", order_id="o1", patient_id="p1", accession_number="ACC1", study_instance_uid="2.25.1",
                    template_key="mr_msk", state=ReportState.DRAFT, created_at=AT, author_id="u-rad",
                    exam_body_part="KNEE", exam_laterality="L", findings="Left knee: intact menisci.",
                    impression="Normal left knee MRI.")
    for name, value in changes.items():
        setattr(report, name, value)
    return report


def codes(report: Report, **extra: object) -> list[str]:
    return [p.code for p in check_report(QcInput(report=report, order=ORDER, **extra))]  # type: ignore[arg-type]


def hemorrhage(negated: bool = False) -> CriticalFinding:
    return CriticalFinding(type="intracranial_hemorrhage", label="Intracranial hemorrhage", level="critical",
                           text="subdural hematoma", sentence="Acute subdural hematoma.", start=6, end=23,
                           negated=negated)


def record(finding_type: str) -> CriticalResult:
    return CriticalResult.raise_finding(
        id="c1", order_id="o1", patient_id="p1", accession_number="ACC1", report_id="r1",
        level=CriticalLevel.CRITICAL, finding="Acute SDH", finding_types=[finding_type], by="u", by_name="U", at=AT,
        deadlines=CriticalDeadlines())


def test_a_correct_report_passes_every_check() -> None:
    assert codes(good_report()) == []


def test_a_report_of_another_patient_record_fails() -> None:
    assert codes(good_report(patient_id="p2")) == ["patient_mismatch"]


def test_a_viewer_showing_another_patient_fails() -> None:
    assert codes(good_report(), viewer=ViewerContext(patient_mrn="MRN9")) == ["patient_mismatch"]


def test_a_report_naming_another_study_fails() -> None:
    assert codes(good_report(accession_number="ACC2")) == ["study_mismatch"]
    assert codes(good_report(study_instance_uid="2.25.9")) == ["study_mismatch"]


def test_a_viewer_showing_another_study_fails() -> None:
    assert codes(good_report(), viewer=ViewerContext(accession_number="ACC7")) == ["study_mismatch"]
    assert codes(good_report(), viewer=ViewerContext(accession_number="ACC1", patient_mrn="MRN1")) == []


def test_a_stated_side_other_than_the_ordered_side_fails() -> None:
    assert codes(good_report(exam_laterality="R")) == ["laterality_mismatch"]


def test_a_text_speaking_only_of_the_other_side_fails() -> None:
    report = good_report(findings="Right knee: intact menisci.", impression="Normal right knee MRI.")
    assert codes(report) == ["laterality_mismatch"]
    both = good_report(findings="Left knee. The right knee was imaged for comparison.")
    assert codes(both) == []


def test_a_stated_body_part_other_than_the_ordered_one_fails() -> None:
    assert codes(good_report(exam_body_part="SHOULDER")) == ["body_part_mismatch"]


@pytest.mark.parametrize("impression", ["", "   \n "])
def test_a_report_without_impression_fails(impression: str) -> None:
    assert codes(good_report(impression=impression)) == ["missing_impression"]


def test_a_rads_category_without_its_recommendation_fails() -> None:
    result = RadsResult.of(LUNG_RADS_3, assess_finding(LUNG_RADS_3, load_rulebook()))
    report = good_report(rads=[result.to_json()], recommendations="Clinical correlation.")
    assert codes(report) == ["rads_without_recommendation"]
    assert codes(good_report(rads=[result.to_json()], recommendations=result.recommendation_text)) == []


def test_a_rads_category_written_in_the_text_without_its_structured_field_fails() -> None:
    assert codes(good_report(impression="BI-RADS 4: suspicious mass.")) == ["rads_without_recommendation"]
    assert codes(good_report(impression="ACR TI-RADS TR4 nodule.")) == ["rads_without_recommendation"]


def test_a_critical_finding_in_the_text_without_a_record_fails() -> None:
    assert codes(good_report(), critical_findings=[hemorrhage()]) == ["critical_finding_unrecorded"]


def test_a_recorded_or_negated_critical_finding_passes() -> None:
    recorded = [record("intracranial_hemorrhage")]
    assert codes(good_report(), critical_findings=[hemorrhage()], critical_results=recorded) == []
    assert codes(good_report(), critical_findings=[hemorrhage(negated=True)]) == []


def test_a_withdrawn_or_different_record_does_not_cover_the_finding() -> None:
    withdrawn = record("intracranial_hemorrhage")
    withdrawn.withdraw("wrong patient", at=AT, by="u")
    assert codes(good_report(), critical_findings=[hemorrhage()], critical_results=[withdrawn]) \
        == ["critical_finding_unrecorded"]
    assert codes(good_report(), critical_findings=[hemorrhage()], critical_results=[record("pneumothorax")]) \
        == ["critical_finding_unrecorded"]


def test_the_refusal_lists_every_problem() -> None:
    problems = check_report(QcInput(report=good_report(impression="", exam_body_part="HIP"), order=ORDER))
    refusal = ReportNotReleasable(problems)
    assert "(1) the report states body part HIP" in refusal.message
    assert "(2) write the impression" in refusal.message
    assert [p.code for p in refusal.problems] == ["body_part_mismatch", "missing_impression"]
