"""The local outbox: the default gateway, writing each message to a file named after its key.

A resend with the same key finds the file and writes nothing: a deduplicating sink, as a real
receiver deduplicates on Message-ID or the gateway reference.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from radflow.services.ports import DeliveryReceipt, OutboundMessage


class OutboxGateway:
    """Stores messages under `directory/<channel>/` instead of sending them (demo, tests, dry runs)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, message: OutboundMessage) -> Path:
        """Where the message with this key is (or would be) kept."""
        name = hashlib.sha256(message.key.encode()).hexdigest()[:40]
        return self.directory / message.channel / f"{name}.json"

    def send(self, message: OutboundMessage) -> DeliveryReceipt:
        """Keep the message once per key."""
        path = self.path_for(message)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            document = {
                "key": message.key, "channel": message.channel, "to": message.to, "subject": message.subject,
                "body": message.body, "patient_id": message.patient_id, "order_id": message.order_id,
                "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": len(a.content)}
                                for a in message.attachments],
            }
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(document, indent=1))
            temporary.replace(path)  # atomic: a half-written message is never seen
        return DeliveryReceipt(key=message.key, accepted=True, gateway_reference=f"outbox:{path.stem}")

    def messages(self, channel: str | None = None) -> list[dict[str, object]]:
        """Everything kept so far (for screens and tests)."""
        pattern = f"{channel}/*.json" if channel else "*/*.json"
        return [json.loads(p.read_text()) for p in sorted(self.directory.glob(pattern))]
