"""No-show risk: the features of an appointment and a logistic model over them.

The features are those the imaging literature finds predictive and that radflow knows at booking
time: scheduling lead time and modality (the strongest two in Rosenbaum JI et al., J Am Coll Radiol
2018;15(7):944-950, 2.9 million outpatient visits), the patient's own earlier no-shows (Harvey HB et
al., J Am Coll Radiol 2017;14(10):1303-1309), the weekday (Mondays and Saturdays higher in
Rosenbaum 2018) and the hour of the day. The model is fitted on the center's history by
`radflow.adapters.noshow_model`; here it only scores. Pure: no I/O, no numerical library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from radflow.domain.errors import ValidationError

#: Modalities with their own coefficient; DX and CR are one group ("XR"), the rest share "other".
MODALITY_GROUPS: Mapping[str, str] = {
    "CT": "CT", "MR": "MR", "US": "US", "MG": "MG", "DX": "XR", "CR": "XR", "NM": "NM", "PT": "PT",
    "RF": "other", "XA": "other",
}
_REFERENCE_MODALITY = "CT"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_REFERENCE_WEEKDAY = "wed"
_HOUR_BANDS = (("early", 0, 9), ("morning", 9, 12), ("afternoon", 12, 16), ("late", 16, 24))
_REFERENCE_BAND = "morning"

#: The columns of the model, in order; the intercept first.
FEATURE_NAMES: tuple[str, ...] = (
    "intercept",
    "log_lead_days",
    "prior_no_shows",
    "any_prior_no_show",
    "log_prior_visits",
    *(f"modality_{m}" for m in sorted(set(MODALITY_GROUPS.values())) if m != _REFERENCE_MODALITY),
    *(f"weekday_{d}" for d in _WEEKDAYS if d != _REFERENCE_WEEKDAY),
    *(f"hour_{name}" for name, _, _ in _HOUR_BANDS if name != _REFERENCE_BAND),
)


@dataclass(frozen=True)
class NoShowFeatures:
    """What is known about an appointment when it is booked."""

    lead_time: timedelta  # booking to start
    modality: str
    prior_no_shows: int
    prior_visits: int  # appointments the patient attended or missed before this one
    weekday: int  # 0 = Monday, in the site's zone
    hour: int  # local hour of the start

    @classmethod
    def of(cls, *, booked_at: datetime, start: datetime, modality: str, zone: ZoneInfo, prior_no_shows: int = 0,
           prior_visits: int = 0) -> NoShowFeatures:
        """Features of an appointment starting at `start` (UTC), booked at `booked_at`, at a site in `zone`."""
        local = start.astimezone(zone)
        return cls(lead_time=max(start - booked_at, timedelta(0)), modality=modality,
                   prior_no_shows=prior_no_shows, prior_visits=prior_visits, weekday=local.weekday(),
                   hour=local.hour)


def encode(features: NoShowFeatures) -> tuple[float, ...]:
    """The model's input row for these features (FEATURE_NAMES order)."""
    group = MODALITY_GROUPS.get(features.modality, "other")
    weekday = _WEEKDAYS[features.weekday]
    band = next(name for name, low, high in _HOUR_BANDS if low <= features.hour < high)
    lead_days = features.lead_time / timedelta(days=1)
    values = {
        "intercept": 1.0,
        "log_lead_days": math.log1p(lead_days),
        "prior_no_shows": float(min(features.prior_no_shows, 5)),
        "any_prior_no_show": 1.0 if features.prior_no_shows > 0 else 0.0,
        "log_prior_visits": math.log1p(features.prior_visits),
        f"modality_{group}": 1.0,
        f"weekday_{weekday}": 1.0,
        f"hour_{band}": 1.0,
    }
    return tuple(values.get(name, 0.0) for name in FEATURE_NAMES)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class NoShowModel:
    """A fitted logistic model: one coefficient per feature, with what it was fitted on."""

    coefficients: tuple[float, ...]
    fitted_on: str  # e.g. "history 2024-01-01..2025-06-30, 41,210 appointments"
    feature_names: tuple[str, ...] = FEATURE_NAMES
    base_rate: float = 0.0  # observed no-show rate in the fitting data

    def __post_init__(self) -> None:
        if self.feature_names != FEATURE_NAMES:
            raise ValidationError("this no-show model was fitted on other features; refit it with "
                                  "`python -m radflow.adapters.noshow_model fit`")
        if len(self.coefficients) != len(FEATURE_NAMES):
            raise ValidationError(f"a no-show model needs {len(FEATURE_NAMES)} coefficients, "
                                  f"not {len(self.coefficients)}")

    def to_json(self) -> str:
        """The model as a JSON document (what the database and the shipped file hold)."""
        return json.dumps({"feature_names": list(self.feature_names), "coefficients": list(self.coefficients),
                           "fitted_on": self.fitted_on, "base_rate": self.base_rate}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> NoShowModel:
        """Read a model written by `to_json` (refused if its features differ from radflow's)."""
        document = json.loads(text)
        return cls(coefficients=tuple(float(c) for c in document["coefficients"]),
                   fitted_on=str(document["fitted_on"]), feature_names=tuple(document["feature_names"]),
                   base_rate=float(document.get("base_rate", 0.0)))

    def probability(self, features: NoShowFeatures) -> float:
        """Predicted probability that the patient does not come."""
        row = encode(features)
        return _sigmoid(sum(c * x for c, x in zip(self.coefficients, row, strict=True)))

    def explain(self, features: NoShowFeatures) -> list[tuple[str, float]]:
        """Each feature's contribution to the log-odds, largest first (for the no-show screen)."""
        row = encode(features)
        parts = [(name, c * x) for name, c, x in zip(self.feature_names, self.coefficients, row, strict=True)
                 if x and name != "intercept"]
        return sorted(parts, key=lambda p: -abs(p[1]))


def slot_no_show_probability(model: NoShowModel, *, start: datetime, modality: str, booked_at: datetime,
                             zone: ZoneInfo, prior_no_shows: int = 0, prior_visits: int = 0) -> float:
    """Expected no-show probability of a slot booked now (for overbooking): a patient with the given history.

    Without a patient (an open slot), the defaults describe a patient with no history here.
    """
    features = NoShowFeatures.of(booked_at=booked_at, start=start, modality=modality, zone=zone,
                                 prior_no_shows=prior_no_shows, prior_visits=prior_visits)
    return model.probability(features)
