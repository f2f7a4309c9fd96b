"""The reading worklist: which study a radiologist reads next, who holds it, and which priors to compare.

Studies in `imaging_completed` are ordered by track (stat, urgent, routine) and then by their
reporting deadline: the moment the images were complete plus the track's turnaround target
(configurable; the defaults are common service levels — STAT within an hour, urgent within a shift,
routine within two days — not a standard). A radiologist claims a study before reporting it: the claim
is a lock with an expiry (renewed while they work), so that two radiologists never report the same
study, and a claim left behind by someone who walked away frees itself. The database enforces one
claim per study (adapters/db/reporting_tables.py).

Priors are the patient's earlier studies of the same body region, from radflow's own orders and
from the PACS (a C-FIND port); the PACS describes a study only by its description and modalities, so
its body region is read from the description's words (`REGION_WORDS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final, Protocol

from radflow.domain.critical_result import CriticalDeadlines
from radflow.domain.errors import Conflict, ValidationError

TRACK_RANK: Final = {"stat": 0, "urgent": 1, "routine": 2}


@dataclass(frozen=True)
class TurnaroundTargets:
    """Reporting turnaround per track: images complete → final report."""

    stat_minutes: int = 60
    urgent_minutes: int = 8 * 60
    routine_minutes: int = 48 * 60

    def __post_init__(self) -> None:
        if min(self.stat_minutes, self.urgent_minutes, self.routine_minutes) <= 0:
            raise ValidationError("reporting turnaround targets must be positive minutes")

    def target(self, track: str) -> timedelta:
        """The target of one track (an unknown track is read as routine)."""
        minutes = {"stat": self.stat_minutes, "urgent": self.urgent_minutes}.get(track, self.routine_minutes)
        return timedelta(minutes=minutes)


@dataclass(frozen=True)
class ReportingPolicy:
    """The reading and reporting numbers a center sets: turnaround, claim length, critical deadlines."""

    turnaround: TurnaroundTargets = field(default_factory=TurnaroundTargets)
    claim_minutes: int = 30
    critical: CriticalDeadlines = field(default_factory=CriticalDeadlines)

    def __post_init__(self) -> None:
        if self.claim_minutes <= 0:
            raise ValidationError("a reading claim must last some minutes")


def reporting_deadline(completed_at: datetime, track: str, targets: TurnaroundTargets) -> datetime:
    """When the final report is due: images complete plus the track's turnaround target."""
    return completed_at + targets.target(track)


@dataclass(frozen=True)
class WorklistEntry:
    """One study waiting to be read."""

    order_id: str
    accession_number: str
    patient_id: str
    patient_name: str
    mrn: str
    birth_date: date
    protocol_code: str
    protocol_name: str
    modality: str
    body_part: str
    body_region: str
    subspecialty: str
    site: str
    track: str
    completed_at: datetime
    due_at: datetime
    report_state: str = ""
    claimed_by: str = ""
    claimed_by_name: str = ""
    claim_expires_at: datetime | None = None
    open_critical_results: int = 0

    def is_claimed(self, now: datetime) -> bool:
        """True while someone holds a live claim."""
        return bool(self.claimed_by) and self.claim_expires_at is not None and self.claim_expires_at > now


def worklist_key(entry: WorklistEntry) -> tuple[int, datetime, datetime, str]:
    """Sort key of the worklist: track first, then the reporting deadline, then the oldest study."""
    return (TRACK_RANK.get(entry.track, len(TRACK_RANK)), entry.due_at, entry.completed_at, entry.accession_number)


@dataclass(frozen=True)
class WorklistFilter:
    """What a radiologist narrows the worklist to (empty fields match everything)."""

    modality: str = ""
    body_region: str = ""
    subspecialty: str = ""
    site: str = ""
    unclaimed_only: bool = False

    def matches(self, entry: WorklistEntry, now: datetime) -> bool:
        """True when `entry` passes every filter that is set."""
        checks = (
            (self.modality, entry.modality), (self.body_region, entry.body_region),
            (self.subspecialty, entry.subspecialty), (self.site, entry.site),
        )
        if any(wanted and wanted.lower() != value.lower() for wanted, value in checks):
            return False
        return not (self.unclaimed_only and entry.is_claimed(now))


def reading_worklist(entries: Iterable[WorklistEntry], wanted: WorklistFilter, now: datetime) -> list[WorklistEntry]:
    """The filtered worklist in reading order."""
    return sorted((e for e in entries if wanted.matches(e, now)), key=worklist_key)


# -- claims ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadingClaim:
    """A radiologist's lock on a study while they report it."""

    order_id: str
    user_id: str
    claimed_at: datetime
    expires_at: datetime
    user_name: str = ""

    def is_live(self, now: datetime) -> bool:
        """True until it expires."""
        return self.expires_at > now

    def held_by(self, user_id: str, now: datetime) -> bool:
        """True when `user_id` holds it and it has not expired."""
        return self.user_id == user_id and self.is_live(now)


def check_claimable(existing: ReadingClaim | None, user_id: str, now: datetime) -> None:
    """Raise Conflict when someone else holds a live claim on the study."""
    if existing is not None and existing.is_live(now) and existing.user_id != user_id:
        holder = existing.user_name or existing.user_id
        raise Conflict(f"{holder} is reading this study (claimed until {existing.expires_at.isoformat()}); "
                       "pick another study or ask them to release it")


def check_holds_claim(existing: ReadingClaim | None, user_id: str, now: datetime) -> None:
    """Raise Conflict unless `user_id` holds a live claim (reporting needs one)."""
    if existing is None or not existing.is_live(now):
        raise Conflict("claim the study on the reading worklist before reporting it (no live claim)")
    check_claimable(existing, user_id, now)


# -- priors ----------------------------------------------------------------------------------------

#: Words of a study description that name a body region (region keys are the catalog's BodyRegion).
REGION_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "head": ("head", "brain", "skull", "sinus", "orbit", "temporal bone", "iac", "face", "cranial"),
    "neck": ("neck", "soft tissue neck", "larynx", "thyroid", "parotid"),
    "chest": ("chest", "thorax", "lung", "ldct", "pulmonary", "rib"),
    "abdomen": ("abdomen", "abd", "liver", "pancrea", "kidney", "renal", "gallbladder", "spleen", "enterography"),
    "pelvis": ("pelvis", "prostate", "uterus", "ovar", "bladder", "scrot", "testi", "obstetric"),
    "spine": ("spine", "cervical", "thoracic spine", "lumbar", "sacrum", "c-spine", "l-spine", "t-spine"),
    "upper_extremity": ("shoulder", "elbow", "wrist", "hand", "humerus", "forearm", "finger", "clavicle"),
    "lower_extremity": ("hip", "knee", "ankle", "foot", "femur", "tibia", "leg", "toe"),
    "breast": ("breast", "mammo", "mammogram", "tomosynthesis"),
    "heart": ("heart", "cardiac", "coronary", "myocard"),
    "vascular": ("angio", "aorta", "carotid", "venous", "arterial", "doppler"),
    "whole_body": ("whole body", "pet", "bone scan"),
}


def region_of_description(description: str) -> str:
    """The body region a study description names ('' when none, or when several tie)."""
    text = f" {description.lower()} "
    scores: dict[str, int] = {}
    for region, words in REGION_WORDS.items():
        for word in words:
            if re.search(rf"(?<![a-z]){re.escape(word)}", text):
                scores[region] = scores.get(region, 0) + 1
    if not scores:
        return ""
    best = max(scores.values())
    top = [region for region, score in scores.items() if score == best]
    return top[0] if len(top) == 1 else ""


class PacsStudyRecord(Protocol):
    """What the PACS says about one study (radflow.adapters.dicom.pacs.PacsStudy has these)."""

    @property
    def study_instance_uid(self) -> str: ...
    @property
    def accession_number(self) -> str: ...
    @property
    def study_date(self) -> date | None: ...
    @property
    def modalities(self) -> tuple[str, ...]: ...
    @property
    def description(self) -> str: ...


class PacsStudies(Protocol):
    """The port to the PACS (DICOM C-FIND, Study Root): a patient's studies."""

    def studies_for_patient(self, patient_id: str, *, modality: str = "", date_from: date | None = None,
                            date_to: date | None = None) -> Sequence[PacsStudyRecord]:
        """The patient's studies the PACS holds."""
        ...


@dataclass(frozen=True)
class PriorStudy:
    """An earlier study of the same patient, from radflow or from the PACS."""

    source: str  # "radflow" or "pacs"
    accession_number: str
    study_instance_uid: str
    study_date: date | None
    modality: str
    description: str
    body_region: str
    order_id: str = ""
    report_state: str = ""
    impression: str = ""


def relevant_priors(current_accession: str, current_study_uid: str, region: str,
                    candidates: Iterable[PriorStudy]) -> list[PriorStudy]:
    """Priors in the same body region, newest first; radflow's record wins over the PACS's for one study."""
    chosen: dict[str, PriorStudy] = {}
    for prior in candidates:
        if prior.accession_number == current_accession and current_accession:
            continue
        if prior.study_instance_uid and prior.study_instance_uid == current_study_uid:
            continue
        if not region or prior.body_region != region:
            continue
        key = prior.study_instance_uid or prior.accession_number or f"{prior.source}:{len(chosen)}"
        alias = next((k for k, p in chosen.items() if prior.accession_number
                      and p.accession_number == prior.accession_number), None)
        key = alias or key
        if key not in chosen or (chosen[key].source == "pacs" and prior.source == "radflow"):
            chosen[key] = prior
    return sorted(chosen.values(), key=lambda p: (p.study_date or date.min), reverse=True)
