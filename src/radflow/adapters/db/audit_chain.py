"""Linking audit records into the HMAC chain (one sequencer at a time), anchoring the head, verifying."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from radflow.adapters.db import tables as t
from radflow.domain.audit import GENESIS, Anchor, AuditRecord, VerifyReport, chain_mac, verify_chain

# Any constant works; it only has to be the same in every process of one installation. The lock is
# paired with the schema's hash because advisory locks are database-wide: installations sharing one
# database in separate schemas must not wait on each other's sequencer.
_SEQUENCER_LOCK = 7_305_001


def read_anchor(path: Path) -> Anchor | None:
    """The last anchored head, or None before the first anchoring."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return Anchor(seq=int(data["seq"]), chain_mac=str(data["chain_mac"]))


def write_anchor(path: Path, anchor: Anchor) -> None:
    """Replace the anchor file atomically (write, fsync, rename) unless it already anchors a later head."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Several workers anchor after their own sequencing transactions: a file lock orders them, so that
    # no one's rename finds its temporary file taken by another and a later head is never replaced by
    # an earlier one.
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_anchor(path)
        if current is not None and current.seq >= anchor.seq:
            return
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with temporary.open("w") as handle:
            json.dump({"seq": anchor.seq, "chain_mac": anchor.chain_mac}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)


def link_pending(engine: Engine, session_factory: sessionmaker[Session], key: bytes, anchor_path: Path,
                 *, batch: int = 5000) -> int:
    """Give unsequenced records their place in the chain; returns how many were linked."""
    with session_factory() as session:
        if engine.dialect.name == "postgresql":
            got_lock = session.execute(text("SELECT pg_try_advisory_xact_lock(:k, hashtext(current_schema()))"),
                                       {"k": _SEQUENCER_LOCK})
            if not got_lock.scalar_one():
                session.rollback()
                return 0  # another sequencer is at work
        records = t.audit_records
        head = session.execute(select(records.c.seq, records.c.chain_mac).where(records.c.seq.is_not(None))
                               .order_by(records.c.seq.desc()).limit(1)).first()
        seq, previous = (int(head[0]), str(head[1])) if head else (0, GENESIS)
        pending = session.execute(select(records.c.id, records.c.record_mac).where(records.c.seq.is_(None))
                                  .order_by(records.c.id).limit(batch)).all()
        for row_id, own_mac in pending:
            seq += 1
            previous = chain_mac(key, seq, previous, own_mac)
            session.execute(records.update().where(records.c.id == row_id).values(seq=seq, chain_mac=previous))
        session.commit()
    if pending:
        write_anchor(anchor_path, Anchor(seq=seq, chain_mac=previous))
    return len(pending)


def _records(session: Session, *, chained: bool) -> Iterator[AuditRecord]:
    records = t.audit_records
    stmt = select(AuditRecord)
    if chained:
        stmt = stmt.where(records.c.seq.is_not(None)).order_by(records.c.seq)
    else:
        stmt = stmt.where(records.c.seq.is_(None)).order_by(records.c.id)
    yield from session.scalars(stmt.execution_options(yield_per=2000))


def verify(session_factory: sessionmaker[Session], key: bytes, anchor_path: Path) -> VerifyReport:
    """Verify every record, the chain, and the head against the anchor (read-only)."""
    with session_factory() as session:
        report = verify_chain(key, _records(session, chained=True), list(_records(session, chained=False)),
                              read_anchor(anchor_path))
        session.rollback()
    return report
