"""Choosing the gateway per channel: email over SMTP, texts and calls over HTTP, the outbox otherwise.

`gateway_from_settings` is what the composition root calls; with no SMTP host and no messaging
gateway configured every channel goes to the local outbox (the default: demo, tests, dry runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from radflow.adapters.notify.http_gateway import HttpMessageGateway
from radflow.adapters.notify.outbox import OutboxGateway
from radflow.adapters.notify.smtp import SmtpGateway
from radflow.services.ports import DeliveryReceipt, MessageGateway, OutboundMessage


class NotifySettings(BaseSettings):
    """Where messages go (RADFLOW_SMTP_*, RADFLOW_MESSAGING_GATEWAY_*); unset means the local outbox."""

    model_config = SettingsConfigDict(env_prefix="RADFLOW_", extra="ignore")

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "Riverside Imaging Center <appointments@radflow.invalid>"
    mail_reply_to: str = ""
    message_id_domain: str = "radflow.invalid"
    messaging_gateway_url: str = ""
    messaging_gateway_token: str = ""


class ChannelGateway:
    """Sends each message through the gateway of its channel."""

    def __init__(self, routes: Mapping[str, MessageGateway], default: MessageGateway) -> None:
        self.routes = dict(routes)
        self.default = default

    def send(self, message: OutboundMessage) -> DeliveryReceipt:
        """Hand the message to its channel's gateway."""
        return self.routes.get(message.channel, self.default).send(message)


def gateway_from_settings(data_dir: Path, notify: NotifySettings | None = None) -> MessageGateway:
    """The gateway a process uses: SMTP and HTTP where configured, the outbox under `data_dir` for the rest."""
    notify = notify or NotifySettings()
    outbox = OutboxGateway(data_dir / "outbox", sender=notify.mail_from, domain=notify.message_id_domain)
    routes: dict[str, MessageGateway] = {}
    if notify.smtp_host:
        routes["email"] = SmtpGateway(notify.smtp_host, notify.smtp_port, sender=notify.mail_from,
                                      domain=notify.message_id_domain, username=notify.smtp_username,
                                      password=notify.smtp_password, starttls=notify.smtp_starttls,
                                      reply_to=notify.mail_reply_to)
    if notify.messaging_gateway_url:
        http = HttpMessageGateway(notify.messaging_gateway_url, notify.messaging_gateway_token)
        routes["sms"] = routes["voice"] = http
    return ChannelGateway(routes, outbox) if routes else outbox
