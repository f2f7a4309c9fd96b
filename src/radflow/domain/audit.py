"""Audit records and their HMAC chain (DESIGN §2).

Each record carries `record_mac` = HMAC(key, canonical content), written with the change it
describes. A single sequencer later links records into the chain:
chain_mac[n] = HMAC(key, n ‖ chain_mac[n-1] ‖ record_mac[n]). The key never enters the database;
the chain's head is anchored outside it. Changing, deleting, reordering or truncating records — or
recomputing the chain without the key — breaks a MAC, a sequence number or the anchor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

GENESIS: Final = "0" * 64


class Outcome(StrEnum):
    """How the audited access ended."""

    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(eq=False)
class AuditRecord:
    """Who did what to which patient's data, when, from where, and how it ended."""

    at: datetime
    user_id: str
    username: str
    role: str
    action: str
    outcome: Outcome
    source: str
    patient_id: str = ""
    object_type: str = ""
    object_id: str = ""
    detail: str = ""
    record_mac: str = ""
    seq: int | None = None
    chain_mac: str | None = None
    id: int | None = None

    def canonical(self) -> bytes:
        """The content the record MAC covers, as stable bytes."""
        content = {
            "at": self.at.isoformat(timespec="microseconds"),
            "user_id": self.user_id,
            "username": self.username,
            "role": self.role,
            "action": self.action,
            "outcome": str(self.outcome),
            "source": self.source,
            "patient_id": self.patient_id,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "detail": self.detail,
        }
        return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def seal(self, key: bytes) -> None:
        """Compute this record's own MAC (done when it is written)."""
        self.record_mac = record_mac(key, self)


def record_mac(key: bytes, record: AuditRecord) -> str:
    """HMAC-SHA256 of one record's content."""
    return hmac.new(key, b"record|" + record.canonical(), hashlib.sha256).hexdigest()


def chain_mac(key: bytes, seq: int, previous: str, own_record_mac: str) -> str:
    """HMAC-SHA256 linking record `seq` to the chain after `previous`."""
    message = f"chain|{seq}|{previous}|{own_record_mac}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """The chain's head as last recorded outside the database."""

    seq: int
    chain_mac: str


@dataclass(frozen=True)
class ChainProblem:
    """Where the chain breaks and how."""

    position: str
    problem: str


@dataclass(frozen=True)
class VerifyReport:
    """Result of verifying the whole audit trail."""

    checked: int
    unsequenced: int
    head: Anchor | None
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        """True when nothing is broken."""
        return not self.problems


def verify_chain(
    key: bytes,
    chained: Iterable[AuditRecord],
    unchained: Iterable[AuditRecord],
    anchor: Anchor | None,
) -> VerifyReport:
    """Check every record's MAC, the chain's links and numbering, and the head against the anchor."""
    problems: list[ChainProblem] = []
    previous = GENESIS
    expected_seq = 1
    head: Anchor | None = None
    checked = 0
    for record in chained:
        checked += 1
        where = f"seq {record.seq} (row {record.id})"
        if record.seq != expected_seq:
            problems.append(ChainProblem(where, f"expected sequence number {expected_seq}: records missing "
                                                "or reordered"))
            expected_seq = (record.seq or expected_seq) + 1
        else:
            expected_seq += 1
        if not hmac.compare_digest(record_mac(key, record), record.record_mac):
            problems.append(ChainProblem(where, "record content does not match its MAC: modified"))
        link = chain_mac(key, record.seq or 0, previous, record.record_mac)
        if not hmac.compare_digest(link, record.chain_mac or ""):
            problems.append(ChainProblem(where, "chain link broken: a record before it was changed, "
                                                "removed or reordered, or the chain was recomputed"))
        previous = record.chain_mac or ""
        head = Anchor(seq=record.seq or 0, chain_mac=previous)
        if anchor is not None and record.seq == anchor.seq and not hmac.compare_digest(previous, anchor.chain_mac):
            problems.append(ChainProblem(where, "differs from the anchored head: the chain was rewritten"))
    unsequenced = 0
    for record in unchained:
        unsequenced += 1
        if not hmac.compare_digest(record_mac(key, record), record.record_mac):
            problems.append(ChainProblem(f"unsequenced row {record.id}", "record content does not match its MAC"))
    if anchor is not None and (head is None or head.seq < anchor.seq):
        problems.append(ChainProblem(f"seq {anchor.seq}", f"anchored head seq {anchor.seq} is missing: "
                                     f"the trail ends at {head.seq if head else 0} (truncated)"))
    return VerifyReport(checked=checked, unsequenced=unsequenced, head=head, problems=tuple(problems))
