"""The extractor meets its goals on the frozen test split of the labeled corpus (tests/data/followup)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from radflow.adapters.nlp import default_extractor
from radflow.adapters.nlp.scoring import read_corpus, score_corpus

CORPUS = Path(__file__).resolve().parents[2] / "data" / "followup"


def test_corpus_has_at_least_300_labeled_sentences_split_60_40() -> None:
    dev, test = read_corpus(CORPUS / "dev.jsonl"), read_corpus(CORPUS / "test.jsonl")
    assert len(dev) + len(test) >= 300
    assert not {item["id"] for item in dev} & {item["id"] for item in test}
    assert 0.35 <= len(test) / (len(dev) + len(test)) <= 0.45


def test_extractor_meets_the_goals_on_the_frozen_test_split() -> None:
    started = time.perf_counter()
    score = score_corpus(default_extractor(), read_corpus(CORPUS / "test.jsonl"))
    assert time.perf_counter() - started < 60
    assert score.critical.recall >= 0.95, score.errors
    assert score.followup.recall >= 0.90, score.errors
    assert score.critical.precision >= 0.85, score.errors
    assert score.followup.precision >= 0.85, score.errors


def test_test_split_is_the_one_committed_before_tuning() -> None:
    digest = hashlib.sha256((CORPUS / "test.jsonl").read_bytes()).hexdigest()
    assert digest == FROZEN_TEST_SHA256


# sha256 of tests/data/followup/test.jsonl as committed in b110df1, before any extraction rule existed.
FROZEN_TEST_SHA256 = "6d7881d2a60f8f966e5c0e6d799893e8261681427897151e3a1888c3db476bb7"
