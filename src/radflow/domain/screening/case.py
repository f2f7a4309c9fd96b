"""A screening case: the exam as booked, the patient, and the answers with who gave them.

Plain values only; `case_json` turns the documented JSON form into these and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from radflow.domain.errors import ValidationError

# A questionnaire answer: boolean, choice code or text (str), decimal (float), date, or a
# repeated decimal item (e.g. the field strengths a device's labeling allows).
AnswerValue = bool | float | str | date | tuple[float, ...]


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
    XA = "XA"
    RF = "RF"


class ContrastAgentClass(StrEnum):
    """The class of contrast medium the protocol plans; reactions and kidney rules go by class."""

    NONE = "none"
    IODINATED = "iodinated"
    GADOLINIUM = "gadolinium"


class ContrastRoute(StrEnum):
    """How the contrast medium is given; the kidney rules concern intravascular routes only."""

    INTRAVENOUS = "intravenous"
    INTRA_ARTERIAL = "intra_arterial"
    ORAL = "oral"
    RECTAL = "rectal"
    INTRA_ARTICULAR = "intra_articular"
    INTRATHECAL = "intrathecal"


class GbcaGroup(StrEnum):
    """ACR grouping of gadolinium-based contrast agents by NSF risk (ACR Manual on Contrast Media)."""

    I = "I"  # noqa: E741 - the ACR's own name for the group
    II = "II"
    III = "III"


class Radiopharmaceutical(StrEnum):
    """The radiopharmaceutical of a nuclear medicine or PET exam, as far as screening cares."""

    NONE = "none"
    FDG = "fdg"
    TECHNETIUM = "technetium"
    I123 = "i123"
    I131 = "i131"
    OTHER = "other"


class Sex(StrEnum):
    """Sex as recorded; anything but `male` is screened for pregnancy in the age range."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class AnswerSource(StrEnum):
    """Who gave an answer; only a technologist's on-site verification clears MRI safety items."""

    PATIENT_ONLINE = "patient_online"
    PATIENT_CHECKIN = "patient_checkin"
    TECHNOLOGIST_VERIFIED = "technologist_verified"


@dataclass(frozen=True)
class Contrast:
    """The contrast plan of the exam: class, route and, for gadolinium, the ACR group."""

    agent_class: ContrastAgentClass = ContrastAgentClass.NONE
    route: ContrastRoute | None = None
    gbca_group: GbcaGroup | None = None
    agent: str | None = None

    def __post_init__(self) -> None:
        if self.agent_class is not ContrastAgentClass.NONE and self.route is None:
            raise ValidationError(
                "a contrast route is required when a contrast agent is planned", field="exam.contrast.route"
            )
        if self.agent_class is ContrastAgentClass.GADOLINIUM and self.gbca_group is None:
            raise ValidationError(
                "a gadolinium agent needs its ACR group (I, II or III) or a known agent name",
                field="exam.contrast.gbca_group",
            )
        if self.agent_class is not ContrastAgentClass.GADOLINIUM and self.gbca_group is not None:
            raise ValidationError(
                "gbca_group is only meaningful for a gadolinium agent", field="exam.contrast.gbca_group"
            )


@dataclass(frozen=True)
class Exam:
    """The exam being screened for, with the facts of the scanner it is booked on."""

    modality: Modality
    exam_datetime: datetime
    contrast: Contrast = field(default_factory=Contrast)
    field_strength_t: float | None = None
    table_limit_kg: float | None = None
    radiopharmaceutical: Radiopharmaceutical = Radiopharmaceutical.NONE
    procedure: str | None = None

    def __post_init__(self) -> None:
        if self.exam_datetime.tzinfo is None:
            raise ValidationError(
                "exam_datetime must carry its UTC offset (e.g. 2026-03-02T14:00:00Z)",
                field="exam.exam_datetime",
            )
        if self.modality is Modality.MR and self.field_strength_t is None:
            raise ValidationError(
                "an MR exam needs the scanner's field strength in tesla: device conditions depend on it",
                field="exam.field_strength_t",
            )


@dataclass(frozen=True)
class Patient:
    """What screening needs to know of the patient beyond the answers."""

    age_years: int
    sex: Sex


@dataclass(frozen=True)
class Answer:
    """One questionnaire answer, keyed by the item's link id, with who gave it."""

    link_id: str
    value: AnswerValue
    source: AnswerSource

    @property
    def is_technologist_verified(self) -> bool:
        """Whether a technologist confirmed this answer on site."""
        return self.source is AnswerSource.TECHNOLOGIST_VERIFIED


@dataclass(frozen=True)
class ScreeningCase:
    """An exam, its patient and the screening answers given so far."""

    exam: Exam
    patient: Patient
    answers: Mapping[str, Answer] = field(default_factory=dict, hash=False)
    case_id: str | None = None
