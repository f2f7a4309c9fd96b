"""Report templates as data: every exam in the catalog has one, and a malformed file is refused by name."""

from __future__ import annotations

import pytest

from radflow.catalog.loader import load_catalog
from radflow.catalog.report_templates import load_templates, parse_templates
from radflow.domain.errors import NotFound, ValidationError


def test_every_catalog_exam_has_its_report_template() -> None:
    templates = load_templates()
    keys = {protocol.report_template for protocol in load_catalog().protocols.values()}
    assert keys - set(templates.by_key) == set()


def test_templates_that_offer_a_calculator_are_the_exams_the_guideline_covers() -> None:
    by_key = load_templates().by_key
    assert by_key["ct_lung_screening"].rads_systems == ("lung-rads",)
    assert by_key["us_thyroid"].rads_systems == ("ti-rads",)
    assert {"mg_screening", "mg_diagnostic", "us_breast", "mr_breast"} <= {
        key for key, t in by_key.items() if "bi-rads" in t.rads_systems}
    assert "fleischner" in by_key["ct_chest"].rads_systems


def test_filling_puts_the_orders_facts_in_and_leaves_no_trace_of_blank_ones() -> None:
    template = load_templates().get("mr_msk")
    facts = {"protocol_name": "MR knee", "side": "left", "contrast_phrase": "", "reason_for_exam": ""}
    with_side, without = template.fill(facts), template.fill({**facts, "side": ""})
    assert with_side["technique"] == "MR knee (left): multiplanar MR imaging."
    assert without["technique"] == "MR knee: multiplanar MR imaging."


def test_an_unknown_template_is_named() -> None:
    with pytest.raises(NotFound, match="no report template 'ct_elbow'"):
        load_templates().get("ct_elbow")


@pytest.mark.parametrize(("entry", "message"), [
    ({"key": "x", "title": "X", "sections": {"findings": "a"}}, "'source' is required"),
    ({"key": "x", "title": "X", "source": "s", "sections": {"conclusion": "a", "findings": "b"}}, "unknown section"),
    ({"key": "x", "title": "X", "source": "s", "sections": {"findings": "{patient_name}"}}, "unknown placeholder"),
    ({"key": "x", "title": "X", "source": "s", "rads": ["pi-rads"], "sections": {"findings": "a"}}, "RADS system"),
    ({"key": "x", "title": "X", "source": "s", "sections": {"impression": "a"}}, "findings section"),
])
def test_a_malformed_template_is_refused_with_the_file_and_the_problem(entry: dict[str, object],
                                                                        message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        parse_templates({"bad.yaml": {"templates": [entry]}})
    assert "catalog/report_templates/bad.yaml" in refused.value.message


def test_a_key_defined_twice_is_refused() -> None:
    entry = {"key": "x", "title": "X", "source": "s", "sections": {"findings": "a"}}
    with pytest.raises(ValidationError, match="defined twice"):
        parse_templates({"a.yaml": {"templates": [entry]}, "b.yaml": {"templates": [entry]}})
