"""Prior-authorization decisions: each shipped payer, the exemptions, and first-match semantics."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from radflow.catalog.loader import load_catalog
from radflow.domain.errors import ValidationError
from radflow.domain.payer_rules import (
    AuthorizationOutcome,
    CareSetting,
    Payer,
    PayerKind,
    PayerRule,
    RuleConditions,
    authorization_requirement,
)
from radflow.domain.protocols import ContrastAgent, ContrastPhase, ContrastVariant, CptGroup, Modality, Protocol

CATALOG = load_catalog()
OUTPATIENT = CareSetting.OUTPATIENT
REQUIRED, NOT_REQUIRED = AuthorizationOutcome.REQUIRED, AuthorizationOutcome.NOT_REQUIRED


def decide(payer_id: str, code: str, phase: str, setting: CareSetting = OUTPATIENT) -> tuple[bool, str]:
    protocol = CATALOG.protocol(code)
    requirement = authorization_requirement(CATALOG.payer(payer_id), protocol, protocol.variant(phase), setting)
    return requirement.required, requirement.rule_id


# Expected outpatient answers per payer, with the rule that must decide (read from each program).
EXPECTED: list[tuple[str, str, str, bool, str]] = [
    ("uhc_commercial", "MR-LSPINE", "without", True, "uhc-advanced-ct-mr"),
    ("uhc_commercial", "NM-BONE", "tracer", True, "uhc-radiopharmaceutical"),
    ("uhc_commercial", "PT-FDG", "tracer", True, "uhc-radiopharmaceutical"),
    ("uhc_commercial", "US-ABD", "without", False, "uhc-outside-program"),
    ("aetna_commercial", "CT-ABDPEL", "with", True, "aetna-high-tech-radiology"),
    ("aetna_commercial", "NM-MPI", "tracer", True, "aetna-high-tech-radiology"),
    ("aetna_commercial", "NM-BONE", "tracer", False, "aetna-outside-program"),
    ("cigna_commercial", "MR-BRAIN", "without_and_with", True, "cigna-advanced-radiology"),
    ("cigna_commercial", "NM-MPI", "tracer", True, "cigna-nuclear-cardiology"),
    ("cigna_commercial", "PT-CARDIAC", "tracer", True, "cigna-nuclear-cardiology"),
    ("cigna_commercial", "NM-THYROID", "tracer", False, "cigna-outside-program"),
    ("anthem_bcbs", "CT-CCTA", "with", True, "anthem-advanced-imaging"),
    ("anthem_bcbs", "NM-HIDA", "tracer", True, "anthem-advanced-imaging"),
    ("anthem_bcbs", "US-PELVIS", "without", False, "anthem-outside-program"),
    ("texas_medicaid", "MR-KNEE", "without", True, "tx-medicaid-advanced-imaging"),
    ("texas_medicaid", "NM-MPI", "tracer", True, "tx-medicaid-advanced-imaging"),
    ("texas_medicaid", "NM-BONE", "tracer", False, "tx-medicaid-other-radiology"),
    ("medicare_part_b", "MR-LSPINE", "without_and_with", False, "medicare-no-prior-authorization"),
    ("medicare_part_b", "PT-FDG", "tracer", False, "medicare-no-prior-authorization"),
    ("self_pay", "MR-LSPINE", "with", False, "self-pay-never"),
]


@pytest.mark.parametrize(("payer", "code", "phase", "required", "rule"), EXPECTED)
def test_each_payer_decides_outpatient_exams_by_its_own_program(
    payer: str, code: str, phase: str, required: bool, rule: str
) -> None:
    assert decide(payer, code, phase) == (required, rule)


def test_two_payers_answer_differently_for_the_same_mri() -> None:
    assert decide("uhc_commercial", "MR-LSPINE", "without")[0] is True
    assert decide("medicare_part_b", "MR-LSPINE", "without")[0] is False


def test_two_commercial_payers_answer_differently_for_the_same_bone_scan() -> None:
    assert decide("uhc_commercial", "NM-BONE", "tracer")[0] is True
    assert decide("aetna_commercial", "NM-BONE", "tracer")[0] is False


def _every_exam() -> list[tuple[str, str]]:
    return [(p.code, v.phase.value) for p in CATALOG for v in p.variants]


@pytest.mark.parametrize("setting", [CareSetting.EMERGENCY, CareSetting.INPATIENT, CareSetting.OBSERVATION])
def test_no_payer_requires_authorization_for_emergency_inpatient_or_observation_imaging(
    setting: CareSetting,
) -> None:
    required = [
        (payer, code, phase)
        for payer, (code, phase) in itertools.product(CATALOG.payers, _every_exam())
        if decide(payer, code, phase, setting)[0]
    ]
    assert required == []


def test_an_exam_that_needs_authorization_outpatient_does_not_in_the_emergency_department() -> None:
    assert decide("texas_medicaid", "CT-HEAD", "without", CareSetting.OUTPATIENT)[0] is True
    assert decide("texas_medicaid", "CT-HEAD", "without", CareSetting.EMERGENCY) == (
        False, "tx-medicaid-acute-care-exempt"
    )


@pytest.mark.parametrize("payer", sorted(CATALOG.payers))
def test_screening_mammography_and_radiographs_never_need_authorization(payer: str) -> None:
    for protocol in CATALOG:
        if protocol.cpt_group in (CptGroup.MG_SCREENING, CptGroup.XR):
            for variant in protocol.variants:
                assert decide(payer, protocol.code, variant.phase.value)[0] is False, protocol.code


@pytest.mark.parametrize("payer", ["medicare_part_b", "self_pay"])
def test_original_medicare_and_self_pay_never_need_authorization(payer: str) -> None:
    assert not any(decide(payer, code, phase)[0] for code, phase in _every_exam())


def test_the_answer_tells_the_coordinator_who_what_and_why() -> None:
    protocol = CATALOG.protocol("MR-LSPINE")
    answer = authorization_requirement(
        CATALOG.payer("uhc_commercial"), protocol, protocol.variant("with"), OUTPATIENT
    )
    assert answer.explanation.startswith(
        "Prior authorization required: UnitedHealthcare Commercial, MRI lumbar spine (CPT 72149, with), outpatient."
    )
    assert "Advanced Outpatient Imaging Procedures Prior Authorization program" in answer.citation
    assert answer.cpt_codes == ("72149",)
    assert answer.validity_days == 45


def test_an_answer_that_needs_nothing_carries_no_validity() -> None:
    protocol = CATALOG.protocol("DX-CHEST")
    answer = authorization_requirement(
        CATALOG.payer("uhc_commercial"), protocol, protocol.variants[0], OUTPATIENT
    )
    assert answer.explanation.startswith("No prior authorization needed: UnitedHealthcare Commercial, X-ray chest")
    assert answer.validity_days is None


def test_payers_grant_approvals_of_different_lengths() -> None:
    protocol = CATALOG.protocol("CT-CHEST")
    variant = protocol.variant("with")
    days = {
        payer: authorization_requirement(CATALOG.payer(payer), protocol, variant, OUTPATIENT).validity_days
        for payer in ("uhc_commercial", "aetna_commercial", "cigna_commercial", "anthem_bcbs")
    }
    assert days == {"uhc_commercial": 45, "aetna_commercial": 60, "cigna_commercial": 90, "anthem_bcbs": 30}


def test_a_multi_code_exam_is_in_scope_when_any_of_its_codes_is_listed() -> None:
    cap = CATALOG.protocol("CT-CAP")
    chest_code_rule = _payer(
        _rule("chest-ct", RuleConditions(cpt_codes=frozenset({"71260"})), AuthorizationOutcome.REQUIRED),
        _rule("rest", RuleConditions(), AuthorizationOutcome.NOT_REQUIRED),
    )
    assert authorization_requirement(chest_code_rule, cap, cap.variant("with"), OUTPATIENT).required
    assert not authorization_requirement(chest_code_rule, cap, cap.variant("without"), OUTPATIENT).required


def test_a_rule_on_contrast_separates_the_variants_of_one_protocol() -> None:
    knee = CATALOG.protocol("MR-KNEE")
    gadolinium_only = _payer(
        _rule("gad", RuleConditions(contrast_agents=frozenset({ContrastAgent.GADOLINIUM})), REQUIRED),
        _rule("rest", RuleConditions(), AuthorizationOutcome.NOT_REQUIRED),
    )
    answers = {v.phase: authorization_requirement(gadolinium_only, knee, v, OUTPATIENT).required for v in knee.variants}
    assert answers == {
        ContrastPhase.WITHOUT: False, ContrastPhase.WITH: True, ContrastPhase.WITHOUT_AND_WITH: True
    }


def test_the_first_matching_rule_decides_so_an_exemption_must_come_first() -> None:
    mri = CATALOG.protocol("MR-BRAIN")
    exemption = _rule("ed", RuleConditions(settings=frozenset({CareSetting.EMERGENCY})), NOT_REQUIRED)
    broad = _rule("mr", RuleConditions(modalities=frozenset({Modality.MR})), AuthorizationOutcome.REQUIRED)
    rest = _rule("rest", RuleConditions(), AuthorizationOutcome.NOT_REQUIRED)
    ed_brain = (mri, mri.variants[0], CareSetting.EMERGENCY)
    assert authorization_requirement(_payer(exemption, broad, rest), *ed_brain).rule_id == "ed"
    assert authorization_requirement(_payer(broad, exemption, rest), *ed_brain).rule_id == "mr"


def test_a_payer_without_a_matching_rule_is_refused_naming_the_payer() -> None:
    mri = CATALOG.protocol("MR-BRAIN")
    only_ct = _payer(_rule("ct", RuleConditions(modalities=frozenset({Modality.CT})), AuthorizationOutcome.REQUIRED))
    with pytest.raises(ValidationError, match="payer test_payer has no rule for MR-BRAIN"):
        authorization_requirement(only_ct, mri, mri.variants[0], OUTPATIENT)


def test_a_variant_of_another_protocol_is_refused() -> None:
    brain, knee = CATALOG.protocol("MR-BRAIN"), CATALOG.protocol("MR-KNEE")
    with pytest.raises(ValidationError, match="73721 is not a variant of protocol MR-BRAIN"):
        authorization_requirement(CATALOG.payer("uhc_commercial"), brain, knee.variants[0], OUTPATIENT)


conditions = st.builds(
    RuleConditions,
    settings=st.frozensets(st.sampled_from(CareSetting), max_size=2),
    modalities=st.frozensets(st.sampled_from([Modality.CT, Modality.MR, Modality.NM, Modality.US]), max_size=2),
    cpt_groups=st.frozensets(st.sampled_from(CptGroup), max_size=3),
    contrast_agents=st.frozensets(st.sampled_from(ContrastAgent), max_size=2),
)
rules = st.lists(
    st.builds(
        lambda i, c, o: _rule(f"r{i}", c, o), st.integers(0, 999), conditions, st.sampled_from(AuthorizationOutcome)
    ),
    min_size=1, max_size=6,
)
EXAMS = [(p, v) for p in CATALOG for v in p.variants]


@given(
    head=rules,
    tail=rules,
    exam=st.sampled_from(EXAMS),
    setting=st.sampled_from(CareSetting),
)
def test_rules_added_after_the_deciding_rule_never_change_the_answer(
    head: list[PayerRule], tail: list[PayerRule], exam: tuple[Protocol, ContrastVariant], setting: CareSetting
) -> None:
    protocol, variant = exam
    assume(any(rule.conditions.hold_for(protocol, variant, setting) for rule in head))
    before = authorization_requirement(_payer(*head), protocol, variant, setting)
    after = authorization_requirement(_payer(*head, *tail), protocol, variant, setting)
    assert (after.required, after.rule_id) == (before.required, before.rule_id)


def _rule(rule_id: str, conditions: RuleConditions, outcome: AuthorizationOutcome) -> PayerRule:
    return PayerRule(id=rule_id, conditions=conditions, outcome=outcome, reason="Test rule.", citation="Test policy")


def _payer(*payer_rules: PayerRule) -> Payer:
    return Payer(id="test_payer", name="Test Payer", kind=PayerKind.COMMERCIAL, rules=payer_rules,
                 approval_validity_days=30)
