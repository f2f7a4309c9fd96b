"""The follow-up / critical-finding extraction port: report text -> recommendations and critical findings.

`FollowupExtractor` is the port the services call; the medspaCy adapter
(`radflow.adapters.nlp`) implements it. The result types are plain and pure, with the flags the
follow-up tracker and report QC act on: a critical finding is *actionable* when the text asserts
it now (not negated, not historical, not hypothetical; "possible" still counts), a recommendation
is *actionable* when it is neither negated nor conditional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol


@dataclass(frozen=True)
class CriticalFinding:
    """A mention of a finding from the critical-results vocabulary, with its ConText flags."""

    type: str
    label: str
    level: str
    text: str
    sentence: str
    start: int
    end: int
    negated: bool = False
    uncertain: bool = False
    historical: bool = False
    hypothetical: bool = False

    @property
    def actionable(self) -> bool:
        """True when the report asserts the finding now (possible counts, absent or past does not)."""
        return not (self.negated or self.historical or self.hypothetical)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (docs/followup-extract.schema.json)."""
        return {
            "type": self.type, "label": self.label, "level": self.level, "text": self.text,
            "sentence": self.sentence, "start": self.start, "end": self.end,
            "negated": self.negated, "uncertain": self.uncertain, "historical": self.historical,
            "hypothetical": self.hypothetical, "actionable": self.actionable,
        }


@dataclass(frozen=True)
class FollowUpRecommendation:
    """A recommendation for further imaging or tissue sampling: what, when, and the sentence it came from."""

    modalities: tuple[str | None, ...]
    exam: str
    procedure: str
    sentence: str
    start: int
    end: int
    interval_phrase: str | None = None
    interval_days: int | None = None
    interval_days_max: int | None = None
    due_date: date | None = None
    negated: bool = False
    hypothetical: bool = False

    @property
    def modality(self) -> str | None:
        """The first modality named (DICOM code), or None when none is (a biopsy, "repeat imaging")."""
        return self.modalities[0] if self.modalities else None

    @property
    def actionable(self) -> bool:
        """True when the report recommends it outright (not "no follow-up", not "if symptoms persist")."""
        return not (self.negated or self.hypothetical)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (docs/followup-extract.schema.json)."""
        return {
            "modality": self.modality, "modalities": list(self.modalities), "exam": self.exam,
            "procedure": self.procedure, "interval": (
                {"phrase": self.interval_phrase, "days": self.interval_days, "days_max": self.interval_days_max}
                if self.interval_phrase else None
            ),
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "sentence": self.sentence, "start": self.start, "end": self.end,
            "negated": self.negated, "hypothetical": self.hypothetical, "actionable": self.actionable,
        }


@dataclass(frozen=True)
class Extraction:
    """Everything found in one report text."""

    critical_findings: tuple[CriticalFinding, ...]
    followups: tuple[FollowUpRecommendation, ...]

    @property
    def actionable_critical_findings(self) -> tuple[CriticalFinding, ...]:
        """Critical findings the report asserts (report QC wants a critical-result record for each)."""
        return tuple(f for f in self.critical_findings if f.actionable)

    @property
    def actionable_followups(self) -> tuple[FollowUpRecommendation, ...]:
        """Recommendations that should become follow-up items."""
        return tuple(f for f in self.followups if f.actionable)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (docs/followup-extract.schema.json)."""
        return {
            "critical_findings": [f.to_json() for f in self.critical_findings],
            "followups": [f.to_json() for f in self.followups],
        }


class FollowupExtractor(Protocol):
    """Reads report text and finds follow-up recommendations and critical findings."""

    def extract(self, text: str, *, reference_date: date | None = None) -> Extraction:
        """Extract from one report text; `reference_date` (the report's date) resolves calendar phrases."""
        ...
