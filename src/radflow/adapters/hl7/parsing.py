"""Bytes → typed inbound messages: MSH first, then the reader for the message type.

The character set is read from MSH-18 in the raw bytes before anything is decoded (MSH is ASCII in
every character set radflow accepts). Versions 2.3 to 2.5.1 are accepted (HL7 table 0104).
"""

from __future__ import annotations

from collections.abc import Callable

from radflow.adapters.hl7.datatypes import timestamp
from radflow.adapters.hl7.encoding import STANDARD_DELIMITERS, Delimiters, decode_message, unescape
from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError
from radflow.adapters.hl7.messages import InboundMessage, MessageHeader
from radflow.adapters.hl7.orders import read_order
from radflow.adapters.hl7.patients import read_merge, read_patient_message
from radflow.adapters.hl7.results import read_report
from radflow.adapters.hl7.segments import SegmentList, SegmentReader

SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
# HL7 table 0103: production, debugging, training.
PROCESSING_IDS = frozenset({"P", "D", "T"})

Reader = Callable[[MessageHeader, SegmentList], InboundMessage]
READERS: dict[tuple[str, str], Reader] = {
    ("ORM", "O01"): read_order,
    ("OMI", "O23"): read_order,
    ("ADT", "A04"): read_patient_message,
    ("ADT", "A08"): read_patient_message,
    ("ADT", "A40"): read_merge,
    ("ORU", "R01"): read_report,
}
SUPPORTED_TYPES = frozenset(code for code, _ in READERS)
# The structure (MSH-9.3) is implied by type and trigger when a 2.3 sender leaves it out.
DEFAULT_STRUCTURES = {
    ("ORM", "O01"): "ORM_O01",
    ("OMI", "O23"): "OMI_O23",
    ("ADT", "A04"): "ADT_A01",
    ("ADT", "A08"): "ADT_A01",
    ("ADT", "A40"): "ADT_A39",
    ("ORU", "R01"): "ORU_R01",
}


def parse_message(raw: bytes) -> InboundMessage:
    """Read one message (the bytes inside an MLLP frame); Hl7ContentError says what is wrong and where."""
    header, segments = _decode(raw)
    return READERS[(header.message_code, header.trigger_event)](header, segments)


def parse_header(raw: bytes) -> MessageHeader:
    """Read and check only MSH: type, trigger, version and processing id must be ones radflow accepts."""
    return _decode(raw)[0]


def read_header_best_effort(raw: bytes) -> MessageHeader | None:
    """Whatever MSH says, without any check, for answering a frame that cannot be parsed; never raises.

    None when the frame does not start with an MSH segment at all.
    """
    body = _strip_preamble(raw)
    if not _looks_like_msh(body):
        return None
    separator = chr(body[3])
    first_line = body.replace(b"\n", b"\r").split(b"\r", 1)[0].decode("latin-1")
    parts = first_line.split(separator)
    parts.insert(1, separator)
    # Unchecked delimiters: a wrong MSH-2 must not stop us from echoing MSH-10.
    encoding_characters = parts[2] if len(parts) > 2 else ""
    if len(encoding_characters) >= 4:
        delimiters = Delimiters(separator, *encoding_characters[:4])
    else:
        delimiters = Delimiters(separator, *STANDARD_DELIMITERS.encoding_characters)

    def field(number: int, component: int = 1) -> str:
        """MSH-n, first repetition, one component, unescaped."""
        value = parts[number] if number < len(parts) else ""
        components = value.split(delimiters.repetition)[0].split(delimiters.component)
        chosen = components[component - 1] if component <= len(components) else ""
        return unescape(chosen.split(delimiters.subcomponent)[0], delimiters, "latin-1")

    try:
        created_at = timestamp(field(7), ErrorLocation("MSH", field=7))
    except Hl7ContentError:
        created_at = None
    raw_control_id = parts[10] if len(parts) > 10 else ""
    return MessageHeader(
        sending_application=field(3),
        sending_facility=field(4),
        receiving_application=field(5),
        receiving_facility=field(6),
        created_at=created_at,
        message_code=field(9, 1),
        trigger_event=field(9, 2),
        message_structure=field(9, 3),
        # MSH-10 is an ST: echoed whole, even if it happens to hold a component separator.
        control_id=unescape(raw_control_id, delimiters, "latin-1"),
        processing_id=field(11),
        version=field(12),
        accept_ack_type=field(15),
        application_ack_type=field(16),
        charset=field(18),
        decoded_as="latin-1",
    )


def _strip_preamble(raw: bytes) -> bytes:
    """Drop a UTF-8 byte-order mark and leading blank lines some senders put before MSH."""
    body = raw.removeprefix(b"\xef\xbb\xbf")
    return body.lstrip(b" \t\r\n")


def _looks_like_msh(body: bytes) -> bool:
    """True when the frame starts 'MSH' followed by a printable, non-alphanumeric field separator."""
    if len(body) < 4 or body[:3] != b"MSH":
        return False
    separator = body[3]
    return 0x21 <= separator <= 0x7E and not chr(separator).isalnum()


def _decode(raw: bytes) -> tuple[MessageHeader, SegmentList]:
    """Delimiters and character set from the MSH bytes, then the decoded, split message."""
    body = _strip_preamble(raw)
    if not _looks_like_msh(body):
        raise Hl7ContentError(
            "the message does not start with an MSH segment",
            error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
            location=ErrorLocation("MSH"),
            reject=True,
        )
    separator = body[3:4]
    first_line = body.replace(b"\n", b"\r").split(b"\r", 1)[0]
    msh_bytes = first_line.split(separator)
    encoding_characters = msh_bytes[1].decode("latin-1") if len(msh_bytes) > 1 else ""
    delimiters = Delimiters.from_msh(separator.decode("latin-1"), encoding_characters)
    # MSH-18 is the 17th element after the split (MSH-1 is the separator itself); first repetition.
    charset_field = msh_bytes[17].decode("latin-1") if len(msh_bytes) > 17 else ""
    charset = charset_field.split(delimiters.repetition)[0].split(delimiters.component)[0].strip()
    text, codec = decode_message(body, charset)
    segments = SegmentList.split(text, delimiters, codec)
    msh = segments.segments[0]
    return _header(msh, charset, codec), segments


def _header(msh: SegmentReader, charset: str, codec: str) -> MessageHeader:
    """MSH checked per HL7 2.5.1 2.9.2.1: type, version and processing id, else AR."""
    control_id = unescape(msh.raw(10), msh.delimiters, codec)
    if not control_id.strip():
        raise Hl7ContentError(
            "MSH-10 (message control id) is required: the ACK has nothing to echo",
            error_code=ErrorCode.REQUIRED_FIELD_MISSING,
            location=msh.location(10),
            reject=True,
        )
    version = msh.text(12).strip()
    if version not in SUPPORTED_VERSIONS:
        raise Hl7ContentError(
            f"version {version or '(none)'!r} is not supported; send one of {', '.join(SUPPORTED_VERSIONS)}",
            error_code=ErrorCode.UNSUPPORTED_VERSION_ID,
            location=msh.location(12),
        )
    code, trigger = msh.text(9, 1).strip(), msh.text(9, 2).strip()
    if code not in SUPPORTED_TYPES:
        raise Hl7ContentError(
            f"message type {code or '(none)'!r} is not accepted; radflow takes "
            + ", ".join(f"{c}^{t}" for c, t in READERS),
            error_code=ErrorCode.UNSUPPORTED_MESSAGE_TYPE,
            location=msh.location(9, 1),
        )
    if (code, trigger) not in READERS:
        accepted = ", ".join(t for c, t in READERS if c == code)
        raise Hl7ContentError(
            f"event {code}^{trigger or '(none)'} is not accepted; for {code} radflow takes {accepted}",
            error_code=ErrorCode.UNSUPPORTED_EVENT_CODE,
            location=msh.location(9, 2),
        )
    processing_id = msh.text(11).strip()
    if processing_id and processing_id not in PROCESSING_IDS:
        raise Hl7ContentError(
            f"processing id {processing_id!r} is not P, D or T (HL7 table 0103)",
            error_code=ErrorCode.UNSUPPORTED_PROCESSING_ID,
            location=msh.location(11),
        )
    return MessageHeader(
        sending_application=msh.text(3, 1) or msh.text(3, 2),
        sending_facility=msh.text(4, 1) or msh.text(4, 2),
        receiving_application=msh.text(5, 1) or msh.text(5, 2),
        receiving_facility=msh.text(6, 1) or msh.text(6, 2),
        created_at=timestamp(msh.text(7), msh.location(7)),
        message_code=code,
        trigger_event=trigger,
        message_structure=msh.text(9, 3).strip() or DEFAULT_STRUCTURES[(code, trigger)],
        control_id=control_id,
        processing_id=processing_id,
        version=version,
        accept_ack_type=msh.text(15).strip().upper(),
        application_ack_type=msh.text(16).strip().upper(),
        charset=charset,
        decoded_as=codec,
    )
