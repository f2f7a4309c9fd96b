"""HL7 content errors that carry what an ERR segment needs (location, table 0357 code, severity).

The parser and the mapping raise `Hl7ContentError`; `acks.py` turns it into AE/AR with ERR.
Whether the answer is AE or AR follows HL7 2.5.1 2.9.2.1: problems with MSH-9 (type, trigger),
MSH-11 (processing id) and MSH-12 (version) are rejected (AR); errors in the content are AE.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from radflow.domain.errors import ValidationError


class ErrorCode(IntEnum):
    """HL7 table 0357 (message error condition codes)."""

    ACCEPTED = 0
    SEGMENT_SEQUENCE_ERROR = 100
    REQUIRED_FIELD_MISSING = 101
    DATA_TYPE_ERROR = 102
    TABLE_VALUE_NOT_FOUND = 103
    UNSUPPORTED_MESSAGE_TYPE = 200
    UNSUPPORTED_EVENT_CODE = 201
    UNSUPPORTED_PROCESSING_ID = 202
    UNSUPPORTED_VERSION_ID = 203
    UNKNOWN_KEY_IDENTIFIER = 204
    DUPLICATE_KEY_IDENTIFIER = 205
    APPLICATION_RECORD_LOCKED = 206
    APPLICATION_INTERNAL_ERROR = 207

    @property
    def text(self) -> str:
        """The code's description as table 0357 words it (ERR-3.2 / ELD-4.2)."""
        return _CODE_TEXT[self]


_CODE_TEXT: dict[ErrorCode, str] = {
    ErrorCode.ACCEPTED: "Message accepted",
    ErrorCode.SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    ErrorCode.REQUIRED_FIELD_MISSING: "Required field missing",
    ErrorCode.DATA_TYPE_ERROR: "Data type error",
    ErrorCode.TABLE_VALUE_NOT_FOUND: "Table value not found",
    ErrorCode.UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    ErrorCode.UNSUPPORTED_EVENT_CODE: "Unsupported event code",
    ErrorCode.UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    ErrorCode.UNSUPPORTED_VERSION_ID: "Unsupported version id",
    ErrorCode.UNKNOWN_KEY_IDENTIFIER: "Unknown key identifier",
    ErrorCode.DUPLICATE_KEY_IDENTIFIER: "Duplicate key identifier",
    ErrorCode.APPLICATION_RECORD_LOCKED: "Application record locked",
    ErrorCode.APPLICATION_INTERNAL_ERROR: "Application internal error",
}

# HL7 2.5.1 2.9.2.1: a receiver rejects (AR) what it cannot process at all because of MSH.
REJECT_CODES = frozenset(
    {
        ErrorCode.UNSUPPORTED_MESSAGE_TYPE,
        ErrorCode.UNSUPPORTED_EVENT_CODE,
        ErrorCode.UNSUPPORTED_PROCESSING_ID,
        ErrorCode.UNSUPPORTED_VERSION_ID,
    }
)


class Severity(StrEnum):
    """HL7 table 0516 (error severity), ERR-4."""

    ERROR = "E"
    WARNING = "W"
    INFORMATION = "I"


@dataclass(frozen=True)
class ErrorLocation:
    """Where in the message an error sits (ERR-2 ERL in 2.5, ERR-1 ELD before); 0 means 'not given'."""

    segment: str
    sequence: int = 1
    field: int = 0
    repetition: int = 0
    component: int = 0
    subcomponent: int = 0

    def __str__(self) -> str:
        text = f"{self.segment}" if not self.field else f"{self.segment}-{self.field}"
        if self.component:
            text += f".{self.component}"
            if self.subcomponent:
                text += f".{self.subcomponent}"
        if self.sequence > 1:
            text += f" (segment {self.sequence})"
        return text


class Hl7ContentError(ValidationError):
    """A message cannot be accepted as sent; carries the ERR information for the ACK."""

    code = "hl7-invalid"

    def __init__(
        self,
        message: str,
        *,
        error_code: ErrorCode,
        location: ErrorLocation | None = None,
        severity: Severity = Severity.ERROR,
        reject: bool | None = None,
    ) -> None:
        where = f"{location}: " if location is not None else ""
        super().__init__(f"{where}{message}", field=str(location) if location is not None else None)
        self.error_code = error_code
        self.location = location
        self.severity = severity
        self.user_message = message
        # An explicit `reject` covers MSH problems outside table 0357's 2xx codes (bad MSH-2).
        self._reject = reject

    @property
    def is_reject(self) -> bool:
        """True when the answer is AR/CR (MSH-level problem) rather than AE/CE."""
        if self._reject is not None:
            return self._reject
        return self.error_code in REJECT_CODES
