"""A decoded message split into segments and fields, with positions kept for ERR.

Values stay escaped until a leaf (component or subcomponent) is read, per HL7 2.5.1 2.7.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radflow.adapters.hl7.encoding import Delimiters, unescape
from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError

# HL7 2.5.1 2.6.1 says CR; senders also use LF and CRLF, and radflow accepts all three.
_SEGMENT_BREAK = re.compile(r"\r\n|\r|\n")
# Two double quotes mean "null: delete the value" (HL7 2.5.1 2.5.3), as opposed to an empty field,
# which means "no change". Values read as empty; `is_null` tells a reader that the sender asked for
# the stored value to be deleted (ADT^A08 updates act on it).
_HL7_NULL = '""'
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
# Control characters other than TAB must travel escaped (\Xhh\, 2.7.3); a raw one is a corrupted frame.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Composite:
    """One field repetition split into components and subcomponents, unescaped."""

    components: tuple[tuple[str, ...], ...]

    def get(self, component: int = 1, subcomponent: int = 1) -> str:
        """The value at a 1-based component/subcomponent position, or '' when absent."""
        if component > len(self.components):
            return ""
        parts = self.components[component - 1]
        return parts[subcomponent - 1] if subcomponent <= len(parts) else ""

    @property
    def is_empty(self) -> bool:
        """True when every component is empty."""
        return not any(any(parts) for parts in self.components)


class SegmentReader:
    """One segment's fields with typed, position-aware access."""

    def __init__(self, fields: list[str], sequence: int, delimiters: Delimiters, codec: str) -> None:
        self.name = fields[0]
        self.fields = fields
        self.sequence = sequence
        self.delimiters = delimiters
        self.codec = codec
        self._composites: dict[int, tuple[Composite, ...]] = {}

    def raw(self, field: int) -> str:
        """The field as sent (still escaped), '' when absent."""
        return self.fields[field] if field < len(self.fields) else ""

    def is_null(self, field: int) -> bool:
        """True when the field is the HL7 null `""`: the sender asks for the stored value to be deleted."""
        return self.raw(field).strip() == _HL7_NULL

    def location(self, field: int = 0, component: int = 0, subcomponent: int = 0) -> ErrorLocation:
        """This segment's position, for an ERR segment."""
        return ErrorLocation(self.name, self.sequence, field, 0, component, subcomponent)

    def composites(self, field: int) -> tuple[Composite, ...]:
        """Every non-empty repetition of a field (split once per field: readers ask several times)."""
        cached = self._composites.get(field)
        if cached is not None:
            return cached
        raw = self.raw(field)
        found: tuple[Composite, ...] = ()
        if raw not in ("", _HL7_NULL):
            d = self.delimiters
            found = tuple(
                self._composite(rep)
                for rep in raw.split(d.repetition)
                if rep.replace(d.component, "").replace(d.subcomponent, "")
            )
        self._composites[field] = found
        return found

    def composite(self, field: int) -> Composite:
        """The first repetition of a field (empty when absent)."""
        found = self.composites(field)
        return found[0] if found else Composite(())

    def texts(self, field: int) -> tuple[str, ...]:
        """Every repetition of a text field (ST, TX, FT) unescaped whole, without splitting components.

        Dictation systems often leave a '^' in report text unescaped; reading text whole keeps it.
        """
        raw = self.raw(field)
        if raw in ("", _HL7_NULL):
            return ()
        return tuple(unescape(rep, self.delimiters, self.codec) for rep in raw.split(self.delimiters.repetition))

    def text(self, field: int, component: int = 1, subcomponent: int = 1) -> str:
        """One unescaped value from the first repetition of a field."""
        return self.composite(field).get(component, subcomponent)

    def required(self, field: int, what: str, component: int = 1) -> str:
        """A value the message cannot do without; ERR 101 when it is missing."""
        value = self.text(field, component)
        if not value.strip():
            raise Hl7ContentError(
                f"{what} is required",
                error_code=ErrorCode.REQUIRED_FIELD_MISSING,
                location=self.location(field, component if component > 1 else 0),
            )
        return value

    def _composite(self, repetition: str) -> Composite:
        d = self.delimiters
        if d.escape not in repetition and _HL7_NULL not in repetition:
            # Fast path: nothing to unescape (most values), so split only.
            return Composite(tuple(tuple(c.split(d.subcomponent)) for c in repetition.split(d.component)))
        components = tuple(
            tuple("" if sub == _HL7_NULL else unescape(sub, d, self.codec) for sub in component.split(d.subcomponent))
            for component in repetition.split(d.component)
        )
        return Composite(components)


class SegmentList:
    """The segments of one message, in order."""

    def __init__(self, segments: list[SegmentReader]) -> None:
        self.segments = segments

    @classmethod
    def split(cls, text: str, delimiters: Delimiters, codec: str) -> SegmentList:
        """Split decoded text into segments; MSH keeps MSH-1 as field 1 and MSH-2 unsplit."""
        counts: dict[str, int] = {}
        segments: list[SegmentReader] = []
        for number, line in enumerate(_SEGMENT_BREAK.split(text), start=1):
            if not line.strip(" \t"):
                continue
            fields = line.split(delimiters.field)
            # Only blanks are trimmed: str.strip() would also eat the control bytes 0x1C-0x1F.
            name = fields[0].strip(" \t")
            if not _SEGMENT_ID.match(name):
                # Usually a line break inside a value; ignoring the line would silently cut the text.
                raise Hl7ContentError(
                    f"line {number} ({line[:24]!r}) does not start with a segment id; "
                    "a value may contain an unescaped line break",
                    error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
                    location=ErrorLocation(segments[-1].name if segments else "MSH"),
                )
            fields[0] = name
            if name == "MSH":
                fields.insert(1, delimiters.field)
            counts[name] = counts.get(name, 0) + 1
            segment = SegmentReader(fields, counts[name], delimiters, codec)
            _refuse_control_characters(segment, line)
            segments.append(segment)
        return cls(segments)

    def first(self, name: str) -> SegmentReader | None:
        """The first segment with this id, if any."""
        return next((s for s in self.segments if s.name == name), None)

    def require(self, name: str, message_type: str) -> SegmentReader:
        """The first segment with this id; ERR 100 when the message lacks it."""
        found = self.first(name)
        if found is None:
            raise Hl7ContentError(
                f"{message_type} needs a {name} segment and none was sent",
                error_code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
                location=ErrorLocation(name),
            )
        return found

    def named(self, name: str) -> list[SegmentReader]:
        """Every segment with this id, in order."""
        return [s for s in self.segments if s.name == name]


def _refuse_control_characters(segment: SegmentReader, line: str) -> None:
    """ERR 102 for a raw control character (a stray MLLP byte, a binary blob sent unescaped)."""
    found = _CONTROL.search(line)
    if found is None:
        return
    field = line[: found.start()].count(segment.delimiters.field)
    if segment.name == "MSH" and field > 0:
        field += 1  # MSH-1 is the separator itself, so the n-th split part is MSH-(n+1)
    raise Hl7ContentError(
        f"control character 0x{ord(found.group()):02X} in the value; send it escaped as \\Xhh\\ or remove it",
        error_code=ErrorCode.DATA_TYPE_ERROR,
        location=segment.location(field),
    )
