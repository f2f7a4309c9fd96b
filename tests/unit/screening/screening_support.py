"""Helpers shared by the screening tests: where the case suite lives and how to load a case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CASES_DIR = Path(__file__).resolve().parents[2] / "cases" / "screening"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))
REPO_ROOT = CASES_DIR.parents[2]


def load_case(name: str) -> dict[str, Any]:
    """A fresh copy of a suite case by its id (file name without .json)."""
    return json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8"))
