"""The condition language: how comparisons treat missing answers, fact references and lists."""

from __future__ import annotations

import pytest

from radflow.domain.errors import ValidationError
from radflow.domain.screening.conditions import ConditionParser, FactKind, FactSpec, FactValue, holds

FACTS = {
    spec.name: spec
    for spec in (
        FactSpec("answer.weight", FactKind.NUMBER),
        FactSpec("exam.limit", FactKind.NUMBER),
        FactSpec("exam.field", FactKind.NUMBER),
        FactSpec("answer.fields", FactKind.NUMBER_LIST),
        FactSpec("answer.device", FactKind.CHOICE, frozenset({"none", "mr_conditional"})),
        FactSpec("answer.pump", FactKind.BOOLEAN),
        FactSpec("unverified.mri", FactKind.TEXT_LIST),
    )
}
PARSER = ConditionParser(FACTS)


def _holds(raw: object, facts: dict[str, FactValue]) -> bool:
    return holds(PARSER.parse(raw, "test"), facts)


def test_a_comparison_with_an_unanswered_item_is_false_either_way() -> None:
    assert not _holds(["answer.device", "eq", "none"], {})
    assert not _holds(["answer.device", "ne", "none"], {})
    assert _holds({"not": ["answer.device", "eq", "none"]}, {})
    assert _holds(["answer.device", "unanswered"], {})
    assert _holds(["answer.device", "ne", "none"], {"answer.device": "mr_conditional"})


def test_a_true_answer_does_not_equal_the_number_one() -> None:
    condition = PARSER.parse(["answer.pump", "eq", True], "test")
    assert holds(condition, {"answer.pump": True})
    assert not holds(condition, {"answer.pump": 1})


def test_fact_reference_compares_two_facts_and_is_false_if_either_is_missing() -> None:
    over = ["answer.weight", "gt", {"fact": "exam.limit"}]
    assert holds(PARSER.parse(over, "t"), {"answer.weight": 210.0, "exam.limit": 204.0})
    assert not holds(PARSER.parse(over, "t"), {"answer.weight": 204.0, "exam.limit": 204.0})
    assert not holds(PARSER.parse(over, "t"), {"answer.weight": 210.0})


def test_field_strength_not_in_the_labeled_list() -> None:
    outside = PARSER.parse(["exam.field", "not_in", {"fact": "answer.fields"}], "t")
    assert holds(outside, {"exam.field": 3.0, "answer.fields": (1.5,)})
    assert not holds(outside, {"exam.field": 3, "answer.fields": (1.5, 3.0)})
    assert not holds(outside, {"exam.field": 3.0})


def test_nonempty_list_fact() -> None:
    condition = PARSER.parse(["unverified.mri", "nonempty"], "t")
    assert holds(condition, {"unverified.mri": ("answer.device",)})
    assert not holds(condition, {"unverified.mri": ()})


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        (["answer.device", "eq", "mr_conditonal"], "not an answer option"),
        (["answer.device", "lt", 3], "compares a number fact"),
        (["answer.weight", "eq", "80"], "does not fit answer.weight"),
        (["answer.pump", "nonempty"], "applies to list facts"),
        (["answer.weight", "between", [1, 2]], "unknown operator"),
        ({"all": []}, "non-empty list"),
        ({"all": [], "any": []}, "exactly one key"),
        ({"ref": "ionizing"}, "unknown named condition"),
        ("answer.pump", "a condition is"),
        (["answer.device", "in", {"fact": "answer.fields"}], "cannot compare"),
    ],
)
def test_malformed_conditions_are_refused_with_a_reason(raw: object, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        PARSER.parse(raw, "rule 'x'")
