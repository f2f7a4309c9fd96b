"""A small SMTP server on localhost that keeps one copy per Message-ID (a deduplicating receiver).

Speaks the part of RFC 5321 that smtplib uses: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It can
refuse the first DATA with a temporary 451 (to make the sender retry) and refuse recipients at a
given domain with 550 (an address that does not exist).
"""

from __future__ import annotations

import re
import socketserver
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Mailbox:
    """What the sink received: every delivery, and one message per Message-ID."""

    deliveries: Counter[str] = field(default_factory=Counter)
    messages: dict[str, bytes] = field(default_factory=dict)
    refuse_first_data: int = 0
    unknown_domain: str = "invalid.example"
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Session(socketserver.StreamRequestHandler):
    mailbox: Mailbox

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode(errors="replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL" or verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "RCPT":
                self.reply("550 no such user" if self.mailbox.unknown_domain in command else "250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                self.receive()
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")

    def receive(self) -> None:
        lines = []
        while True:
            line = self.rfile.readline()
            if line in (b".\r\n", b".\n", b""):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        content = b"".join(lines)
        found = re.search(rb"^Message-ID:\s*(<[^>]+>)", content, re.MULTILINE | re.IGNORECASE)
        message_id = found.group(1).decode() if found else ""
        with self.mailbox.lock:
            if self.mailbox.refuse_first_data > 0:
                self.mailbox.refuse_first_data -= 1
                self.reply("451 try again later")
                return
            self.mailbox.deliveries[message_id] += 1
            self.mailbox.messages.setdefault(message_id, content)
        self.reply("250 queued")


class SmtpSink:
    """The server, on an ephemeral port, in a thread."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        handler = type("Handler", (_Session,), {"mailbox": self.mailbox})
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SmtpSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
