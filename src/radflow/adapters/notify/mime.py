"""Email as MIME (RFC 5322 / 2045): the text, the .ics invitation and the PDF letter, Message-ID = the key."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate

from radflow.services.ports import OutboundMessage

# RFC 5322 3.6.4: msg-id = "<" id-left "@" id-right ">", id-left a dot-atom of atext characters.
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the message with this key: stable across retries, so receivers deduplicate."""
    left = _NOT_ATEXT.sub(lambda m: f"={ord(m.group()):02X}", key).strip(".") or "message"
    return f"<{left}@{domain}>"


def key_from_message_id(value: str) -> str:
    """The key a Message-ID (or an In-Reply-To / References entry) names, if it is one of ours."""
    match = re.search(r"<([^@>]+)@[^>]+>", value)
    if match is None:
        return ""
    return re.sub(r"=([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), match.group(1))


def build_email(message: OutboundMessage, *, sender: str, domain: str, reply_to: str = "") -> EmailMessage:
    """The MIME message for an email: text/plain, then each attachment (a calendar part keeps its METHOD)."""
    email = EmailMessage()
    email["Message-ID"] = message_id(message.key, domain)
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    if reply_to:
        email["Reply-To"] = reply_to
    # Automated, not bulk: keeps vacation responders quiet (RFC 3834).
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        subtype, _, parameters = subtype.partition(";")
        params = dict(p.strip().split("=", 1) for p in parameters.split(";") if "=" in p)
        email.add_attachment(attachment.content, maintype=maintype, subtype=subtype.strip(),
                             filename=attachment.filename, params=params)
    return email
