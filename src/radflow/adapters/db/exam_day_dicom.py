"""The DICOM edge's two database ports: the worklist read from `mwl_items`, MPPS instances in `mpps_instances`.

`SqlWorklistSource` pushes the keys a database can index (`WorklistQuery.indexable`: station, modality,
start window, patient, accession) into one SELECT on the projection's indexes and applies
`query.matches` to what comes back (PS3.4 C.2.2.2 matching stays in one place). Each row's item is
kept in the worklist JSON model, read back with `item_from_keywords`; parsed items are cached per
process by (accession, last update), a cache of immutable values that a change of the row misses by
construction, so a station's day costs one indexed query and no re-parsing.

`SqlMppsStore` keeps each MPPS instance's attributes between N-CREATE and N-SETs; `replace` is a
compare-and-set on `revision` (one UPDATE ... WHERE revision = expected), so two processes handling
N-SETs of one instance cannot both win.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from radflow.adapters.db.exam_day_tables import mpps_instances, mwl_items
from radflow.adapters.dicom.performed_step import MppsInstance, PerformedStepStatus
from radflow.adapters.dicom.query import WorklistQuery
from radflow.adapters.dicom.worklist import WorklistItem
from radflow.adapters.dicom.worklist_json import item_from_keywords
from radflow.domain.errors import Conflict

_CACHE_SIZE = 20_000


class _ItemCache:
    """Parsed worklist items by (accession, updated_at): immutable values, bounded, thread-safe."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._items: OrderedDict[tuple[str, datetime], WorklistItem] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple[str, datetime]) -> WorklistItem | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, datetime], item: WorklistItem) -> None:
        with self._lock:
            self._items[key] = item
            if len(self._items) > self._size:
                self._items.popitem(last=False)


class SqlWorklistSource:
    """The modality worklist served from the `mwl_items` projection."""

    def __init__(self, engine: Engine, zone: tzinfo) -> None:
        self._engine = engine
        self._zone = zone
        self._cache = _ItemCache()

    def _statement(self, query: WorklistQuery) -> Any:
        keys = query.indexable
        columns = mwl_items.c
        stmt = select(columns.accession_number, columns.updated_at, columns.item)
        if keys.station_ae_title is not None:
            stmt = stmt.where(columns.station_ae_title == keys.station_ae_title)
        if keys.modality is not None:
            stmt = stmt.where(columns.modality == keys.modality)
        if keys.start_from is not None:
            stmt = stmt.where(columns.start >= keys.start_from)
        if keys.start_until is not None:
            stmt = stmt.where(columns.start < keys.start_until)
        if keys.patient_id is not None:
            stmt = stmt.where(columns.dicom_patient_id == keys.patient_id)
        if keys.accession_number is not None:
            stmt = stmt.where(columns.accession_number == keys.accession_number)
        return stmt.order_by(columns.start, columns.accession_number)

    def _rows(self, query: WorklistQuery) -> Iterator[Any]:
        with self._engine.connect() as connection:
            yield from connection.execute(self._statement(query))

    def find(self, query: WorklistQuery, calling_ae: str, limit: int) -> list[WorklistItem]:
        """The matching items, at most `limit`, earliest start first."""
        found: list[WorklistItem] = []
        for row in self._rows(query):
            key = (row.accession_number, row.updated_at)
            item = self._cache.get(key)
            if item is None:
                item = item_from_keywords(row.item, self._zone)
                self._cache.put(key, item)
            if query.matches(item):
                found.append(item)
                if len(found) >= limit:
                    break
        return found


def _instance(row: Any) -> MppsInstance:
    return MppsInstance(sop_instance_uid=row.sop_instance_uid, status=PerformedStepStatus(row.status),
                        attributes=dict(row.attributes), calling_ae=row.calling_ae, created_at=row.created_at,
                        updated_at=row.updated_at, revision=row.revision)


class SqlMppsStore:
    """MPPS instances in the `mpps_instances` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, instance: MppsInstance) -> None:
        """Store a new instance; Conflict when its SOP Instance UID is already known."""
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(mpps_instances).values(
                    sop_instance_uid=instance.sop_instance_uid, status=instance.status.value,
                    attributes=dict(instance.attributes), calling_ae=instance.calling_ae[:16],
                    created_at=instance.created_at, updated_at=instance.updated_at, revision=instance.revision))
        except IntegrityError as duplicate:
            raise Conflict(f"MPPS instance {instance.sop_instance_uid} already exists") from duplicate

    def get(self, sop_instance_uid: str) -> MppsInstance | None:
        """The instance, or None when unknown."""
        with self._engine.connect() as connection:
            row = connection.execute(select(mpps_instances).where(
                mpps_instances.c.sop_instance_uid == sop_instance_uid)).first()
        return _instance(row) if row is not None else None

    def replace(self, instance: MppsInstance, *, expected_revision: int) -> None:
        """Store the new state; Conflict when the stored revision is not `expected_revision`."""
        with self._engine.begin() as connection:
            result = connection.execute(update(mpps_instances).where(
                mpps_instances.c.sop_instance_uid == instance.sop_instance_uid,
                mpps_instances.c.revision == expected_revision,
            ).values(status=instance.status.value, attributes=dict(instance.attributes),
                     updated_at=instance.updated_at, revision=instance.revision))
        if result.rowcount != 1:
            raise Conflict(f"MPPS instance {instance.sop_instance_uid} was changed meanwhile")

    def discard(self, sop_instance_uid: str) -> None:
        """Forget an instance whose creation could not be recorded downstream."""
        with self._engine.begin() as connection:
            connection.execute(delete(mpps_instances).where(mpps_instances.c.sop_instance_uid == sop_instance_uid))
