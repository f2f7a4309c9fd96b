"""Encoding characters (MSH-1/MSH-2), escape sequences and character sets (MSH-18).

HL7 2.5.1 2.5.4 (encoding characters), 2.7 (escape sequences in text fields) and table 0211
(alternate character sets). Values are split on the delimiters first and unescaped after, so an
escaped delimiter never splits a field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError


@dataclass(frozen=True)
class Delimiters:
    """The five encoding characters of a message: field, component, repetition, escape, subcomponent."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding_characters(self) -> str:
        """MSH-2 as written in a message with these delimiters."""
        return self.component + self.repetition + self.escape + self.subcomponent

    @classmethod
    def from_msh(cls, field_separator: str, encoding_characters: str) -> Delimiters:
        """Read MSH-1 and MSH-2; refuse delimiters that would make the message ambiguous."""
        location = ErrorLocation("MSH", field=2)
        # HL7 2.7 adds a fifth, truncation character; radflow accepts it and ignores it.
        if len(encoding_characters) not in (4, 5):
            raise Hl7ContentError(
                f"MSH-2 must hold four encoding characters (component, repetition, escape, "
                f"subcomponent), got {encoding_characters!r}",
                error_code=ErrorCode.DATA_TYPE_ERROR,
                location=location,
                reject=True,
            )
        delimiters = cls(field_separator, *encoding_characters[:4])
        chars = [field_separator, *encoding_characters[:4]]
        if len(set(chars)) != 5 or any(c.isalnum() or c in "\r\n \t" or ord(c) < 0x20 for c in chars):
            raise Hl7ContentError(
                f"encoding characters {''.join(chars)!r} must be five distinct punctuation characters",
                error_code=ErrorCode.DATA_TYPE_ERROR,
                location=location,
                reject=True,
            )
        return delimiters


STANDARD_DELIMITERS = Delimiters()

# HL7 table 0211 → Python codec. ASCII, 8859/1 and UTF-8 are what radflow promises; the rest of
# the single-byte ISO 8859 family costs nothing to read.
_CHARSET_CODECS: dict[str, str] = {
    "": "ascii",
    "ASCII": "ascii",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "UNICODE": "utf-8",
    "ISO IR100": "latin-1",
    "ISO_IR 100": "latin-1",
    **{f"8859/{n}": f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 15)},
    "8859/1": "latin-1",
}


def codec_for(charset: str) -> str | None:
    """The Python codec for an MSH-18 value, or None when radflow does not know the character set."""
    return _CHARSET_CODECS.get(" ".join(charset.upper().split()))


def decode_message(raw: bytes, charset: str) -> tuple[str, str]:
    """Decode a whole message per MSH-18, falling back rather than failing; returns (text, codec used).

    A declared codec is tried strictly first. Senders that declare nothing (ASCII) often send UTF-8
    or Latin-1, so undecodable bytes fall back to UTF-8, then Latin-1 (which decodes any byte).
    """
    declared = codec_for(charset)
    candidates = [c for c in (declared, "utf-8", "latin-1") if c is not None]
    for codec in dict.fromkeys(candidates):
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"  # pragma: no cover - latin-1 decodes every byte


def encode_message(text: str, charset: str) -> bytes:
    """Encode an outbound message in the destination's MSH-18 character set; refuse what it cannot carry."""
    codec = codec_for(charset)
    if codec is None:
        raise Hl7ContentError(
            f"character set {charset!r} is not one radflow can write (use ASCII, 8859/1 or UNICODE UTF-8)",
            error_code=ErrorCode.TABLE_VALUE_NOT_FOUND,
            location=ErrorLocation("MSH", field=18),
        )
    try:
        return text.encode(codec)
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        raise Hl7ContentError(
            f"{bad!r} cannot be written in character set {charset or 'ASCII'!r}; "
            "configure the destination for UNICODE UTF-8 or 8859/1",
            error_code=ErrorCode.DATA_TYPE_ERROR,
            location=ErrorLocation("MSH", field=18),
        ) from exc


def escape(text: str, delimiters: Delimiters = STANDARD_DELIMITERS, *, formatted: bool = False) -> str:
    """Escape a value for a message (HL7 2.7.1); with `formatted`, line breaks become \\.br\\ (FT)."""
    e = delimiters.escape
    if not _needs_escaping(text, delimiters):
        return text
    replacements = {
        delimiters.escape: f"{e}E{e}",
        delimiters.field: f"{e}F{e}",
        delimiters.component: f"{e}S{e}",
        delimiters.subcomponent: f"{e}T{e}",
        delimiters.repetition: f"{e}R{e}",
    }
    out: list[str] = []
    for char in text:
        if char in replacements:
            out.append(replacements[char])
        elif char == "\n" and formatted:
            out.append(f"{e}.br{e}")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            # A raw CR would end the segment; control characters travel as hex (2.7.3).
            out.append(f"{e}X{ord(char):02X}{e}")
        else:
            out.append(char)
    return "".join(out)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _needs_escaping(text: str, delimiters: Delimiters) -> bool:
    """False for the common value holding no delimiter and no control character."""
    if _CONTROL_CHARACTERS.search(text):
        return True
    return any(
        c in text
        for c in (
            delimiters.escape,
            delimiters.field,
            delimiters.component,
            delimiters.subcomponent,
            delimiters.repetition,
        )
    )


_SKIP_FORMATTING = re.compile(r"^\.(in|ti|fi|nf)[ ]?[+-]?\d*$")
_LINE_FORMATTING = re.compile(r"^\.(sp|ce)[ ]?(\d*)$")
_SPACE_FORMATTING = re.compile(r"^\.sk[ ]?(\d*)$")
_HEX = re.compile(r"^X((?:[0-9A-Fa-f]{2})+)$")


def unescape(value: str, delimiters: Delimiters = STANDARD_DELIMITERS, codec: str = "utf-8") -> str:
    """Decode escape sequences in one already-split value; unknown sequences are kept as sent."""
    e = delimiters.escape
    if e not in value:
        return value
    out: list[str] = []
    position = 0
    while position < len(value):
        start = value.find(e, position)
        end = value.find(e, start + 1) if start >= 0 else -1
        if start < 0 or end < 0:
            out.append(value[position:])
            break
        out.append(value[position:start])
        out.append(_decode_sequence(value[start + 1 : end], delimiters, codec))
        position = end + 1
    return "".join(out)


def _decode_sequence(body: str, delimiters: Delimiters, codec: str) -> str:
    """One escape sequence's meaning (HL7 2.5.1 2.7.2-2.7.6)."""
    simple = {
        "F": delimiters.field,
        "S": delimiters.component,
        "T": delimiters.subcomponent,
        "R": delimiters.repetition,
        "E": delimiters.escape,
        "H": "",  # start highlighting: no meaning in plain text
        "N": "",  # normal text
        ".br": "\n",
    }
    if body in simple:
        return simple[body]
    if hex_match := _HEX.match(body):
        return bytes.fromhex(hex_match.group(1)).decode(codec, errors="replace")
    if line_match := _LINE_FORMATTING.match(body):
        return "\n" * max(1, int(line_match.group(2) or 1))
    if space_match := _SPACE_FORMATTING.match(body):
        return " " * max(1, int(space_match.group(1) or 1))
    if _SKIP_FORMATTING.match(body):
        return ""
    if body[:1] in ("C", "M") and len(body) in (5, 7):
        # ISO 2022 character-set switches (2.7.4): the switch itself carries no text.
        return ""
    e = delimiters.escape
    return f"{e}{body}{e}"
