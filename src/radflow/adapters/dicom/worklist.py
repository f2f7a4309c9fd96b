"""The modality worklist item, the port a worklist is read through, and an in-memory fake.

One `WorklistItem` is one requested procedure with its one scheduled procedure step, the
shape IHE Scheduled Workflow (RAD-5) gives a scanner. The item holds plain Python values;
`radflow.adapters.dicom.attributes` turns it into DICOM attribute values, and the query
module (`WorklistQuery`) decides whether it matches a scanner's C-FIND identifier.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from radflow.adapters.dicom.query import WorklistQuery


@dataclass(frozen=True, slots=True)
class PersonName:
    """A DICOM person name (PS3.5 6.2.1): alphabetic, ideographic and phonetic groups.

    Each group holds up to five components joined by '^' (family^given^middle^prefix^suffix).
    """

    alphabetic: str
    ideographic: str = ""
    phonetic: str = ""

    @property
    def dicom(self) -> str:
        """The PN value as it travels: groups joined by '=', trailing empty groups dropped."""
        groups = [self.alphabetic, self.ideographic, self.phonetic]
        while groups and not groups[-1]:
            groups.pop()
        return "=".join(groups)

    @classmethod
    def parse(cls, value: str) -> PersonName:
        """Read a PN value ('FAMILY^GIVEN=ideographic=phonetic')."""
        groups = value.split("=")
        if len(groups) > 3:
            raise ValueError(f"person name {value!r} has more than three component groups (PS3.5 6.2.1)")
        groups += [""] * (3 - len(groups))
        return cls(groups[0], groups[1], groups[2])

    def __str__(self) -> str:
        return self.dicom


class PregnancyStatus(IntEnum):
    """Pregnancy Status (0010,21C0): the enumerated values of PS3.3's Patient Medical Module."""

    NOT_PREGNANT = 1
    POSSIBLY_PREGNANT = 2
    DEFINITELY_PREGNANT = 3
    UNKNOWN = 4


@dataclass(frozen=True, slots=True)
class CodedEntry:
    """One item of a code sequence (PS3.3 8.8): value, coding scheme, meaning."""

    value: str
    scheme: str
    meaning: str
    scheme_version: str = ""


@dataclass(frozen=True, slots=True)
class ScheduledProcedureStep:
    """The one scheduled procedure step of an item: where, when and how the exam is done.

    `start` is an instant (timezone-aware); the worklist shows it as the site's local
    DICOM date and time.
    """

    step_id: str
    modality: str
    station_ae_title: str
    start: datetime
    description: str = ""
    station_name: str = ""
    location: str = ""
    performing_physician: PersonName | None = None
    protocol_codes: tuple[CodedEntry, ...] = ()
    requested_contrast_agent: str = ""
    # Scheduled Procedure Step Status (0040,0020): SCHEDULED, ARRIVED, READY, STARTED, ...
    status: str = "SCHEDULED"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError(
                f"scheduled step {self.step_id!r}: start must be timezone-aware "
                "(the worklist converts it to the site's local time)"
            )


@dataclass(frozen=True, slots=True)
class WorklistItem:
    """One requested procedure with its scheduled step, as a scanner's worklist shows it."""

    accession_number: str
    patient_name: PersonName
    patient_id: str
    study_instance_uid: str
    requested_procedure_id: str
    scheduled_step: ScheduledProcedureStep
    issuer_of_patient_id: str = ""
    birth_date: date | None = None
    sex: str = ""
    weight_kg: Decimal | None = None
    medical_alerts: tuple[str, ...] = ()
    allergies: tuple[str, ...] = ()
    pregnancy_status: PregnancyStatus | None = None
    requested_procedure_description: str = ""
    requested_procedure_codes: tuple[CodedEntry, ...] = ()
    # Requested Procedure Priority (0040,1003): STAT, HIGH, ROUTINE, MEDIUM, LOW
    requested_procedure_priority: str = ""
    referring_physician: PersonName | None = None
    requesting_physician: PersonName | None = None
    admission_id: str = ""
    # Route of Admissions (0038,0016): where an HL7 PV1-2 patient class (inpatient,
    # outpatient, emergency) is carried, DICOM having no patient-class attribute.
    route_of_admissions: str = ""
    current_patient_location: str = ""


class WorklistSource(Protocol):
    """Where the worklist SCP reads the items a scanner asks for (a database in production).

    `find` returns only items for which `query.matches(item)` holds, at most `limit` of
    them, ordered by scheduled start. An implementation pushes `query.indexable` down to
    its index (station, modality, start window, patient, accession, name pattern) and
    applies `query.matches` to the rest. `calling_ae` is the scanner asking; a source may
    use it to restrict what that scanner sees.
    """

    def find(self, query: WorklistQuery, calling_ae: str, limit: int) -> Iterable[WorklistItem]:
        """Return the matching items, at most `limit`, earliest start first."""
        ...


class InMemoryWorklistSource:
    """A worklist held in memory, indexed by station AE title; for tests, the demo and benchmarks."""

    def __init__(self, items: Iterable[WorklistItem] = ()) -> None:
        self._index = _StartIndex({})
        self.replace_all(items)

    def replace_all(self, items: Iterable[WorklistItem]) -> None:
        """Hold exactly `items` from now on."""
        # A new index replaces the old one whole: a concurrent find sees one or the other.
        self._index = _StartIndex({item.accession_number: item for item in items})

    def put(self, item: WorklistItem) -> None:
        """Add an item, or replace the one with the same accession number."""
        self.replace_all([*(i for i in self if i.accession_number != item.accession_number), item])

    def remove(self, accession_number: str) -> None:
        """Take an item off the worklist (exam completed or cancelled)."""
        self.replace_all(i for i in self if i.accession_number != accession_number)

    def __iter__(self) -> Iterator[WorklistItem]:
        return iter(list(self._index.by_accession.values()))

    def __len__(self) -> int:
        return len(self._index.by_accession)

    def find(self, query: WorklistQuery, calling_ae: str, limit: int) -> list[WorklistItem]:
        """Return the matching items, at most `limit`, earliest start first."""
        keys = query.indexable
        found: list[WorklistItem] = []
        for item in self._index.window(keys.station_ae_title, keys.start_from, keys.start_until):
            if query.matches(item):
                found.append(item)
                if len(found) >= limit:
                    break
        return found


class _StartIndex:
    """Items sorted by start, overall and per station, searched by bisection."""

    def __init__(self, by_accession: dict[str, WorklistItem]) -> None:
        self.by_accession = by_accession
        ordered = sorted(by_accession.values(), key=_start)
        self._all = (ordered, [_start(i) for i in ordered])
        by_station: dict[str, list[WorklistItem]] = defaultdict(list)
        for item in ordered:
            by_station[item.scheduled_step.station_ae_title].append(item)
        self._by_station = {station: (items, [_start(i) for i in items]) for station, items in by_station.items()}

    def window(
        self, station: str | None, start_from: datetime | None, start_until: datetime | None
    ) -> list[WorklistItem]:
        """The items of a station (or all) whose start lies in [start_from, start_until)."""
        items, starts = self._all if station is None else self._by_station.get(station, ([], []))
        lo = bisect_left(starts, start_from) if start_from is not None else 0
        hi = bisect_left(starts, start_until) if start_until is not None else len(items)
        return items[lo:hi]


def _start(item: WorklistItem) -> datetime:
    return item.scheduled_step.start
