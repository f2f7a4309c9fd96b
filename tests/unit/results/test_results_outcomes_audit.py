"""The MQSA medical outcomes audit, figure by figure, against a hand-counted year (BI-RADS Atlas definitions)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from radflow.catalog.results import load_outcome_definitions
from radflow.domain.errors import ValidationError
from radflow.domain.mammography_outcomes import (
    AuditedExam,
    BiopsyResult,
    PathologyOutcome,
    outcomes_audit,
    parse_outcome_definitions,
)

AT = datetime(2026, 12, 31, tzinfo=UTC)


def screen(patient: str, category: str, day: date, reader: str = "r1") -> AuditedExam:
    return AuditedExam(order_id=f"o-{patient}-{day}", patient_id=patient, radiologist_id=reader,
                       radiologist_name=reader.upper(), exam_date=day, screening=True, category=category)


def diagnostic(patient: str, category: str, day: date, reader: str = "r1") -> AuditedExam:
    return AuditedExam(order_id=f"d-{patient}-{day}", patient_id=patient, radiologist_id=reader,
                       radiologist_name=reader.upper(), exam_date=day, screening=False, category=category)


def biopsy(patient: str, day: date, outcome: PathologyOutcome) -> BiopsyResult:
    return BiopsyResult(id=f"b-{patient}", patient_id=patient, order_id="x", biopsy_date=day, laterality="R",
                        outcome=outcome, pathology_text="as reported", recorded_by="u", recorded_at=AT)


def test_one_radiologists_year_counts_recall_ppv1_ppv2_ppv3_and_cancer_detection() -> None:
    exams = [screen(f"n{i}", "1", date(2026, 2, 1)) for i in range(16)]
    exams += [screen("a", "0", date(2026, 3, 1)), diagnostic("a", "4B", date(2026, 3, 10)),
              screen("b", "0", date(2026, 4, 1)), diagnostic("b", "4A", date(2026, 4, 8)),
              screen("c", "0", date(2026, 5, 1)), diagnostic("c", "2", date(2026, 5, 9)),
              screen("d", "4C", date(2026, 6, 1))]
    biopsies = [biopsy("a", date(2026, 3, 20), PathologyOutcome.INVASIVE),
                biopsy("b", date(2026, 4, 20), PathologyOutcome.BENIGN),
                biopsy("d", date(2026, 6, 10), PathologyOutcome.DCIS)]
    (reader, facility) = outcomes_audit(exams, biopsies, load_outcome_definitions(), 2026)
    # 20 screening exams, 4 positive (a, b, c recalled with 0; d 4C), cancers after a and d.
    assert (reader.screening_exams, reader.positive_screening, reader.positive_screening_cancers) == (20, 4, 2)
    assert reader.recall_rate == 0.2 and reader.ppv1 == 0.5 and reader.cancer_detection_rate == 100.0
    # Tissue diagnosis recommended at a (4B), b (4A), d (4C): cancers at a and d.
    assert (reader.tissue_recommended, reader.tissue_recommended_cancers, reader.ppv2) == (3, 2, 0.6667)
    # Three biopsies after a 4: two cancers.
    assert (reader.biopsies, reader.biopsy_cancers, reader.ppv3) == (3, 2, 0.6667)
    assert reader.pathology_missing == []
    assert facility.radiologist_id == "facility" and facility.screening_exams == 20


def test_each_radiologist_is_audited_alone_and_the_facility_adds_them_up() -> None:
    exams = [screen("a", "0", date(2026, 1, 5), "r1"), screen("b", "1", date(2026, 1, 5), "r2"),
             screen("c", "1", date(2026, 1, 5), "r2")]
    r1, r2, facility = outcomes_audit(exams, [], load_outcome_definitions(), 2026)
    assert (r1.radiologist_id, r1.recall_rate, r2.radiologist_id, r2.recall_rate) == ("r1", 1.0, "r2", 0.0)
    assert facility.screening_exams == 3 and facility.positive_screening == 1


def test_a_cancer_more_than_a_year_later_or_a_high_risk_lesion_is_not_counted_and_missing_pathology_is_listed() -> None:
    exams = [screen("a", "4A", date(2026, 1, 10)), screen("b", "5", date(2026, 2, 10))]
    biopsies = [biopsy("a", date(2027, 1, 11), PathologyOutcome.INVASIVE)]
    (reader, _) = outcomes_audit(exams, biopsies, load_outcome_definitions(), 2026)
    assert reader.positive_screening_cancers == 0 and reader.biopsies == 0
    assert sorted(reader.pathology_missing) == ["o-a-2026-01-10", "o-b-2026-02-10"]
    risky = outcomes_audit([screen("c", "4A", date(2026, 1, 10))], [biopsy("c", date(2026, 1, 20),
                                                                           PathologyOutcome.HIGH_RISK)],
                           load_outcome_definitions(), 2026)[0]
    assert (risky.biopsies, risky.biopsy_cancers, risky.ppv3) == (1, 0, 0.0)


def test_exams_of_another_year_are_not_in_this_years_audit_and_no_exams_give_no_rates() -> None:
    (facility,) = outcomes_audit([screen("a", "0", date(2025, 12, 31))], [], load_outcome_definitions(), 2026)
    assert facility.screening_exams == 0 and facility.recall_rate is None and facility.ppv1 is None


def test_definitions_without_their_source_are_refused() -> None:
    with pytest.raises(ValidationError, match="cites its source"):
        parse_outcome_definitions({"screening_protocols": ["MG-SCREEN"], "positive_screening_categories": ["0"],
                                   "tissue_diagnosis_categories": ["4"], "cancer_outcomes": ["invasive"],
                                   "follow_up_days": 365})
