"""Referral (where an order came from), Document (a file attached to it) and Coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from radflow.domain.aggregate import Aggregate


class ReferralChannel(StrEnum):
    """How the referral reached the center."""

    FAX = "fax"
    E_ORDER = "e_order"
    SECURE_EMAIL = "secure_email"
    PORTAL = "portal"
    SELF_REQUEST = "self_request"
    HL7 = "hl7"


@dataclass(eq=False)
class Referral(Aggregate):
    """A referral as received: source, channel and the contact to send documentation requests to."""

    id: str
    patient_id: str
    channel: ReferralChannel
    received_at: datetime
    received_by: str
    source_organization: str = ""
    source_provider_name: str = ""
    source_provider_npi: str = ""
    reply_fax: str = ""
    reply_email: str = ""
    reply_phone: str = ""
    external_reference: str = ""
    notes: str = ""


class DocumentKind(StrEnum):
    """What a stored file is, for the order's document list."""

    REFERRAL = "referral"
    CLINICAL_NOTES = "clinical_notes"
    PAYER_LETTER = "payer_letter"
    CONSENT = "consent"
    PRIOR_REPORT = "prior_report"
    OTHER = "other"


class DocumentSource(StrEnum):
    """How a file arrived."""

    UPLOAD = "upload"
    FAX_FOLDER = "fax_folder"
    HL7 = "hl7"
    EMAIL = "email"
    GENERATED = "generated"


@dataclass(eq=False)
class Document(Aggregate):
    """A file attached to a referral or order; the content is stored once under its SHA-256."""

    id: str
    patient_id: str | None  # None while a faxed page waits in the inbox to be filed
    filename: str
    content_type: str
    sha256: str
    size: int
    kind: DocumentKind
    source: DocumentSource
    received_at: datetime
    received_by: str
    referral_id: str | None = None
    order_id: str | None = None
    description: str = ""


@dataclass(eq=False)
class Coverage(Aggregate):
    """Insurance coverage of a patient with one payer (FHIR Coverage)."""

    id: str
    patient_id: str
    payer_id: str
    member_id: str
    created_at: datetime
    group_number: str = ""
    plan_name: str = ""
    subscriber_name: str = ""
    relationship: str = "self"  # FHIR subscriber-relationship: self, spouse, child, other
    active: bool = True
    verified_at: datetime | None = None
