"""Reading a patient's reply email (RFC 5322): who sent it, which of our messages it answers, what it says."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr

from radflow.adapters.notify.mime import key_from_message_id
from radflow.domain.errors import ValidationError

# Lines that start the quoted original in common mail clients ("On Tue, … wrote:", Outlook's header block).
_QUOTE_START = re.compile(r"^(On .+wrote:|-----Original Message-----|From: .+|_{5,})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class EmailReply:
    """What radflow needs of a reply email."""

    from_address: str
    text: str  # the reply's own first words, without the quoted original
    in_reply_to: str  # the key of our message it answers ('' when none of ours)
    message_id: str  # the reply's own Message-ID (a reply delivered twice is recorded once)


def _plain_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        content = re.sub(r"<[^>]+>", " ", content)
    return str(content)


def reply_text(body: str) -> str:
    """The first lines the patient wrote, before the quoted original or a signature."""
    kept = []
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith(">") or _QUOTE_START.match(stripped) or stripped == "--":
            break
        if stripped:
            kept.append(stripped)
        if len(kept) == 3:
            break
    return " ".join(kept)


def read_email_reply(raw: bytes) -> EmailReply:
    """Parse a reply email; refused (with why) when it has no sender."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    sender = parseaddr(str(message.get("From", "")))[1]
    if not sender or "@" not in sender:
        raise ValidationError("the reply email has no sender address (From)", field="From")
    answered = ""
    for header in ("In-Reply-To", "References"):
        for reference in re.findall(r"<[^>]+>", str(message.get(header, ""))):
            answered = answered or key_from_message_id(reference)
    return EmailReply(from_address=sender, text=reply_text(_plain_body(message)), in_reply_to=answered,
                      message_id=str(message.get("Message-ID", "")).strip())
