"""Worklist items and identifiers for the DICOM unit tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydicom.dataset import Dataset

from radflow.adapters.dicom.worklist import (
    CodedEntry,
    PersonName,
    PregnancyStatus,
    ScheduledProcedureStep,
    WorklistItem,
)

SITE_ZONE = ZoneInfo("America/New_York")


def _item(accession: str = "A0001", **changes: Any) -> WorklistItem:
    """A CT item on CT3 at 2026-02-04 09:00 New York time, with `changes` applied."""
    step_changes = changes.pop("step", {})
    step = ScheduledProcedureStep(
        step_id=f"SPS-{accession}",
        modality="CT",
        station_ae_title="CT3",
        start=datetime(2026, 2, 4, 9, 0, tzinfo=SITE_ZONE),
        description="CT CHEST W CONTRAST",
        station_name="CT ROOM 3",
        location="MAIN L1",
        performing_physician=PersonName("REYES^ANA"),
        protocol_codes=(CodedEntry("P-71260", "99RADFLOW", "CT CHEST W CONTRAST"),),
        requested_contrast_agent="IOHEXOL 350",
    )
    item = WorklistItem(
        accession_number=accession,
        patient_name=PersonName("SMITH^JANE"),
        patient_id="MRN0001",
        issuer_of_patient_id="RADFLOW",
        study_instance_uid=f"2.25.{abs(hash(accession)) % 10**12}",
        requested_procedure_id=f"RP-{accession}",
        birth_date=date(1980, 5, 17),
        sex="F",
        weight_kg=Decimal("64.5"),
        medical_alerts=("FALL RISK",),
        allergies=("IODINATED CONTRAST", "LATEX"),
        pregnancy_status=PregnancyStatus.NOT_PREGNANT,
        requested_procedure_description="CT CHEST W CONTRAST",
        requested_procedure_codes=(CodedEntry("71260", "C4", "CT CHEST W CONTRAST"),),
        requested_procedure_priority="ROUTINE",
        referring_physician=PersonName("OKAFOR^NGOZI"),
        requesting_physician=PersonName("LINDQVIST^ERIK"),
        scheduled_step=replace(step, **step_changes),
    )
    return replace(item, **changes)


def _identifier(sps: dict[str, Any] | None = None, **top: Any) -> Dataset:
    """A C-FIND identifier: top-level keys, and a one-item step sequence when `sps` is given."""
    ds = Dataset()
    for keyword, value in top.items():
        setattr(ds, keyword, value)
    if sps is not None:
        step = Dataset()
        for keyword, value in sps.items():
            setattr(step, keyword, value)
        ds.ScheduledProcedureStepSequence = [step]
    return ds


@pytest.fixture
def make_item() -> Callable[..., WorklistItem]:
    """Build worklist items: make_item(accession, field=value, step={...})."""
    return _item


@pytest.fixture
def make_identifier() -> Callable[..., Dataset]:
    """Build C-FIND identifiers: make_identifier({step keys}, top-level keys)."""
    return _identifier


@pytest.fixture
def zone() -> ZoneInfo:
    """The site's timezone."""
    return SITE_ZONE
