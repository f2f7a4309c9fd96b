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

import contextlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from radflow.adapters.db.exam_day_tables import mpps_instances
from radflow.adapters.dicom.performed_step import MppsInstance, PerformedStepStatus
from radflow.adapters.dicom.query import WorklistQuery
from radflow.adapters.dicom.worklist import WorklistItem
from radflow.adapters.dicom.worklist_json import item_from_keywords
from radflow.domain.errors import Conflict

_CACHE_SIZE = 20_000


class _ItemCache:
    """Parsed worklist items by (accession, updated_at): immutable values, bounded, thread-safe."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._items: OrderedDict[tuple[str, Any], WorklistItem] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple[str, Any]) -> WorklistItem | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, Any], item: WorklistItem) -> None:
        with self._lock:
            self._items[key] = item
            if len(self._items) > self._size:
                self._items.popitem(last=False)


class _ReadConnections:
    """Database connections kept for worklist reads: autocommit, outside the pool, no ping per query.

    A scanner's query is one indexed SELECT; the pool's checkout ping, BEGIN and ROLLBACK would triple
    its round trips (and on SQLite radflow's BEGIN IMMEDIATE would take the write lock for a read). A
    connection that fails is dropped and the query retried once on a new one.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self.dialect = engine.dialect.name

    def _new(self) -> Any:
        fairy = self._engine.raw_connection()
        fairy.detach()  # ours until closed; the pool neither counts nor resets it
        connection: Any = fairy.dbapi_connection
        if self.dialect == "postgresql":
            connection.autocommit = True
        return connection

    def fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Run one SELECT and return its rows."""
        for attempt in (1, 2):
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                connection = self._new()
            try:
                cursor = connection.cursor()
                cursor.execute(sql, params)
                rows = list(cursor.fetchall())
                cursor.close()
            except Exception:
                with contextlib.suppress(Exception):
                    connection.close()
                if attempt == 2:
                    raise
                continue
            with self._lock:
                self._idle.append(connection)
            return rows
        raise AssertionError("unreachable")  # pragma: no cover


def _sqlite_instant(moment: datetime) -> str:
    # As SQLAlchemy's SQLite DateTime stores the naive UTC value UtcDateTime gives it.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqlWorklistSource:
    """The modality worklist served from the `mwl_items` projection."""

    def __init__(self, engine: Engine, zone: tzinfo) -> None:
        self._reads = _ReadConnections(engine)
        self._zone = zone
        self._cache = _ItemCache()
        self._mark = "%s" if self._reads.dialect == "postgresql" else "?"

    def _instant(self, moment: datetime) -> Any:
        return moment if self._reads.dialect == "postgresql" else _sqlite_instant(moment)

    def _where(self, query: WorklistQuery) -> tuple[str, list[Any]]:
        keys, mark = query.indexable, self._mark
        conditions: list[str] = []
        params: list[Any] = []
        for column, value in (("station_ae_title", keys.station_ae_title), ("modality", keys.modality),
                              ("dicom_patient_id", keys.patient_id), ("accession_number", keys.accession_number)):
            if value is not None:
                conditions.append(f"{column} = {mark}")
                params.append(value)
        if keys.start_from is not None:
            conditions.append(f"start >= {mark}")
            params.append(self._instant(keys.start_from))
        if keys.start_until is not None:
            conditions.append(f"start < {mark}")
            params.append(self._instant(keys.start_until))
        return (" WHERE " + " AND ".join(conditions)) if conditions else "", params

    def find(self, query: WorklistQuery, calling_ae: str, limit: int) -> list[WorklistItem]:
        """The matching items, at most `limit`, earliest start first.

        The index is asked first for (accession, last update) only; item bodies are read just for
        those the parse cache lacks. When the indexable keys are the whole query, `matches` is skipped
        and the index stops at the limit.
        """
        where, params = self._where(query)
        bounded = query.fully_indexed
        sql = f"SELECT accession_number, updated_at FROM mwl_items{where} ORDER BY start, accession_number"
        if bounded:
            sql += f" LIMIT {int(limit)}"
        keys = self._reads.fetch(sql, params)
        cached = {(a, u): self._cache.get((a, u)) for a, u in keys}
        missing = [a for (a, _), item in cached.items() if item is None]
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            marks = ", ".join([self._mark] * len(chunk))
            rows = self._reads.fetch(
                f"SELECT accession_number, updated_at, item FROM mwl_items WHERE accession_number IN ({marks})", chunk)
            for accession, updated_at, body in rows:
                parsed = item_from_keywords(json.loads(body) if isinstance(body, str) else body, self._zone)
                self._cache.put((accession, updated_at), parsed)
                cached[(accession, updated_at)] = parsed
        found: list[WorklistItem] = []
        for key in keys:
            item = cached.get((key[0], key[1]))
            if item is None:
                continue  # changed between the two reads: it is answered as of the next query
            if bounded or query.matches(item):
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
