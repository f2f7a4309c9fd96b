"""Turn the authored corpus (labeled.txt) into labeled JSON lines and a frozen dev/test split.

Run once: `python tests/data/followup/split.py`. The split is fixed by SEED and stratified by
what a sentence carries (a critical mention, a follow-up recommendation, their flags) so that
both halves see every kind. test.jsonl is frozen after its first commit: never regenerate it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 20260302
DEV_SHARE = 0.6
HERE = Path(__file__).parent

CRITICAL_TYPES = {
    "intracranial_hemorrhage", "pneumothorax", "aortic_dissection", "aortic_rupture",
    "pulmonary_embolism", "pneumoperitoneum", "ectopic_pregnancy", "testicular_torsion",
    "ovarian_torsion", "cord_compression", "acute_stroke", "malpositioned_tube_or_line",
    "brain_herniation", "bowel_ischemia", "cardiac_tamponade",
}
MODALITIES = {"CT", "MR", "US", "MG", "DX", "NM", "PT", "RF", "*"}
FLAG_LETTERS = {"n": "negated", "u": "uncertain", "h": "historical", "p": "hypothetical"}


def _flags(letters: str, allowed: str, where: str) -> dict[str, bool]:
    for letter in letters:
        if letter not in allowed:
            raise ValueError(f"{where}: flag {letter!r} not allowed here (allowed: {allowed})")
    return {FLAG_LETTERS[a]: a in letters for a in allowed}


def _critical(field: str, where: str) -> list[dict[str, object]]:
    if field == "-":
        return []
    mentions: list[dict[str, object]] = []
    for part in field.split(";"):
        kind, _, letters = part.partition("/")
        if kind not in CRITICAL_TYPES:
            raise ValueError(f"{where}: unknown critical type {kind!r}")
        mentions.append({"type": kind, **_flags(letters, "nuhp", where)})
    return mentions


def _followups(field: str, where: str) -> list[dict[str, object]]:
    if field == "-":
        return []
    items: list[dict[str, object]] = []
    for part in field.split(";"):
        body, _, letters = part.partition("/")
        modalities, _, days = body.partition("@")
        names = modalities.split("|")
        if not set(names) <= MODALITIES:
            raise ValueError(f"{where}: unknown modality in {modalities!r}")
        items.append({
            "modalities": [None if m == "*" else m for m in names],
            "interval_days": None if days == "-" else int(days),
            # follow-up flags: negated ("no follow-up needed") and hypothetical ("if ... then")
            **_flags(letters, "np", where),
        })
    return items


def read_corpus(path: Path) -> list[dict[str, object]]:
    """Parse labeled.txt into records with ids in authoring order."""
    records: list[dict[str, object]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        text, critical, followup = (field.strip() for field in line.split("||"))
        where = f"labeled.txt line {number}"
        records.append({
            "id": f"s{len(records) + 1:04d}",
            "text": text,
            "critical": _critical(critical, where),
            "followups": _followups(followup, where),
        })
    return records


def _stratum(record: dict[str, object]) -> tuple[str, ...]:
    # What a sentence carries, flags included, so that each flag is measured on both halves.
    keys = ["critical"] if record["critical"] else []
    keys += [f"c:{flag}" for m in record["critical"] for flag, on in m.items() if on is True]  # type: ignore[union-attr]
    keys += ["followup"] if record["followups"] else []
    keys += [f"f:{flag}" for m in record["followups"] for flag, on in m.items() if on is True]  # type: ignore[union-attr]
    return tuple(sorted(set(keys)))


def main() -> None:
    """Write dev.jsonl and test.jsonl beside this file."""
    records = read_corpus(HERE / "labeled.txt")
    rng = random.Random(SEED)
    dev: list[dict[str, object]] = []
    test: list[dict[str, object]] = []
    for stratum in sorted({_stratum(r) for r in records}):
        group = [r for r in records if _stratum(r) == stratum]
        rng.shuffle(group)
        cut = round(len(group) * DEV_SHARE)
        dev.extend(group[:cut])
        test.extend(group[cut:])
    for name, rows in (("dev", dev), ("test", test)):
        rows.sort(key=lambda r: str(r["id"]))
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(records)} sentences: dev {len(dev)}, test {len(test)}")


if __name__ == "__main__":
    main()
