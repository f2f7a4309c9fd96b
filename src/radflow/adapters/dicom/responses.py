"""C-FIND response identifiers: exactly the requested keys, valued from one worklist item.

PS3.4 C.2.2.1.2 / K.6.1.2: a response carries every key of the identifier, with the
entity's value or zero-length where the entity has none; a sequence key with no item
(or an empty item) asks for the whole sequence. Specific Character Set (0008,0005) is
answered when a value needs more than the default repertoire (PS3.5 6.1.2.3): the
query's own single-byte set when it can hold every value (the scanner said it reads it),
else ISO_IR 100 (Latin-1) when that suffices, else ISO_IR 192 (UTF-8). A query that
declared UTF-8 gets UTF-8.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from pydicom.charset import python_encoding
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from radflow.adapters.dicom.attributes import SEQUENCE_ITEMS, AttributeValue, Values
from radflow.adapters.dicom.query import RequestedKey, WorklistQuery

LATIN_1 = "ISO_IR 100"
UTF_8 = "ISO_IR 192"
# Single-byte (and UTF-8, GB18030, GBK) sets without ISO 2022 code extensions: one value
# of (0008,0005) names them, and a Python codec encodes them.
_SINGLE_SETS = {
    term: codec
    for term, codec in python_encoding.items()
    if term and not term.startswith("ISO 2022") and term not in ("ISO_IR 6", "ISO_IR 13")
}


@dataclass(frozen=True, slots=True)
class _Planned:
    """One element of the answer before it becomes a pydicom element."""

    tag: int
    vr: str
    value: str | int | None = None
    items: tuple[tuple[_Planned, ...], ...] = ()


def choose_character_set(texts: Iterable[str], declared: tuple[str, ...]) -> str | None:
    """The Specific Character Set to answer with, or None when every text is ASCII."""
    non_ascii = [t for t in texts if not t.isascii()]
    if not non_ascii:
        return None
    term = declared[0] if len(declared) == 1 else ""
    if term in _SINGLE_SETS and _encodes(non_ascii, _SINGLE_SETS[term]):
        return term
    if term != UTF_8 and _encodes(non_ascii, "latin_1"):
        return LATIN_1
    return UTF_8


def _encodes(texts: list[str], codec: str) -> bool:
    try:
        for text in texts:
            text.encode(codec)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def build_response(values: Values, query: WorklistQuery) -> Dataset:
    """The response identifier for one matching item: the requested keys, valued."""
    planned = _plan(query.keys, values)
    charset = choose_character_set(_texts(planned), query.character_sets)
    response = Dataset()
    # The character set goes in first: pydicom encodes text with the set in force.
    if charset is not None:
        response.SpecificCharacterSet = charset
    elif query.asks_character_set:
        response.SpecificCharacterSet = query.character_sets[0] if len(query.character_sets) == 1 else ""
    _fill(response, planned)
    return response


def _plan(keys: Iterable[RequestedKey], values: Values) -> tuple[_Planned, ...]:
    planned: list[_Planned] = []
    for key in keys:
        if not key.returned:
            continue
        value: AttributeValue = values.get(key.keyword) if key.supported else None
        if key.vr == "SQ":
            entity_items = value if isinstance(value, list) else []
            sub_keys = _whole_sequence_keys(key.keyword) if key.whole else key.items
            items = tuple(_plan(sub_keys, item) for item in entity_items)
            planned.append(_Planned(key.tag, "SQ", items=items))
        else:
            planned.append(_Planned(key.tag, key.vr, value if not isinstance(value, list) else None))
    return tuple(planned)


@cache
def _whole_sequence_keys(keyword: str) -> tuple[RequestedKey, ...]:
    """Every attribute radflow holds in a sequence, for a key that asked for all of it."""
    keys = []
    for sub_keyword, vr in SEQUENCE_ITEMS.get(keyword, {}).items():
        keys.append(RequestedKey(sub_keyword, int(tag_for_keyword(sub_keyword) or 0), vr, whole=vr == "SQ"))
    return tuple(keys)


def _texts(planned: Iterable[_Planned]) -> Iterator[str]:
    for element in planned:
        if isinstance(element.value, str):
            yield element.value
        for item in element.items:
            yield from _texts(item)


def _fill(dataset: Dataset, planned: Iterable[_Planned]) -> None:
    for element in planned:
        if element.vr == "SQ":
            items = []
            for item_plan in element.items:
                item = Dataset()
                _fill(item, item_plan)
                items.append(item)
            dataset.add(DataElement(element.tag, "SQ", Sequence(items)))
        else:
            value = element.value
            dataset.add(DataElement(element.tag, element.vr, "" if value is None and element.vr != "US" else value))
