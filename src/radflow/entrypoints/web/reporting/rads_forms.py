"""The RADS calculators' forms on the report editor: posted fields → a structured finding, and the choices.

The finding is the calculators' own JSON (docs/rads-finding.schema.json); the calculator validates it
and names a bad field. Lung-RADS keeps one finding per exam with every nodule in it (the exam takes the
most suspicious nodule); TI-RADS one finding per nodule; BI-RADS and Fleischner one finding per report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from radflow.domain.errors import ValidationError
from radflow.entrypoints.web.forms import FormFields

Choices = tuple[tuple[str, str], ...]


def _choices(*values: str) -> Choices:
    return tuple((value, value.replace("_", " ")) for value in values)


CHOICES: Final[dict[str, Choices]] = {
    "lung_exam": _choices("baseline", "follow_up"),
    "lung_type": _choices("solid", "part_solid", "ground_glass", "juxtapleural", "airway"),
    "lung_status": (("", "—"), *_choices("new", "growing", "slowly_growing", "stable", "decreased")),
    "birads_category": (("", "—"), *_choices("0", "1", "2", "3", "4", "4A", "4B", "4C", "5", "6")),
    "birads_density": (("", "—"), ("a", "a: almost entirely fatty"), ("b", "b: scattered fibroglandular"),
                       ("c", "c: heterogeneously dense"), ("d", "d: extremely dense")),
    "birads_incomplete": (("", "—"), *_choices("additional_imaging", "prior_mammograms")),
    "ti_composition": _choices("cystic", "spongiform", "mixed_cystic_solid", "solid",
                               "indeterminate_due_to_calcification"),
    "ti_echogenicity": _choices("anechoic", "hyperechoic", "isoechoic", "hypoechoic", "very_hypoechoic",
                                "indeterminate"),
    "ti_shape": _choices("wider_than_tall", "taller_than_wide"),
    "ti_margin": _choices("smooth", "ill_defined", "lobulated", "irregular", "extrathyroidal_extension",
                          "indeterminate"),
    "ti_foci": _choices("none", "large_comet_tail", "macrocalcifications", "peripheral_calcifications", "punctate"),
    "fl_type": _choices("solid", "ground_glass", "part_solid"),
    "fl_multiplicity": _choices("single", "multiple"),
    "fl_risk": (("", "—"), *_choices("low", "high")),
}

SYSTEM_TITLES: Final = {"lung-rads": "Lung-RADS v2022", "bi-rads": "BI-RADS", "ti-rads": "ACR TI-RADS",
                        "fleischner": "Fleischner Society 2017"}


def _number(fields: FormFields, name: str, *, required: bool = False) -> float | None:
    raw = fields.text(name)
    if not raw:
        if required:
            raise ValidationError(f"enter {name.replace('_', ' ')}", field=name)
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValidationError(f"'{raw}' is not a number", field=name) from None


def _set(finding: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, ""):
        finding[key] = value


def lung_nodule(fields: FormFields) -> dict[str, Any]:
    """One Lung-RADS nodule from the form."""
    nodule: dict[str, Any] = {"type": fields.text("lung_type") or "solid"}
    _set(nodule, "diameter_mm", _number(fields, "diameter_mm", required=nodule["type"] != "airway"))
    _set(nodule, "solid_component_mm", _number(fields, "solid_component_mm"))
    _set(nodule, "status", fields.text("lung_status"))
    _set(nodule, "prior_diameter_mm", _number(fields, "prior_diameter_mm"))
    if nodule["type"] == "airway":
        nodule["airway_level"] = fields.text("airway_level") or "subsegmental"
    return nodule


def finding_from_form(system: str, fields: FormFields, current: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The report's new list of findings after adding what the form for `system` says."""
    findings = [dict(f) for f in current]
    if system == "lung-rads":
        existing = next((f for f in findings if f.get("system") == "lung-rads"), None)
        if existing is None:
            existing = {"system": "lung-rads", "exam": fields.text("lung_exam") or "baseline", "nodules": []}
            findings.append(existing)
        existing["exam"] = fields.text("lung_exam") or existing["exam"]
        existing["nodules"] = [*existing.get("nodules", []), lung_nodule(fields)]
        return findings
    if system == "bi-rads":
        finding: dict[str, Any] = {"system": "bi-rads", "exam_modality": fields.text("exam_modality") or "MG"}
        for side in ("right", "left"):
            category = fields.text(f"{side}_category")
            if category:
                finding[side] = {"category": category}
                _set(finding[side], "incomplete_reason", fields.text(f"{side}_incomplete"))
        _set(finding, "density", fields.text("density"))
        return [f for f in findings if f.get("system") != "bi-rads"] + [finding]
    if system == "ti-rads":
        nodule: dict[str, Any] = {"system": "ti-rads"}
        for name in ("composition", "echogenicity", "shape", "margin"):
            nodule[name] = fields.text(f"ti_{name}")
        nodule["echogenic_foci"] = [v for v in fields.form.getlist("ti_foci") if isinstance(v, str)] or ["none"]
        _set(nodule, "max_diameter_cm", _number(fields, "max_diameter_cm", required=True))
        return [*findings, nodule]
    if system == "fleischner":
        nodule = {"system": "fleischner", "nodule_type": fields.text("fl_type") or "solid",
                  "multiplicity": fields.text("fl_multiplicity") or "single"}
        _set(nodule, "diameter_mm", _number(fields, "fl_diameter_mm", required=True))
        _set(nodule, "risk", fields.text("fl_risk"))
        _set(nodule, "solid_component_mm", _number(fields, "fl_solid_component_mm"))
        _set(nodule, "patient_age", _number(fields, "patient_age"))
        return [f for f in findings if f.get("system") != "fleischner"] + [nodule]
    raise ValidationError(f"'{system}' is not a RADS calculator of this report", field="system")
