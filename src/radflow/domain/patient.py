"""Patient: several identifiers with their assigning authority, demographics, contacts; duplicates; merge."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.events import PatientRegistered, PatientsMerged
from radflow.domain.values import normalise_phone

#: radflow's own assigning authority for the MRNs it issues.
RADFLOW_AUTHORITY = "RADFLOW"


class Sex(StrEnum):
    """Administrative sex (HL7 table 0001 / FHIR administrative-gender, reduced)."""

    FEMALE = "F"
    MALE = "M"
    OTHER = "O"
    UNKNOWN = "U"


@dataclass(eq=False)
class PatientIdentifier:
    """One identifier of a patient, qualified by who assigned it (PID-3 CX.4, FHIR Identifier.system)."""

    authority: str
    value: str
    type_code: str = "MR"  # HL7 table 0203: MR medical record number, PI patient internal, …
    patient_id: str = ""
    id: int | None = None


@dataclass(eq=False)
class Patient(Aggregate):
    """A person radflow images; one record per person once duplicates are merged."""

    id: str
    family_name: str
    given_name: str
    birth_date: date
    sex: Sex
    created_at: datetime
    middle_name: str = ""
    phone: str = ""
    email: str = ""
    address_line: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    preferred_language: str = "en"
    identifiers: list[PatientIdentifier] = field(default_factory=list)
    probable_duplicate_ids: list[str] = field(default_factory=list)
    merged_into_id: str | None = None
    is_temporary: bool = False  # an unidentified (trauma) patient awaiting merge

    @property
    def display_name(self) -> str:
        """'FAMILY, Given' as a front desk reads it."""
        return f"{self.family_name.upper()}, {self.given_name}"

    @property
    def mrn(self) -> str:
        """radflow's own MRN (the identifier with radflow's authority)."""
        for ident in self.identifiers:
            if ident.authority == RADFLOW_AUTHORITY:
                return ident.value
        return self.identifiers[0].value if self.identifiers else ""

    @property
    def is_active(self) -> bool:
        """False once merged into another record."""
        return self.merged_into_id is None

    def add_identifier(self, authority: str, value: str, type_code: str = "MR") -> None:
        """Attach an identifier; the same authority may not give this patient two different values."""
        authority, value = authority.strip(), value.strip()
        if not authority or not value:
            raise ValidationError("an identifier needs both an assigning authority and a value", field="identifiers")
        for ident in self.identifiers:
            if ident.authority == authority and ident.type_code == type_code:
                if ident.value == value:
                    return
                raise Conflict(
                    f"patient already has {type_code} '{ident.value}' from {authority}; "
                    f"refusing a second value '{value}'"
                )
        self.identifiers.append(PatientIdentifier(authority=authority, value=value, type_code=type_code,
                                                  patient_id=self.id))

    def registered(self, *, by: str, at: datetime, duplicates: list[str]) -> None:
        """Record registration and the probable duplicates found at intake."""
        self.probable_duplicate_ids = list(duplicates)
        self.record(PatientRegistered(at=at, by=by, patient_id=self.id, probable_duplicates=tuple(duplicates)))

    def merge_from(self, other: Patient, *, by: str, at: datetime) -> None:
        """Absorb `other` (same person): its identifiers move here and it points to this record."""
        if other.id == self.id:
            raise ValidationError("cannot merge a patient into itself")
        if not other.is_active:
            raise Conflict(f"patient {other.id} was already merged into {other.merged_into_id}")
        if not self.is_active:
            raise Conflict(f"patient {self.id} was merged away; merge into {self.merged_into_id} instead")
        for ident in list(other.identifiers):
            mine = [i for i in self.identifiers if i.authority == ident.authority and i.type_code == ident.type_code]
            if not mine:
                other.identifiers.remove(ident)
                ident.patient_id = self.id
                self.identifiers.append(ident)
        other.merged_into_id = self.id
        other.probable_duplicate_ids = []
        self.probable_duplicate_ids = [d for d in self.probable_duplicate_ids if d != other.id]
        for field_name in ("phone", "email", "address_line", "city", "state", "postal_code"):
            if not getattr(self, field_name) and getattr(other, field_name):
                setattr(self, field_name, getattr(other, field_name))
        if self.is_temporary and not other.is_temporary:
            self.family_name, self.given_name = other.family_name, other.given_name
            self.birth_date, self.sex = other.birth_date, other.sex
            self.is_temporary = False
        self.record(PatientsMerged(at=at, by=by, survivor_id=self.id, merged_id=other.id))


def _fold(text: str) -> str:
    """Case- and accent-insensitive form of a name ('Müller' ~ 'MULLER')."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum()).upper()


@dataclass(frozen=True)
class DuplicateCandidate:
    """What intake knows about a person, for comparison with existing records."""

    family_name: str
    given_name: str
    birth_date: date
    phone: str = ""


def duplicate_score(new: DuplicateCandidate, existing: Patient) -> int:
    """Score (0–100) that `new` is the same person as `existing`; ≥ 60 is flagged as probable."""
    score = 0
    same_birth = new.birth_date == existing.birth_date
    # A day/month transposition is the commonest birth-date keying error.
    swapped_birth = (
        new.birth_date.year == existing.birth_date.year
        and new.birth_date.month == existing.birth_date.day
        and new.birth_date.day == existing.birth_date.month
    )
    if same_birth:
        score += 40
    elif swapped_birth:
        score += 25
    family_same = _fold(new.family_name) == _fold(existing.family_name)
    given_new, given_old = _fold(new.given_name), _fold(existing.given_name)
    given_same = given_new == given_old
    given_initial = bool(given_new and given_old) and given_new[0] == given_old[0]
    if family_same:
        score += 25
    if given_same:
        score += 20
    elif given_initial:
        score += 10
    phone_new, phone_old = normalise_phone(new.phone), normalise_phone(existing.phone)
    if phone_new and phone_new == phone_old:
        score += 30
    return min(score, 100)


PROBABLE_DUPLICATE_THRESHOLD = 60


def probable_duplicates(new: DuplicateCandidate, candidates: list[Patient]) -> list[str]:
    """Ids of active records that are probably the same person as `new`, best first."""
    scored = [
        (duplicate_score(new, p), p.id) for p in candidates if p.is_active
    ]
    return [pid for score, pid in sorted(scored, reverse=True) if score >= PROBABLE_DUPLICATE_THRESHOLD]
