"""Composing outbound segments: values are escaped here, once, and trailing empties trimmed.

A field is a plain string (one value), a tuple of components (each a string or a tuple of
subcomponents), or a list of such repetitions. `FormattedText` marks FT values, whose line
breaks travel as \\.br\\ (HL7 2.5.1 2.7.6).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo

from radflow.adapters.hl7.encoding import STANDARD_DELIMITERS, Delimiters, encode_message, escape


class FormattedText(str):
    """An FT value: line breaks are written as \\.br\\ instead of hex escapes."""

    __slots__ = ()


Component = str | tuple[str, ...]
Repetition = str | tuple[Component, ...]
FieldValue = Repetition | list[Repetition]


def _leaf(value: str, delimiters: Delimiters) -> str:
    return escape(value, delimiters, formatted=isinstance(value, FormattedText))


def _component(value: Component, delimiters: Delimiters) -> str:
    if isinstance(value, str):
        return _leaf(value, delimiters)
    return delimiters.subcomponent.join(_leaf(v, delimiters) for v in value).rstrip(delimiters.subcomponent)


def _repetition(value: Repetition, delimiters: Delimiters) -> str:
    if isinstance(value, str):
        return _leaf(value, delimiters)
    return delimiters.component.join(_component(c, delimiters) for c in value).rstrip(delimiters.component)


def render_field(value: FieldValue, delimiters: Delimiters = STANDARD_DELIMITERS) -> str:
    """One field, escaped and joined with the message's delimiters."""
    if isinstance(value, list):
        return delimiters.repetition.join(_repetition(r, delimiters) for r in value)
    return _repetition(value, delimiters)


def render_segment(name: str, fields: Sequence[FieldValue], delimiters: Delimiters = STANDARD_DELIMITERS) -> str:
    """A segment line: name, then SEG-1, SEG-2 ... (no terminator); trailing empty fields dropped."""
    rendered = [render_field(f, delimiters) for f in fields]
    while rendered and not rendered[-1]:
        rendered.pop()
    return delimiters.field.join([name, *rendered])


def render_msh(fields: Sequence[FieldValue], delimiters: Delimiters = STANDARD_DELIMITERS) -> str:
    """MSH with MSH-1 and MSH-2 from the delimiters; `fields` start at MSH-3."""
    rendered = [render_field(f, delimiters) for f in fields]
    while rendered and not rendered[-1]:
        rendered.pop()
    return delimiters.field.join(["MSH", delimiters.encoding_characters, *rendered])


def render_message(segments: Sequence[str], charset: str) -> bytes:
    """Segments joined with CR (HL7 2.5.1 2.6.1), ending with CR, encoded per MSH-18."""
    return encode_message("".join(line + "\r" for line in segments), charset)


def hl7_timestamp(moment: datetime, zone: tzinfo | None = None) -> str:
    """A DTM to the second with its offset (YYYYMMDDHHMMSS+ZZZZ); aware input only."""
    if moment.tzinfo is None:
        raise ValueError("an outbound HL7 timestamp needs a timezone-aware datetime")
    local = moment.astimezone(zone or UTC)
    return local.strftime("%Y%m%d%H%M%S%z")


def hl7_date(day: date | None) -> str:
    """A DT (YYYYMMDD), '' for None."""
    return day.strftime("%Y%m%d") if day is not None else ""
