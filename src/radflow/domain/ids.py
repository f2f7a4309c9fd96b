"""Identifiers: typed, and generated in one place."""

from __future__ import annotations

import uuid
from typing import NewType

PatientId = NewType("PatientId", str)
OrderId = NewType("OrderId", str)
ReferralId = NewType("ReferralId", str)
DocumentId = NewType("DocumentId", str)
CoverageId = NewType("CoverageId", str)
AuthorizationId = NewType("AuthorizationId", str)
UserId = NewType("UserId", str)
JobId = NewType("JobId", str)


def new_id() -> str:
    """A new opaque identifier (32 hex characters, random): safe to expose in URLs and FHIR ids."""
    return uuid.uuid4().hex


def uid_from_root(root: str) -> str:
    """A new DICOM UID under `root`; "2.25" gives a UUID-derived UID (PS3.5 B.2), at most 64 chars."""
    value = uuid.uuid4().int
    if root == "2.25":
        return f"2.25.{value}"
    # Under an organisation root, the UUID's decimal digits are trimmed to keep the UID ≤ 64 chars.
    room = 64 - len(root) - 1
    return f"{root}.{str(value)[:room].lstrip('0') or '1'}"
