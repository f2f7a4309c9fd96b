"""Synthetic appointment history with a documented data-generating process, for fitting and judging
the no-show model where no real history is at hand (a new center, the benchmark, the demo).

The process (every number below is a parameter of `HistorySettings` or a table in this module):

1. Patients: `patients` people, each with an age (uniform 18–90) and a hidden reliability
   `u ~ Normal(0, reliability_sd)` that the model never sees. Each has 1 + Poisson(`visits_mean`)
   appointments over two years (2024–2025), so repeat patients exist and their earlier no-shows
   carry information about `u`, as in real centers.
2. Each appointment: a modality from `MODALITY_MIX` (a general outpatient center); a start day
   uniform over the two years, Monday to Saturday (Saturdays at 40 % of a weekday's volume); a start
   hour between 07:00 and 19:00; a scheduling lead time, log-normal with the modality's median from
   `LEAD_MEDIAN_DAYS` (σ = 0.9) — and 3 % of mammograms booked 10–12 months ahead (annual screening).
3. Outcome: no-show with probability sigmoid(z), where
   z = logit(`BASE_RATE`[modality]) + 0.30·(ln(1+lead days) − ln 8) + u
       + 0.35 if age < 40, −0.35 if age ≥ 60
       + 0.20 Monday, 0.10 Friday, 0.25 Saturday
       + 0.15 before 09:00, 0.20 from 16:00
       − 0.10 per year since 2024-01-01 (the slow decline Rosenbaum 2018 observed).
   Directions follow the literature: mammography highest and radiography lowest, longer lead
   time worse, Mondays and Saturdays worse, older patients better (Rosenbaum JI et al., J Am Coll
   Radiol 2018;15(7):944-950); the base rates are those of a community center, about twice the
   academic center's in that study. Age and `u` are not model features: the model is misspecified
   the way a real one is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np

from radflow.adapters.noshow_model import PastAppointment

MODALITY_MIX: Final = {"DX": 0.30, "US": 0.20, "CT": 0.17, "MR": 0.15, "MG": 0.11, "NM": 0.03, "PT": 0.02,
                       "RF": 0.02}
LEAD_MEDIAN_DAYS: Final = {"DX": 1.0, "US": 5.0, "CT": 4.0, "MR": 8.0, "MG": 21.0, "NM": 7.0, "PT": 6.0,
                           "RF": 6.0}
BASE_RATE: Final = {"DX": 0.025, "US": 0.05, "CT": 0.04, "MR": 0.05, "MG": 0.085, "NM": 0.045, "PT": 0.03,
                    "RF": 0.04}
WEEKDAY_EFFECT: Final = (0.20, 0.0, 0.0, 0.0, 0.10, 0.25, 0.0)
FIRST_DAY: Final = date(2024, 1, 1)
DAYS: Final = 731  # 2024-01-01 .. 2025-12-31


@dataclass(frozen=True)
class HistorySettings:
    """Parameters of the synthetic history."""

    seed: int = 20240101
    patients: int = 30_000
    visits_mean: float = 1.3
    reliability_sd: float = 0.9
    timezone: str = "America/New_York"


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def synthetic_history(settings: HistorySettings = HistorySettings()) -> list[PastAppointment]:
    """Two years of appointments and their outcomes, generated as the module docstring describes."""
    rng = np.random.default_rng(settings.seed)
    zone = ZoneInfo(settings.timezone)
    modalities = list(MODALITY_MIX)
    mix = np.array([MODALITY_MIX[m] for m in modalities])
    history: list[PastAppointment] = []
    for number in range(settings.patients):
        patient_id = f"p{number:06d}"
        age = rng.uniform(18, 90)
        reliability = rng.normal(0.0, settings.reliability_sd)
        for _ in range(1 + rng.poisson(settings.visits_mean)):
            modality = modalities[int(rng.choice(len(modalities), p=mix))]
            day = _start_day(rng)
            hour = int(rng.integers(7, 19))
            start_local = datetime.combine(day, time(hour, int(rng.choice([0, 15, 30, 45]))), tzinfo=zone)
            start = start_local.astimezone(UTC)
            lead_days = float(LEAD_MEDIAN_DAYS[modality] * math.exp(rng.normal(0.0, 0.9)))
            if modality == "MG" and rng.random() < 0.03:
                lead_days = float(rng.uniform(300, 365))
            booked_at = start - timedelta(days=lead_days)
            z = (_logit(BASE_RATE[modality]) + 0.30 * (math.log1p(lead_days) - math.log(8)) + reliability
                 + (0.35 if age < 40 else -0.35 if age >= 60 else 0.0)
                 + WEEKDAY_EFFECT[day.weekday()]
                 + (0.15 if hour < 9 else 0.20 if hour >= 16 else 0.0)
                 - 0.10 * (day - FIRST_DAY).days / 365.25)
            no_show = bool(rng.random() < 1.0 / (1.0 + math.exp(-z)))
            history.append(PastAppointment(patient_id, booked_at, start, modality, no_show))
    return history


def _start_day(rng: np.random.Generator) -> date:
    while True:
        day = FIRST_DAY + timedelta(days=int(rng.integers(0, DAYS)))
        weekday = day.weekday()
        if weekday == 6 or (weekday == 5 and rng.random() > 0.4):
            continue
        return day
