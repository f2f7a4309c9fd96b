"""The exam_day area's contributions to the composed application (filled in by that area)."""

from __future__ import annotations

from radflow.wiring import Area

AREA = Area(name="exam_day")
