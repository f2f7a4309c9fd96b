"""Users and their roles (DESIGN §2: access control)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from radflow.domain.aggregate import Aggregate


class Role(StrEnum):
    """A user's role; a section chief is a radiologist with that flag, a lead technologist likewise."""

    INTAKE = "intake"
    AUTHORIZATION = "authorization"
    SCHEDULER = "scheduler"
    FRONT_DESK = "front_desk"
    TECHNOLOGIST = "technologist"
    RADIOLOGIST = "radiologist"
    REFERRING_PROVIDER = "referring_provider"
    PATIENT = "patient"
    MANAGER = "manager"
    INTEGRATION = "integration"
    ADMIN = "admin"


@dataclass(eq=False)
class User(Aggregate):
    """A person (or an interface engine) that signs in to radflow."""

    id: str
    username: str
    display_name: str
    role: Role
    password_hash: str
    created_at: datetime
    active: bool = True
    npi: str = ""  # referring providers and radiologists
    patient_id: str | None = None  # the patient record a patient user is
    proxy_patient_ids: list[str] = field(default_factory=list)  # records granted to a proxy
    covers_npis: list[str] = field(default_factory=list)  # providers this provider covers for
    is_section_chief: bool = False
    is_lead_technologist: bool = False
    email: str = ""
    phone: str = ""

    def principal(self, source: str = "") -> Principal:
        """A frozen snapshot of who is acting, passed to services and the policy."""
        return Principal(
            user_id=self.id, username=self.username, role=self.role, active=self.active, npi=self.npi,
            patient_id=self.patient_id, proxy_patient_ids=frozenset(self.proxy_patient_ids),
            covers_npis=frozenset(self.covers_npis), is_section_chief=self.is_section_chief,
            is_lead_technologist=self.is_lead_technologist, display_name=self.display_name, source=source,
        )

    @property
    def is_staff(self) -> bool:
        """True for everyone who works at the center (not a referrer, patient or interface)."""
        return self.role not in (Role.REFERRING_PROVIDER, Role.PATIENT, Role.INTEGRATION)


@dataclass(frozen=True)
class Principal:
    """Who is acting (a user, or a system component with a role), and from where."""

    user_id: str
    username: str
    role: Role
    active: bool = True
    npi: str = ""
    patient_id: str | None = None
    proxy_patient_ids: frozenset[str] = frozenset()
    covers_npis: frozenset[str] = frozenset()
    is_section_chief: bool = False
    is_lead_technologist: bool = False
    display_name: str = ""
    source: str = ""

    @classmethod
    def system(cls, name: str, *, role: Role = Role.INTEGRATION, source: str = "") -> Principal:
        """A principal for radflow's own components (worker, HL7 listener, DICOM SCP)."""
        return cls(user_id=f"system:{name}", username=name, role=role, display_name=name,
                   source=source or name)
