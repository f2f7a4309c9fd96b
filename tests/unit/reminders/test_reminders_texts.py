"""Texts within 160 GSM characters that name the center and its number; replies read as patients mean them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radflow.domain.errors import ValidationError
from radflow.domain.messaging.texts import (
    SMS_LIMIT,
    ReplyIntent,
    TextPart,
    compose_sms,
    gsm_text,
    read_reply,
    sms_length,
    voice_script,
)


def test_optional_parts_are_dropped_least_important_first_to_fit_one_text() -> None:
    text = compose_sms([TextPart("Center:"), TextPart("x" * 95), TextPart("(MRI lumbar spine)", False, 1),
                        TextPart("Arrive 9:00 AM.", False, 4), TextPart("Call +1 555 010 2000."),
                        TextPart("STOP to opt out")])
    assert sms_length(text) <= SMS_LIMIT
    assert "Arrive 9:00 AM." in text and "lumbar" not in text


def test_required_parts_that_cannot_fit_are_refused_with_what_to_shorten() -> None:
    with pytest.raises(ValidationError, match="shorten the center's name"):
        compose_sms([TextPart("C" * 150), TextPart("Call +1 555 010 2000."), TextPart("STOP to opt out")])


def test_typographic_characters_are_replaced_so_the_text_stays_gsm_7() -> None:
    assert gsm_text("Dr. O’Brien — “today”…") == "Dr. O'Brien - \"today\"..."
    assert gsm_text("Zoë Łukasz Müller") == "Zoe Lukasz Müller"  # ü is in GSM 03.38, ë and Ł are not


@settings(max_examples=200, deadline=None)
@given(center=st.text(min_size=1, max_size=40), exam=st.text(max_size=120), when=st.text(min_size=1, max_size=30))
def test_any_center_and_exam_name_give_a_text_of_at_most_160_that_keeps_center_number_and_stop(
        center: str, exam: str, when: str) -> None:
    text = compose_sms([TextPart(f"{center}:"), TextPart(f"appointment {when}."), TextPart(exam, False, 1),
                        TextPart("Call +1 555 010 2000."), TextPart("STOP to opt out")])
    assert sms_length(text) <= SMS_LIMIT
    assert "Call +1 555 010 2000." in text and text.endswith("STOP to opt out")


@pytest.mark.parametrize("reply", ["STOP", "stop", "Stop.", "unsubscribe", "QUIT", "End", "revoke", "opt out",
                                   "STOPALL", "please stop texting me", "Cancel"])
def test_every_fcc_revocation_word_opts_out(reply: str) -> None:
    assert read_reply(reply).intent is ReplyIntent.OPT_OUT


def test_cancel_is_an_opt_out_and_flags_a_call_back_because_it_may_mean_the_appointment() -> None:
    found = read_reply("cancel my appointment")
    assert found.intent is ReplyIntent.OPT_OUT and found.mentions_cancel


@pytest.mark.parametrize(("reply", "intent"), [
    ("C", ReplyIntent.CONFIRM), ("yes", ReplyIntent.CONFIRM), ("Y!", ReplyIntent.CONFIRM),
    ("X", ReplyIntent.CANCEL_APPOINTMENT), ("x please", ReplyIntent.CANCEL_APPOINTMENT),
    ("START", ReplyIntent.OPT_IN), ("help", ReplyIntent.HELP), ("received", ReplyIntent.RECEIVED),
    ("Can I bring my daughter?", ReplyIntent.UNKNOWN), ("", ReplyIntent.UNKNOWN),
])
def test_replies_are_read_as_patients_mean_them(reply: str, intent: ReplyIntent) -> None:
    assert read_reply(reply).intent is intent


def test_a_voice_script_longer_than_a_minute_is_refused() -> None:
    assert voice_script(["Hello.", "Call us."]) == "Hello. Call us."
    with pytest.raises(ValidationError, match="one minute"):
        voice_script(["word " * 140])
