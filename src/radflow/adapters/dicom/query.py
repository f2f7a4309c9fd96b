"""A scanner's worklist query: the keys of its C-FIND identifier, compiled once.

`WorklistQuery.from_identifier` reads the identifier (a pydicom Dataset) into
`RequestedKey`s, the keys a database can index into `IndexableKeys`, and compiles the
rest into a matcher (PS3.4 C.2.2.2, see `radflow.adapters.dicom.matching`), so that a
`WorklistSource` pushes the indexable keys down and calls `query.matches(item)` for the
remainder. Sequence matching (C.2.2.2.6): a sequence key holds zero items (universal
matching, the whole sequence is returned) or one item whose keys are matched against
the entity's items; the entity matches when one of its items matches them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, cast

from pydicom.dataset import Dataset

from radflow.adapters.dicom.attributes import ITEM_ATTRIBUTES, SEQUENCE_ITEMS, Values, worklist_values
from radflow.adapters.dicom.matching import (
    EntityValue,
    combined_datetime_range,
    compile_matcher,
    is_universal,
    parse_date_range,
    parse_time_range,
)
from radflow.adapters.dicom.worklist import WorklistItem
from radflow.domain.errors import ValidationError

Predicate = Callable[[Values], bool]
_SPS = "ScheduledProcedureStepSequence"
_STATION = "ScheduledStationAETitle"
_START_DATE = "ScheduledProcedureStepStartDate"
_START_TIME = "ScheduledProcedureStepStartTime"
_CHARSET_TAG = 0x00080005


@dataclass(frozen=True, slots=True)
class RequestedKey:
    """One key of the identifier: a value to match (empty: universal) and a key to return.

    For a sequence, `items` are the keys of its one query item, and `whole` says the
    query item was absent or empty, so every attribute of the sequence is returned.
    A key radflow adds itself (the calling AE standing in for the station) is not returned.
    """

    keyword: str
    tag: int
    vr: str
    value: str = ""
    items: tuple[RequestedKey, ...] = ()
    whole: bool = False
    supported: bool = True
    returned: bool = True


@dataclass(frozen=True, slots=True)
class IndexableKeys:
    """The keys a worklist database can answer from an index, each None when not constrained.

    Text keys are single values without wild cards, except `patient_name`, a pattern with
    '*' and '?' matched case-insensitively. The start window is in UTC, `start_from`
    inclusive, `start_until` exclusive; `start_time_of_day` is a local (start, end) pair
    whose end may be earlier than its start (spanning midnight).
    """

    station_ae_title: str | None = None
    modality: str | None = None
    start_from: datetime | None = None
    start_until: datetime | None = None
    start_time_of_day: tuple[time | None, time | None] | None = None
    patient_id: str | None = None
    accession_number: str | None = None
    patient_name: str | None = None

    def admits_start(self, start: datetime) -> bool:
        """Tell whether an instant lies in the start window."""
        if self.start_from is not None and start < self.start_from:
            return False
        return self.start_until is None or start < self.start_until


@dataclass(frozen=True)
class WorklistQuery:
    """A compiled worklist query: what to match, what to index, what to return."""

    keys: tuple[RequestedKey, ...]
    indexable: IndexableKeys
    zone: tzinfo
    character_sets: tuple[str, ...] = ()
    asks_character_set: bool = False
    has_unsupported_keys: bool = False
    # Every key that constrains is one `indexable` expresses exactly: a source that applied them may
    # skip `matches` (the answer would be the same).
    fully_indexed: bool = False
    _predicate: Predicate | None = field(default=None, repr=False, compare=False)

    def matches(self, item: WorklistItem) -> bool:
        """Tell whether the item matches every key (PS3.4 C.2.2.2)."""
        return self._predicate is None or self._predicate(worklist_values(item, self.zone))

    @classmethod
    def from_identifier(
        cls,
        identifier: Dataset,
        *,
        zone: tzinfo,
        calling_ae: str = "",
        station_from_calling_ae: bool = False,
        combined_datetime: bool = False,
    ) -> WorklistQuery:
        """Read a C-FIND identifier; raises ValidationError for a malformed key (0xA900)."""
        keys = _read_keys(identifier, ITEM_ATTRIBUTES)
        charsets = _character_sets(identifier)
        return cls.from_keys(
            keys,
            zone=zone,
            calling_ae=calling_ae,
            station_from_calling_ae=station_from_calling_ae,
            combined_datetime=combined_datetime,
            character_sets=charsets,
            asks_character_set=_CHARSET_TAG in identifier,
        )

    @classmethod
    def from_keys(
        cls,
        keys: Iterable[RequestedKey],
        *,
        zone: tzinfo,
        calling_ae: str = "",
        station_from_calling_ae: bool = False,
        combined_datetime: bool = False,
        character_sets: tuple[str, ...] = (),
        asks_character_set: bool = False,
    ) -> WorklistQuery:
        """Compile keys already read; see `from_identifier`."""
        key_list = tuple(keys)
        if station_from_calling_ae and calling_ae:
            key_list = _station_from_calling_ae(key_list, calling_ae)
        predicate, unsupported = _compile_level(key_list, zone, combined_datetime)
        indexable = _indexable(key_list, zone, combined_datetime)
        return cls(
            keys=key_list,
            indexable=indexable,
            zone=zone,
            character_sets=character_sets,
            asks_character_set=asks_character_set,
            has_unsupported_keys=unsupported,
            fully_indexed=_fully_indexed(key_list, indexable),
            _predicate=predicate,
        )


# -- reading the identifier ------------------------------------------------------------


def _character_sets(identifier: Dataset) -> tuple[str, ...]:
    if _CHARSET_TAG not in identifier:
        return ()
    value = identifier[_CHARSET_TAG].value
    values = [value] if isinstance(value, str) else list(value or [])
    return tuple(str(v).strip() for v in values)


def _dicom_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("ascii", "replace").strip(" \0")
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return "\\".join(_dicom_string(v) for v in value)
    return str(value)


def _read_keys(dataset: Dataset, table: dict[str, str]) -> tuple[RequestedKey, ...]:
    keys: list[RequestedKey] = []
    for elem in dataset:
        tag = int(elem.tag)
        group = tag >> 16
        # Command and file meta groups, group lengths, private tags and the character set
        # are not keys (the last is handled apart).
        if group in (0x0000, 0x0002) or tag & 0xFFFF == 0 or group % 2 == 1 or tag == _CHARSET_TAG:
            continue
        keyword = elem.keyword or ""
        supported = keyword in table
        vr = table[keyword] if supported else str(elem.VR)
        if vr == "SQ":
            keys.append(_read_sequence_key(keyword, tag, elem.value, supported))
        else:
            keys.append(RequestedKey(keyword, tag, vr, _dicom_string(elem.value).strip(" "), supported=supported))
    return tuple(keys)


def _read_sequence_key(keyword: str, tag: int, items: Any, supported: bool) -> RequestedKey:
    items = list(items or [])
    if len(items) > 1:
        # PS3.4 C.2.2.2.6: a sequence key holds a single item.
        raise ValidationError(
            f"{keyword or 'a sequence key'}: a sequence key holds one item at most, not {len(items)}",
            field=keyword or None,
        )
    sub_table = SEQUENCE_ITEMS.get(keyword, {}) if supported else {}
    sub_keys = _read_keys(items[0], sub_table) if items else ()
    return RequestedKey(keyword, tag, "SQ", items=sub_keys, whole=not sub_keys, supported=supported)


def _station_from_calling_ae(keys: tuple[RequestedKey, ...], calling_ae: str) -> tuple[RequestedKey, ...]:
    """Match a scanner that sends no station AE title by its calling AE title (IHE RAD-5 practice)."""
    from pydicom.datadict import tag_for_keyword

    station = RequestedKey(_STATION, int(tag_for_keyword(_STATION) or 0), "AE", calling_ae, returned=False)
    sps_index = next((i for i, k in enumerate(keys) if k.keyword == _SPS), None)
    if sps_index is None:
        sps = RequestedKey(_SPS, int(tag_for_keyword(_SPS) or 0), "SQ", items=(station,), returned=False)
        return (*keys, sps)
    sps = keys[sps_index]
    existing = next((k for k in sps.items if k.keyword == _STATION), None)
    if existing is not None and existing.value.strip():
        return keys
    if existing is not None:
        items = tuple(replace(k, value=calling_ae) if k.keyword == _STATION else k for k in sps.items)
    else:
        items = (*sps.items, station)
    return (*keys[:sps_index], replace(sps, items=items), *keys[sps_index + 1 :])


# -- compiling the matcher ---------------------------------------------------------------


def _compile_level(
    keys: tuple[RequestedKey, ...], zone: tzinfo, combined_datetime: bool
) -> tuple[Predicate | None, bool]:
    predicates: list[Predicate] = []
    unsupported = False
    by_keyword = {k.keyword: k for k in keys}
    combined = (
        combined_datetime
        and _START_DATE in by_keyword
        and _START_TIME in by_keyword
        and not is_universal(by_keyword[_START_DATE].value)
        and not is_universal(by_keyword[_START_TIME].value)
    )
    if combined:
        predicates.append(_combined_start_predicate(by_keyword[_START_DATE].value, by_keyword[_START_TIME].value, zone))
    for key in keys:
        if combined and key.keyword in (_START_DATE, _START_TIME):
            continue
        if key.vr == "SQ":
            sub_predicate, sub_unsupported = _compile_level(key.items, zone, combined_datetime)
            if sub_predicate is None:
                continue
            if not key.supported:
                unsupported = True
                continue
            unsupported = unsupported or sub_unsupported
            predicates.append(_sequence_predicate(key.keyword, sub_predicate))
        elif is_universal(key.value):
            continue
        elif not key.supported:
            # PS3.4 K.6.1.2.2 lets an SCP not support matching on an optional key: it is
            # then treated as universal, and the answers say so (status 0xFF01).
            unsupported = True
        else:
            matcher = compile_matcher(key.vr, key.value, zone=zone, keyword=key.keyword)
            predicates.append(_attribute_predicate(key.keyword, matcher))
    if not predicates:
        return None, unsupported
    return (lambda values: all(p(values) for p in predicates)), unsupported


def _attribute_predicate(keyword: str, matcher: Callable[[EntityValue], bool]) -> Predicate:
    return lambda values: matcher(cast(EntityValue, values.get(keyword)))


def _sequence_predicate(keyword: str, item_predicate: Predicate) -> Predicate:
    # PS3.4 C.2.2.2.6: the entity matches when at least one of its items matches all keys.
    def match(values: Values) -> bool:
        items = values.get(keyword)
        return isinstance(items, list) and any(item_predicate(item) for item in items)

    return match


def _combined_start_predicate(date_query: str, time_query: str, zone: tzinfo) -> Predicate:
    lo, hi = combined_datetime_range(date_query, time_query, zone, keyword=_START_DATE)

    def match(values: Values) -> bool:
        day, clock = values.get(_START_DATE), values.get(_START_TIME)
        if not isinstance(day, str) or not isinstance(clock, str):
            return False
        start = datetime.strptime(day + clock[:6].ljust(6, "0"), "%Y%m%d%H%M%S").replace(tzinfo=zone)
        return (lo is None or start >= lo) and (hi is None or start <= hi)

    return match


# -- what a database can index ---------------------------------------------------------------


def _single(key: RequestedKey | None) -> str | None:
    if key is None or is_universal(key.value) or "*" in key.value or "?" in key.value or "\\" in key.value:
        return None
    return key.value.strip()


def _indexable(keys: tuple[RequestedKey, ...], zone: tzinfo, combined_datetime: bool) -> IndexableKeys:
    top = {k.keyword: k for k in keys}
    sps_key = top.get(_SPS)
    step = {k.keyword: k for k in sps_key.items} if sps_key is not None else {}
    name = top.get("PatientName")
    start_from, start_until, time_of_day = _start_window(
        step.get(_START_DATE), step.get(_START_TIME), zone, combined_datetime
    )
    return IndexableKeys(
        station_ae_title=_single(step.get(_STATION)),
        modality=_single(step.get("Modality")),
        start_from=start_from,
        start_until=start_until,
        start_time_of_day=time_of_day,
        patient_id=_single(top.get("PatientID")),
        accession_number=_single(top.get("AccessionNumber")),
        patient_name=name.value if name is not None and not is_universal(name.value) else None,
    )


def _constrains(key: RequestedKey) -> bool:
    """Whether a key (or any key inside a sequence key) asks for anything but universal matching."""
    if key.vr == "SQ":
        return any(_constrains(sub) for sub in key.items)
    return not is_universal(key.value)


def _fully_indexed(keys: tuple[RequestedKey, ...], indexable: IndexableKeys) -> bool:
    """Whether the indexable keys express every constraint of the query exactly.

    True for a scanner's usual query (station, modality, start date, patient or accession as single
    values); anything else — wild cards, time ranges, names, codes, other attributes — keeps `matches`.
    """
    exact_step = {_STATION: indexable.station_ae_title, "Modality": indexable.modality}
    for key in keys:
        if not _constrains(key):
            continue
        if key.keyword == "PatientID" and indexable.patient_id is not None:
            continue
        if key.keyword == "AccessionNumber" and indexable.accession_number is not None:
            continue
        if key.keyword != _SPS:
            return False
        for sub in key.items:
            if not _constrains(sub):
                continue
            if sub.keyword == _START_DATE and indexable.start_from is not None and indexable.start_time_of_day is None:
                continue
            if exact_step.get(sub.keyword) is None:
                return False
    return True


def _start_window(
    date_key: RequestedKey | None, time_key: RequestedKey | None, zone: tzinfo, combined_datetime: bool
) -> tuple[datetime | None, datetime | None, tuple[time | None, time | None] | None]:
    date_query = date_key.value if date_key is not None else ""
    time_query = time_key.value if time_key is not None else ""
    time_of_day = None if is_universal(time_query) else parse_time_range(time_query, keyword=_START_TIME)
    if is_universal(date_query):
        return None, None, time_of_day
    if combined_datetime and time_of_day is not None:
        lo, hi = combined_datetime_range(date_query, time_query, zone, keyword=_START_DATE)
        return (
            lo.astimezone(UTC) if lo else None,
            (hi + timedelta(microseconds=1)).astimezone(UTC) if hi else None,
            None,
        )
    lo_d, hi_d = parse_date_range(date_query, keyword=_START_DATE)
    start_from = datetime.combine(lo_d, time(), zone).astimezone(UTC) if lo_d else None
    start_until = datetime.combine(hi_d + timedelta(days=1), time(), zone).astimezone(UTC) if hi_d else None
    return start_from, start_until, time_of_day
