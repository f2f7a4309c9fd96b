"""The local outbox: the default gateway, writing each message to a file named after its key.

A resend with the same key finds the file and writes nothing: a deduplicating sink, as a real
receiver deduplicates on Message-ID or the gateway reference. Beside the JSON record it keeps the
message as it would have gone out: an email as its full MIME (`.eml`, with the .ics and the PDF
inside), and every attachment as a file, so the rendering can be opened and checked.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from radflow.services.ports import DeliveryReceipt, OutboundMessage


class OutboxGateway:
    """Stores messages under `directory/<channel>/` instead of sending them (demo, tests, dry runs)."""

    def __init__(self, directory: Path, *, sender: str = "radflow <radflow@radflow.invalid>",
                 domain: str = "radflow.invalid") -> None:
        self.directory = directory
        self.sender = sender
        self.domain = domain

    def path_for(self, message: OutboundMessage) -> Path:
        """Where the message with this key is (or would be) kept."""
        name = hashlib.sha256(message.key.encode()).hexdigest()[:40]
        return self.directory / message.channel / f"{name}.json"

    def send(self, message: OutboundMessage) -> DeliveryReceipt:
        """Keep the message once per key."""
        path = self.path_for(message)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            self._keep_rendering(message, path)
            document = {
                "key": message.key, "channel": message.channel, "to": message.to, "subject": message.subject,
                "body": message.body, "patient_id": message.patient_id, "order_id": message.order_id,
                "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": len(a.content)}
                                for a in message.attachments],
            }
            _write_atomically(path, json.dumps(document, indent=1).encode())  # last: its presence means "kept"
        return DeliveryReceipt(key=message.key, accepted=True, gateway_reference=f"outbox:{path.stem}")

    def _keep_rendering(self, message: OutboundMessage, path: Path) -> None:
        if message.channel == "email":
            from radflow.adapters.notify.mime import build_email

            email = build_email(message, sender=self.sender, domain=self.domain)
            _write_atomically(path.with_suffix(".eml"), bytes(email))
        if message.attachments:
            folder = path.with_suffix("")
            folder.mkdir(exist_ok=True)
            for attachment in message.attachments:
                _write_atomically(folder / Path(attachment.filename).name, attachment.content)

    def messages(self, channel: str | None = None) -> list[dict[str, object]]:
        """Everything kept so far (for screens and tests)."""
        pattern = f"{channel}/*.json" if channel else "*/*.json"
        return [json.loads(p.read_text()) for p in sorted(self.directory.glob(pattern))]

    def rendered(self, message: OutboundMessage) -> dict[str, bytes]:
        """The files kept for a message: `message.eml` for an email, and its attachments by name."""
        path = self.path_for(message)
        files = {p.name: p.read_bytes() for p in sorted(path.with_suffix("").glob("*"))}
        if path.with_suffix(".eml").exists():
            files["message.eml"] = path.with_suffix(".eml").read_bytes()
        return files


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)  # atomic: a half-written file is never seen
