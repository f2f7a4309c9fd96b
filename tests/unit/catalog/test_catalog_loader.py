"""The catalog loader: lookups on the shipped catalog, and a bad file refused whole with a clear message."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from radflow.catalog.loader import CATALOG_DIR, CatalogError, load_catalog
from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.protocols import ContrastPhase, Modality

Doc = dict[str, Any]
SHIPPED_PROTOCOLS: Doc = yaml.safe_load((CATALOG_DIR / "protocols.yaml").read_text(encoding="utf-8"))
SHIPPED_PAYERS: Doc = yaml.safe_load((CATALOG_DIR / "payers.yaml").read_text(encoding="utf-8"))
CATALOG = load_catalog()


def write_catalog(directory: Path, protocols: Doc, payers: Doc) -> Path:
    for name, doc in (("protocols.yaml", protocols), ("payers.yaml", payers)):
        text = yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True)
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def protocol_entry(doc: Doc, code: str) -> Doc:
    return next(p for p in doc["protocols"] if p["code"] == code)


def payer_entry(doc: Doc, payer_id: str) -> Doc:
    return next(p for p in doc["payers"] if p["id"] == payer_id)


def refusal(tmp_path: Path, edit: Callable[[Doc, Doc], None]) -> CatalogError:
    protocols, payers = copy.deepcopy(SHIPPED_PROTOCOLS), copy.deepcopy(SHIPPED_PAYERS)
    edit(protocols, payers)
    with pytest.raises(CatalogError) as refused:
        load_catalog(write_catalog(tmp_path, protocols, payers))
    return refused.value


# --------------------------------------------------------------------------- lookups


def test_the_shipped_catalog_loads_from_its_own_directory_when_no_path_is_given() -> None:
    assert len(CATALOG) >= 65
    assert CATALOG.protocol("MR-LSPINE").name == "MRI lumbar spine"


def test_an_unknown_protocol_code_is_not_found_and_named() -> None:
    with pytest.raises(NotFound, match="'MR-LSPNE'"):
        CATALOG.protocol("MR-LSPNE")


def test_an_unknown_payer_is_not_found_and_the_known_payers_are_listed() -> None:
    with pytest.raises(NotFound, match=r"'acme_health'.*uhc_commercial"):
        CATALOG.payer("acme_health")


def test_a_cpt_code_finds_its_protocol_and_contrast_variant() -> None:
    protocol, variant = CATALOG.protocol_for_cpt("72149")
    assert (protocol.code, variant.phase) == ("MR-LSPINE", ContrastPhase.WITH)


def test_a_code_shared_through_same_codes_as_finds_the_general_protocol() -> None:
    assert CATALOG.protocol_for_cpt("72148")[0].code == "MR-LSPINE"  # not the wide-bore MR-LSPINE-WB
    assert CATALOG.protocol_for_cpt("77067")[0].code == "MG-SCREEN"  # not MG-SCREEN-TOMO
    assert CATALOG.protocol_for_cpt("71260")[0].code == "CT-CHEST"  # 71260 is CT-CAP's second code only


def test_an_unknown_cpt_code_is_not_found_and_named() -> None:
    with pytest.raises(NotFound, match="'99999'"):
        CATALOG.protocol_for_cpt("99999")


def test_a_contrast_phase_the_protocol_lacks_is_not_found_and_the_offered_phases_listed() -> None:
    with pytest.raises(NotFound, match=r"DX-CHEST has no 'with'.*offers: without"):
        CATALOG.protocol("DX-CHEST").variant("with")


def test_a_cr_room_is_offered_the_radiograph_protocols() -> None:
    on_cr = {p.code for p in CATALOG.protocols_for_modality(Modality.CR)}
    assert "DX-CHEST" in on_cr
    assert not any(code.startswith("CT-") for code in on_cr)


def test_the_loaded_catalog_cannot_be_changed_in_place() -> None:
    with pytest.raises(TypeError):
        CATALOG.protocols["MR-LSPINE"] = CATALOG.protocol("CT-HEAD")  # type: ignore[index]


def test_a_catalog_copied_unchanged_loads_the_same_protocols(tmp_path: Path) -> None:
    copied = load_catalog(write_catalog(tmp_path, SHIPPED_PROTOCOLS, SHIPPED_PAYERS))
    assert copied.protocols == CATALOG.protocols
    assert copied.payers == CATALOG.payers


# --------------------------------------------------------------------------- refusals

Edit = Callable[[Doc, Doc], None]


def _set(code: str, field: str, value: object) -> Edit:
    return lambda protocols, _: protocol_entry(protocols, code).__setitem__(field, value)


def _set_variant(code: str, index: int, field: str, value: object) -> Edit:
    return lambda protocols, _: protocol_entry(protocols, code)["variants"][index].__setitem__(field, value)


def _duplicate_code(protocols: Doc, _: Doc) -> None:
    protocols["protocols"].append(copy.deepcopy(protocol_entry(protocols, "CT-HEAD")))


def _share_code_silently(protocols: Doc, _: Doc) -> None:
    del protocol_entry(protocols, "MR-LSPINE-WB")["same_codes_as"]


def _set_rule(payer_id: str, index: int, field: str, value: object) -> Edit:
    return lambda _, payers: payer_entry(payers, payer_id)["rules"][index].__setitem__(field, value)


def _drop_catch_all(_: Doc, payers: Doc) -> None:
    payer_entry(payers, "aetna_commercial")["rules"].pop()


def _catch_all_first(_: Doc, payers: Doc) -> None:
    rules = payer_entry(payers, "uhc_commercial")["rules"]
    rules.insert(0, copy.deepcopy(rules[-1]) | {"id": "uhc-early-catch-all"})


def _required_without_validity(_: Doc, payers: Doc) -> None:
    del payer_entry(payers, "uhc_commercial")["approval_validity_days"]


def _duplicate_payer(_: Doc, payers: Doc) -> None:
    payers["payers"].append(copy.deepcopy(payer_entry(payers, "self_pay")) | {"name": "Cash"})


REFUSALS: dict[str, tuple[Edit, list[str]]] = {
    "duplicate protocol code": (_duplicate_code, ["protocol 'CT-HEAD'", "'code'", "defined twice"]),
    "unknown modality": (_set("MR-KNEE", "modality", "MRI"), ["protocol 'MR-KNEE'", "'modality'", "'MRI'"]),
    "unknown body part": (_set("MR-KNEE", "body_part", "KNEES"), ["protocol 'MR-KNEE'", "'body_part'", "KNEES"]),
    "unknown body region": (_set("MR-KNEE", "body_region", "leg"), ["protocol 'MR-KNEE'", "'body_region'", "'leg'"]),
    "unknown contrast agent": (
        _set_variant("MR-KNEE", 1, "agent", "gadolinum"), ["protocol 'MR-KNEE'", "'variants[1].agent'", "gadolinum"]
    ),
    "unknown screening": (
        _set("MR-KNEE", "screening", ["mri_safty"]), ["protocol 'MR-KNEE'", "'screening'", "'mri_safty'"]
    ),
    "malformed CPT code": (
        _set_variant("MR-KNEE", 0, "cpt", "7372"), ["protocol 'MR-KNEE'", "'variants[0].cpt'", "'7372' is not a CPT"]
    ),
    "CPT code written as a number": (
        _set_variant("MR-KNEE", 0, "cpt", 73721), ["protocol 'MR-KNEE'", "'variants[0].cpt'", "must be non-empty text"]
    ),
    "minutes off the 5-minute grid": (
        _set_variant("MR-KNEE", 0, "minutes", 32), ["protocol 'MR-KNEE'", "'variants[0].minutes'", "multiple of 5"]
    ),
    "zero minutes": (_set_variant("MR-KNEE", 0, "minutes", 0), ["'variants[0].minutes'", "positive multiple of 5"]),
    "no variants": (_set("MR-KNEE", "variants", []), ["protocol 'MR-KNEE'", "'variants'", "at least one"]),
    "contrast agent on a without variant": (
        _set_variant("MR-KNEE", 0, "agent", "gadolinium"), ["'variants[0].agent'", "'without' variant cannot"]
    ),
    "misspelt protocol field": (_set("MR-KNEE", "laterality_requird", True), ["'laterality_requird'", "unknown field"]),
    "payer family that does not fit the modality": (
        _set("MR-KNEE", "cpt_group", "ct"), ["protocol 'MR-KNEE'", "'cpt_group'", "does not fit modality MR"]
    ),
    "undefined preparation": (
        _set("MR-KNEE", "preparation", "mr_standrd"), ["protocol 'MR-KNEE'", "'preparation'", "mr_standrd"]
    ),
    "unknown scanner capability": (_set("MR-KNEE", "capabilities", ["7T"]), ["'capabilities'", "'7T'"]),
    "CPT code shared without same_codes_as": (
        _share_code_silently, ["protocol 'MR-LSPINE-WB'", "CPT 72148 is already the code of MR-LSPINE"]
    ),
    "same_codes_as naming a code the other lacks": (
        _set_variant("MR-LSPINE-WB", 0, "cpt", "72141"), ["protocol 'MR-LSPINE-WB'", "72141 is not one of MR-LSPINE"]
    ),
    "same_codes_as naming an unknown protocol": (
        _set("MR-LSPINE-WB", "same_codes_as", "MR-LSPINE-X"), ["'same_codes_as'", "'MR-LSPINE-X'"]
    ),
    "ordering need without a selector": (
        lambda protocols, _: protocol_entry(protocols, "NM-THYROID")["sequencing"][0].pop("selector"),
        ["protocol 'NM-THYROID'", "'sequencing[0].selector'"],
    ),
    "latest start written as a bare number": (
        lambda protocols, _: protocol_entry(protocols, "US-ABD")["sequencing"][0].__setitem__("latest_start", 660),
        ["protocol 'US-ABD'", "'sequencing[0].latest_start'", "quoted 'HH:MM'"],
    ),
    "payer rule with an unknown condition": (
        _set_rule("uhc_commercial", 0, "when", {"place": ["emergency"]}),
        ["payers.yaml", "payer 'uhc_commercial'", "'rules[0].when.place'", "unknown field"],
    ),
    "payer rule with an unknown setting": (
        _set_rule("uhc_commercial", 0, "when", {"setting": ["ER"]}), ["'rules[0].when.setting'", "'ER'"]
    ),
    "payer rule naming a CPT code no protocol bills": (
        _set_rule("cigna_commercial", 3, "when", {"cpt": ["78453"]}),
        ["payer 'cigna_commercial'", "'rules[3].when.cpt'", "78453"],
    ),
    "payer rule with an unknown outcome": (
        _set_rule("uhc_commercial", 2, "outcome", "maybe"), ["'rules[2].outcome'", "'maybe'"]
    ),
    "payer rule without a citation": (
        lambda _, payers: payer_entry(payers, "uhc_commercial")["rules"][2].pop("citation"),
        ["'rules[2].citation'", "is missing"],
    ),
    "payer without a final catch-all": (_drop_catch_all, ["payer 'aetna_commercial'", "'rules'", "last rule"]),
    "payer rule after a catch-all": (_catch_all_first, ["payer 'uhc_commercial'", "'rules[1]'", "can never match"]),
    "required rule with no validity": (_required_without_validity, ["payer 'uhc_commercial'", "validity_days"]),
    "duplicate payer id": (_duplicate_payer, ["payer 'self_pay'", "'id'", "defined twice"]),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_a_broken_entry_refuses_the_catalog_naming_the_entry_and_the_field(tmp_path: Path, case: str) -> None:
    edit, expected = REFUSALS[case]
    message = str(refusal(tmp_path, edit))
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_the_refusal_is_a_validation_error_the_edges_already_map() -> None:
    assert issubclass(CatalogError, ValidationError)


def test_every_broken_entry_is_reported_at_once(tmp_path: Path) -> None:
    def two_breaks(protocols: Doc, payers: Doc) -> None:
        _set("MR-KNEE", "modality", "MRI")(protocols, payers)
        _set("CT-HEAD", "body_part", "NOGGIN")(protocols, payers)

    refused = refusal(tmp_path, two_breaks)
    assert len(refused.problems) == 2
    assert "protocol 'MR-KNEE'" in refused.problems[0] or "protocol 'MR-KNEE'" in refused.problems[1]
    assert any("NOGGIN" in problem for problem in refused.problems)


def test_a_key_given_twice_in_the_file_is_refused_not_silently_overwritten(tmp_path: Path) -> None:
    write_catalog(tmp_path, SHIPPED_PROTOCOLS, SHIPPED_PAYERS)
    text = (tmp_path / "protocols.yaml").read_text(encoding="utf-8")
    (tmp_path / "protocols.yaml").write_text(text.replace("preparations:\n", "preparations:\n  xr_none: {}\n", 1))
    with pytest.raises(CatalogError, match=r"protocols.yaml.*'xr_none' is given twice"):
        load_catalog(tmp_path)


def test_a_file_that_is_not_yaml_is_refused_naming_the_file(tmp_path: Path) -> None:
    write_catalog(tmp_path, SHIPPED_PROTOCOLS, SHIPPED_PAYERS)
    (tmp_path / "payers.yaml").write_text("payers: [\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"payers.yaml.*not valid YAML"):
        load_catalog(tmp_path)


def test_a_missing_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    write_catalog(tmp_path, SHIPPED_PROTOCOLS, SHIPPED_PAYERS)
    (tmp_path / "payers.yaml").unlink()
    with pytest.raises(CatalogError, match=r"payers.yaml.*not found"):
        load_catalog(tmp_path)


@settings(max_examples=10, deadline=None)  # each example writes and loads a whole catalog
@given(minutes=st.integers(min_value=-30, max_value=400).filter(lambda m: m <= 0 or m % 5 != 0))
def test_any_scanner_time_that_is_not_a_positive_multiple_of_5_is_refused(minutes: int) -> None:
    protocols = copy.deepcopy(SHIPPED_PROTOCOLS)
    protocol_entry(protocols, "CT-HEAD")["variants"][0]["minutes"] = minutes
    with tempfile.TemporaryDirectory() as name, pytest.raises(CatalogError, match=r"variants\[0\]\.minutes"):
        load_catalog(write_catalog(Path(name), protocols, SHIPPED_PAYERS))
