"""ACR TI-RADS: the points calculator for a thyroid nodule, its level, and FNA / follow-up by size.

Points per feature and the level thresholds are data (catalog/rads/tirads.yaml). The size is the
nodule's maximum diameter in centimetres; the thresholds are inclusive ("FNA if >= 1.5 cm").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from radflow.domain.errors import ValidationError
from radflow.domain.rads.assessment import Assessment, FollowUpInterval, RuleRef
from radflow.domain.rads.fields import read_choice, read_list, read_number, reject_unknown
from radflow.domain.rads.rules import require_str
from radflow.domain.rads.tables import document, mapping

FEATURES = ("composition", "echogenicity", "shape", "margin", "echogenic_foci")


@dataclass(frozen=True)
class FeatureScale:
    """One feature category: its choices and their points, one choice or all that apply."""

    name: str
    points: Mapping[str, int]
    choose_all: bool
    source: str


@dataclass(frozen=True)
class TiradsLevel:
    """A TR level: its point range and the size thresholds for FNA and for follow-up."""

    level: str
    min_points: int
    max_points: int | None
    descriptor: str
    fna_cm: float | None
    follow_cm: float | None
    follow_up_years: tuple[int, ...]
    source: str

    def holds(self, points: int) -> bool:
        """True when a total falls in this level."""
        return points >= self.min_points and (self.max_points is None or points <= self.max_points)


@dataclass(frozen=True)
class TiradsTable:
    """ACR TI-RADS as data."""

    version: str
    source: str
    features: Mapping[str, FeatureScale]
    levels: tuple[TiradsLevel, ...]

    def level_for(self, points: int) -> TiradsLevel:
        """The level a total belongs to."""
        for level in self.levels:
            if level.holds(points):
                return level
        raise ValidationError(f"no TI-RADS level for {points} points")


def _points(raw: object, where: str) -> dict[str, int]:
    if not isinstance(raw, dict) or not raw:
        raise ValidationError(f"{where}: 'points' must map each choice to its points")
    for choice, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(f"{where}: points for '{choice}' must be a whole number >= 0")
    return {str(k): int(v) for k, v in raw.items()}


def _level(entry: object, where: str) -> TiradsLevel:
    if not isinstance(entry, dict):
        raise ValidationError(f"{where}: expected a mapping")
    bounds = entry.get("points")
    if not isinstance(bounds, list) or len(bounds) != 2 or not isinstance(bounds[0], int):
        raise ValidationError(f"{where}: 'points' must be [min, max] (max may be null)")
    years = entry.get("follow_up_years", [])
    fna, follow = entry.get("fna_cm"), entry.get("follow_cm")
    if (fna is None) != (follow is None):
        raise ValidationError(f"{where}: give both 'fna_cm' and 'follow_cm', or neither")
    return TiradsLevel(
        level=require_str(entry, "level", where),
        min_points=bounds[0],
        max_points=bounds[1],
        descriptor=require_str(entry, "descriptor", where),
        fna_cm=float(fna) if fna is not None else None,
        follow_cm=float(follow) if follow is not None else None,
        follow_up_years=tuple(int(y) for y in years),
        source=require_str(entry, "source", where),
    )


def parse_tirads_table(raw: object, *, origin: str = "tirads.yaml") -> TiradsTable:
    """Validate the TI-RADS catalog document; levels must cover every total without gap or overlap."""
    top = document(raw, origin)
    raw_features = mapping(top, "features", origin)
    if set(raw_features) != set(FEATURES):
        raise ValidationError(f"{origin}: features must be exactly {', '.join(FEATURES)}")
    features = {}
    for name in FEATURES:
        entry = mapping(raw_features, name, origin)
        where = f"{origin} feature '{name}'"
        features[name] = FeatureScale(name, _points(entry.get("points"), where), entry.get("choose") == "all",
                                      require_str(entry, "source", where))
    raw_levels = top.get("levels")
    if not isinstance(raw_levels, list) or not raw_levels:
        raise ValidationError(f"{origin}: 'levels' must be a non-empty list")
    levels = tuple(_level(entry, f"{origin} level #{i + 1}") for i, entry in enumerate(raw_levels))
    expected = 0
    for level in levels:
        if level.min_points != expected:
            raise ValidationError(f"{origin}: level {level.level} starts at {level.min_points}, expected {expected}")
        if level.max_points is None:
            break
        expected = level.max_points + 1
    if levels[-1].max_points is not None:
        raise ValidationError(f"{origin}: the last level must be open-ended (max null)")
    return TiradsTable(str(top.get("version", "")), require_str(top, "source", origin), features, levels)


@dataclass(frozen=True)
class ThyroidNodule:
    """A thyroid nodule's ultrasound features (ACR lexicon) and its maximum diameter in cm."""

    composition: str
    echogenicity: str
    shape: str
    margin: str
    echogenic_foci: tuple[str, ...]
    max_diameter_cm: float


def read_thyroid_nodule(obj: Mapping[str, Any], table: TiradsTable) -> ThyroidNodule:
    """Read a TI-RADS finding; each feature must be one of the lexicon's choices."""
    reject_unknown(obj, ("system", *FEATURES, "max_diameter_cm", "max_diameter_mm"), "")
    chosen = {name: read_choice(obj, name, "", table.features[name].points) for name in FEATURES[:4]}
    foci_raw = read_list(obj, "echogenic_foci", "", required=True)
    allowed = table.features["echogenic_foci"].points
    for index, value in enumerate(foci_raw):
        if value not in allowed:
            raise ValidationError(
                f"'echogenic_foci[{index}]' is {value!r}: expected one of {', '.join(sorted(allowed))}",
                field=f"echogenic_foci[{index}]",
            )
    size_cm = read_number(obj, "max_diameter_cm", "", required=False)
    size_mm = read_number(obj, "max_diameter_mm", "", required=False)
    if size_cm is None and size_mm is None:
        raise ValidationError("'max_diameter_cm' is required: the nodule's maximum diameter", field="max_diameter_cm")
    return ThyroidNodule(
        composition=str(chosen["composition"]),
        echogenicity=str(chosen["echogenicity"]),
        shape=str(chosen["shape"]),
        margin=str(chosen["margin"]),
        echogenic_foci=tuple(str(v) for v in foci_raw) or ("none",),
        max_diameter_cm=size_cm if size_cm is not None else (size_mm or 0.0) / 10,
    )


def tirads_points(nodule: ThyroidNodule, table: TiradsTable) -> dict[str, int]:
    """Points per feature category (echogenic foci add up over all that apply)."""
    scores = {name: table.features[name].points[getattr(nodule, name)] for name in FEATURES[:4]}
    foci = table.features["echogenic_foci"].points
    scores["echogenic_foci"] = sum(foci[choice] for choice in set(nodule.echogenic_foci))
    return scores


def _years(years: tuple[int, ...]) -> str:
    return ", ".join(str(y) for y in years[:-1]) + f" and {years[-1]}" if len(years) > 1 else str(years[0])


def assess_tirads(nodule: ThyroidNodule, table: TiradsTable) -> Assessment:
    """Sum the points, find the level, and apply the level's FNA and follow-up thresholds."""
    scores = tirads_points(nodule, table)
    total = sum(scores.values())
    level = table.level_for(total)
    size = nodule.max_diameter_cm
    modality: str | None = None
    interval: FollowUpInterval | None = None
    procedure: str | None = None
    if level.fna_cm is not None and size >= level.fna_cm:
        management, modality = f"FNA recommended ({level.level}, {size:g} cm >= {level.fna_cm:g} cm).", "US"
        procedure, decision = "ultrasound-guided fine-needle aspiration", "fna"
    elif level.follow_cm is not None and size >= level.follow_cm:
        management = (
            f"Ultrasound follow-up ({level.level}, {size:g} cm >= {level.follow_cm:g} cm): "
            f"at {_years(level.follow_up_years)} years."
        )
        modality, procedure, decision = "US", "thyroid ultrasound", "follow_up"
        interval = FollowUpInterval(12 * level.follow_up_years[0], 12 * level.follow_up_years[0])
    else:
        management, decision = f"No FNA and no follow-up needed ({level.level}, {size:g} cm).", "none"
    return Assessment(
        system="ACR TI-RADS",
        version=table.version,
        category=level.level,
        descriptor=level.descriptor,
        management=management,
        modality=modality,
        procedure=procedure,
        interval=interval,
        rule=RuleRef(f"tirads-{level.level.lower()}-{decision}", level.source),
        details={
            "points": total,
            "points_by_feature": scores,
            "decision": decision,
            "follow_up_years": list(level.follow_up_years) if decision == "follow_up" else [],
        },
    )
