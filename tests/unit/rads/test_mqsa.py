"""MQSA as amended (in force 10 September 2024): density wording, deadlines, lay letter blocks."""

from __future__ import annotations

from datetime import date

import pytest

from radflow.catalog.rads import load_mqsa
from radflow.domain.errors import ValidationError
from radflow.domain.rads.mqsa import (
    Facility,
    density_report_statement,
    lay_density_statement,
    lay_letter,
    mqsa_category,
    mqsa_deadlines,
)

# 21 CFR 900.12(c)(2)(iii) and (iv), quoted from the regulation.
NOT_DENSE = (
    "Breast tissue can be either dense or not dense. Dense tissue makes it harder to find breast cancer on a "
    "mammogram and also raises the risk of developing breast cancer. Your breast tissue is not dense. Talk to your "
    "healthcare provider about breast density, risks for breast cancer, and your individual situation."
)
DENSE = (
    "Breast tissue can be either dense or not dense. Dense tissue makes it harder to find breast cancer on a "
    "mammogram and also raises the risk of developing breast cancer. Your breast tissue is dense. In some people "
    "with dense tissue, other imaging tests in addition to a mammogram may help find cancers. Talk to your "
    "healthcare provider about breast density, risks for breast cancer, and your individual situation."
)
TABLE = load_mqsa()
FACILITY = Facility("Riverside Imaging Center", "100 Riverside Drive, Springfield", "+1 555 010 2000")


@pytest.mark.parametrize(("density", "statement"), [("a", NOT_DENSE), ("b", NOT_DENSE), ("c", DENSE), ("d", DENSE)])
def test_lay_summary_carries_the_prescribed_density_statement(density: str, statement: str) -> None:
    assert lay_density_statement(density, TABLE) == statement


@pytest.mark.parametrize(
    ("density", "sentence"),
    [
        ("a", "The breasts are almost entirely fatty."),
        ("b", "There are scattered areas of fibroglandular density."),
        ("c", "The breasts are heterogeneously dense, which may obscure small masses."),
        ("d", "The breasts are extremely dense, which lowers the sensitivity of mammography."),
    ],
)
def test_report_uses_the_regulation_density_sentence(density: str, sentence: str) -> None:
    assert density_report_statement(density, TABLE) == sentence


@pytest.mark.parametrize(
    ("birads", "reason", "category"),
    [("1", None, "Negative"), ("2", None, "Benign"), ("3", None, "Probably Benign"), ("4A", None, "Suspicious"),
     ("5", None, "Highly Suggestive of Malignancy"), ("6", None, "Known Biopsy Proven Malignancy"),
     ("0", "additional_imaging", "Incomplete: Need Additional Imaging Evaluation"),
     ("0", "prior_mammograms", "Incomplete: Need Prior Mammograms for Comparison")],
)
def test_birads_maps_to_the_rule_categories(birads: str, reason: str | None, category: str) -> None:
    assert mqsa_category(birads, TABLE, reason) == category


def test_routine_result_is_due_within_30_days_of_the_exam() -> None:
    due = mqsa_deadlines("Negative", date(2026, 3, 2), date(2026, 3, 4), TABLE)
    assert (due.lay_summary_due, due.provider_report_due, due.urgent) == (date(2026, 4, 1), date(2026, 4, 1), False)


@pytest.mark.parametrize("category", ["Suspicious", "Highly Suggestive of Malignancy"])
def test_suspicious_result_is_due_within_7_calendar_days_of_the_reading(category: str) -> None:
    due = mqsa_deadlines(category, date(2026, 3, 2), date(2026, 3, 5), TABLE)
    assert (due.lay_summary_due, due.provider_report_due, due.urgent) == (date(2026, 3, 12), date(2026, 3, 12), True)


def test_a_late_reading_never_moves_the_30_day_deadline() -> None:
    due = mqsa_deadlines("Suspicious", date(2026, 3, 2), date(2026, 3, 30), TABLE)
    assert due.lay_summary_due == date(2026, 4, 1)


def test_reading_before_the_exam_is_refused() -> None:
    with pytest.raises(ValidationError):
        mqsa_deadlines("Negative", date(2026, 3, 2), date(2026, 3, 1), TABLE)


def test_lay_letter_names_the_facility_and_carries_the_density_statement() -> None:
    letter = lay_letter("Probably Benign", FACILITY, TABLE, density="c")
    text = "\n\n".join(letter.paragraphs())
    for part in (FACILITY.name, FACILITY.address, FACILITY.phone, DENSE, "6 months"):
        assert part in text


def test_lay_letter_without_a_named_provider_says_the_report_is_enclosed() -> None:
    letter = lay_letter("Negative", FACILITY, TABLE, density=None, has_provider=False)
    assert "report of your mammogram is enclosed" in letter.provider_line
    assert letter.density_statement is None


def test_every_mqsa_category_has_its_lay_sentence() -> None:
    for category in set(TABLE.categories.values()):
        assert lay_letter(category, FACILITY, TABLE, density="a").result


def test_lay_letter_without_the_facility_phone_is_refused() -> None:
    with pytest.raises(ValidationError, match="phone"):
        lay_letter("Negative", Facility("Riverside", "100 Riverside Drive", " "), TABLE, density="a")
