"""The SCP's C-FIND handler maps each outcome to its DICOM status (PS3.4 K.4.1.1.4, PS3.7 C)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from io import BytesIO
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from pydicom.dataset import Dataset
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom.dsutils import encode

from radflow.adapters.dicom import statuses
from radflow.adapters.dicom.query import WorklistQuery
from radflow.adapters.dicom.server import DicomServer, DicomServerConfig
from radflow.adapters.dicom.worklist import InMemoryWorklistSource, WorklistItem
from radflow.domain.errors import NotFound

MakeItem = Callable[..., WorklistItem]


@dataclass
class FindEvent:
    """The parts of pynetdicom's C-FIND event the handler reads."""

    identifier: Dataset
    calling_ae: str = "CT3"
    cancel_after: int | None = None
    _asked: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        wire = encode(self.identifier, True, True)
        self.request = SimpleNamespace(Identifier=BytesIO(wire))
        self.context = SimpleNamespace(transfer_syntax=ImplicitVRLittleEndian)
        self.assoc = SimpleNamespace(requestor=SimpleNamespace(ae_title=self.calling_ae))

    @property
    def is_cancelled(self) -> bool:
        self._asked.append(1)
        return self.cancel_after is not None and len(self._asked) > self.cancel_after


class FailingSource:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def find(self, query: WorklistQuery, calling_ae: str, limit: int) -> Iterable[WorklistItem]:
        raise self.error


def answers(source: Any, event: FindEvent, zone: ZoneInfo, **config: Any) -> list[tuple[int, Dataset | None]]:
    server = DicomServer(DicomServerConfig(zone=zone, **config), source)
    out = []
    for status, identifier in server._on_find(event):  # the handler pynetdicom calls
        code = status if isinstance(status, int) else int(status.Status)
        out.append((code, identifier))
    return out


def station_query(**extra: Any) -> Dataset:
    ds = Dataset()
    ds.AccessionNumber = ""
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    step = Dataset()
    step.ScheduledStationAETitle = "CT3"
    ds.ScheduledProcedureStepSequence = [step]
    return ds


def test_each_match_is_a_pending_answer(make_item: MakeItem, zone: ZoneInfo) -> None:
    source = InMemoryWorklistSource([make_item("A1"), make_item("A2")])
    got = answers(source, FindEvent(station_query()), zone)
    assert [(code, str(ds.AccessionNumber) if ds else None) for code, ds in got] == [
        (statuses.PENDING, "A1"),
        (statuses.PENDING, "A2"),
    ]


def test_unsupported_optional_keys_turn_pending_into_ff01(make_item: MakeItem, zone: ZoneInfo) -> None:
    got = answers(InMemoryWorklistSource([make_item()]), FindEvent(station_query(PatientState="X")), zone)
    assert [code for code, _ in got] == [statuses.PENDING_OPTIONAL_KEYS_UNSUPPORTED]


def test_a_cancel_stops_the_answers_with_fe00(make_item: MakeItem, zone: ZoneInfo) -> None:
    source = InMemoryWorklistSource([make_item(f"A{i}") for i in range(5)])
    got = answers(source, FindEvent(station_query(), cancel_after=2), zone)
    assert [code for code, _ in got] == [statuses.PENDING, statuses.PENDING, statuses.CANCEL]


def test_a_worklist_that_refuses_the_query_is_c001(zone: ZoneInfo) -> None:
    got = answers(FailingSource(NotFound("site closed")), FindEvent(station_query()), zone)
    assert [code for code, _ in got] == [statuses.UNABLE_TO_PROCESS_WORKLIST_REFUSED]


def test_a_worklist_that_breaks_is_c002_without_details(zone: ZoneInfo) -> None:
    event = FindEvent(station_query())
    server = DicomServer(DicomServerConfig(zone=zone), FailingSource(RuntimeError("password=hunter2")))
    ((status, identifier),) = list(server._on_find(event))
    assert isinstance(status, Dataset)
    assert (int(status.Status), str(status.ErrorComment)) == (0xC002, "worklist unavailable")
    assert identifier is None


def test_the_answer_limit_is_passed_to_the_worklist(make_item: MakeItem, zone: ZoneInfo) -> None:
    source = InMemoryWorklistSource([make_item(f"A{i}") for i in range(5)])
    got = answers(source, FindEvent(station_query()), zone, max_worklist_answers=3)
    assert len(got) == 3
