"""Scoring the extractor against a labeled corpus (tests/data/followup): precision, recall, per flag.

Critical findings are compared per item and type (several mentions of one type in one item count
once, asserted if any mention asserts it). Follow-up recommendations are paired per item, first
where the modality agrees, then any; a pair is a detection, and its modality, interval and flags
are scored on top. "Actionable" compares only what should become a critical-result record or a
follow-up item.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radflow.domain.rads.extraction import Extraction, FollowupExtractor

CRITICAL_FLAGS = ("negated", "uncertain", "historical", "hypothetical")
FOLLOWUP_FLAGS = ("negated", "hypothetical")


@dataclass
class Tally:
    """True positives, false positives, false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was to be found."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, gold: bool, predicted: bool) -> None:
        """Count one decision."""
        if gold and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif gold:
            self.fn += 1


@dataclass
class Score:
    """All figures for one split."""

    items: int = 0
    critical: Tally = field(default_factory=Tally)
    critical_actionable: Tally = field(default_factory=Tally)
    critical_flags: dict[str, Tally] = field(default_factory=lambda: {f: Tally() for f in CRITICAL_FLAGS})
    followup: Tally = field(default_factory=Tally)
    followup_actionable: Tally = field(default_factory=Tally)
    followup_flags: dict[str, Tally] = field(default_factory=lambda: {f: Tally() for f in FOLLOWUP_FLAGS})
    modality_agrees: int = 0
    interval_agrees: int = 0
    errors: list[str] = field(default_factory=list)


def read_corpus(path: Path) -> list[dict[str, Any]]:
    """The labeled items of one split file (JSON lines)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _predicted_critical(extraction: Extraction) -> dict[str, dict[str, bool]]:
    found: dict[str, dict[str, bool]] = {}
    for finding in extraction.critical_findings:
        flags = {flag: bool(getattr(finding, flag)) for flag in CRITICAL_FLAGS}
        if finding.type in found:
            flags = {flag: (found[finding.type][flag] or flags[flag]) if flag == "uncertain"
                     else (found[finding.type][flag] and flags[flag]) for flag in CRITICAL_FLAGS}
        found[finding.type] = flags
    return found


def _asserted(flags: Mapping[str, bool]) -> bool:
    return not (flags["negated"] or flags["historical"] or flags["hypothetical"])


def _score_critical(item: Mapping[str, Any], extraction: Extraction, score: Score) -> None:
    gold = {m["type"]: {f: bool(m[f]) for f in CRITICAL_FLAGS} for m in item["critical"]}
    predicted = _predicted_critical(extraction)
    for kind in gold.keys() | predicted.keys():
        score.critical.add(kind in gold, kind in predicted)
        score.critical_actionable.add(kind in gold and _asserted(gold[kind]),
                                      kind in predicted and _asserted(predicted[kind]))
        if kind in gold and kind in predicted:
            for flag in CRITICAL_FLAGS:
                score.critical_flags[flag].add(gold[kind][flag], predicted[kind][flag])
                if gold[kind][flag] != predicted[kind][flag]:
                    score.errors.append(f"{item['id']} critical {kind} flag {flag}: gold {gold[kind][flag]} | "
                                        f"{item['text']}")
        elif kind in gold:
            score.errors.append(f"{item['id']} critical MISSED {kind} | {item['text']}")
        else:
            score.errors.append(f"{item['id']} critical EXTRA {kind} | {item['text']}")


def _pairs(gold: Sequence[Mapping[str, Any]], predicted: Sequence[Any]) -> list[tuple[int, int, bool]]:
    """Pair gold and predicted recommendations: first where the modality agrees, then any."""
    pairs: list[tuple[int, int, bool]] = []
    free_gold, free_pred = list(range(len(gold))), list(range(len(predicted)))
    for g in list(free_gold):
        for p in free_pred:
            if set(gold[g]["modalities"]) & set(predicted[p].modalities):
                pairs.append((g, p, True))
                free_gold.remove(g)
                free_pred.remove(p)
                break
    pairs += [(g, p, False) for g, p in zip(free_gold, free_pred, strict=False)]
    return pairs


def _score_followups(item: Mapping[str, Any], extraction: Extraction, score: Score) -> None:
    gold, predicted = item["followups"], list(extraction.followups)
    pairs = _pairs(gold, predicted)
    score.followup.tp += len(pairs)
    score.followup.fp += len(predicted) - len(pairs)
    score.followup.fn += len(gold) - len(pairs)
    if len(predicted) > len(pairs):
        score.errors.append(f"{item['id']} follow-up EXTRA {len(predicted) - len(pairs)} | {item['text']}")
    if len(gold) > len(pairs):
        score.errors.append(f"{item['id']} follow-up MISSED {len(gold) - len(pairs)} | {item['text']}")
    for g, p, modality_ok in pairs:
        score.modality_agrees += modality_ok
        interval_ok = gold[g]["interval_days"] == predicted[p].interval_days
        score.interval_agrees += interval_ok
        if not modality_ok or not interval_ok:
            what = "modality" if not modality_ok else "interval"
            expected = f"{gold[g]['modalities']}@{gold[g]['interval_days']}"
            got = f"{list(predicted[p].modalities)}@{predicted[p].interval_days}"
            score.errors.append(f"{item['id']} follow-up {what}: gold {expected} got {got} | {item['text']}")
        for flag in FOLLOWUP_FLAGS:
            score.followup_flags[flag].add(bool(gold[g][flag]), bool(getattr(predicted[p], flag)))
            if bool(gold[g][flag]) != bool(getattr(predicted[p], flag)):
                score.errors.append(f"{item['id']} follow-up flag {flag}: gold {gold[g][flag]} | {item['text']}")
    gold_actionable = [g for g in gold if not (g["negated"] or g["hypothetical"])]
    pred_actionable = [p for p in predicted if p.actionable]
    matched = len(_pairs(gold_actionable, pred_actionable))
    score.followup_actionable.tp += matched
    score.followup_actionable.fp += len(pred_actionable) - matched
    score.followup_actionable.fn += len(gold_actionable) - matched


def score_corpus(extractor: FollowupExtractor, items: Iterable[Mapping[str, Any]]) -> Score:
    """Run the extractor on every item and score it against the labels."""
    score = Score()
    for item in items:
        extraction = extractor.extract(item["text"])
        score.items += 1
        _score_critical(item, extraction, score)
        _score_followups(item, extraction, score)
    return score
