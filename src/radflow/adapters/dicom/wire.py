"""Data sets as bytes, Little Endian (PS3.5 7): element framing for answers, a strict check for requests.

pydicom reads a received data set leniently: a value announced longer than the bytes
that follow is cut short without an error, so a garbled identifier can pass for a query.
`check_structure` walks the element and item framing first and names the first element
whose length does not fit, so the SCP can answer 0xA900 instead of guessing.
"""

from __future__ import annotations

import struct

from pydicom.datadict import dictionary_VR

from radflow.domain.errors import ValidationError

# PS3.5 Table 7.1-1: VRs with a 2-byte reserved field and a 4-byte length in Explicit VR.
LONG_VRS = frozenset({"SQ", "OB", "OD", "OF", "OL", "OV", "OW", "UC", "UN", "UR", "UT"})
UNDEFINED_LENGTH = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_MAX_DEPTH = 16


def pad(value: bytes, vr: str) -> bytes:
    """Pad a value to even length (PS3.5 6.2): UI with NUL, the others with a space."""
    if len(value) % 2:
        return value + (b"\0" if vr == "UI" else b" ")
    return value


def element_bytes(tag: int, vr: str, value: bytes, implicit_vr: bool) -> bytes:
    """One data element: tag, (VR,) length and value (PS3.5 7.1.1-7.1.3)."""
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if implicit_vr:
        return head + struct.pack("<I", len(value)) + value
    if vr in LONG_VRS:
        return head + vr.encode("ascii") + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + vr.encode("ascii") + struct.pack("<H", len(value)) + value


def item_bytes(body: bytes) -> bytes:
    """One sequence item with an explicit length (PS3.5 7.5.1)."""
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def check_structure(data: bytes, *, implicit_vr: bool) -> None:
    """Raise ValidationError unless every element and item of `data` fits its framing."""
    end = _walk_dataset(data, 0, len(data), implicit_vr, 0, until_item_end=False)
    if end != len(data):
        raise ValidationError(f"data set framing is broken at byte {end}")


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _walk_dataset(data: bytes, pos: int, end: int, implicit_vr: bool, depth: int, *, until_item_end: bool) -> int:
    """Walk elements from `pos` to `end` (or to an item delimiter); return where it stopped."""
    if depth > _MAX_DEPTH:
        raise ValidationError(f"data set nests sequences deeper than {_MAX_DEPTH} levels")
    while pos < end:
        if end - pos < 8:
            raise ValidationError(f"data set ends inside an element header at byte {pos}")
        group, number = struct.unpack_from("<HH", data, pos)
        tag = group << 16 | number
        if tag == _ITEM_END and until_item_end:
            return pos + 8
        if implicit_vr:
            vr, length, header = _implicit_vr(tag), struct.unpack_from("<I", data, pos + 4)[0], 8
        else:
            vr = data[pos + 4 : pos + 6].decode("ascii", "replace")
            if vr in LONG_VRS:
                if end - pos < 12:
                    raise ValidationError(f"element {_tag_text(tag)} header is cut short")
                length, header = struct.unpack_from("<I", data, pos + 8)[0], 12
            else:
                length, header = struct.unpack_from("<H", data, pos + 6)[0], 8
        start = pos + header
        if length == UNDEFINED_LENGTH:
            if vr not in ("SQ", "UN"):
                raise ValidationError(f"element {_tag_text(tag)} of VR {vr} has an undefined length")
            pos = _walk_items(data, start, end, implicit_vr, depth, defined_end=None)
            continue
        if start + length > end:
            raise ValidationError(f"element {_tag_text(tag)} announces {length} bytes but {max(end - start, 0)} remain")
        if vr == "SQ":
            _walk_items(data, start, start + length, implicit_vr, depth, defined_end=start + length)
        pos = start + length
    if until_item_end:
        raise ValidationError("an item of undefined length has no item delimitation")
    return pos


def _walk_items(data: bytes, pos: int, end: int, implicit_vr: bool, depth: int, *, defined_end: int | None) -> int:
    """Walk the items of a sequence; return the position after it."""
    while pos < end:
        if end - pos < 8:
            raise ValidationError(f"sequence ends inside an item header at byte {pos}")
        group, number, length = struct.unpack_from("<HHI", data, pos)
        tag = group << 16 | number
        if tag == _SEQUENCE_END and defined_end is None:
            return pos + 8
        if tag != _ITEM:
            raise ValidationError(f"expected a sequence item at byte {pos}, found {_tag_text(tag)}")
        start = pos + 8
        if length == UNDEFINED_LENGTH:
            pos = _walk_dataset(data, start, end, implicit_vr, depth + 1, until_item_end=True)
            continue
        if start + length > end:
            raise ValidationError(f"sequence item announces {length} bytes but {max(end - start, 0)} remain")
        _walk_dataset(data, start, start + length, implicit_vr, depth + 1, until_item_end=False)
        pos = start + length
    if defined_end is None:
        raise ValidationError("a sequence of undefined length has no sequence delimitation")
    return pos


def _implicit_vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"
