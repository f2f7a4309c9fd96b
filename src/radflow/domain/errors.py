"""The one error hierarchy of radflow.

Every edge maps these to its own protocol, once: HTTP status with problem+json, FHIR
OperationOutcome, HL7 ACK (AE/AR with ERR), DICOM status.

    RadflowError            HTTP 500 · HL7 AE, ERR-3 207 · DICOM 0xC000 (unable to process)
    ├── NotFound            HTTP 404 · HL7 AE, ERR-3 204 (unknown key identifier)
    ├── Conflict            HTTP 409 · HL7 AE, ERR-3 207
    │   ├── InvalidTransition   the lifecycle table has no such event for that state
    │   └── DuplicateRequest    an idempotency key seen before with different content
    ├── ValidationError     HTTP 422 · HL7 AE, ERR-3 101/102/103 · DICOM 0xA900 (identifier does not match)
    ├── Unauthenticated     HTTP 401
    └── Forbidden           HTTP 403 · DICOM association rejected
"""

from __future__ import annotations


class RadflowError(Exception):
    """Root of every error radflow raises on purpose; carries a message a user can act on."""

    code: str = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(RadflowError):
    """The thing asked for does not exist (or the caller may not know that it does)."""

    code = "not-found"


class Conflict(RadflowError):
    """The request clashes with the current state (a double booking, a stale claim)."""

    code = "conflict"


class InvalidTransition(Conflict):
    """The lifecycle table has no transition for this event from the current state."""

    code = "invalid-transition"

    def __init__(self, state: str, event: str, *, aggregate: str = "order") -> None:
        super().__init__(f"{aggregate} in state '{state}' cannot take event '{event}'")
        self.state = state
        self.event = event
        self.aggregate = aggregate


class DuplicateRequest(Conflict):
    """An idempotency key was seen before with different content."""

    code = "duplicate"


class ValidationError(RadflowError):
    """Input is malformed or incomplete; the message names the field and what is expected."""

    code = "invalid"


class Unauthenticated(RadflowError):
    """No credentials, or credentials that do not identify an active user."""

    code = "unauthenticated"


class Forbidden(RadflowError):
    """The policy refuses this user this action on this object."""

    code = "forbidden"
