"""Texts and automated calls through an HTTP messaging gateway (a Twilio-like REST service).

The request carries the message key as `Idempotency-Key`, so a retried request is one message at
the gateway. Contract: `POST {base_url}/messages` with JSON {channel, to, body, reference} answers
2xx with {"id": ...}; a 4xx other than 408/429 means the gateway will never deliver this one.
"""

from __future__ import annotations

import httpx

from radflow.services.ports import DeliveryReceipt, OutboundMessage

RETRYABLE = frozenset({408, 429})


class HttpMessageGateway:
    """Sends SMS and voice messages through an HTTP gateway."""

    def __init__(self, base_url: str, token: str = "", *, timeout: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.transport = transport

    def send(self, message: OutboundMessage) -> DeliveryReceipt:
        """Post the message; network errors and 5xx raise so that the job retries."""
        headers = {"Idempotency-Key": message.key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {"channel": message.channel, "to": message.to, "body": message.body, "reference": message.key}
        with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
            response = client.post(f"{self.base_url}/messages", json=body, headers=headers)
        if response.status_code >= 500 or response.status_code in RETRYABLE:
            response.raise_for_status()
        if response.status_code >= 400:
            return DeliveryReceipt(key=message.key, accepted=False,
                                   detail=f"gateway refused: {response.status_code} {response.text[:200]}")
        reference = str(response.json().get("id", "")) if response.content else ""
        return DeliveryReceipt(key=message.key, accepted=True, gateway_reference=reference)
