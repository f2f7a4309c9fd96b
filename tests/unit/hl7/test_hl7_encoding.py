"""Escape sequences, encoding characters and character sets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.adapters.hl7.encoding import (
    STANDARD_DELIMITERS,
    Delimiters,
    codec_for,
    decode_message,
    encode_message,
    escape,
    unescape,
)
from radflow.adapters.hl7.errors import Hl7ContentError

# Any text a person could type, including delimiters, escapes, control characters and non-Latin scripts.
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
punctuation = st.sampled_from(list("|^~\\&!@#$%*+/:;=?"))


@st.composite
def delimiter_sets(draw: st.DrawFn) -> Delimiters:
    chars = draw(st.lists(punctuation, min_size=5, max_size=5, unique=True))
    return Delimiters(*chars)


@given(texts, delimiter_sets())
def test_escape_then_unescape_gives_back_the_text_for_any_delimiters(text: str, delimiters: Delimiters) -> None:
    assert unescape(escape(text, delimiters), delimiters) == text


@given(texts, delimiter_sets())
def test_escaped_text_never_contains_a_raw_separator_or_line_break(text: str, delimiters: Delimiters) -> None:
    escaped = escape(text, delimiters)
    for separator in (delimiters.field, delimiters.component, delimiters.repetition, delimiters.subcomponent):
        assert separator not in escaped
    assert "\r" not in escaped and "\n" not in escaped


@given(texts)
def test_formatted_text_round_trips_with_br_line_breaks(text: str) -> None:
    assert unescape(escape(text, formatted=True)) == text


@pytest.mark.parametrize(
    ("escaped", "text"),
    [
        (r"a\F\b", "a|b"),
        (r"a\S\b", "a^b"),
        (r"a\T\b", "a&b"),
        (r"a\R\b", "a~b"),
        (r"a\E\b", "a\\b"),
        (r"line 1\.br\line 2", "line 1\nline 2"),
        (r"x\.sp2\y", "x\n\ny"),
        (r"x\.sk3\y", "x   y"),
        (r"\H\bold\N\ text", "bold text"),
        ("caf\\XC3A9\\", "café"),
        (r"\.in+4\indented", "indented"),
    ],
)
def test_escape_sequences_decode_to_their_meaning(escaped: str, text: str) -> None:
    assert unescape(escaped, STANDARD_DELIMITERS, "utf-8") == text


@pytest.mark.parametrize("escaped", [r"\Zlocal\ stays", r"odd \X0\ hex", r"unterminated \F"])
def test_unknown_or_broken_escape_sequences_are_kept_as_sent(escaped: str) -> None:
    assert unescape(escaped) == escaped


def test_hex_escape_decodes_in_the_message_character_set() -> None:
    assert unescape(r"M\XFC\ller", STANDARD_DELIMITERS, "latin-1") == "Müller"


@pytest.mark.parametrize(
    ("charset", "codec"),
    [("", "ascii"), ("ASCII", "ascii"), ("8859/1", "latin-1"), ("UNICODE UTF-8", "utf-8"), ("unicode  utf-8", "utf-8")],
)
def test_msh18_values_name_their_codec(charset: str, codec: str) -> None:
    assert codec_for(charset) == codec


def test_unknown_charset_falls_back_to_utf8_then_latin1() -> None:
    assert decode_message("Zoë".encode(), "ISO IR87") == ("Zoë", "utf-8")
    assert decode_message("Zoë".encode("latin-1"), "ISO IR87") == ("Zoë", "latin-1")


def test_outbound_text_the_charset_cannot_carry_is_refused_with_a_fix() -> None:
    with pytest.raises(Hl7ContentError) as caught:
        encode_message("Zoë", "ASCII")
    assert "UNICODE UTF-8" in caught.value.user_message


@pytest.mark.parametrize("msh2", ["^~\\", "^~\\&#!", "^^\\&", "^~a&", "^~ &"])
def test_unusable_encoding_characters_are_refused(msh2: str) -> None:
    with pytest.raises(Hl7ContentError):
        Delimiters.from_msh("|", msh2)


def test_hl7_27_truncation_character_is_accepted_and_ignored() -> None:
    assert Delimiters.from_msh("|", "^~\\&#") == STANDARD_DELIMITERS
