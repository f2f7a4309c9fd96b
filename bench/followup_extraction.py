"""Measure the follow-up / critical-finding extraction on the labeled corpus (dev and the frozen test split).

    .venv/bin/python bench/followup_extraction.py                 # figures for dev and test
    .venv/bin/python bench/followup_extraction.py --errors dev    # list dev disagreements (tune on dev only)
    .venv/bin/python bench/followup_extraction.py --write         # also write bench/results/followup.md

Goals on test: recall >= 0.95 for critical findings, >= 0.90 for follow-up recommendations,
precision >= 0.85 for both.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from radflow.adapters.nlp import MedspacyFollowupExtractor  # noqa: E402
from radflow.adapters.nlp.scoring import CRITICAL_FLAGS, FOLLOWUP_FLAGS, Score, Tally, read_corpus, score_corpus  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "followup"
RESULTS = ROOT / "bench" / "results" / "followup.md"


def _row(name: str, tally: Tally) -> str:
    support = tally.tp + tally.fn
    return f"| {name} | {tally.precision:.3f} | {tally.recall:.3f} | {tally.tp} | {tally.fp} | {tally.fn} | {support} |"


def table(split: str, score: Score, seconds: float) -> list[str]:
    """The markdown table of one split."""
    pairs = score.followup.tp or 1
    lines = [
        f"### {split} ({score.items} items, {seconds:.2f} s, {1000 * seconds / max(score.items, 1):.1f} ms per item)",
        "",
        "| measure | precision | recall | tp | fp | fn | gold |",
        "|---|---|---|---|---|---|---|",
        _row("critical findings (type)", score.critical),
        _row("critical findings, asserted (actionable)", score.critical_actionable),
        *(_row(f"critical flag: {flag}", score.critical_flags[flag]) for flag in CRITICAL_FLAGS),
        _row("follow-up recommendations", score.followup),
        _row("follow-up recommendations, actionable", score.followup_actionable),
        *(_row(f"follow-up flag: {flag}", score.followup_flags[flag]) for flag in FOLLOWUP_FLAGS),
        "",
        f"Of {score.followup.tp} detected recommendations: modality right {score.modality_agrees} "
        f"({score.modality_agrees / pairs:.3f}), interval in days right {score.interval_agrees} "
        f"({score.interval_agrees / pairs:.3f}).",
        "",
    ]
    return lines


def main() -> int:
    """Score dev and test; optionally list dev errors and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--errors", choices=["dev", "test"], help="list the disagreements of one split")
    parser.add_argument("--write", action="store_true", help="write bench/results/followup.md")
    args = parser.parse_args()
    started = time.perf_counter()
    extractor = MedspacyFollowupExtractor()
    extractor.extract("warm up")
    load_seconds = time.perf_counter() - started
    output = [f"Pipeline load: {load_seconds:.2f} s", ""]
    scores: dict[str, Score] = {}
    for split in ("dev", "test"):
        items = read_corpus(CORPUS / f"{split}.jsonl")
        t0 = time.perf_counter()
        scores[split] = score_corpus(extractor, items)
        output += table(split, scores[split], time.perf_counter() - t0)
    test = scores["test"]
    goals = [
        ("critical recall >= 0.95", test.critical.recall >= 0.95),
        ("follow-up recall >= 0.90", test.followup.recall >= 0.90),
        ("critical precision >= 0.85", test.critical.precision >= 0.85),
        ("follow-up precision >= 0.85", test.followup.precision >= 0.85),
    ]
    output += ["Goals on test: " + "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in goals), ""]
    print("\n".join(output))
    if args.errors:
        print("\n".join(scores[args.errors].errors))
    if args.write:
        header = [
            "# Follow-up and critical-finding extraction",
            "",
            "Command: `.venv/bin/python bench/followup_extraction.py --write`",
            f"Machine: {platform.platform()}, Python {platform.python_version()}",
            "",
            "Corpus: `tests/data/followup/` (474 labeled sentences; dev 60 % for tuning, test 40 % frozen, "
            "committed before any rule was written). Scoring: `radflow.adapters.nlp.scoring`.",
            "",
            "Read with care: the sentences were written by the same engineer who wrote the rules, so these",
            "figures are optimistic for real reports. Rules were tuned on dev errors only; the test split's",
            "errors were never listed during tuning (its totals are printed on every run).",
            "",
        ]
        RESULTS.write_text("\n".join(header + output) + "\n", encoding="utf-8")
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    raise SystemExit(main())
