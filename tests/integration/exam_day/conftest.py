"""Fixtures of the exam-day integration tests: capacity seeded, and radflow's DICOM listener."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from exam_day_world import seed_capacity

from radflow.bootstrap import Radflow
from radflow.entrypoints.dicom_listener import DicomListener, make_listener


@pytest.fixture
def center(radflow: Radflow) -> Radflow:
    """The wired radflow with site MAIN and MR1, MR2, CT1."""
    seed_capacity(radflow)
    return radflow


StartListener = Callable[..., DicomListener]


@pytest.fixture
def start_listener(center: Radflow) -> Iterator[StartListener]:
    """Start radflow's DICOM listener on an ephemeral port with short timeouts; stopped after the test."""
    started: list[DicomListener] = []

    def start(**overrides: Any) -> DicomListener:
        settings: dict[str, Any] = {"port": 0, "acse_timeout": 2.0, "pdu_timeout": 1.0, "network_timeout": 5.0,
                                    "dimse_timeout": 5.0}
        listener = make_listener(center, **{**settings, **overrides})
        listener.start()
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.stop()
