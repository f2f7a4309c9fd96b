"""Simulated months with a fake clock miss no MQSA letter and no follow-up reminder (issue 7, acceptance).

Reports are signed day after day (mammograms with every BI-RADS category, low-dose CTs with Lung-RADS
2 to 4A), the real worker runs the due jobs, sometimes the worker is down for two days and sometimes the
gateway refuses messages for a while. Then the clock runs on past every follow-up's due date. Every lay
letter went out by its MQSA due time, every follow-up got each of its reminders before its due date,
and the deduplicating gateway saw each message once.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from results_world import drain, new_study, sign
from sqlalchemy import func, select

from radflow.adapters.db import tables as t
from radflow.adapters.db.results_tables import distributions, followups
from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.rads.extraction import Extraction
from radflow.services.ports import RecordingGateway
from radflow.services.results_ports import FakeReportPrinter
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)

MAMMOGRAPHY = ("1", "1", "1", "2", "2", "0", "3", "4A", "5")
LUNG = ({"type": "solid", "diameter_mm": 4.0}, {"type": "solid", "diameter_mm": 7.0},
        {"type": "solid", "diameter_mm": 9.0})


class NothingInTheText:
    """A report reader that finds nothing: the simulation tracks the structured RADS recommendations."""

    def extract(self, text: str, *, reference_date: date | None = None) -> Extraction:
        """Nothing found."""
        return Extraction(critical_findings=(), followups=())


def next_due(radflow: Radflow) -> datetime | None:
    with radflow.session_factory() as session:
        found: datetime | None = session.execute(
            select(func.min(t.jobs.c.due_at)).where(t.jobs.c.state == "pending")).scalar_one()
    return found


def _finding(rng: random.Random, kind: str) -> dict[str, Any]:
    if kind == "MG-SCREEN":
        category = rng.choice(MAMMOGRAPHY)
        right: dict[str, Any] = {"category": category}
        if category == "0":
            right["incomplete_reason"] = "additional_imaging"
        return {"system": "bi-rads", "exam_modality": "MG", "right": right, "left": {"category": "1"},
                "density": rng.choice("abcd")}
    return {"system": "lung-rads", "exam": "baseline", "nodules": [rng.choice(LUNG)]}


def simulate(radflow: Radflow, make_user: UserFactory, clock: FakeClock, gateway: RecordingGateway, *,
             days: int, per_day: int, seed: int) -> None:
    rng = random.Random(seed)
    radflow.ctx = replace(radflow.ctx, extractor=NothingInTheText(), report_printer=FakeReportPrinter())
    radflow.bus.ctx = radflow.ctx
    rad = make_user("radiologist").principal
    make_user("referring_provider", npi="1234567893", username="drorder")
    down_until = clock.now()
    for day in range(days):
        for _ in range(rng.randint(0, per_day)):
            kind = rng.choice(("MG-SCREEN", "CT-LDCT"))
            study = new_study(radflow, kind)
            clock.advance(hours=rng.randint(1, 30))  # read later the same day or the next
            sign(radflow, rad, study.order_id, findings=[_finding(rng, kind)])
        if rng.random() < 0.05:
            down_until = clock.now() + timedelta(days=2)  # the worker host is down for two days
        if rng.random() < 0.05:
            gateway.fail_next = 3  # the gateway refuses the next three messages
        for _ in range(4):
            clock.advance(hours=6)
            if clock.now() >= down_until:
                drain(radflow)
        if day == days - 1:
            break
    # Then the clock runs on, from one due job to the next, past every follow-up's due date.
    end = clock.now() + timedelta(days=420)
    while (due := next_due(radflow)) is not None and due <= end:
        clock.set(max(clock.now(), due))
        drain(radflow)


def check(radflow: Radflow, gateway: RecordingGateway) -> tuple[int, int, int]:
    with radflow.session_factory() as session:
        letters = session.execute(select(distributions).where(distributions.c.purpose == "lay_letter")).all()
        items = session.execute(select(followups)).all()
    assert letters and items
    for letter in letters:
        assert letter.state == "sent", f"{letter.accession_number}: lay letter {letter.state}"
        assert letter.sent_at <= letter.due_at, f"{letter.accession_number}: sent after its MQSA due time"
        assert "deadline_missed_at" not in letter.details
    planned = 0
    for item in items:
        expected = {("provider", 30), ("provider", 7), ("patient", 14)} if item.due_date > item.created_at.date() \
            else set()
        sent = [(r["to"], r["days_before"]) for r in item.reminders]
        assert sorted(sent) == sorted(expected), f"follow-up {item.id} due {item.due_date}: reminders {sent}"
        for reminder in item.reminders:
            assert datetime.fromisoformat(reminder["at"]).date() < item.due_date
        planned += len(expected)
    keys = [m.key for m in gateway.sent]
    assert len(keys) == len(set(keys))
    return len(letters), len(items), planned


def test_a_month_of_reports_then_a_year_misses_no_mqsa_letter_and_no_follow_up_reminder(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, gateway: RecordingGateway) -> None:
    simulate(radflow, make_user, clock, gateway, days=30, per_day=2, seed=7)
    letters, items, reminders = check(radflow, gateway)
    assert letters >= 5 and items >= 10 and reminders >= 30


@pytest.mark.slow
def test_six_months_of_reports_then_a_year_miss_no_mqsa_letter_and_no_follow_up_reminder(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock, gateway: RecordingGateway) -> None:
    simulate(radflow, make_user, clock, gateway, days=180, per_day=4, seed=2026)
    letters, items, reminders = check(radflow, gateway)
    assert letters >= 100 and items >= 250 and reminders >= 3 * items - 10
