"""The no-show model: features known at booking only, a fit that finds the effects, AUC computed right."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from radflow.adapters.noshow_model import PastAppointment, auc, evaluate, features_of_history, fit_model
from radflow.domain.errors import ValidationError
from radflow.domain.noshow import FEATURE_NAMES, NoShowFeatures, NoShowModel, slot_no_show_probability
from radflow.wiring.reminders import shipped_model

NY = ZoneInfo("America/New_York")
T0 = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)


def test_an_earlier_no_show_counts_only_if_it_happened_before_this_appointment_was_booked() -> None:
    history = [
        PastAppointment("p", booked_at=T0 - timedelta(days=30), start=T0, modality="MR", no_show=True),
        # Booked before the first one happened: the scheduler could not know it would be missed.
        PastAppointment("p", booked_at=T0 - timedelta(days=10), start=T0 + timedelta(days=5), modality="CT",
                        no_show=False),
        PastAppointment("p", booked_at=T0 + timedelta(days=1), start=T0 + timedelta(days=9), modality="US",
                        no_show=False),
    ]
    rows = features_of_history(history, NY)
    assert [(f.prior_visits, f.prior_no_shows) for f, _ in rows] == [(0, 0), (0, 0), (1, 1)]


def _simulated(n: int, seed: int) -> list[tuple[NoShowFeatures, bool]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        prior = rng.choice([0, 0, 0, 1, 2])
        lead = rng.uniform(0, 60)
        modality = rng.choice(["MR", "CT", "MG", "DX"])
        z = -3.0 + 0.8 * prior + 0.4 * math.log1p(lead) + (0.7 if modality == "MG" else 0.0)
        features = NoShowFeatures(lead_time=timedelta(days=lead), modality=modality, prior_no_shows=prior,
                                  prior_visits=prior + rng.randint(0, 3), weekday=rng.randint(0, 5),
                                  hour=rng.randint(7, 18))
        rows.append((features, rng.random() < 1 / (1 + math.exp(-z))))
    return rows


def test_the_fit_finds_the_effects_that_generated_the_data_and_beats_chance_on_new_data() -> None:
    model = fit_model(_simulated(20_000, 1), fitted_on="test")
    coefficient = dict(zip(FEATURE_NAMES, model.coefficients, strict=True))
    assert coefficient["log_lead_days"] == pytest.approx(0.4, abs=0.12)
    assert coefficient["modality_MG"] == pytest.approx(0.7, abs=0.2)
    held_out = evaluate(model, _simulated(5_000, 2))
    assert held_out.auc > 0.65
    assert abs(held_out.calibration_in_the_large) < 0.02


def test_auc_is_the_probability_a_missed_appointment_scores_above_an_attended_one() -> None:
    assert auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0.0, 0.0, 1.0, 1.0])) == 1.0
    assert auc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0.0, 0.0, 1.0, 1.0])) == 0.0
    assert auc(np.array([0.5, 0.5]), np.array([0.0, 1.0])) == 0.5


def test_the_shipped_model_loads_and_a_past_no_show_raises_the_risk() -> None:
    model = shipped_model()
    start = datetime(2026, 3, 9, 14, tzinfo=UTC)
    booked = start - timedelta(days=20)
    first = slot_no_show_probability(model, start=start, modality="MR", booked_at=booked, zone=NY)
    missed = slot_no_show_probability(model, start=start, modality="MR", booked_at=booked, zone=NY,
                                      prior_no_shows=2, prior_visits=3)
    assert 0.0 < first < missed < 1.0
    assert NoShowModel.from_json(model.to_json()) == model


def test_a_model_fitted_on_other_features_is_refused() -> None:
    with pytest.raises(ValidationError, match="refit"):
        NoShowModel(coefficients=(0.0,) * len(FEATURE_NAMES), fitted_on="x", feature_names=("intercept",))
