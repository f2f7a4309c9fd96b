"""The words of a patient message: texts within 160 characters, voice scripts within a minute, replies.

FCC 15-72 ¶147 (2015): an exempted healthcare text is 160 characters or fewer and a call one minute
or less; each names the provider and gives a number to call back, and offers an easy opt-out. HIPAA
minimum necessary (45 CFR 164.502(b)): a text does not name the exam unless the patient chose so —
a lock screen or a shared phone shows it to others.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from radflow.domain.errors import ValidationError

SMS_LIMIT = 160
#: About 150 spoken words a minute; a script under 130 words stays within the minute with pauses.
VOICE_WORD_LIMIT = 130

# GSM 03.38 basic character set (one septet each) and its extension table (two septets: escape + char).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€")
_REPLACEMENTS = {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " ",
                 # Letters that do not decompose to a base letter plus an accent.
                 "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Œ": "OE", "œ": "oe", "ı": "i", "Þ": "Th", "þ": "th"}


def gsm_text(text: str) -> str:
    """`text` in the GSM 7-bit alphabet: typographic marks replaced, accents dropped where GSM lacks them.

    A single character outside GSM 03.38 would switch the whole text to UCS-2 and its limit to 70.
    """
    out = []
    for char in text:
        char = _REPLACEMENTS.get(char, char)
        if char in _GSM_BASIC or char in _GSM_EXTENDED or len(char) > 1:
            out.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        out.append("".join(c for c in plain if c in _GSM_BASIC))
    return "".join(out)


def sms_length(text: str) -> int:
    """Septets `text` takes in one GSM-7 SMS (extension characters count twice)."""
    return sum(2 if c in _GSM_EXTENDED else 1 for c in text)


@dataclass(frozen=True)
class TextPart:
    """One piece of a text; optional pieces are dropped, least important first, to fit 160."""

    text: str
    required: bool = True
    importance: int = 0  # higher stays longer


def compose_sms(parts: list[TextPart]) -> str:
    """Join the parts into one text of at most 160 GSM-7 characters, dropping optional ones as needed."""
    kept = [TextPart(gsm_text(p.text).strip(), p.required, p.importance) for p in parts if p.text.strip()]
    while True:
        text = " ".join(p.text for p in kept)
        if sms_length(text) <= SMS_LIMIT:
            return text
        optional = [p for p in kept if not p.required]
        if not optional:
            raise ValidationError(
                f"a text must fit in {SMS_LIMIT} characters (FCC 15-72 ¶147) and the required parts alone "
                f"take {sms_length(text)}: shorten the center's name", field="center_name")
        kept.remove(min(optional, key=lambda p: p.importance))


def voice_script(sentences: list[str]) -> str:
    """A spoken message; refused if it would run past a minute (FCC 15-72 ¶147)."""
    script = " ".join(s.strip() for s in sentences if s.strip())
    if len(script.split()) > VOICE_WORD_LIMIT:
        raise ValidationError(f"a voice message must stay within one minute (~{VOICE_WORD_LIMIT} words)")
    return script


class ReplyIntent(StrEnum):
    """What a patient's reply asks for."""

    CONFIRM = "confirm"
    CANCEL_APPOINTMENT = "cancel_appointment"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    RECEIVED = "received"  # "got it": the preparation instructions reached the patient
    UNKNOWN = "unknown"


# 47 CFR 64.1200(a)(10) (FCC 24-24, 2024): "stop", "quit", "end", "revoke", "opt out", "cancel" or
# "unsubscribe" in a reply revokes consent; CTIA adds STOPALL. Because "cancel" is an opt-out word,
# the keyword that cancels an appointment is X, never CANCEL.
OPT_OUT_WORDS = frozenset({"stop", "stopall", "quit", "end", "revoke", "optout", "cancel", "unsubscribe"})
OPT_IN_WORDS = frozenset({"start", "unstop", "subscribe"})
CONFIRM_WORDS = frozenset({"c", "y", "yes", "confirm", "confirmed", "1", "ok"})
CANCEL_APPOINTMENT_WORDS = frozenset({"x", "2"})
HELP_WORDS = frozenset({"help", "info"})
RECEIVED_WORDS = frozenset({"r", "received", "got it", "gotit", "thanks"})

#: The keywords printed in the texts (and the email footers).
CONFIRM_KEYWORD = "C"
CANCEL_KEYWORD = "X"


@dataclass(frozen=True)
class Reply:
    """A patient's reply, read: what it asks and the words it came in."""

    intent: ReplyIntent
    text: str
    mentions_cancel: bool = False  # an opt-out that also names cancelling: a person should call back


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def read_reply(text: str) -> Reply:
    """What a reply (a text, the first line of an email) asks for; opt-out words always win."""
    words = _words(text)
    joined = " ".join(words)
    if not words:
        return Reply(ReplyIntent.UNKNOWN, text)
    squeezed = {w for w in words} | {"optout" if "opt out" in joined else ""}
    if squeezed & OPT_OUT_WORDS:
        return Reply(ReplyIntent.OPT_OUT, text, mentions_cancel="cancel" in words)
    if joined in OPT_IN_WORDS:
        return Reply(ReplyIntent.OPT_IN, text)
    if joined in HELP_WORDS:
        return Reply(ReplyIntent.HELP, text)
    first = words[0]
    if first in CANCEL_APPOINTMENT_WORDS and len(words) <= 3:
        return Reply(ReplyIntent.CANCEL_APPOINTMENT, text)
    if first in CONFIRM_WORDS and len(words) <= 4:
        return Reply(ReplyIntent.CONFIRM, text)
    if joined in RECEIVED_WORDS or first == "received":
        return Reply(ReplyIntent.RECEIVED, text)
    return Reply(ReplyIntent.UNKNOWN, text)
