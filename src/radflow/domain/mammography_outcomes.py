"""The MQSA medical outcomes audit: biopsy pathology captured, and each radiologist's figures per year.

21 CFR 900.12(f) as amended (in force 10 September 2024): the facility collects outcome data for all
mammograms, follows up every positive one, correlates pathology with the interpreting physician's
report, and analyses the data at least every 12 months for each interpreting physician and for the
facility, including at least the recall rate, the positive predictive value and the cancer detection
rate. The definitions (catalog/results/outcomes.yaml) are the BI-RADS Atlas's (5th ed., Follow-up and
Outcome Monitoring):

- recall rate = positive screening exams / screening exams;
- PPV1 = positive screening exams followed by cancer within a year / positive screening exams;
- PPV2 = exams recommending tissue diagnosis (4, 5) followed by cancer / such exams;
- PPV3 = biopsies performed after a 4 or 5 that found cancer / those biopsies;
- cancer detection rate = positive screening exams followed by cancer, per 1,000 screening exams.

A cancer is a biopsy with invasive carcinoma or DCIS, attributed to an exam of the same patient when
diagnosed within a year after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import ValidationError


class PathologyOutcome(StrEnum):
    """What the biopsy found (the audit needs malignant or not; the kind is kept)."""

    INVASIVE = "invasive"
    DCIS = "dcis"
    HIGH_RISK = "high_risk"  # atypia, papilloma, radial scar: not cancer for the audit
    BENIGN = "benign"


@dataclass(eq=False)
class BiopsyResult(Aggregate):
    """The pathology of a breast biopsy, captured for the outcomes audit."""

    id: str
    patient_id: str
    order_id: str  # the breast imaging exam that led to it
    biopsy_date: date
    laterality: str
    outcome: PathologyOutcome
    pathology_text: str
    recorded_by: str
    recorded_at: datetime
    source: str = ""  # the pathology report's identifier
    version: int = 1

    def __post_init__(self) -> None:
        if self.laterality not in ("L", "R", "B", ""):
            raise ValidationError("side must be L, R or B", field="laterality")
        if not self.pathology_text.strip():
            raise ValidationError("enter the pathology diagnosis as reported", field="pathology_text")


@dataclass(frozen=True)
class OutcomeDefinitions:
    """The audit's definitions, as data, with their sources."""

    screening_protocols: frozenset[str]
    positive_screening: frozenset[str]
    tissue_diagnosis: frozenset[str]
    cancer_outcomes: frozenset[PathologyOutcome]
    follow_up_days: int
    source: str
    sources: Mapping[str, str]


def parse_outcome_definitions(raw: object, *, origin: str = "outcomes.yaml") -> OutcomeDefinitions:
    """Validate the audit's definitions."""
    if not isinstance(raw, Mapping):
        raise ValidationError(f"{origin}: expected a mapping at the top")

    def listed(name: str) -> frozenset[str]:
        value = raw.get(name)
        if not isinstance(value, list) or not value:
            raise ValidationError(f"{origin}: '{name}' must be a non-empty list")
        return frozenset(str(v) for v in value)

    sources = {}
    for name in ("source", "positive_screening_source", "tissue_diagnosis_source", "cancer_source",
                 "follow_up_source"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise ValidationError(f"{origin}: '{name}' is required (every definition cites its source)")
        sources[name] = str(raw[name])
    try:
        cancers = frozenset(PathologyOutcome(v) for v in listed("cancer_outcomes"))
    except ValueError as error:
        raise ValidationError(f"{origin}: cancer_outcomes: {error}") from None
    days = raw.get("follow_up_days")
    if not isinstance(days, int) or days <= 0:
        raise ValidationError(f"{origin}: 'follow_up_days' must be a positive number of days")
    return OutcomeDefinitions(screening_protocols=listed("screening_protocols"),
                              positive_screening=listed("positive_screening_categories"),
                              tissue_diagnosis=listed("tissue_diagnosis_categories"), cancer_outcomes=cancers,
                              follow_up_days=days, source=sources["source"], sources=sources)


@dataclass(frozen=True)
class AuditedExam:
    """One interpreted mammogram: who read it, when, screening or not, and its overall BI-RADS category."""

    order_id: str
    patient_id: str
    radiologist_id: str
    radiologist_name: str
    exam_date: date
    screening: bool
    category: str


def _rate(numerator: int, denominator: int, scale: float = 1.0) -> float | None:
    return None if denominator == 0 else round(scale * numerator / denominator, 4)


@dataclass
class OutcomeFigures:
    """One interpreting physician's (or the facility's) audit for one year."""

    radiologist_id: str
    radiologist_name: str
    year: int
    screening_exams: int = 0
    positive_screening: int = 0
    positive_screening_cancers: int = 0
    diagnostic_exams: int = 0
    tissue_recommended: int = 0
    tissue_recommended_cancers: int = 0
    biopsies: int = 0
    biopsy_cancers: int = 0
    pathology_missing: list[str] = field(default_factory=list)  # orders recommending tissue, no pathology yet

    @property
    def recall_rate(self) -> float | None:
        """Positive screening exams / screening exams."""
        return _rate(self.positive_screening, self.screening_exams)

    @property
    def ppv1(self) -> float | None:
        """Cancers among positive screening exams / positive screening exams."""
        return _rate(self.positive_screening_cancers, self.positive_screening)

    @property
    def ppv2(self) -> float | None:
        """Cancers among exams recommending tissue diagnosis / those exams."""
        return _rate(self.tissue_recommended_cancers, self.tissue_recommended)

    @property
    def ppv3(self) -> float | None:
        """Cancers among biopsies performed after a 4 or 5 / those biopsies."""
        return _rate(self.biopsy_cancers, self.biopsies)

    @property
    def cancer_detection_rate(self) -> float | None:
        """Screen-detected cancers per 1,000 screening exams."""
        return _rate(self.positive_screening_cancers, self.screening_exams, 1000.0)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (counts and rates)."""
        return {
            "radiologist_id": self.radiologist_id, "radiologist_name": self.radiologist_name, "year": self.year,
            "screening_exams": self.screening_exams, "positive_screening": self.positive_screening,
            "positive_screening_cancers": self.positive_screening_cancers,
            "diagnostic_exams": self.diagnostic_exams, "tissue_recommended": self.tissue_recommended,
            "tissue_recommended_cancers": self.tissue_recommended_cancers, "biopsies": self.biopsies,
            "biopsy_cancers": self.biopsy_cancers, "recall_rate": self.recall_rate, "ppv1": self.ppv1,
            "ppv2": self.ppv2, "ppv3": self.ppv3, "cancer_detection_rate_per_1000": self.cancer_detection_rate,
            "pathology_missing": list(self.pathology_missing),
        }


FACILITY = "facility"


def outcomes_audit(exams: Iterable[AuditedExam], biopsies: Iterable[BiopsyResult], definitions: OutcomeDefinitions,
                   year: int) -> list[OutcomeFigures]:
    """Each interpreting physician's figures for `year`, then the facility's (radiologist_id 'facility')."""
    window = timedelta(days=definitions.follow_up_days)
    all_exams = sorted(exams, key=lambda e: e.exam_date)
    by_patient: dict[str, list[BiopsyResult]] = {}
    for biopsy in biopsies:
        by_patient.setdefault(biopsy.patient_id, []).append(biopsy)

    def cancer_after(exam: AuditedExam) -> bool:
        return any(b.outcome in definitions.cancer_outcomes
                   and exam.exam_date <= b.biopsy_date <= exam.exam_date + window
                   for b in by_patient.get(exam.patient_id, ()))

    figures: dict[str, OutcomeFigures] = {}
    facility = OutcomeFigures(FACILITY, "Facility", year)
    for exam in all_exams:
        if exam.exam_date.year != year:
            continue
        mine = figures.setdefault(exam.radiologist_id, OutcomeFigures(exam.radiologist_id, exam.radiologist_name, year))
        cancer = cancer_after(exam)
        for target in (mine, facility):
            if exam.screening:
                target.screening_exams += 1
                if exam.category in definitions.positive_screening:
                    target.positive_screening += 1
                    target.positive_screening_cancers += int(cancer)
            else:
                target.diagnostic_exams += 1
            if exam.category in definitions.tissue_diagnosis:
                target.tissue_recommended += 1
                target.tissue_recommended_cancers += int(cancer)
                if not any(exam.exam_date <= b.biopsy_date <= exam.exam_date + window
                           for b in by_patient.get(exam.patient_id, ())):
                    target.pathology_missing.append(exam.order_id)
    # PPV3: each biopsy belongs to the latest exam recommending tissue diagnosis in the year before it.
    for patient_id, results in by_patient.items():
        recommending = [e for e in all_exams
                        if e.patient_id == patient_id and e.category in definitions.tissue_diagnosis]
        for biopsy in results:
            earlier = [e for e in recommending if e.exam_date <= biopsy.biopsy_date <= e.exam_date + window]
            if not earlier or earlier[-1].exam_date.year != year:
                continue
            exam = earlier[-1]
            mine = figures.setdefault(exam.radiologist_id,
                                      OutcomeFigures(exam.radiologist_id, exam.radiologist_name, year))
            for target in (mine, facility):
                target.biopsies += 1
                target.biopsy_cancers += int(biopsy.outcome in definitions.cancer_outcomes)
    return [*sorted(figures.values(), key=lambda f: f.radiologist_name), facility]
