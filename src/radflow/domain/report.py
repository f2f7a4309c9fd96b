"""Report: the radiologist's structured report of one study, its own one-table state machine, and its events.

draft → preliminary → final (signed) → amended (an addendum). A report belongs to one order (one
accession); its sections are the standard ones of the ACR Practice Parameter for Communication of
Diagnostic Imaging Findings (clinical indication, technique, comparison, findings, impression) plus
recommendations. Structured RADS fields hold the calculators' answers (category, management, interval
and the rule that decided); the recommendation they compute is written into the recommendations
section. A signed report is never edited: later information is an addendum, and the documentation of
a critical-result communication is appended the same way (ACR practice parameter: the communication is
documented in the report or an addendum).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import InvalidTransition, ValidationError
from radflow.domain.events import DomainEvent
from radflow.domain.rads.assessment import Assessment


class ReportState(StrEnum):
    """Where a report stands."""

    DRAFT = "draft"
    PRELIMINARY = "preliminary"  # released before signing (a wet read); may still change
    FINAL = "final"  # signed: the order is `reported`
    AMENDED = "amended"  # signed, with one or more addenda


class ReportEvent(StrEnum):
    """What happens to a report; allowed only where the table has a row for it."""

    EDIT = "edit"
    RELEASE_PRELIMINARY = "release_preliminary"
    SIGN = "sign"
    SIGN_ADDENDUM = "sign_addendum"


S = ReportState
E = ReportEvent

TRANSITIONS: Final[Mapping[tuple[ReportState, ReportEvent], ReportState]] = {
    (S.DRAFT, E.EDIT): S.DRAFT,
    (S.DRAFT, E.RELEASE_PRELIMINARY): S.PRELIMINARY,
    (S.DRAFT, E.SIGN): S.FINAL,
    # A preliminary report is corrected and signed by the same or the attending radiologist.
    (S.PRELIMINARY, E.EDIT): S.PRELIMINARY,
    (S.PRELIMINARY, E.SIGN): S.FINAL,
    # A signed report changes only by addendum; the text signed before stays as it was.
    (S.FINAL, E.SIGN_ADDENDUM): S.AMENDED,
    (S.AMENDED, E.SIGN_ADDENDUM): S.AMENDED,
}

#: The sections of a report, in the order they are printed.
SECTIONS: Final = ("clinical_indication", "technique", "comparison", "findings", "impression", "recommendations")

SECTION_TITLES: Final = {
    "clinical_indication": "Clinical indication",
    "technique": "Technique",
    "comparison": "Comparison",
    "findings": "Findings",
    "impression": "Impression",
    "recommendations": "Recommendations",
}


def next_report_state(state: ReportState, event: ReportEvent) -> ReportState:
    """The state `event` leads to from `state`, or InvalidTransition."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise InvalidTransition(state.value, event.value, aggregate="report")
    return target


@dataclass(frozen=True)
class RadsResult:
    """One structured RADS field: the finding as entered and the calculator's answer with its rule."""

    system: str
    finding: Mapping[str, Any]
    category: str
    descriptor: str
    management: str
    modality: str | None
    procedure: str | None
    interval_days: int | None
    interval_days_max: int | None
    rule_id: str
    rule_source: str

    @classmethod
    def of(cls, finding: Mapping[str, Any], assessment: Assessment) -> RadsResult:
        """Keep the calculator's answer beside the finding it was computed from."""
        interval = assessment.interval
        return cls(
            system=assessment.system, finding=dict(finding), category=assessment.category,
            descriptor=assessment.descriptor, management=assessment.management, modality=assessment.modality,
            procedure=assessment.procedure, interval_days=interval.days if interval else None,
            interval_days_max=interval.days_max if interval else None, rule_id=assessment.rule.id,
            rule_source=assessment.rule.source,
        )

    @property
    def label(self) -> str:
        """How the category is written in a report ("Lung-RADS 3", "BI-RADS 4B")."""
        return f"{self.system} {self.category}"

    @property
    def recommendation_text(self) -> str:
        """The sentence the recommendations section carries for this category."""
        return f"{self.label} ({self.descriptor}): {self.management}"

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (stored on the report, served by the API)."""
        return {
            "system": self.system, "finding": dict(self.finding), "category": self.category,
            "descriptor": self.descriptor, "management": self.management, "modality": self.modality,
            "procedure": self.procedure, "interval_days": self.interval_days,
            "interval_days_max": self.interval_days_max, "rule": {"id": self.rule_id, "source": self.rule_source},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RadsResult:
        """Read back what `to_json` wrote."""
        rule = data.get("rule") or {}
        return cls(
            system=str(data["system"]), finding=dict(data.get("finding") or {}), category=str(data["category"]),
            descriptor=str(data.get("descriptor", "")), management=str(data.get("management", "")),
            modality=data.get("modality"), procedure=data.get("procedure"), interval_days=data.get("interval_days"),
            interval_days_max=data.get("interval_days_max"), rule_id=str(rule.get("id", "")),
            rule_source=str(rule.get("source", "")),
        )


@dataclass(frozen=True)
class Addendum:
    """Text added to a signed report, signed on its own; `kind` is 'addendum' or 'communication'."""

    seq: int
    text: str
    reason: str
    signed_by: str
    signed_by_name: str
    signed_at: datetime
    kind: str = "addendum"

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"seq": self.seq, "text": self.text, "reason": self.reason, "signed_by": self.signed_by,
                "signed_by_name": self.signed_by_name, "signed_at": self.signed_at.isoformat(), "kind": self.kind}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Addendum:
        """Read back what `to_json` wrote."""
        return cls(seq=int(data["seq"]), text=str(data["text"]), reason=str(data.get("reason", "")),
                   signed_by=str(data["signed_by"]), signed_by_name=str(data.get("signed_by_name", "")),
                   signed_at=datetime.fromisoformat(str(data["signed_at"])), kind=str(data.get("kind", "addendum")))


@dataclass(eq=False)
class Report(Aggregate):
    """The report of one order's study."""

    id: str
    order_id: str
    patient_id: str
    accession_number: str
    study_instance_uid: str
    template_key: str
    state: ReportState
    created_at: datetime
    author_id: str
    author_name: str = ""
    # What the report says it is about: filled from the order, checked against it by report QC.
    exam_body_part: str = ""
    exam_laterality: str = ""
    clinical_indication: str = ""
    technique: str = ""
    comparison: str = ""
    findings: str = ""
    impression: str = ""
    recommendations: str = ""
    rads: list[dict[str, Any]] = field(default_factory=list)
    communications: list[str] = field(default_factory=list)  # critical-result documentation, in the text
    addenda: list[dict[str, Any]] = field(default_factory=list)
    preliminary_at: datetime | None = None
    preliminary_by: str | None = None
    signed_at: datetime | None = None
    signed_by: str | None = None
    signed_by_name: str = ""
    updated_at: datetime | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1  # optimistic locking, advanced by the database adapter

    # -- reading ---------------------------------------------------------------------------------

    def section(self, name: str) -> str:
        """One section's text."""
        if name not in SECTIONS:
            raise ValidationError(f"'{name}' is not a report section; sections are {', '.join(SECTIONS)}",
                                  field=name)
        text: str = getattr(self, name)
        return text

    @property
    def rads_results(self) -> list[RadsResult]:
        """The structured RADS fields, typed."""
        return [RadsResult.from_json(entry) for entry in self.rads]

    @property
    def addendum_list(self) -> list[Addendum]:
        """The addenda, typed, in signing order."""
        return [Addendum.from_json(entry) for entry in self.addenda]

    @property
    def is_signed(self) -> bool:
        """True once final (with or without addenda)."""
        return self.state in (S.FINAL, S.AMENDED)

    @property
    def is_editable(self) -> bool:
        """True while the sections may still change."""
        return (self.state, E.EDIT) in TRANSITIONS

    def text(self) -> str:
        """The whole report as plain text: sections, communication record, then addenda."""
        parts = [f"{SECTION_TITLES[name].upper()}:\n{self.section(name).strip()}"
                 for name in SECTIONS if self.section(name).strip()]
        if self.communications:
            parts.append("COMMUNICATION:\n" + "\n".join(self.communications))
        for addendum in self.addendum_list:
            title = "COMMUNICATION ADDENDUM" if addendum.kind == "communication" else "ADDENDUM"
            signed = f"Signed by {addendum.signed_by_name or addendum.signed_by} on {addendum.signed_at.isoformat()}"
            parts.append(f"{title} {addendum.seq}:\n{addendum.text.strip()}\n{signed}")
        return "\n\n".join(parts)

    def narrative(self) -> str:
        """The text report QC and the critical-finding reader look at: findings and impression."""
        return f"{self.findings.strip()}\n\n{self.impression.strip()}".strip()

    # -- changing --------------------------------------------------------------------------------

    def _apply(self, event: ReportEvent, *, by: str, at: datetime, note: str = "") -> ReportState:
        source = self.state
        target = next_report_state(source, event)
        self.state = target
        self.updated_at = at
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": event.value, "from": source.value,
                                "to": target.value, "note": note}]
        return target

    def edit(self, sections: Mapping[str, str], *, by: str, at: datetime, exam_body_part: str | None = None,
             exam_laterality: str | None = None) -> None:
        """Change sections (and the stated body part and side) of an unsigned report."""
        unknown = sorted(set(sections) - set(SECTIONS))
        if unknown:
            raise ValidationError(f"unknown report section(s): {', '.join(unknown)}; sections are "
                                  f"{', '.join(SECTIONS)}", field=unknown[0])
        if not self.is_editable:
            raise InvalidTransition(self.state.value, E.EDIT.value, aggregate="report")
        changed = sorted(name for name, text in sections.items() if getattr(self, name) != text)
        for name in changed:
            setattr(self, name, sections[name])
        if exam_body_part is not None:
            self.exam_body_part = exam_body_part.strip().upper()
        if exam_laterality is not None:
            self.exam_laterality = _laterality(exam_laterality)
        self._apply(E.EDIT, by=by, at=at, note=",".join(changed))

    def set_rads(self, results: list[RadsResult], *, by: str, at: datetime) -> None:
        """Replace the structured RADS fields; each computed recommendation is written into the section."""
        if not self.is_editable:
            raise InvalidTransition(self.state.value, E.EDIT.value, aggregate="report")
        previous = {r.recommendation_text for r in self.rads_results}
        self.rads = [r.to_json() for r in results]
        # Keep what the radiologist wrote; drop the sentences of removed fields, add the new ones.
        lines = [line for line in self.recommendations.splitlines() if line.strip() and line.strip() not in previous]
        for result in results:
            if result.recommendation_text not in lines:
                lines.append(result.recommendation_text)
        self.recommendations = "\n".join(lines)
        self._apply(E.EDIT, by=by, at=at, note="rads:" + ",".join(r.label for r in results))

    def add_communication(self, text: str) -> None:
        """Append critical-result documentation to the report being written (signed with it)."""
        if self.is_signed:
            raise InvalidTransition(self.state.value, "add_communication", aggregate="report")
        self.communications = [*self.communications, text]

    def release_preliminary(self, *, by: str, at: datetime) -> None:
        """Release before signing (report QC has passed)."""
        self._apply(E.RELEASE_PRELIMINARY, by=by, at=at)
        self.preliminary_at, self.preliminary_by = at, by
        self.record(ReportReleasedPreliminary(at=at, by=by, report_id=self.id, order_id=self.order_id,
                                              patient_id=self.patient_id, accession_number=self.accession_number))

    def sign(self, *, by: str, by_name: str, at: datetime) -> None:
        """Sign the report: it becomes final and can no longer be edited (report QC has passed)."""
        self._apply(E.SIGN, by=by, at=at)
        self.signed_at, self.signed_by, self.signed_by_name = at, by, by_name
        results = self.rads_results
        self.record(ReportFinalized(
            at=at, by=by, report_id=self.id, order_id=self.order_id, patient_id=self.patient_id,
            accession_number=self.accession_number, signed_by_name=by_name,
            rads=tuple(results), impression=self.impression, recommendations=self.recommendations,
        ))

    def sign_addendum(self, text: str, *, reason: str, by: str, by_name: str, at: datetime,
                      kind: str = "addendum") -> Addendum:
        """Add a signed addendum to a signed report."""
        if not text.strip():
            raise ValidationError("an addendum needs its text", field="text")
        self._apply(E.SIGN_ADDENDUM, by=by, at=at, note=reason)
        addendum = Addendum(seq=len(self.addenda) + 1, text=text.strip(), reason=reason.strip(), signed_by=by,
                            signed_by_name=by_name, signed_at=at, kind=kind)
        self.addenda = [*self.addenda, addendum.to_json()]
        self.record(ReportAmended(at=at, by=by, report_id=self.id, order_id=self.order_id,
                                  patient_id=self.patient_id, accession_number=self.accession_number,
                                  addendum_seq=addendum.seq, kind=kind, reason=addendum.reason))
        return addendum


def _laterality(raw: str) -> str:
    text = raw.strip().upper()
    aliases = {"LEFT": "L", "RIGHT": "R", "BILATERAL": "B", "BOTH": "B", "NONE": ""}
    text = aliases.get(text, text)
    if text not in ("", "L", "R", "B"):
        raise ValidationError(f"side '{raw}' must be L, R, B or empty", field="exam_laterality")
    return text


# -- events ----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReportReleasedPreliminary(DomainEvent):
    """A preliminary report was released (not yet signed)."""

    report_id: str
    order_id: str
    patient_id: str
    accession_number: str


@dataclass(frozen=True, kw_only=True)
class ReportFinalized(DomainEvent):
    """A report was signed: distribution, follow-up items and patient letters start from here."""

    report_id: str
    order_id: str
    patient_id: str
    accession_number: str
    signed_by_name: str
    rads: tuple[RadsResult, ...] = ()
    impression: str = ""
    recommendations: str = ""


@dataclass(frozen=True, kw_only=True)
class ReportAmended(DomainEvent):
    """An addendum was signed (`kind` 'communication' for critical-result documentation)."""

    report_id: str
    order_id: str
    patient_id: str
    accession_number: str
    addendum_seq: int
    kind: str
    reason: str = ""
