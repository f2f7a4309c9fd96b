"""C-FIND pending responses written as P-DATA-TF PDUs in one send, instead of one DIMSE message at a time.

pynetdicom turns each pending response into a command data set (built and encoded with pydicom),
fragments it, queues each PDU for its transport thread and re-encodes the identifier: about 1–3 ms
per answer on a small machine, most of a worklist query's time. A scanner's answers differ only in
their identifier, so the SCP encodes the command set with `struct` (PS3.7 E.1: Implicit VR Little
Endian, group 0000 in tag order) and frames each message as PDVs (PS3.8 9.3.5, E.2: message control
header bit 0 = command, bit 1 = last fragment), fragmented to the peer's Maximum Length
(PS3.8 D.1), one message per PDU as pynetdicom does. The final C-FIND response (success, cancel or
failure) still goes through pynetdicom, after these.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

C_FIND_RSP = 0x8020
DATA_SET_PRESENT = 0x0001  # PS3.7 E.1: any value but 0x0101 says a data set follows
_P_DATA_TF = 0x04
_PDV_OVERHEAD = 6  # item length (4), presentation context ID (1), message control header (1)


def _element(group: int, element: int, value: bytes) -> bytes:
    return struct.pack("<HHI", group, element, len(value)) + value


def command_set(sop_class_uid: str, message_id: int, status: int) -> bytes:
    """A C-FIND-RSP command set with a data set following (PS3.7 9.3.2.2, Table 9.3-4)."""
    uid = sop_class_uid.encode("ascii")
    if len(uid) % 2:
        uid += b"\0"  # PS3.5 6.2: UI values are padded with NUL
    body = (
        _element(0x0000, 0x0002, uid)
        + _element(0x0000, 0x0100, struct.pack("<H", C_FIND_RSP))
        + _element(0x0000, 0x0120, struct.pack("<H", message_id))
        + _element(0x0000, 0x0800, struct.pack("<H", DATA_SET_PRESENT))
        + _element(0x0000, 0x0900, struct.pack("<H", status))
    )
    return _element(0x0000, 0x0000, struct.pack("<I", len(body))) + body


def _pdus(context_id: int, payload: bytes, *, is_command: bool, max_pdu_length: int) -> Iterator[bytes]:
    room = len(payload) if max_pdu_length == 0 else max_pdu_length - _PDV_OVERHEAD
    room = max(room, 1)
    fragments = [payload[i:i + room] for i in range(0, len(payload), room)] or [b""]
    for index, fragment in enumerate(fragments):
        header = (0x01 if is_command else 0x00) | (0x02 if index == len(fragments) - 1 else 0x00)
        pdv = struct.pack(">IBB", len(fragment) + 2, context_id, header) + fragment
        yield struct.pack(">BBI", _P_DATA_TF, 0, len(pdv)) + pdv


def pending_responses(context_id: int, sop_class_uid: str, message_id: int, status: int,
                      identifiers: Iterable[bytes], max_pdu_length: int) -> bytes:
    """Every pending response (command, then its identifier) as the bytes of consecutive P-DATA-TF PDUs."""
    command = b"".join(_pdus(context_id, command_set(sop_class_uid, message_id, status), is_command=True,
                             max_pdu_length=max_pdu_length))
    out = bytearray()
    for identifier in identifiers:
        out += command
        for pdu in _pdus(context_id, identifier, is_command=False, max_pdu_length=max_pdu_length):
            out += pdu
    return bytes(out)
