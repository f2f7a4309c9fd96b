"""Email over SMTP (smtplib): one connection per message; the Message-ID carries the key."""

from __future__ import annotations

import smtplib
import ssl

from radflow.adapters.notify.mime import build_email, message_id
from radflow.services.ports import DeliveryReceipt, OutboundMessage


class SmtpGateway:
    """Hands emails to an SMTP relay; a refused recipient is a failed delivery, anything else is retried."""

    def __init__(self, host: str, port: int = 25, *, sender: str, domain: str, username: str = "",
                 password: str = "", starttls: bool = False, timeout: float = 30.0, reply_to: str = "") -> None:
        self.host, self.port = host, port
        self.sender, self.domain, self.reply_to = sender, domain, reply_to
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, message: OutboundMessage) -> DeliveryReceipt:
        """Send one email; connection problems raise (the job retries with the same Message-ID)."""
        if message.channel != "email":
            raise ValueError(f"the SMTP gateway sends email, not {message.channel}")
        email = build_email(message, sender=self.sender, domain=self.domain, reply_to=self.reply_to)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as connection:
            if self.starttls:
                connection.starttls(context=ssl.create_default_context())
            if self.username:
                connection.login(self.username, self.password)
            try:
                refused = connection.send_message(email)
            except smtplib.SMTPRecipientsRefused as error:
                # RFC 5321 5xx for the only recipient: retrying will not help; the address is wrong.
                detail = "; ".join(f"{to}: {code} {text!r}" for to, (code, text) in error.recipients.items())
                return DeliveryReceipt(key=message.key, accepted=False, detail=detail)
        if refused:
            return DeliveryReceipt(key=message.key, accepted=False, detail=str(refused))
        return DeliveryReceipt(key=message.key, accepted=True, gateway_reference=message_id(message.key, self.domain))
