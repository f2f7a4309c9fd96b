"""What schedulers, technologists and patients rely on in the shipped protocols."""

from __future__ import annotations

from datetime import time

import pytest

from radflow.catalog.loader import load_catalog
from radflow.domain.protocols import (
    BodyRegion,
    ContrastAgent,
    ContrastRoute,
    MedicationReview,
    Modality,
    Protocol,
    Questionnaire,
    SequencingKind,
    SequencingNeed,
    combined_preparation,
)

CATALOG = load_catalog()


def needs(protocol: Protocol, kind: SequencingKind) -> list[SequencingNeed]:
    return [need for need in protocol.sequencing if need.kind is kind]


def test_the_catalog_covers_every_modality_a_center_schedules() -> None:
    assert len(CATALOG) >= 65
    modalities = {p.modality for p in CATALOG}
    assert {Modality.CT, Modality.MR, Modality.US, Modality.MG, Modality.DX, Modality.NM, Modality.PT} <= modalities


def test_a_radiograph_protocol_can_be_done_in_a_cr_room_but_not_in_ct() -> None:
    chest = CATALOG.protocol("DX-CHEST")
    assert chest.can_be_performed_on("CR") and chest.can_be_performed_on(Modality.DX)
    assert not chest.can_be_performed_on(Modality.CT)


def test_every_iv_contrast_variant_is_supervised() -> None:
    unsupervised = [
        f"{p.code} {v.phase}"
        for p in CATALOG
        for v in p.variants
        if v.agent in (ContrastAgent.IODINATED, ContrastAgent.GADOLINIUM)
        and v.route is ContrastRoute.IV
        and not v.supervision_required
    ]
    assert unsupervised == []


def test_a_noncontrast_mri_needs_no_supervision() -> None:
    assert not CATALOG.protocol("MR-LSPINE").variant("without").supervision_required


@pytest.mark.parametrize("protocol", [p for p in CATALOG if any(
    (v.preparation or p.preparation).is_fasting for v in p.variants)], ids=lambda p: p.code)
def test_every_fasting_exam_must_start_before_noon(protocol: Protocol) -> None:
    latest = [need.latest_start for need in needs(protocol, SequencingKind.EARLY_START)]
    assert latest and all(t is not None and t <= time(12, 0) for t in latest)


def test_a_thyroid_uptake_must_come_before_iodinated_contrast_but_not_before_a_plain_ct() -> None:
    uptake = CATALOG.protocol("NM-THYROID-UPTAKE")
    (before,) = needs(uptake, SequencingKind.BEFORE)
    ct = CATALOG.protocol("CT-ABDPEL")
    assert before.selector is not None
    assert before.selector.matches(ct, ct.variant("with"))
    assert not before.selector.matches(ct, ct.variant("without"))
    assert before.gap_days >= 28  # iodine blocks uptake for weeks, not hours


def test_a_pet_waits_for_its_tracer_uptake_before_scanning() -> None:
    for code in ("PT-FDG", "PT-FDG-WB", "PT-PSMA"):
        (uptake,) = needs(CATALOG.protocol(code), SequencingKind.TRACER_UPTAKE)
        assert uptake.minutes >= 60, code


def test_a_barium_study_comes_after_abdominal_ct_in_the_same_visit() -> None:
    barium = CATALOG.protocol("RF-UGI")
    (after,) = needs(barium, SequencingKind.AFTER)
    ct = CATALOG.protocol("CT-ABDPEL")
    chest_xray = CATALOG.protocol("DX-CHEST")
    assert after.selector is not None
    assert after.selector.matches(ct, ct.variant("with"))
    assert not after.selector.matches(chest_xray, chest_xray.variants[0])


def test_every_sequencing_need_says_why_and_cites_a_source() -> None:
    for protocol in CATALOG:
        for need in protocol.sequencing:
            assert need.reason.strip() and need.source.strip(), protocol.code


def test_a_gadolinium_mri_adds_the_gadolinium_questionnaire_to_mri_safety() -> None:
    lspine = CATALOG.protocol("MR-LSPINE")
    assert lspine.screening_for(lspine.variant("with")) >= {
        Questionnaire.MRI_SAFETY, Questionnaire.GADOLINIUM_CONTRAST
    }
    assert Questionnaire.GADOLINIUM_CONTRAST not in lspine.screening_for(lspine.variant("without"))


def test_a_plain_ct_asks_no_contrast_questions_but_a_contrast_ct_does() -> None:
    head = CATALOG.protocol("CT-HEAD")
    assert Questionnaire.IODINATED_CONTRAST not in head.screening_for(head.variant("without"))
    assert Questionnaire.IODINATED_CONTRAST in head.screening_for(head.variant("with"))


def test_every_mri_and_every_tracer_exam_has_its_safety_questionnaire() -> None:
    for protocol in CATALOG:
        for variant in protocol.variants:
            asked = protocol.screening_for(variant)
            if protocol.modality is Modality.MR:
                assert Questionnaire.MRI_SAFETY in asked, protocol.code
            if variant.agent is ContrastAgent.TRACER:
                assert Questionnaire.RADIOPHARMACEUTICAL in asked, protocol.code


def test_a_contrast_variant_carries_its_contrast_preparation() -> None:
    head = CATALOG.protocol("CT-HEAD")
    assert MedicationReview.METFORMIN in head.preparation_for(head.variant("with")).medication_review
    assert MedicationReview.METFORMIN not in head.preparation_for(head.variant("without")).medication_review


def test_mammography_preparation_forbids_deodorant_and_screening_is_never_protocolled() -> None:
    screen = CATALOG.protocol("MG-SCREEN")
    assert screen.preparation_for(screen.variants[0]).no_deodorant_or_powder
    assert not screen.requires_protocoling
    assert not any(p.requires_protocoling for p in CATALOG if p.modality is Modality.DX)


def test_pet_and_contrast_choice_mri_wait_for_a_radiologist_to_protocol_them() -> None:
    assert CATALOG.protocol("PT-FDG").requires_protocoling
    assert CATALOG.protocol("MR-BRAIN").requires_protocoling


def test_exams_of_one_side_of_the_body_ask_for_laterality_and_central_ones_do_not() -> None:
    assert CATALOG.protocol("MR-KNEE").laterality_required
    assert CATALOG.protocol("US-BREAST").laterality_required
    assert not CATALOG.protocol("MR-LSPINE").laterality_required
    assert not CATALOG.protocol("MG-SCREEN").laterality_required


def test_every_patient_text_is_plain_language_of_reasonable_length() -> None:
    for prep in CATALOG.preparations.values():
        assert 20 <= len(prep.patient_text) <= 700, prep.key
        assert prep.source.strip(), prep.key


def test_a_pelvic_and_an_abdominal_exam_on_one_day_merge_into_the_strictest_preparation() -> None:
    us_abd, us_pelvis, ct = (CATALOG.protocol(c) for c in ("US-ABD", "US-PELVIS", "CT-ABDPEL"))
    merged = combined_preparation([
        us_abd.preparation_for(us_abd.variants[0]),
        us_pelvis.preparation_for(us_pelvis.variants[0]),
        ct.preparation_for(ct.variant("with")),
    ])
    assert merged.fasting_hours == 8
    assert merged.full_bladder
    assert merged.hydration_ml == 950
    assert merged.arrival_minutes_before == 75
    assert MedicationReview.METFORMIN in merged.medication_review
    assert MedicationReview.DIABETIC_MEDICATION in merged.medication_review
    assert merged.patient_text.count("\n\n") == 2  # three distinct instructions, none dropped


def test_combining_keeps_the_longest_abstinence_for_each_thing() -> None:
    mpi, ccta = CATALOG.protocol("NM-MPI"), CATALOG.protocol("CT-CACS")
    merged = combined_preparation([ccta.preparation, mpi.preparation])
    assert {a.what.value: a.hours for a in merged.abstain}["caffeine"] == 12


def test_combining_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        combined_preparation([])


def test_priors_can_be_grouped_by_region() -> None:
    assert CATALOG.protocol("CT-LSPINE").body_region is CATALOG.protocol("MR-LSPINE").body_region is BodyRegion.SPINE
