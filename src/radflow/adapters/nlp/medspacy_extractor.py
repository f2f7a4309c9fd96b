"""The FollowupExtractor port on medspaCy: rule-based targets, ConText for negation / uncertainty / history.

Offline and rules only: `medspacy.load(load_rules=False)` on a blank English pipeline (PyRuSH
sentences, TargetMatcher, ConText), with radflow's own targets and ConText rules from
catalog/rads. medspaCy ships no rule for "recommend", so recommendation cues are radflow's too.
The pipeline is built once per process, on first use, never at import.
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from radflow.adapters.nlp.vocabulary import ContextRuleSpec, ExamTerm, Vocabulary, load_vocabulary
from radflow.domain.rads.extraction import CriticalFinding, Extraction, FollowUpRecommendation
from radflow.domain.rads.intervals import IntervalPhrase, find_intervals

_CRITICAL, _CONTEXTUAL, _EXAM = "critical:", "contextual:", "exam:"
_FLAG_OF = {
    "NEGATED_EXISTENCE": "negated",
    "POSSIBLE_EXISTENCE": "uncertain",
    "HISTORICAL": "historical",
    "HYPOTHETICAL": "hypothetical",
    "NOT_A_RECOMMENDATION": "not_a_recommendation",
}
# "ultrasound with Doppler" is one exam; "CT or MRI" one recommendation with two answers.
_SAME_EXAM_JOINER = re.compile(r"^\s*(?:with|and|plus|/)\s*$", re.IGNORECASE)
_ALTERNATIVE_JOINER = re.compile(r"^\s*(?:or|versus|vs\.?)\s*$", re.IGNORECASE)
_AT_INTERVAL = re.compile(r"\b(?:in|at|within|every)\s+$", re.IGNORECASE)


def _build_pipeline(vocabulary: Vocabulary) -> Any:
    """A blank-English medspaCy pipeline with radflow's targets and ConText rules."""
    from loguru import logger

    logger.disable("PyRuSH")  # PyRuSH logs every sentence boundary at DEBUG through loguru
    import medspacy
    from medspacy.context import ConTextRule
    from medspacy.target_matcher import TargetRule

    nlp = medspacy.load(load_rules=False)
    targets = [TargetRule(kind, f"{_CRITICAL}{kind}", pattern=pattern)
               for kind, term in vocabulary.findings.items() for pattern in term.patterns]
    targets += [TargetRule(f"contextual {i}", f"{_CONTEXTUAL}{i}", pattern=term.pattern)
                for i, term in enumerate(vocabulary.contextual)]
    targets += [TargetRule(f"exam {i}", f"{_EXAM}{i}", pattern=pattern)
                for i, exam in enumerate(vocabulary.exams) for pattern in exam.patterns]
    nlp.get_pipe("medspacy_target_matcher").add(targets)
    critical_labels = {f"{_CRITICAL}{kind}" for kind in vocabulary.findings}
    critical_labels |= {f"{_CONTEXTUAL}{i}" for i in range(len(vocabulary.contextual))}
    exam_labels = {f"{_EXAM}{i}" for i in range(len(vocabulary.exams))}
    scopes = {"critical": critical_labels, "followup": exam_labels, "all": None}
    nlp.get_pipe("medspacy_context").add([
        _context_rule(spec, literal, scopes[spec.applies_to], ConTextRule)
        for spec in vocabulary.context_rules for literal in spec.literals
    ])
    return nlp


def _context_rule(spec: ContextRuleSpec, literal: str, allowed: set[str] | None, rule_class: Any) -> Any:
    return rule_class(literal, spec.category, direction=spec.direction, max_scope=spec.max_scope,
                      allowed_types=allowed, terminated_by=set(spec.terminated_by) or None)


@dataclass
class _Target:
    label: str
    text: str
    start: int
    end: int
    sentence: str
    sentence_start: int
    flags: set[str]


def _targets(doc: Any) -> list[_Target]:
    found = []
    for ent in doc.ents:
        flags = {_FLAG_OF[m.category] for m in ent._.modifiers if m.category in _FLAG_OF}
        found.append(_Target(ent.label_, ent.text, ent.start_char, ent.end_char, ent.sent.text,
                             ent.sent.start_char, flags))
    return found


class MedspacyFollowupExtractor:
    """Finds follow-up recommendations and critical findings in report text (rules, offline)."""

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self._vocabulary = vocabulary or load_vocabulary()
        self._nlp: Any = None
        self._lock = threading.Lock()

    def _pipeline(self) -> Any:
        with self._lock:
            if self._nlp is None:
                self._nlp = _build_pipeline(self._vocabulary)
            return self._nlp

    def extract(self, text: str, *, reference_date: date | None = None) -> Extraction:
        """Extract critical findings and follow-up recommendations from one report text."""
        nlp = self._pipeline()
        with warnings.catch_warnings():
            # spaCy W036: medspaCy's token matchers stay empty; radflow's rules are regexes and phrases.
            warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)
            doc = nlp(text)
        targets = _targets(doc)
        critical = self._critical_findings([t for t in targets if not t.label.startswith(_EXAM)])
        followups = self._followups([t for t in targets if t.label.startswith(_EXAM)], reference_date)
        return Extraction(tuple(critical), tuple(followups))

    # -- critical findings -------------------------------------------------------------------
    def _resolve_type(self, target: _Target) -> str | None:
        if target.label.startswith(_CRITICAL):
            return target.label.removeprefix(_CRITICAL)
        term = self._vocabulary.contextual[int(target.label.removeprefix(_CONTEXTUAL))]
        for resolution in term.resolve:
            if resolution.when.search(target.sentence) and not (
                resolution.unless and resolution.unless.search(target.sentence)
            ):
                return resolution.type
        return None

    def _critical_findings(self, targets: list[_Target]) -> list[CriticalFinding]:
        merged: dict[tuple[int, str], CriticalFinding] = {}
        for target in targets:
            kind = self._resolve_type(target)
            if kind is None:
                continue
            hypothetical = "hypothetical" in target.flags
            finding = CriticalFinding(
                type=kind, label=self._vocabulary.findings[kind].label, level=self._vocabulary.findings[kind].level,
                text=target.text, sentence=target.sentence, start=target.start, end=target.end,
                negated="negated" in target.flags,
                # A finding posed as a question or a condition is not "possible": it is not asserted at all.
                uncertain="uncertain" in target.flags and not hypothetical,
                historical="historical" in target.flags,
                hypothetical=hypothetical,
            )
            key = (target.sentence_start, kind)
            if key in merged:
                finding = _merge(merged[key], finding)
            merged[key] = finding
        return sorted(merged.values(), key=lambda f: f.start)

    # -- follow-up recommendations -----------------------------------------------------------
    def _exam(self, target: _Target) -> ExamTerm:
        return self._vocabulary.exams[int(target.label.removeprefix(_EXAM))]

    def _recommends(self, target: _Target, intervals: list[IntervalPhrase]) -> bool:
        sentence = target.sentence
        if self._vocabulary.cues.search(sentence) or self._vocabulary.openers.search(_strip_heading(sentence)):
            return True
        start, end = target.start - target.sentence_start, target.end - target.sentence_start
        before, after = self._vocabulary.interval_before_exam_chars, self._vocabulary.interval_after_exam_chars
        # "3-month LDCT", "annual screening mammography"
        if any(0 <= start - item.end <= before for item in intervals):
            return True
        # "a follow-up radiograph in 10-14 days"
        return any(0 <= item.start - end <= after and _AT_INTERVAL.search(sentence[end:item.start])
                   for item in intervals)

    def _followups(self, targets: list[_Target], reference: date | None) -> list[FollowUpRecommendation]:
        by_sentence: dict[int, list[_Target]] = {}
        for target in targets:
            if "not_a_recommendation" not in target.flags and "historical" not in target.flags:
                by_sentence.setdefault(target.sentence_start, []).append(target)
        recommendations: list[FollowUpRecommendation] = []
        for sentence_start, group in sorted(by_sentence.items()):
            intervals = find_intervals(group[0].sentence, reference)
            kept = [t for t in group if self._recommends(t, intervals)]
            specific = [t for t in kept if not self._exam(t).generic]
            chosen = _join_alternatives(specific, self._exam) if specific else [[kept[0]]] if kept else []
            for index, members in enumerate(chosen):
                recommendations.append(
                    self._recommendation(members, chosen, index, intervals, sentence_start, reference)
                )
        return recommendations

    def _recommendation(
        self, members: list[_Target], chosen: list[list[_Target]], index: int, intervals: list[IntervalPhrase],
        sentence_start: int, reference: date | None,
    ) -> FollowUpRecommendation:
        first, last = members[0], members[-1]
        lower = chosen[index - 1][-1].end - sentence_start if index else 0
        upper = chosen[index + 1][0].start - sentence_start if index + 1 < len(chosen) else len(first.sentence)
        here = (first.start - sentence_start, last.end - sentence_start)
        interval = _interval_for(here, lower, upper, intervals)
        modalities = tuple(dict.fromkeys(self._exam(m).modality for m in members))
        sampling = any(self._exam(m).procedure == "tissue_sampling" for m in members)
        procedure = "tissue_sampling" if sampling else "imaging"
        days = interval.days if interval else None
        return FollowUpRecommendation(
            modalities=modalities,
            exam=first.sentence[here[0]:here[1]],
            procedure=procedure,
            sentence=first.sentence,
            start=first.start,
            end=last.end,
            interval_phrase=interval.phrase if interval else None,
            interval_days=days,
            interval_days_max=interval.days_max if interval else None,
            due_date=reference + timedelta(days=days) if reference and days is not None else None,
            negated=any("negated" in m.flags for m in members),
            hypothetical=any("hypothetical" in m.flags for m in members),
        )


def _merge(first: CriticalFinding, second: CriticalFinding) -> CriticalFinding:
    """Two mentions of one finding in one sentence: asserted if either asserts it, uncertain if either hedges."""
    return CriticalFinding(
        type=first.type, label=first.label, level=first.level, text=first.text, sentence=first.sentence,
        start=first.start, end=first.end,
        negated=first.negated and second.negated,
        # a hedge on either mention hedges the finding ("twisted spermatic cord, concerning for torsion")
        uncertain=first.uncertain or second.uncertain,
        historical=first.historical and second.historical,
        hypothetical=first.hypothetical and second.hypothetical,
    )


def _strip_heading(sentence: str) -> str:
    """Drop "IMPRESSION:", "2." and "Lung-RADS 4A:" style prefixes before looking for an opener."""
    return re.sub(r"^\W*(?:impression:|\d+[.)]|[\w-]*rads\s+\w+\s*[:,-][^:]*?:)\s*", "", sentence, flags=re.IGNORECASE)


def _join_alternatives(targets: list[_Target], exam_of: Any) -> list[list[_Target]]:
    """Group targets that name one recommendation: "CT or MRI", "ultrasound with Doppler"."""
    groups: list[list[_Target]] = []
    for target in sorted(targets, key=lambda t: t.start):
        if groups:
            previous = groups[-1][-1]
            between = target.sentence[previous.end - previous.sentence_start:target.start - target.sentence_start]
            same = exam_of(previous).modality == exam_of(target).modality
            if _ALTERNATIVE_JOINER.match(between) or (same and _SAME_EXAM_JOINER.match(between)):
                groups[-1].append(target)
                continue
        groups.append([target])
    return groups


def _interval_for(
    span: tuple[int, int], lower: int, upper: int, intervals: list[IntervalPhrase]
) -> IntervalPhrase | None:
    """The interval after the exam (before the next one), else the closest one before it."""
    after = [i for i in intervals if span[1] <= i.start < upper]
    if after:
        return after[0]
    before = [i for i in intervals if lower <= i.start and i.end <= span[0]]
    return before[-1] if before else None


_DEFAULT: MedspacyFollowupExtractor | None = None
_DEFAULT_LOCK = threading.Lock()


def default_extractor() -> MedspacyFollowupExtractor:
    """The process's extractor, built on first use (loading medspaCy takes a few seconds)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = MedspacyFollowupExtractor()
        return _DEFAULT


def _reference_date(obj: dict[str, Any]) -> date | None:
    from radflow.domain.errors import ValidationError

    value = obj.get("reference_date")
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"'reference_date' is {value!r}: expected YYYY-MM-DD", field="reference_date") from None


def extract_json(obj: dict[str, Any]) -> dict[str, Any]:
    """{"text": ..., "reference_date"?: "YYYY-MM-DD"} -> recommendations and critical findings (JSON)."""
    from radflow.domain.errors import ValidationError

    if not isinstance(obj, dict):
        raise ValidationError("the request must be a JSON object with 'text'", field="text")
    unknown = sorted(set(obj) - {"text", "reference_date"})
    if unknown:
        raise ValidationError(f"'{unknown[0]}' is not a field; expected 'text' and optional 'reference_date'",
                              field=unknown[0])
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("'text' is required: the report text to read", field="text")
    return default_extractor().extract(text, reference_date=_reference_date(obj)).to_json()
