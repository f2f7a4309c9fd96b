"""Exam protocols: what an exam is, what it costs the scanner, what the patient must do.

A protocol is one orderable exam (``MR-LSPINE``) with its contrast variants, each carrying its own
CPT code, scanner minutes and contrast agent. The catalog ships them as data
(``radflow/catalog/protocols.yaml``); these frozen dataclasses are what the rest of radflow reads.
Pure: no I/O, no framework.

Vocabularies are the trade's: DICOM modality codes (PS3.3 C.7.3.1.1.1), DICOM Body Part Examined
defined terms (PS3.16 Annex L), CPT codes (AMA CPT).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum

from radflow.domain.errors import NotFound


class Modality(StrEnum):
    """DICOM modality codes radflow schedules (PS3.3 C.7.3.1.1.1)."""

    CT = "CT"
    MR = "MR"
    US = "US"
    MG = "MG"
    DX = "DX"
    CR = "CR"
    NM = "NM"
    PT = "PT"
    RF = "RF"
    XA = "XA"


# A projection radiograph ordered as DX may be acquired on a CR (cassette) room too: both are
# "XR" to a scheduler (DESIGN §1), and PS3.3 gives them separate codes only for the detector.
_PERFORMED_ON: dict[Modality, frozenset[Modality]] = {
    Modality.DX: frozenset({Modality.DX, Modality.CR}),
    Modality.CR: frozenset({Modality.DX, Modality.CR}),
}


def modalities_that_perform(modality: Modality) -> frozenset[Modality]:
    """Scanner modalities on which an exam of `modality` can be acquired (DX also on CR)."""
    return _PERFORMED_ON.get(modality, frozenset({modality}))


class BodyRegion(StrEnum):
    """Coarse anatomic group used to match relevant priors and to count region workload."""

    HEAD = "head"
    NECK = "neck"
    CHEST = "chest"
    ABDOMEN = "abdomen"
    PELVIS = "pelvis"
    SPINE = "spine"
    UPPER_EXTREMITY = "upper_extremity"
    LOWER_EXTREMITY = "lower_extremity"
    BREAST = "breast"
    WHOLE_BODY = "whole_body"
    HEART = "heart"
    VASCULAR = "vascular"


# DICOM Body Part Examined (0018,0015) defined terms, PS3.16 Annex L: the subset radflow's catalog
# and its peers use. A term outside this set is refused at load (a typo would break prior matching).
BODY_PARTS: frozenset[str] = frozenset(
    {
        "ABDOMEN", "ABDOMENPELVIS", "ANKLE", "AORTA", "ARM", "BRAIN", "BREAST", "CAROTID", "CHEST",
        "CHESTABDOMEN", "CHESTABDPELVIS", "CLAVICLE", "COLON", "CORONARYARTERY", "CSPINE", "ELBOW",
        "ESOPHAGUS", "EXTREMITY", "FACE", "FEMUR", "FOOT", "GALLBLADDER", "HAND", "HEAD", "HEADNECK",
        "HEART", "HIP", "HUMERUS", "IAC", "KIDNEY", "KNEE", "LEG", "LIVER", "LSPINE", "LUNG", "NECK",
        "ORBIT", "PANCREAS", "PELVIS", "PROSTATE", "SCROTUM", "SHOULDER", "SKULL", "SPINE", "SSPINE",
        "STOMACH", "TESTIS", "THYROID", "TSPINE", "UTERUS", "WHOLEBODY", "WRIST",
    }
)


class Subspecialty(StrEnum):
    """Reading subspecialty: routes the study to the right radiologists' worklist."""

    NEURO = "neuro"
    BODY = "body"
    MSK = "msk"
    CHEST = "chest"
    BREAST = "breast"
    NM = "nm"
    CARDIAC = "cardiac"
    VASCULAR = "vascular"
    PEDIATRIC = "pediatric"


class CptGroup(StrEnum):
    """The service families payer policies speak in ("advanced imaging: CT, MR, PET...")."""

    CT = "ct"
    CTA = "cta"
    MR = "mr"
    MRA = "mra"
    PET = "pet"
    NM_GENERAL = "nm_general"
    NM_CARDIAC = "nm_cardiac"
    US = "us"
    MG_SCREENING = "mg_screening"
    MG_DIAGNOSTIC = "mg_diagnostic"
    XR = "xr"
    FLUORO = "fluoro"


class ContrastPhase(StrEnum):
    """Which CPT contrast descriptor a variant is: without, with, without followed by with, tracer."""

    WITHOUT = "without"
    WITH = "with"
    WITHOUT_AND_WITH = "without_and_with"
    TRACER = "tracer"  # NM and PET: the radiopharmaceutical is the exam, CPT has no contrast axis


class ContrastAgent(StrEnum):
    """Class of agent given; decides the screening questionnaire and supervision."""

    NONE = "none"
    IODINATED = "iodinated"
    GADOLINIUM = "gadolinium"
    ORAL = "oral"  # barium or oral iodinated contrast as the only agent (fluoroscopy)
    TRACER = "tracer"  # radiopharmaceutical


class ContrastRoute(StrEnum):
    """How the agent is given."""

    NONE = "none"
    IV = "iv"
    ORAL = "oral"
    INTRA_ARTICULAR = "intra_articular"
    INHALED = "inhaled"


class Questionnaire(StrEnum):
    """Safety-screening questionnaires (issue 5) a protocol or its contrast calls for."""

    MRI_SAFETY = "mri_safety"
    IODINATED_CONTRAST = "iodinated_contrast"
    GADOLINIUM_CONTRAST = "gadolinium_contrast"
    PREGNANCY = "pregnancy"
    RADIOPHARMACEUTICAL = "radiopharmaceutical"
    MAMMOGRAPHY_HISTORY = "mammography_history"
    PHARMACOLOGIC_STRESS = "pharmacologic_stress"


# The contrast agent alone decides these (ACR Manual on Contrast Media: every patient receiving
# intravascular iodinated or gadolinium-based contrast is screened for risk factors), so the catalog
# does not repeat them per variant.
_AGENT_SCREENING: dict[ContrastAgent, frozenset[Questionnaire]] = {
    ContrastAgent.IODINATED: frozenset({Questionnaire.IODINATED_CONTRAST}),
    ContrastAgent.GADOLINIUM: frozenset({Questionnaire.GADOLINIUM_CONTRAST}),
    ContrastAgent.TRACER: frozenset({Questionnaire.RADIOPHARMACEUTICAL}),
}

# Scanner capabilities a protocol may require; scanners may carry more (informative tokens).
CAPABILITIES: frozenset[str] = frozenset(
    {"1.5T", "3T", "wide_bore", "cardiac", "tomo", "spect_ct", "pet_ct", "fluoro"}
)


class MedicationReview(StrEnum):
    """Medicines someone must review with the patient before the exam."""

    METFORMIN = "metformin"  # ACR Manual on Contrast Media: hold only if eGFR < 30 or AKI
    DIABETIC_MEDICATION = "diabetic_medication"  # fasting exams: insulin and oral agents adjusted
    THYROID_MEDICATION = "thyroid_medication"  # levothyroxine / antithyroid drugs block uptake
    BETA_BLOCKER = "beta_blocker"  # blunts the heart-rate response to stress
    PDE5_INHIBITOR = "pde5_inhibitor"  # no nitroglycerin within 48 h of sildenafil-type drugs
    OPIOID = "opioid"  # sphincter of Oddi spasm: false-positive hepatobiliary scans
    PROKINETIC = "prokinetic"  # changes gastric emptying
    ANTICOAGULANT = "anticoagulant"  # joint injection for arthrography
    DIURETIC = "diuretic"


class Abstain(StrEnum):
    """What the patient avoids for some hours before the exam."""

    CAFFEINE = "caffeine"
    STRENUOUS_EXERCISE = "strenuous_exercise"
    IODINE_RICH_FOOD = "iodine_rich_food"
    CARBOHYDRATES = "carbohydrates"
    SMOKING = "smoking"


@dataclass(frozen=True)
class Abstinence:
    """Avoid `what` for `hours` hours before the exam."""

    what: Abstain
    hours: int


@dataclass(frozen=True)
class Preparation:
    """Patient preparation as data a scheduler merges and a letter renders."""

    key: str
    patient_text: str
    # Minutes before the first thing the patient does here for this exam: the tracer injection
    # where there is one (its uptake wait is a sequencing need), else the scan itself.
    arrival_minutes_before: int
    source: str = ""
    fasting_hours: int = 0  # nothing to eat; 0 = no fast
    clear_liquids_allowed: bool = True
    hydration_ml: int = 0  # water to drink before the exam
    hydration_finish_minutes_before: int = 0
    oral_contrast_minutes_before: int = 0  # drink oral contrast on arrival this long before the scan
    full_bladder: bool = False
    empty_bladder: bool = False
    no_deodorant_or_powder: bool = False
    mammography_timing: str = ""
    medication_review: tuple[MedicationReview, ...] = ()
    abstain: tuple[Abstinence, ...] = ()
    bring: tuple[str, ...] = ()

    @property
    def is_fasting(self) -> bool:
        """Whether the patient must not eat before the exam."""
        return self.fasting_hours > 0


class SequencingKind(StrEnum):
    """What a scheduler must respect when this exam shares a visit (or weeks) with others."""

    BEFORE = "before"  # this exam before every exam the selector matches
    AFTER = "after"  # this exam after every exam the selector matches
    TRACER_UPTAKE = "tracer_uptake"  # patient waits `minutes` between administration and scanning
    EARLY_START = "early_start"  # start no later than `latest_start` (local wall clock)


@dataclass(frozen=True)
class ExamSelector:
    """Which other exams a sequencing need speaks about; an empty field matches anything."""

    contrast_agents: frozenset[ContrastAgent] = frozenset()
    modalities: frozenset[Modality] = frozenset()
    body_regions: frozenset[BodyRegion] = frozenset()

    def matches(self, protocol: Protocol, variant: ContrastVariant) -> bool:
        """Whether the other exam (`protocol` done as `variant`) is one this selector names."""
        return (
            (not self.contrast_agents or variant.agent in self.contrast_agents)
            and (not self.modalities or protocol.modality in self.modalities)
            and (not self.body_regions or protocol.body_region in self.body_regions)
        )


@dataclass(frozen=True)
class SequencingNeed:
    """One ordering constraint a scheduler must honour, with why and where it comes from."""

    kind: SequencingKind
    reason: str
    source: str
    selector: ExamSelector | None = None  # for BEFORE / AFTER
    gap_days: int = 0  # BEFORE/AFTER: if done in the wrong order, wait this many days
    minutes: int = 0  # TRACER_UPTAKE
    latest_start: time | None = None  # EARLY_START


@dataclass(frozen=True)
class ContrastVariant:
    """One way of doing the exam: its contrast, its CPT code(s), its scanner time."""

    phase: ContrastPhase
    cpt: str
    minutes: int
    agent: ContrastAgent = ContrastAgent.NONE
    route: ContrastRoute = ContrastRoute.NONE
    supervision_required: bool = False
    # Further codes billed for the same exam: CPT add-ons (77063 with 77067) or a second
    # region's code (71260 with 74177 in a chest-abdomen-pelvis CT).
    additional_cpts: tuple[str, ...] = ()
    preparation: Preparation | None = None  # replaces the protocol's when given

    @property
    def cpt_codes(self) -> tuple[str, ...]:
        """Every CPT code billed for this variant, primary first."""
        return (self.cpt, *self.additional_cpts)

    @property
    def has_contrast(self) -> bool:
        """Whether an agent is given."""
        return self.agent is not ContrastAgent.NONE


@dataclass(frozen=True)
class Protocol:
    """An orderable exam as the catalog defines it."""

    code: str
    name: str
    modality: Modality
    body_part: str
    body_region: BodyRegion
    subspecialty: Subspecialty
    cpt_group: CptGroup
    requires_protocoling: bool
    preparation: Preparation
    report_template: str
    variants: tuple[ContrastVariant, ...]
    laterality_required: bool = False
    capabilities: frozenset[str] = frozenset()
    screening: frozenset[Questionnaire] = frozenset()
    sequencing: tuple[SequencingNeed, ...] = ()
    # This protocol bills with (a subset of) the codes of another, e.g. MR-LSPINE-WB with
    # MR-LSPINE's: an order that names only a CPT code is read as the other one.
    same_codes_as: str | None = None
    description: str = field(default="", compare=False)

    def variant(self, phase: ContrastPhase | str) -> ContrastVariant:
        """The variant for `phase`; NotFound names the phases this protocol offers."""
        for candidate in self.variants:
            if candidate.phase == phase:
                return candidate
        offered = ", ".join(v.phase.value for v in self.variants)
        raise NotFound(
            f"protocol {self.code} has no '{phase}' contrast variant; it offers: {offered}",
            field="contrast",
        )

    @property
    def has_contrast_choice(self) -> bool:
        """Whether someone must choose a contrast variant (the order or the protocoling radiologist)."""
        return len(self.variants) > 1

    def preparation_for(self, variant: ContrastVariant) -> Preparation:
        """The preparation the patient follows for this variant."""
        return variant.preparation or self.preparation

    def screening_for(self, variant: ContrastVariant) -> frozenset[Questionnaire]:
        """Questionnaires that apply: the protocol's own plus those its contrast agent calls for."""
        return self.screening | _AGENT_SCREENING.get(variant.agent, frozenset())

    def can_be_performed_on(self, modality: Modality | str) -> bool:
        """Whether a scanner of `modality` can acquire this exam (a DX exam also on CR)."""
        return modality in modalities_that_perform(self.modality)


def combined_preparation(preparations: Iterable[Preparation], *, key: str = "combined") -> Preparation:
    """One preparation for a multi-exam visit: the strictest of each item, every review, every text."""
    preps = list(preparations)
    if not preps:
        raise ValueError("combined_preparation needs at least one preparation")
    abstain: dict[Abstain, int] = {}
    for prep in preps:
        for item in prep.abstain:
            abstain[item.what] = max(abstain.get(item.what, 0), item.hours)
    texts = list(dict.fromkeys(p.patient_text for p in preps))
    return Preparation(
        key=key,
        patient_text="\n\n".join(texts),
        arrival_minutes_before=max(p.arrival_minutes_before for p in preps),
        source="; ".join(dict.fromkeys(p.source for p in preps if p.source)),
        fasting_hours=max(p.fasting_hours for p in preps),
        clear_liquids_allowed=all(p.clear_liquids_allowed for p in preps),
        hydration_ml=max(p.hydration_ml for p in preps),
        hydration_finish_minutes_before=max(p.hydration_finish_minutes_before for p in preps),
        oral_contrast_minutes_before=max(p.oral_contrast_minutes_before for p in preps),
        full_bladder=any(p.full_bladder for p in preps),
        # A full-bladder exam and an empty-bladder exam can share a visit only in that order
        # (transabdominal, then void, then transvaginal): the combined plan keeps both flags.
        empty_bladder=any(p.empty_bladder for p in preps),
        no_deodorant_or_powder=any(p.no_deodorant_or_powder for p in preps),
        mammography_timing=next((p.mammography_timing for p in preps if p.mammography_timing), ""),
        medication_review=tuple(dict.fromkeys(m for p in preps for m in p.medication_review)),
        abstain=tuple(Abstinence(what, hours) for what, hours in abstain.items()),
        bring=tuple(dict.fromkeys(b for p in preps for b in p.bring)),
    )
