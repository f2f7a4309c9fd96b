"""Fitting and judging the no-show model: logistic regression by Newton's method (numpy), AUC, calibration.

The domain scores (`radflow.domain.noshow`); this adapter fits coefficients on history, measures
discrimination and calibration on a later, held-out period, and reads and writes the model as JSON.
`python -m radflow.adapters.noshow_model evaluate` runs the whole measurement on synthetic history
(`radflow.adapters.noshow_history`) and prints the figures kept in bench/results/noshow.md.
"""

from __future__ import annotations

import argparse
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from radflow.domain.noshow import NoShowFeatures, NoShowModel, encode

Matrix = npt.NDArray[np.float64]

#: The model shipped for a center without history yet: fitted on synthetic history (see `evaluate`).
DEFAULT_MODEL_FILE = Path(__file__).resolve().parents[1] / "catalog" / "noshow_model.json"


@dataclass(frozen=True)
class PastAppointment:
    """One appointment of the history: when it was booked, when it was, what, and whether the patient came."""

    patient_id: str
    booked_at: datetime
    start: datetime
    modality: str
    no_show: bool


def features_of_history(history: Sequence[PastAppointment], zone: ZoneInfo) -> list[tuple[NoShowFeatures, bool]]:
    """Each appointment's features as known when it was booked, with its outcome (in the order given).

    A patient's earlier no-shows count only if their appointment began before this one was booked:
    the model must not learn from what the scheduler could not have known (no leakage).
    """
    by_patient: dict[str, list[PastAppointment]] = {}
    for appointment in history:
        by_patient.setdefault(appointment.patient_id, []).append(appointment)
    known: dict[int, tuple[int, int]] = {}  # id(appointment) -> (prior visits, prior no-shows)
    for appointments in by_patient.values():
        appointments.sort(key=lambda a: a.start)
        starts = [a.start for a in appointments]
        missed = [0]
        for appointment in appointments:
            missed.append(missed[-1] + int(appointment.no_show))
        for appointment in appointments:
            before = bisect_left(starts, appointment.booked_at)
            known[id(appointment)] = (before, missed[before])
    return [(NoShowFeatures.of(booked_at=a.booked_at, start=a.start, modality=a.modality, zone=zone,
                               prior_visits=known[id(a)][0], prior_no_shows=known[id(a)][1]), a.no_show)
            for a in history]


def design_matrix(rows: Sequence[tuple[NoShowFeatures, bool]]) -> tuple[Matrix, Matrix]:
    """The model's inputs (one row per appointment) and outcomes (1 = no-show)."""
    x = np.array([encode(features) for features, _ in rows], dtype=np.float64)
    y = np.array([1.0 if missed else 0.0 for _, missed in rows], dtype=np.float64)
    return x, y


def fit_logistic(x: Matrix, y: Matrix, *, ridge: float = 1.0, iterations: int = 50) -> Matrix:
    """Maximum-likelihood logistic coefficients with an L2 penalty (not on the intercept), by Newton's method."""
    beta = np.zeros(x.shape[1])
    rate = float(np.clip(y.mean(), 1e-4, 1 - 1e-4))
    beta[0] = np.log(rate / (1 - rate))
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (y - p) - penalty * beta
        weights = p * (1 - p)
        hessian = (x * weights[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return beta


def fit_model(rows: Sequence[tuple[NoShowFeatures, bool]], *, fitted_on: str, ridge: float = 1.0) -> NoShowModel:
    """A no-show model fitted on these appointments."""
    if len(rows) < 200 or not any(missed for _, missed in rows):
        raise ValueError(f"fitting needs at least 200 appointments with some no-shows; got {len(rows)}")
    x, y = design_matrix(rows)
    beta = fit_logistic(x, y, ridge=ridge)
    return NoShowModel(coefficients=tuple(round(float(b), 6) for b in beta), fitted_on=fitted_on,
                       base_rate=round(float(y.mean()), 6))


def auc(scores: Matrix, outcomes: Matrix) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    positives = float(outcomes.sum())
    negatives = len(outcomes) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both outcomes in the data")
    return float((ranks[outcomes == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


@dataclass(frozen=True)
class CalibrationBin:
    """One tenth of the held-out appointments by predicted risk: predicted against observed."""

    count: int
    mean_predicted: float
    observed: float


@dataclass(frozen=True)
class Evaluation:
    """How a model does on appointments it was not fitted on."""

    appointments: int
    no_show_rate: float
    auc: float
    brier: float
    calibration_in_the_large: float  # mean predicted - observed rate
    calibration_slope: float  # 1.0 is ideal; < 1 means over-confident
    bins: tuple[CalibrationBin, ...]


def evaluate(model: NoShowModel, rows: Sequence[tuple[NoShowFeatures, bool]]) -> Evaluation:
    """Discrimination and calibration of `model` on `rows`."""
    x, y = design_matrix(rows)
    p = 1.0 / (1.0 + np.exp(-(x @ np.array(model.coefficients))))
    logit = np.log(p / (1 - p))
    slope = fit_logistic(np.column_stack([np.ones(len(p)), logit]), y, ridge=0.0)[1]
    order = np.argsort(p, kind="mergesort")
    bins = tuple(CalibrationBin(len(part), float(p[part].mean()), float(y[part].mean()))
                 for part in np.array_split(order, 10))
    return Evaluation(appointments=len(rows), no_show_rate=float(y.mean()), auc=auc(p, y),
                      brier=float(np.mean((p - y) ** 2)), calibration_in_the_large=float(p.mean() - y.mean()),
                      calibration_slope=float(slope), bins=bins)


def default_model() -> NoShowModel:
    """The shipped model (fitted on synthetic history) for a center with no history of its own yet."""
    return NoShowModel.from_json(DEFAULT_MODEL_FILE.read_text())


def _report(train: Evaluation, test: Evaluation, baseline: Evaluation, model: NoShowModel, command: str,
            train_span: str, test_span: str) -> str:
    lines = [
        f"command: `{command}`", "",
        f"fitted on {train_span}: {train.appointments:,} appointments, no-show rate {train.no_show_rate:.2%}",
        f"held out (later period) {test_span}: {test.appointments:,} appointments, "
        f"no-show rate {test.no_show_rate:.2%}", "",
        "| measure | model, held-out | modality-only baseline, held-out | model, fitting period |",
        "|---|---|---|---|",
        f"| AUC | {test.auc:.3f} | {baseline.auc:.3f} | {train.auc:.3f} |",
        f"| Brier score | {test.brier:.4f} | {baseline.brier:.4f} | {train.brier:.4f} |",
        f"| calibration-in-the-large (predicted − observed) | {test.calibration_in_the_large:+.4f} | "
        f"{baseline.calibration_in_the_large:+.4f} | {train.calibration_in_the_large:+.4f} |",
        f"| calibration slope | {test.calibration_slope:.3f} | {baseline.calibration_slope:.3f} | "
        f"{train.calibration_slope:.3f} |",
        "", "Held-out calibration by tenth of predicted risk:", "",
        "| tenth | appointments | mean predicted | observed |", "|---|---|---|---|",
        *(f"| {i + 1} | {b.count:,} | {b.mean_predicted:.2%} | {b.observed:.2%} |" for i, b in enumerate(test.bins)),
        "", "Coefficients (log-odds):", "",
        "| feature | coefficient |", "|---|---|",
        *(f"| {n} | {c:+.3f} |" for n, c in zip(model.feature_names, model.coefficients, strict=True)),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """`evaluate`: fit on 18 months of synthetic history, judge on the next 6; optionally write the default model."""
    from radflow.adapters.noshow_history import HistorySettings, synthetic_history

    parser = argparse.ArgumentParser(prog="python -m radflow.adapters.noshow_model")
    parser.add_argument("action", choices=["evaluate"])
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--patients", type=int, default=30_000)
    parser.add_argument("--write-default", action="store_true", help="store the fitted model as the shipped one")
    args = parser.parse_args(argv)
    settings = HistorySettings(seed=args.seed, patients=args.patients)
    zone = ZoneInfo(settings.timezone)
    history = sorted(synthetic_history(settings), key=lambda a: a.start)
    cut = datetime(2025, 7, 1, tzinfo=UTC)
    rows = features_of_history(history, zone)
    train = [row for appointment, row in zip(history, rows, strict=True) if appointment.start < cut]
    test = [row for appointment, row in zip(history, rows, strict=True) if appointment.start >= cut]
    model = fit_model(train, fitted_on=f"synthetic history seed {args.seed}, {len(train):,} appointments "
                                       "2024-01-01..2025-06-30")
    baseline = _modality_only(train, test)
    command = "python -m radflow.adapters.noshow_model evaluate" + (f" --seed {args.seed}" if args.seed != 20240101
                                                                     else "")
    print(_report(evaluate(model, train), evaluate(model, test), baseline, model, command,
                  "2024-01-01..2025-06-30", "2025-07-01..2025-12-31"))
    if args.write_default:
        DEFAULT_MODEL_FILE.write_text(model.to_json() + "\n")


def _modality_only(train: Sequence[tuple[NoShowFeatures, bool]],
                   test: Sequence[tuple[NoShowFeatures, bool]]) -> Evaluation:
    """The no-show rate of each modality in the fitting period, judged on the held-out one (a floor to beat)."""
    rates: dict[str, list[bool]] = {}
    for features, missed in train:
        rates.setdefault(features.modality, []).append(missed)
    y = np.array([1.0 if missed else 0.0 for _, missed in test])
    overall = float(np.mean([m for _, m in train]))
    p = np.array([float(np.mean(rates.get(f.modality, [overall]))) for f, _ in test])
    p = np.clip(p, 1e-4, 1 - 1e-4)
    logit = np.log(p / (1 - p))
    slope = fit_logistic(np.column_stack([np.ones(len(p)), logit]), y, ridge=0.0)[1]
    order = np.argsort(p, kind="mergesort")
    bins = tuple(CalibrationBin(len(part), float(p[part].mean()), float(y[part].mean()))
                 for part in np.array_split(order, 10))
    return Evaluation(len(test), float(y.mean()), auc(p, y), float(np.mean((p - y) ** 2)),
                      float(p.mean() - y.mean()), float(slope), bins)


if __name__ == "__main__":
    main()
