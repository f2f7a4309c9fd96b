"""Every protocol's CPT codes agree with an independent reference written from the CPT descriptors.

The table below is written from the AMA CPT code descriptors (paraphrased), not from the catalog:
for each code, the modality that performs it, the anatomic area it covers and its contrast phase.
A CT code on an MR protocol, a knee code on a shoulder protocol, or a "with contrast" code on a
"without" variant fails here.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from radflow.catalog.loader import Catalog, load_catalog
from radflow.domain.protocols import ContrastPhase, Modality, Protocol

W, C, WC, T = "without", "with", "without_and_with", "tracer"

# code: (modality, area, contrast phase) — modality "DX" means a projection radiograph (DX or CR).
REFERENCE: dict[str, tuple[str, str, str]] = {
    # CT, head and neck
    "70450": ("CT", "head", W), "70460": ("CT", "head", C), "70470": ("CT", "head", WC),
    "70480": ("CT", "orbit_sella_ear", W), "70481": ("CT", "orbit_sella_ear", C),
    "70482": ("CT", "orbit_sella_ear", WC),
    "70486": ("CT", "maxillofacial", W), "70487": ("CT", "maxillofacial", C),
    "70488": ("CT", "maxillofacial", WC),
    "70490": ("CT", "neck_soft_tissue", W), "70491": ("CT", "neck_soft_tissue", C),
    "70492": ("CT", "neck_soft_tissue", WC),
    "70496": ("CT", "head_vessels", C), "70498": ("CT", "neck_vessels", C),  # CT angiography
    # CT, chest
    "71250": ("CT", "chest", W), "71260": ("CT", "chest", C), "71270": ("CT", "chest", WC),
    "71271": ("CT", "chest", W),  # low-dose lung cancer screening
    "71275": ("CT", "chest_vessels", C),  # CT angiography chest
    # CT, spine, pelvis, extremities
    "72125": ("CT", "cervical_spine", W), "72126": ("CT", "cervical_spine", C),
    "72127": ("CT", "cervical_spine", WC),
    "72128": ("CT", "thoracic_spine", W), "72129": ("CT", "thoracic_spine", C),
    "72130": ("CT", "thoracic_spine", WC),
    "72131": ("CT", "lumbar_spine", W), "72132": ("CT", "lumbar_spine", C),
    "72133": ("CT", "lumbar_spine", WC),
    "72192": ("CT", "pelvis", W), "72193": ("CT", "pelvis", C), "72194": ("CT", "pelvis", WC),
    "73200": ("CT", "upper_extremity", W), "73201": ("CT", "upper_extremity", C),
    "73202": ("CT", "upper_extremity", WC),
    "73700": ("CT", "lower_extremity", W), "73701": ("CT", "lower_extremity", C),
    "73702": ("CT", "lower_extremity", WC),
    # CT, abdomen and pelvis
    "74150": ("CT", "abdomen", W), "74160": ("CT", "abdomen", C), "74170": ("CT", "abdomen", WC),
    "74174": ("CT", "abdomen_pelvis_vessels", C),  # CT angiography abdomen and pelvis
    "74176": ("CT", "abdomen_pelvis", W), "74177": ("CT", "abdomen_pelvis", C),
    "74178": ("CT", "abdomen_pelvis", WC),
    "74261": ("CT", "colon", W), "74262": ("CT", "colon", C), "74263": ("CT", "colon", W),
    # CT, heart and vessels
    "75571": ("CT", "heart", W),  # coronary calcium quantification
    "75574": ("CT", "heart", C),  # CT angiography of the heart and coronary arteries
    "75635": ("CT", "aorta_runoff_vessels", C),  # abdominal aorta and bilateral iliofemoral runoff
    # MR, head and neck
    "70540": ("MR", "orbit_face_neck", W), "70542": ("MR", "orbit_face_neck", C),
    "70543": ("MR", "orbit_face_neck", WC),
    "70544": ("MR", "head_vessels", W), "70545": ("MR", "head_vessels", C),
    "70546": ("MR", "head_vessels", WC),
    "70547": ("MR", "neck_vessels", W), "70548": ("MR", "neck_vessels", C),
    "70549": ("MR", "neck_vessels", WC),
    "70551": ("MR", "brain", W), "70552": ("MR", "brain", C), "70553": ("MR", "brain", WC),
    # MR, spine and pelvis
    "72141": ("MR", "cervical_spine", W), "72142": ("MR", "cervical_spine", C),
    "72156": ("MR", "cervical_spine", WC),
    "72146": ("MR", "thoracic_spine", W), "72147": ("MR", "thoracic_spine", C),
    "72157": ("MR", "thoracic_spine", WC),
    "72148": ("MR", "lumbar_spine", W), "72149": ("MR", "lumbar_spine", C),
    "72158": ("MR", "lumbar_spine", WC),
    "72195": ("MR", "pelvis", W), "72196": ("MR", "pelvis", C), "72197": ("MR", "pelvis", WC),
    # MR, joints, abdomen, heart, breast
    "73221": ("MR", "upper_extremity_joint", W), "73222": ("MR", "upper_extremity_joint", C),
    "73223": ("MR", "upper_extremity_joint", WC),
    "73721": ("MR", "lower_extremity_joint", W), "73722": ("MR", "lower_extremity_joint", C),
    "73723": ("MR", "lower_extremity_joint", WC),
    "74181": ("MR", "abdomen", W), "74182": ("MR", "abdomen", C), "74183": ("MR", "abdomen", WC),
    "75557": ("MR", "heart", W), "75561": ("MR", "heart", WC),
    "77046": ("MR", "breast", W), "77047": ("MR", "breast", W),
    "77048": ("MR", "breast", WC), "77049": ("MR", "breast", WC),
    # Ultrasound (diagnostic ultrasound 76xxx; noninvasive vascular studies 93xxx)
    "76536": ("US", "head_neck_soft_tissue", W),
    "76641": ("US", "breast", W), "76642": ("US", "breast", W),
    "76700": ("US", "abdomen", W), "76705": ("US", "abdomen_limited", W),
    "76706": ("US", "abdominal_aorta", W),  # AAA screening
    "76770": ("US", "retroperitoneum", W),
    "76801": ("US", "pregnant_uterus", W), "76805": ("US", "pregnant_uterus", W),
    "76830": ("US", "transvaginal", W), "76856": ("US", "pelvis_nonobstetric", W),
    "76870": ("US", "scrotum", W),
    "76881": ("US", "extremity_joint", W), "76885": ("US", "infant_hips", W),
    "93880": ("US", "extracranial_arteries", W),
    "93970": ("US", "extremity_veins", W), "93971": ("US", "extremity_veins", W),
    # Mammography and tomosynthesis
    "77061": ("MG", "breast", W), "77062": ("MG", "breast", W), "77063": ("MG", "breast", W),
    "77065": ("MG", "breast", W), "77066": ("MG", "breast", W), "77067": ("MG", "breast", W),
    # Radiographs
    "71045": ("DX", "chest", W), "71046": ("DX", "chest", W),
    "72040": ("DX", "cervical_spine", W), "72082": ("DX", "entire_spine", W),
    "72100": ("DX", "lumbar_spine", W), "72170": ("DX", "pelvis", W),
    "73030": ("DX", "shoulder", W), "73110": ("DX", "wrist", W), "73130": ("DX", "hand", W),
    "73502": ("DX", "hip", W), "73562": ("DX", "knee", W), "73610": ("DX", "ankle", W),
    "73630": ("DX", "foot", W), "74018": ("DX", "abdomen", W), "77072": ("DX", "bone_age_hand", W),
    # Fluoroscopy (single-contrast barium studies)
    "74220": ("RF", "esophagus", C), "74240": ("RF", "upper_gi", C),
    # Nuclear medicine
    "78012": ("NM", "thyroid", T), "78014": ("NM", "thyroid", T),
    "78071": ("NM", "parathyroid", T), "78226": ("NM", "hepatobiliary", T),
    "78264": ("NM", "gastric_emptying", T), "78306": ("NM", "bone_whole_body", T),
    "78452": ("NM", "myocardial_perfusion", T), "78582": ("NM", "lung_ventilation_perfusion", T),
    "78708": ("NM", "kidney", T),
    # PET
    "78431": ("PT", "myocardial_perfusion", T), "78608": ("PT", "brain", T),
    "78814": ("PT", "limited_area", T), "78815": ("PT", "skull_base_to_mid_thigh", T),
    "78816": ("PT", "whole_body", T),
}

# Which descriptor areas an exam labelled with this Body Part Examined may bill.
AREAS_FOR_BODY_PART: dict[str, set[str]] = {
    "HEAD": {"head", "head_vessels"},
    "FACE": {"maxillofacial"},
    "ORBIT": {"orbit_sella_ear", "orbit_face_neck"},
    "IAC": {"orbit_sella_ear", "brain"},
    "BRAIN": {"brain"},
    "NECK": {"neck_soft_tissue", "orbit_face_neck", "neck_vessels", "parathyroid"},
    "HEADNECK": {"head_vessels", "neck_vessels", "limited_area"},
    "THYROID": {"thyroid", "head_neck_soft_tissue"},
    "CHEST": {"chest", "chest_vessels"},
    "LUNG": {"lung_ventilation_perfusion"},
    "CHESTABDPELVIS": {"chest", "abdomen_pelvis"},
    "ABDOMEN": {"abdomen"},
    "ABDOMENPELVIS": {"abdomen_pelvis", "abdomen_pelvis_vessels"},
    "GALLBLADDER": {"abdomen_limited", "hepatobiliary"},
    "KIDNEY": {"retroperitoneum", "kidney"},
    "AORTA": {"abdominal_aorta"},
    "STOMACH": {"upper_gi", "gastric_emptying"},
    "ESOPHAGUS": {"esophagus"},
    "COLON": {"colon"},
    "PELVIS": {"pelvis", "pelvis_nonobstetric", "transvaginal"},
    "PROSTATE": {"pelvis"},
    "UTERUS": {"pregnant_uterus"},
    "SCROTUM": {"scrotum"},
    "CSPINE": {"cervical_spine"},
    "TSPINE": {"thoracic_spine"},
    "LSPINE": {"lumbar_spine"},
    "SPINE": {"entire_spine"},
    "SHOULDER": {"upper_extremity", "upper_extremity_joint", "extremity_joint", "shoulder"},
    "ELBOW": {"upper_extremity_joint"},
    "WRIST": {"upper_extremity", "upper_extremity_joint", "wrist"},
    "HAND": {"hand", "bone_age_hand"},
    "HIP": {"lower_extremity_joint", "hip", "infant_hips"},
    "KNEE": {"lower_extremity", "lower_extremity_joint", "knee"},
    "ANKLE": {"lower_extremity", "lower_extremity_joint", "ankle"},
    "FOOT": {"foot"},
    "LEG": {"aorta_runoff_vessels", "extremity_veins"},
    "CAROTID": {"extracranial_arteries"},
    "BREAST": {"breast"},
    "HEART": {"heart", "myocardial_perfusion"},
    "WHOLEBODY": {"bone_whole_body", "skull_base_to_mid_thigh", "whole_body"},
}


def cpt_mismatches(protocol: Protocol) -> list[str]:
    """Every disagreement between a protocol's codes and the reference table."""
    found: list[str] = []
    acquired_as = "DX" if protocol.modality in (Modality.DX, Modality.CR) else protocol.modality.value
    for variant in protocol.variants:
        for code in variant.cpt_codes:
            where = f"{protocol.code} {variant.phase.value} CPT {code}"
            if code not in REFERENCE:
                found.append(f"{where}: not in the reference table")
                continue
            modality, area, phase = REFERENCE[code]
            if modality != acquired_as:
                found.append(f"{where}: a {modality} code on a {protocol.modality} protocol")
            if area not in AREAS_FOR_BODY_PART.get(protocol.body_part, set()):
                found.append(f"{where}: covers {area}, not body part {protocol.body_part}")
            if phase != variant.phase.value:
                found.append(f"{where}: a '{phase}' code on a '{variant.phase.value}' variant")
    return found


CATALOG: Catalog = load_catalog()


@pytest.mark.parametrize("protocol", list(CATALOG), ids=lambda p: p.code)
def test_every_cpt_code_matches_its_modality_body_part_and_contrast(protocol: Protocol) -> None:
    assert cpt_mismatches(protocol) == []


def test_the_mr_lumbar_spine_codes_are_72148_72149_72158() -> None:
    lspine = CATALOG.protocol("MR-LSPINE")
    assert [(v.phase.value, v.cpt, v.minutes) for v in lspine.variants] == [
        ("without", "72148", 30), ("with", "72149", 40), ("without_and_with", "72158", 45)
    ]


def test_a_ct_code_on_an_mr_protocol_is_caught() -> None:
    brain = CATALOG.protocol("MR-BRAIN")
    wrong = replace(brain, variants=(replace(brain.variants[0], cpt="70450"),))
    assert any("a CT code on a MR protocol" in m for m in cpt_mismatches(wrong))


def test_a_with_contrast_code_on_a_without_variant_is_caught() -> None:
    brain = CATALOG.protocol("MR-BRAIN")
    without = brain.variant(ContrastPhase.WITHOUT)
    wrong = replace(brain, variants=(replace(without, cpt="70553"),))
    assert cpt_mismatches(wrong) == ["MR-BRAIN without CPT 70553: a 'without_and_with' code on a 'without' variant"]


def test_a_code_for_another_body_part_is_caught() -> None:
    shoulder = CATALOG.protocol("MR-SHOULDER")
    wrong = replace(shoulder, variants=(replace(shoulder.variants[0], cpt="73721"),))
    assert cpt_mismatches(wrong) == [
        "MR-SHOULDER without CPT 73721: covers lower_extremity_joint, not body part SHOULDER"
    ]


def test_an_add_on_code_is_checked_like_the_primary_code() -> None:
    tomo = CATALOG.protocol("MG-SCREEN-TOMO")
    wrong = replace(tomo, variants=(replace(tomo.variants[0], additional_cpts=("71250",)),))
    assert "MG-SCREEN-TOMO without CPT 71250: a CT code on a MG protocol" in cpt_mismatches(wrong)


def test_a_code_missing_from_the_reference_is_reported_not_skipped() -> None:
    chest = CATALOG.protocol("DX-CHEST")
    wrong = replace(chest, variants=(replace(chest.variants[0], cpt="71047"),))
    assert cpt_mismatches(wrong) == ["DX-CHEST without CPT 71047: not in the reference table"]
