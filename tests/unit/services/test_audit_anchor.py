"""The audit anchor file: replaced atomically, never moved back, safe with several workers at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from radflow.adapters.db.audit_chain import read_anchor, write_anchor
from radflow.domain.audit import Anchor


def test_a_later_head_replaces_the_anchor_and_an_earlier_one_does_not(tmp_path: Path) -> None:
    path = tmp_path / "audit-anchor.json"
    write_anchor(path, Anchor(seq=10, chain_mac="ten"))
    write_anchor(path, Anchor(seq=25, chain_mac="twenty-five"))
    # A worker that sequenced records 11–20 and anchors after another anchored 25 leaves 25 in place:
    # lowering the anchor would hide a truncated audit table from `radflow audit verify`.
    write_anchor(path, Anchor(seq=20, chain_mac="twenty"))
    assert read_anchor(path) == Anchor(seq=25, chain_mac="twenty-five")


def _anchor_many(path: str, start: int) -> None:
    for seq in range(start, start + 200, 4):
        write_anchor(Path(path), Anchor(seq=seq, chain_mac=f"mac-{seq}"))


def test_workers_anchoring_at_once_neither_fail_nor_leave_an_earlier_head(tmp_path: Path) -> None:
    # Before the lock each writer renamed one shared temporary file: a worker found it gone and died.
    path = tmp_path / "audit-anchor.json"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_anchor_many, args=(str(path), start)) for start in range(1, 5)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [writer.exitcode for writer in writers] == [0, 0, 0, 0]
    assert read_anchor(path) == Anchor(seq=200, chain_mac="mac-200")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit-anchor.json", "audit-anchor.json.lock"]
