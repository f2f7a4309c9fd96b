"""What a scanner reports through MPPS, as plain data, and the two ports it goes through.

`PerformedStep` is one Modality Performed Procedure Step as radflow understands it (PS3.4
Annex F, IHE RAD-6/RAD-7): which scheduled steps (accessions, studies) it performed,
when, its state, the series made, dose and contrast where given. `PerformedStepSink` is
where the order pipeline hears of it; `MppsStore` keeps each MPPS instance's attributes
so far, so that an N-SET can be judged against them. In-memory fakes live beside them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from radflow.adapters.dicom.worklist import CodedEntry
from radflow.domain.errors import Conflict


class PerformedStepStatus(StrEnum):
    """Performed Procedure Step Status (0040,0252), PS3.3 C.4.14: the MPPS state."""

    IN_PROGRESS = "IN PROGRESS"
    COMPLETED = "COMPLETED"
    DISCONTINUED = "DISCONTINUED"

    @property
    def is_final(self) -> bool:
        """COMPLETED and DISCONTINUED are final: PS3.4 F.7.2.2 allows no update after them."""
        return self is not PerformedStepStatus.IN_PROGRESS


@dataclass(frozen=True, slots=True)
class ScheduledStepReference:
    """One item of Scheduled Step Attributes Sequence (0040,0270): what the scanner performed."""

    accession_number: str = ""
    study_instance_uid: str = ""
    requested_procedure_id: str = ""
    scheduled_procedure_step_id: str = ""


@dataclass(frozen=True, slots=True)
class PerformedSeries:
    """One item of Performed Series Sequence (0040,0340): a series the step produced."""

    series_instance_uid: str
    series_description: str = ""
    protocol_name: str = ""
    operator: str = ""
    performing_physician: str = ""
    retrieve_ae_title: str = ""
    number_of_images: int = 0


@dataclass(frozen=True, slots=True)
class RadiationDose:
    """Radiation dose the scanner reported in the MPPS (PS3.3 C.4.16 Radiation Dose module)."""

    ctdi_vol_mgy: Decimal | None = None
    total_time_of_fluoroscopy_s: int | None = None
    total_number_of_exposures: int | None = None
    entrance_dose_mgy: Decimal | None = None
    image_and_fluoroscopy_area_dose_product: Decimal | None = None
    comments: str = ""


@dataclass(frozen=True, slots=True)
class SupplyUsed:
    """One item of Billing Supplies and Devices Sequence (0040,0324): e.g. a contrast agent given."""

    item: CodedEntry | None
    quantity: Decimal | None = None
    unit: CodedEntry | None = None


@dataclass(frozen=True, slots=True)
class PerformedStep:
    """One MPPS instance, translated: the facts a scanner reported, as of its latest message."""

    sop_instance_uid: str
    status: PerformedStepStatus
    calling_ae: str
    performed_station_ae_title: str
    performed_procedure_step_id: str
    modality: str
    patient_id: str
    patient_name: str
    scheduled_steps: tuple[ScheduledStepReference, ...]
    started: datetime | None
    ended: datetime | None = None
    description: str = ""
    performed_protocol_codes: tuple[CodedEntry, ...] = ()
    discontinuation_reason: CodedEntry | None = None
    series: tuple[PerformedSeries, ...] = ()
    dose: RadiationDose | None = None
    supplies: tuple[SupplyUsed, ...] = ()
    contrast_agent: str = ""
    contrast_volume_ml: Decimal | None = None

    @property
    def accession_numbers(self) -> tuple[str, ...]:
        """The accession numbers named by the step, in order, without blanks or repeats."""
        return tuple(dict.fromkeys(r.accession_number for r in self.scheduled_steps if r.accession_number))

    @property
    def is_unscheduled(self) -> bool:
        """True when the step names no accession and no study (IHE RAD-6 unscheduled case)."""
        return not any(r.accession_number or r.study_instance_uid for r in self.scheduled_steps)


class StepDisposition(StrEnum):
    """What the order pipeline did with a performed step."""

    # The orders the step names took the event (in progress, completed, discontinued).
    APPLIED = "applied"
    # No order matched (unknown accession, unscheduled, an order that cannot take the
    # event): the step is held in the exception queue for reconciliation on a screen.
    QUEUED = "queued"


class PerformedStepSink(Protocol):
    """Where the order pipeline hears what a scanner performed.

    A step that matches no order is still accepted: the sink records it in the exception
    queue and returns QUEUED; the scanner is answered success either way. The sink raises
    only when it cannot record the step: ValidationError for a value it refuses (answered
    0x0106), any other RadflowError for a failure (0x0110). It must be idempotent for the
    same (sop_instance_uid, status): a scanner resends after a lost response.
    """

    def started(self, step: PerformedStep) -> StepDisposition:
        """An MPPS was created (IN PROGRESS, PS3.4 F.7.2.1)."""
        ...

    def updated(self, step: PerformedStep) -> StepDisposition:
        """An MPPS was updated (N-SET, PS3.4 F.7.2.2): still IN PROGRESS, or final."""
        ...


@dataclass(frozen=True)
class MppsInstance:
    """The state of one MPPS SOP instance: its attributes so far, as the DICOM JSON model."""

    sop_instance_uid: str
    status: PerformedStepStatus
    # PS3.18 F.2 DICOM JSON model of every attribute received (pydicom's to_json_dict()).
    attributes: Mapping[str, Any]
    calling_ae: str
    created_at: datetime
    updated_at: datetime
    revision: int = 1


class MppsStore(Protocol):
    """Keeps MPPS instances between the N-CREATE and the N-SETs (a table in production).

    `replace` is a compare-and-set on `revision`, so that two processes handling N-SETs
    of the same instance cannot both win.
    """

    def add(self, instance: MppsInstance) -> None:
        """Store a new instance; Conflict when its SOP Instance UID is already known."""
        ...

    def get(self, sop_instance_uid: str) -> MppsInstance | None:
        """The instance, or None when unknown."""
        ...

    def replace(self, instance: MppsInstance, *, expected_revision: int) -> None:
        """Store the new state; Conflict when the stored revision is not `expected_revision`."""
        ...

    def discard(self, sop_instance_uid: str) -> None:
        """Forget an instance whose creation could not be recorded downstream."""
        ...


class InMemoryMppsStore:
    """MPPS instances in a dict; for tests and the demo."""

    def __init__(self) -> None:
        self._instances: dict[str, MppsInstance] = {}
        self._lock = threading.Lock()

    def add(self, instance: MppsInstance) -> None:
        """Store a new instance; Conflict when its SOP Instance UID is already known."""
        with self._lock:
            if instance.sop_instance_uid in self._instances:
                raise Conflict(f"MPPS instance {instance.sop_instance_uid} already exists")
            self._instances[instance.sop_instance_uid] = instance

    def get(self, sop_instance_uid: str) -> MppsInstance | None:
        """The instance, or None when unknown."""
        return self._instances.get(sop_instance_uid)

    def replace(self, instance: MppsInstance, *, expected_revision: int) -> None:
        """Store the new state; Conflict when the stored revision moved on."""
        with self._lock:
            current = self._instances.get(instance.sop_instance_uid)
            if current is None or current.revision != expected_revision:
                raise Conflict(f"MPPS instance {instance.sop_instance_uid} was changed meanwhile")
            self._instances[instance.sop_instance_uid] = instance

    def discard(self, sop_instance_uid: str) -> None:
        """Forget an instance."""
        with self._lock:
            self._instances.pop(sop_instance_uid, None)


@dataclass
class RecordingStepSink:
    """A sink that records what it is told; steps naming a known accession are APPLIED.

    For tests and the demo: `known_accessions` stands in for the orders that exist.
    """

    known_accessions: set[str] = field(default_factory=set)
    calls: list[tuple[str, PerformedStep]] = field(default_factory=list)
    exception_queue: list[PerformedStep] = field(default_factory=list)

    def started(self, step: PerformedStep) -> StepDisposition:
        """Record an N-CREATE."""
        return self._record("started", step)

    def updated(self, step: PerformedStep) -> StepDisposition:
        """Record an N-SET."""
        return self._record("updated", step)

    def _record(self, kind: str, step: PerformedStep) -> StepDisposition:
        self.calls.append((kind, step))
        if any(a in self.known_accessions for a in step.accession_numbers):
            return StepDisposition.APPLIED
        self.exception_queue.append(step)
        return StepDisposition.QUEUED
