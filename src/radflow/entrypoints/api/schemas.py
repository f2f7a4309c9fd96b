"""The REST API's request and response shapes (pydantic, at the edge only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Unknown fields are refused: a typo must not silently drop data."""

    model_config = ConfigDict(extra="forbid")


class IdentifierIn(Strict):
    """A patient identifier with its assigning authority."""

    authority: str = Field(min_length=1, max_length=64)
    value: str = Field(min_length=1, max_length=64)
    type_code: str = "MR"


class PatientIn(Strict):
    """Register a patient."""

    family_name: str = Field(min_length=1, max_length=100)
    given_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: str = Field(pattern="^[FMOUfmou]$")
    middle_name: str = ""
    phone: str = ""
    email: str = ""
    address_line: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    preferred_language: str = "en"
    identifiers: list[IdentifierIn] = []


class PatientPatch(Strict):
    """Change patient details (only what is given)."""

    phone: str | None = None
    email: str | None = None
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None


class MergeIn(Strict):
    """Fold another record into this one."""

    merged_id: str


class CoverageIn(Strict):
    """Insurance coverage."""

    payer_id: str
    member_id: str = ""
    group_number: str = ""
    plan_name: str = ""
    subscriber_name: str = ""
    relationship: str = "self"


class ProviderRef(Strict):
    """A provider by NPI and name."""

    npi: str
    name: str = ""


class OrderLineIn(Strict):
    """One requested exam."""

    protocol_code: str
    requested_modality: str = ""
    contrast: str | None = None
    laterality: str | None = None
    reason_for_exam: str = ""
    diagnosis_codes: list[str] = []
    clinical_notes: str = ""
    ordering_provider_npi: str = ""
    ordering_provider_name: str = ""
    copy_to: list[ProviderRef] = []
    priority: str = "routine"
    setting: str = "outpatient"
    coverage_id: str | None = None
    self_pay: bool = False
    placer_order_number: str = ""
    placer_system: str = ""


class ReferralIn(Strict):
    """A referral with its orders."""

    patient_id: str
    channel: str = "e_order"
    orders: list[OrderLineIn] = Field(min_length=1)
    source_organization: str = ""
    source_provider_name: str = ""
    source_provider_npi: str = ""
    reply_fax: str = ""
    reply_email: str = ""
    reply_phone: str = ""
    external_reference: str = ""
    notes: str = ""


class DocumentationIn(Strict):
    """What the referrer sent back."""

    diagnosis_codes: list[str] | None = None
    reason_for_exam: str | None = None
    contrast: str | None = None
    laterality: str | None = None
    ordering_provider_npi: str | None = None
    ordering_provider_name: str | None = None
    coverage_id: str | None = None
    self_pay: bool | None = None
    clinical_notes: str | None = None
    note: str = ""


class ProtocolIn(Strict):
    """A protocoling decision."""

    contrast: str
    special_instructions: str = ""
    protocol_code: str | None = None


class ReasonIn(Strict):
    """A reason a person gives."""

    reason: str = Field(min_length=1)


class SubmitIn(Strict):
    """The payer's reference for a submitted request."""

    payer_reference: str = Field(min_length=1)


class ApproveIn(Strict):
    """The payer's approval."""

    authorization_number: str = Field(min_length=1)
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class MoreDocumentationIn(Strict):
    """What the payer asked for."""

    what: str = Field(min_length=1)


class ResubmitIn(Strict):
    """An appeal."""

    payer_reference: str = Field(min_length=1)
    note: str = ""


class SubstituteIn(Strict):
    """A substitute study."""

    protocol_code: str
    contrast: str | None = None
    reason: str = Field(min_length=1)


class AssignIn(Strict):
    """Who handles it."""

    assignee_id: str | None = None


class UserIn(Strict):
    """A new account."""

    username: str
    display_name: str = ""
    role: str
    password: str
    npi: str = ""
    patient_id: str | None = None
    is_section_chief: bool = False
    is_lead_technologist: bool = False
    email: str = ""


class FileDocumentIn(Strict):
    """File an inbox document to a patient."""

    patient_id: str
    referral_id: str | None = None
    order_id: str | None = None
    kind: str = "referral"


def jsonable(value: Any) -> Any:
    """Dataclasses, enums and datetimes into JSON-ready values."""
    from dataclasses import asdict, is_dataclass
    from enum import Enum

    if is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in asdict(value).items() if not k.startswith("_")}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value
