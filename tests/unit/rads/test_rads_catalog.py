"""The RADS catalogs are validated at load: a broken table is refused with the rule and field named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from radflow.catalog.rads import read_catalog_document
from radflow.domain.errors import ValidationError
from radflow.domain.rads.assessment import months_to_days
from radflow.domain.rads.fleischner import parse_fleischner_table
from radflow.domain.rads.lungrads import parse_lungrads_table
from radflow.domain.rads.mqsa import parse_mqsa_table
from radflow.domain.rads.tirads import parse_tirads_table


def lungrads_doc() -> dict[str, Any]:
    return copy.deepcopy(read_catalog_document("lungrads.yaml"))  # type: ignore[arg-type]


def test_every_shipped_rule_cites_its_source() -> None:
    table = parse_lungrads_table(lungrads_doc())
    fleischner = parse_fleischner_table(read_catalog_document("fleischner.yaml"))
    assert all(rule.source for rule in (*table.rules, *fleischner.rules))


def test_misspelt_fact_is_refused_with_the_rule_named() -> None:
    doc = lungrads_doc()
    doc["rules"][0]["when"] = {"diameter": {"lt": 6}}
    with pytest.raises(ValidationError, match=r"lr-1-benign-features.*unknown fact 'diameter'"):
        parse_lungrads_table(doc)


def test_rule_without_source_is_refused() -> None:
    doc = lungrads_doc()
    del doc["rules"][3]["source"]
    with pytest.raises(ValidationError, match="must cite its source"):
        parse_lungrads_table(doc)


def test_unknown_enum_value_and_band_on_a_non_number_are_refused() -> None:
    doc = lungrads_doc()
    doc["rules"][5]["when"]["nodule_type"] = "spiculated"
    with pytest.raises(ValidationError, match="unknown value"):
        parse_lungrads_table(doc)
    doc = lungrads_doc()
    doc["rules"][5]["when"]["diameter_mm"] = 6
    with pytest.raises(ValidationError, match="needs a band"):
        parse_lungrads_table(doc)


def test_duplicate_rule_id_is_refused() -> None:
    doc = lungrads_doc()
    doc["rules"][1]["id"] = doc["rules"][0]["id"]
    with pytest.raises(ValidationError, match="duplicate id"):
        parse_lungrads_table(doc)


def test_tirads_levels_with_a_gap_are_refused() -> None:
    doc: dict[str, Any] = copy.deepcopy(read_catalog_document("tirads.yaml"))  # type: ignore[arg-type]
    doc["levels"][2]["points"] = [4, 4]
    with pytest.raises(ValidationError, match="TR3 starts at 4, expected 3"):
        parse_tirads_table(doc)


def test_mqsa_category_without_a_lay_sentence_is_refused() -> None:
    doc: dict[str, Any] = copy.deepcopy(read_catalog_document("mqsa.yaml"))  # type: ignore[arg-type]
    del doc["lay_results"]["Benign"]
    with pytest.raises(ValidationError, match="no lay result sentence"):
        parse_mqsa_table(doc)


@pytest.mark.parametrize(("months", "days"), [(1, 30), (3, 91), (6, 183), (12, 365), (18, 548), (24, 731)])
def test_months_normalise_to_days(months: int, days: int) -> None:
    assert months_to_days(months) == days


@pytest.mark.parametrize("name", ["Lung-RADS", "lungrads", "LUNG_RADS", "Lung-RADS v2022"])
def test_system_is_recognised_however_it_is_spelt(name: str) -> None:
    from radflow.catalog.rads import assess_json

    assert assess_json({"system": name, "exam": "baseline", "nodules": []})["system"] == "Lung-RADS"


def test_finding_without_system_is_refused_naming_the_field() -> None:
    from radflow.catalog.rads import assess_json

    with pytest.raises(ValidationError) as error:
        assess_json({"exam": "baseline"})
    assert (error.value.field, error.value.message.startswith("'system' is required")) == ("system", True)
