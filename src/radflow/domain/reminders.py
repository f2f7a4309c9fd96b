"""Reminder schedules: which reminders a visit gets, when, and how many — set by the no-show risk.

The schedule is data (`radflow/catalog/reminders.yaml`), one entry per group of modalities, each
step citing why it is there. A visit's intensity (low, standard, high) comes from its predicted
no-show probability; a step names the intensities it is sent at, so a low-risk patient gets fewer
messages and a high-risk one more (and a call). Pure: the YAML is parsed by the caller and handed
in as plain data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from radflow.domain.errors import ValidationError
from radflow.domain.protocols import Modality


class Intensity(StrEnum):
    """How hard radflow works to bring a patient in."""

    LOW = "low"
    STANDARD = "standard"
    HIGH = "high"


@dataclass(frozen=True)
class ReminderStep:
    """One reminder: so many days before the visit, at these intensities, optionally also as a call."""

    days_before: int
    intensities: frozenset[Intensity]
    voice: bool = False  # also call (where the patient consented to calls)

    @property
    def name(self) -> str:
        """A short name for keys and screens: d7, d2, d1."""
        return f"d{self.days_before}"


@dataclass(frozen=True)
class ModalitySchedule:
    """The reminder steps for a group of modalities, with the source that justifies them."""

    modalities: frozenset[Modality]
    steps: tuple[ReminderStep, ...]
    source: str


@dataclass(frozen=True)
class PlannedReminder:
    """A reminder a visit gets: which step and when it is due (UTC)."""

    step: ReminderStep
    due_at: datetime


@dataclass(frozen=True)
class ReminderPolicy:
    """The whole reminder schedule: send time, risk thresholds and the steps per modality."""

    send_time: time
    #: (intensity, upper bound of the no-show probability), ascending; the last has bound 1.0.
    thresholds: tuple[tuple[Intensity, float], ...]
    schedules: tuple[ModalitySchedule, ...]
    default: ModalitySchedule
    source: str = ""

    def intensity_for(self, risk: float) -> Intensity:
        """The intensity for a predicted no-show probability."""
        if not 0.0 <= risk <= 1.0:
            raise ValueError(f"a no-show probability is between 0 and 1, not {risk}")
        for intensity, upper in self.thresholds:
            if risk < upper:
                return intensity
        return self.thresholds[-1][0]

    def schedule_for(self, modality: Modality | str) -> ModalitySchedule:
        """The schedule that names `modality`, else the default one."""
        for schedule in self.schedules:
            if modality in schedule.modalities:
                return schedule
        return self.default

    def steps_for(self, modalities: Iterable[Modality | str], intensity: Intensity) -> list[ReminderStep]:
        """The steps of a visit with exams of `modalities`: the union of their schedules, one per day."""
        by_day: dict[int, ReminderStep] = {}
        for modality in modalities:
            for step in self.schedule_for(modality).steps:
                if intensity not in step.intensities:
                    continue
                known = by_day.get(step.days_before)
                if known is None or (step.voice and not known.voice):
                    by_day[step.days_before] = step
        return [by_day[d] for d in sorted(by_day, reverse=True)]

    def plan(self, visit_day: date, modalities: Iterable[Modality | str], intensity: Intensity, *,
             zone: ZoneInfo, after: datetime) -> list[PlannedReminder]:
        """When each reminder of a visit on `visit_day` is due, in the recipient's zone; past ones dropped."""
        planned = []
        for step in self.steps_for(modalities, intensity):
            due = datetime.combine(visit_day - timedelta(days=step.days_before), self.send_time, tzinfo=zone)
            if due > after:
                planned.append(PlannedReminder(step, due.astimezone(after.tzinfo)))
        return planned


_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _problem(origin: str, where: str, what: str) -> ValidationError:
    return ValidationError(f"{origin}: {where}: {what}")


def _read_steps(raw: Any, origin: str, where: str) -> tuple[ReminderStep, ...]:
    if not isinstance(raw, list) or not raw:
        raise _problem(origin, where, "'reminders' must be a non-empty list of steps")
    steps = []
    for index, item in enumerate(raw):
        here = f"{where}, reminder {index + 1}"
        if not isinstance(item, Mapping):
            raise _problem(origin, here, "each reminder is a mapping with days_before and intensities")
        unknown = set(item) - {"days_before", "intensities", "voice"}
        if unknown:
            raise _problem(origin, here, f"unknown field(s) {sorted(unknown)}")
        days = item.get("days_before")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 30:
            raise _problem(origin, here, f"days_before must be a whole number of days from 1 to 30, not {days!r}")
        levels = item.get("intensities")
        if not isinstance(levels, list) or not levels:
            raise _problem(origin, here, "intensities must list at least one of low, standard, high")
        try:
            intensities = frozenset(Intensity(level) for level in levels)
        except ValueError:
            raise _problem(origin, here, f"intensities {levels} may only name low, standard, high") from None
        steps.append(ReminderStep(days, intensities, voice=bool(item.get("voice", False))))
    if len({s.days_before for s in steps}) != len(steps):
        raise _problem(origin, where, "two reminders on the same day before the visit")
    return tuple(sorted(steps, key=lambda s: -s.days_before))


def _read_thresholds(raw: Any, origin: str) -> tuple[tuple[Intensity, float], ...]:
    if not isinstance(raw, list) or [item.get("level") for item in raw if isinstance(item, Mapping)] != [
            i.value for i in Intensity]:
        raise _problem(origin, "intensity", "list low, standard and high in that order, each with 'below'")
    bounds: list[tuple[Intensity, float]] = []
    for item in raw:
        below = item.get("below", 1.0)
        if not isinstance(below, (int, float)) or not 0 < below <= 1:
            raise _problem(origin, f"intensity {item['level']}", f"'below' must be a probability, not {below!r}")
        if bounds and below <= bounds[-1][1]:
            raise _problem(origin, f"intensity {item['level']}", "thresholds must increase")
        bounds.append((Intensity(item["level"]), float(below)))
    if bounds[-1][1] != 1.0:
        raise _problem(origin, "intensity high", "the last level covers everything up to 1.0: omit 'below'")
    return tuple(bounds)


def parse_reminder_policy(document: Any, *, origin: str = "reminders.yaml") -> ReminderPolicy:
    """Validate the reminder schedule document; every problem names where it is and what is expected."""
    if not isinstance(document, Mapping):
        raise _problem(origin, "top level", "expected a mapping with send_time, intensity and schedules")
    raw_time = str(document.get("send_time", ""))
    match = _TIME.match(raw_time)
    if match is None:
        raise _problem(origin, "send_time", f"'{raw_time}' is not a time like 10:00")
    send_time = time(int(match.group(1)), int(match.group(2)))
    if not time(8, 0) <= send_time < time(21, 0):
        raise _problem(origin, "send_time", "reminders are due between 08:00 and 21:00 (47 CFR 64.1200(c)(1))")
    thresholds = _read_thresholds(document.get("intensity"), origin)
    schedules: list[ModalitySchedule] = []
    default: ModalitySchedule | None = None
    seen: set[Modality] = set()
    for index, entry in enumerate(document.get("schedules") or []):
        where = f"schedule {index + 1}"
        if not isinstance(entry, Mapping):
            raise _problem(origin, where, "each schedule is a mapping")
        source = str(entry.get("source", "")).strip()
        if not source:
            raise _problem(origin, where, "every schedule cites its source")
        steps = _read_steps(entry.get("reminders"), origin, where)
        names: Sequence[str] = entry.get("modalities") or []
        if names == ["default"]:
            default = ModalitySchedule(frozenset(), steps, source)
            continue
        try:
            modalities = frozenset(Modality(name) for name in names)
        except ValueError:
            raise _problem(origin, where, f"modalities {list(names)} must be DICOM modality codes") from None
        if not modalities or modalities & seen:
            raise _problem(origin, where, "each modality appears in exactly one schedule")
        seen |= modalities
        schedules.append(ModalitySchedule(modalities, steps, source))
    if default is None:
        raise _problem(origin, "schedules", "add a schedule with modalities [default] for the others")
    return ReminderPolicy(send_time, thresholds, tuple(schedules), default, str(document.get("source", "")))
