"""Fuzzing the MLLP listener with thousands of mutated frames over real sockets.

Every round opens a connection and sends a few frames — valid samples and mutations of them (byte
flips, truncation, wrong terminators, bad encoding characters, stray control bytes, oversize frames,
junk) — in one write, in random pieces, one byte at a time, or slowly; some rounds close mid-frame.
The test holds the listener to a reference framer (<VT> content up to the first <FS><CR>): every
frame gets exactly one answer, in order; an answer to a frame whose MSH-10 is readable echoes it;
mutations that must be refused are (AE/AR, CE/CR in enhanced mode); and afterwards a valid message
still gets AA. RADFLOW_FUZZ_ROUNDS scales the run (default 500 rounds, over 3,000 frames).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from hl7_harness import FRAME, connect, msa, read_replies, running_listener, sample, stub_handler

from radflow.adapters.hl7.framing import END_BLOCK, START_BLOCK

ROUNDS = int(os.environ.get("RADFLOW_FUZZ_ROUNDS", "500"))
SEED = int(os.environ.get("RADFLOW_FUZZ_SEED", "6"))
MAX_FRAME_BYTES = 8192
BASES = [
    sample(name)
    for name in (
        "epic_orm_o01_251_new.hl7",
        "epic_orm_o01_251_two_orders.hl7",
        "epic_orm_o01_251_cancel.hl7",
        "cerner_orm_o01_23_latin1.hl7",
        "meditech_orm_o01_24_crlf.hl7",
        "meditech_orm_o01_24_custom_delimiters.hl7",
        "partner_omi_o23_25.hl7",
        "cerner_adt_a04_231.hl7",
        "epic_adt_a08_25.hl7",
        "epic_adt_a40_251.hl7",
        "dictation_oru_r01_251_final.hl7",
        "dictation_oru_r01_24_corrected.hl7",
    )
]
ACCEPTED = {"AA", "CA"}
REFUSED = {"AE", "AR", "CE", "CR"}
REJECTED = {"AR", "CR"}
# Raw control bytes a sender must escape; TAB, LF and CR are left out (text and segment breaks).
STRAY_BYTES = [b for b in range(0x20) if b not in (0x09, 0x0A, 0x0D)] + [0x7F]
BAD_ENCODING_CHARACTERS = [b"^^\\&", b"^~~&", b"^~\\A", b"1234", b"^~ &", b"^~\\", b"^~\\&#$", b"&~\\&"]
READABLE_CONTROL_ID = re.compile(rb"[A-Za-z0-9._-]{1,20}")


@dataclass(frozen=True)
class Sent:
    """One frame as built by the fuzzer, with what its answer must be (None: any answer)."""

    payload: bytes
    must_be: frozenset[str] | None
    mutation: str


def control_id_of(payload: bytes) -> bytes | None:
    """MSH-10 as a reference reader sees it: None when MSH is not readable enough to echo."""
    body = payload.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if len(body) < 4 or body[:3] != b"MSH" or not (0x21 <= body[3] <= 0x7E) or chr(body[3]).isalnum():
        return None
    fields = re.split(rb"[\r\n]", body, maxsplit=1)[0].split(body[3:4])
    return fields[9] if len(fields) > 9 else None


def asks_for_no_accept_ack(payload: bytes) -> bool:
    """True when MSH-15 might say NE/ER/SU: such a sender may get no answer at all (table 0155)."""
    body = payload.lstrip(b" \t\r\n")
    if len(body) < 4:
        return False
    fields = re.split(rb"[\r\n]", body, maxsplit=1)[0].split(body[3:4])
    return len(fields) > 14 and any(word in fields[14].upper() for word in (b"NE", b"ER", b"SU"))


def flip_bytes(rng: random.Random, base: bytes) -> Sent:
    data = bytearray(base)
    for _ in range(rng.randint(1, 3)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return Sent(bytes(data), None, "byte flip")


def truncate(rng: random.Random, base: bytes) -> Sent:
    cut = rng.randrange(1, len(base) - 1)
    first_segment_end = re.search(rb"[\r\n]", base)
    assert first_segment_end is not None
    # Nothing but (part of) MSH is left: no message type radflow takes can do without more.
    must_be = frozenset(REFUSED) if cut <= first_segment_end.start() else None
    return Sent(base[:cut], must_be, "truncation")


def wrong_segment_terminators(rng: random.Random, base: bytes) -> Sent:
    lines = re.split(rb"\r\n|\r|\n", base.rstrip(b"\r\n"))
    ending = rng.choice([b"\n", b"\r\n"])
    return Sent(ending.join(lines) + ending, frozenset(ACCEPTED), "LF/CRLF segment endings")


def bad_encoding_characters(rng: random.Random, base: bytes) -> Sent:
    end = base.index(base[3:4], 4)
    return Sent(base[:4] + rng.choice(BAD_ENCODING_CHARACTERS) + base[end:], frozenset(REJECTED), "bad MSH-2")


def stray_control_byte(rng: random.Random, base: bytes) -> Sent:
    while True:
        at = rng.randrange(4, len(base) + 1)
        stray = rng.choice(STRAY_BYTES)
        # <FS> right before a CR would be a real end block: the frame would end there, not be corrupt.
        if not (stray == 0x1C and base[at : at + 1] == b"\r"):
            return Sent(base[:at] + bytes([stray]) + base[at:], frozenset(REFUSED), "stray control byte")


def oversize(rng: random.Random, base: bytes) -> Sent:
    padding = b"NTE|1||" + b"x" * rng.randint(MAX_FRAME_BYTES, 2 * MAX_FRAME_BYTES) + b"\r"
    return Sent(base + padding, frozenset(REJECTED), "oversize")


def junk(rng: random.Random, base: bytes) -> Sent:
    data = bytes(b for b in (rng.randrange(256) for _ in range(rng.randint(0, 40))) if b not in (0x0B, 0x1C))
    return Sent(data, None if data.lstrip().startswith(b"MSH") else frozenset(REFUSED), "junk frame")


def unchanged(rng: random.Random, base: bytes) -> Sent:
    return Sent(base, frozenset(ACCEPTED), "valid")


MUTATIONS: list[tuple[Callable[[random.Random, bytes], Sent], int]] = [
    (unchanged, 4),
    (flip_bytes, 6),
    (truncate, 3),
    (wrong_segment_terminators, 2),
    (bad_encoding_characters, 2),
    (stray_control_byte, 3),
    (oversize, 1),
    (junk, 1),
]


def draw_frame(rng: random.Random) -> Sent:
    functions, weights = zip(*MUTATIONS, strict=True)
    while True:
        sent = rng.choices(functions, weights)[0](rng, rng.choice(BASES))
        if not asks_for_no_accept_ack(sent.payload):
            return sent


def wire_bytes(rng: random.Random, sent: Sent) -> bytes:
    """The frame on the wire: sometimes after junk, sometimes with a wrong end block."""
    noise = b""
    if rng.random() < 0.15:
        noise = bytes(rng.randrange(256) for _ in range(rng.randint(1, 12))).replace(b"\x0b", b"")
    end = END_BLOCK
    if rng.random() < 0.03:
        end = rng.choice([b"\x1c\n", b"\x1c", b"\r"])  # a wrong terminator: the frame runs on
    return noise + START_BLOCK + sent.payload + end


def send(rng: random.Random, connection_write: Callable[[bytes], None], stream: bytes) -> str:
    """Write the stream in one of the ways real peers do; returns which."""
    style = rng.choices(["one write", "pieces", "one byte at a time", "slow"], [5, 4, 1, 1])[0]
    if style == "one byte at a time":
        stream_head, stream_tail = stream[:1500], stream[1500:]
        for byte in stream_head:
            connection_write(bytes([byte]))
        if stream_tail:
            connection_write(stream_tail)
    elif style == "pieces":
        cuts = sorted(rng.sample(range(1, max(2, len(stream))), min(len(stream) - 1, rng.randint(1, 8))))
        for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            connection_write(stream[start:end])
    elif style == "slow":
        step = max(1, len(stream) // 4)
        for start in range(0, len(stream), step):
            connection_write(stream[start : start + step])
            time.sleep(0.005)
    else:
        connection_write(stream)
    return style


def reference_frames(stream: bytes) -> tuple[list[bytes], bool]:
    """The frames a correct listener answers, and whether the stream ends inside a frame.

    Complete frames are <VT> content <FS><CR>. An unterminated frame at the end is answered too
    once it is over the size limit: the listener rejects it as soon as it grows past the limit.
    """
    frames = FRAME.findall(stream)
    last_end = max((m.end() for m in FRAME.finditer(stream)), default=0)
    start = stream.find(START_BLOCK, last_end)
    if start < 0:
        return frames, False
    content = stream[start + 1 :]
    if len(content) - content.endswith(b"\x1c") > MAX_FRAME_BYTES:
        frames.append(content)
    return frames, True


@dataclass
class RoundResult:
    frames: int
    oversize: int
    cut_off: bool
    problems: list[str]


def fuzz_round(port: int, number: int) -> RoundResult:
    rng = random.Random(SEED * 1_000_003 + number)
    built = [draw_frame(rng) for _ in range(rng.randint(2, 12))]
    stream = b"".join(wire_bytes(rng, sent) for sent in built)
    expected = {sent.payload: sent for sent in built}
    if rng.random() < 0.05:
        # Close in the middle of a frame: the listener must shrug it off.
        stream = stream + START_BLOCK + rng.choice(BASES)[: rng.randint(1, 60)]
    frames, cut_off = reference_frames(stream)
    problems: list[str] = []
    with connect(port) as connection:
        style = send(rng, connection.sendall, stream)
        try:
            replies = read_replies(connection, len(frames), timeout=20)
        except (TimeoutError, ConnectionError) as exc:
            return RoundResult(len(frames), 0, cut_off, [f"round {number} ({style}): {exc}"])
    for index, (frame, reply) in enumerate(zip(frames, replies, strict=True)):
        where = f"round {number} frame {index} ({style})"
        fields = msa(reply)
        code = fields[1]
        if code not in ACCEPTED | REFUSED:
            problems.append(f"{where}: MSA-1 {code!r}")
        control_id = control_id_of(frame)
        if control_id is not None and READABLE_CONTROL_ID.fullmatch(control_id):
            echoed = fields[2] if len(fields) > 2 else ""
            if echoed != control_id.decode():
                problems.append(f"{where}: MSA-2 {echoed!r} does not echo MSH-10 {control_id!r}")
        sent = expected.get(frame)
        if sent is not None and sent.must_be is not None and code not in sent.must_be:
            problems.append(f"{where}: {sent.mutation} answered {code}, expected one of {sorted(sent.must_be)}")
    oversize = sum(1 for frame in frames if len(frame) > MAX_FRAME_BYTES)
    return RoundResult(len(frames), oversize, cut_off, problems)


def test_listener_survives_thousands_of_mutated_frames_and_still_accepts_a_valid_one() -> None:
    started = time.monotonic()
    with running_listener(stub_handler(), max_frame_bytes=MAX_FRAME_BYTES, idle_timeout_s=30) as listener:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda n: fuzz_round(listener.port, n), range(ROUNDS)))
        problems = [p for r in results for p in r.problems]
        assert problems == [], "\n".join(problems[:20])

        with connect(listener.port) as connection:
            connection.sendall(START_BLOCK + sample("epic_orm_o01_251_two_orders.hl7") + END_BLOCK)
            (reply,) = read_replies(connection, 1)
        assert msa(reply)[1:3] == ["AA", "EPIC000102"]

        frames = sum(r.frames for r in results)
        oversize = sum(r.oversize for r in results)
        deadline = time.monotonic() + 5
        while listener.counters.connections_active and time.monotonic() < deadline:
            time.sleep(0.01)
        counters = listener.counters
        assert counters.messages_received == frames - oversize + 1
        assert counters.frames_oversize == oversize
        assert counters.acks_sent == frames + 1
        assert counters.frames_cut_off == sum(r.cut_off for r in results)
        assert counters.connections_failed == 0
    if ROUNDS >= 500:
        assert frames >= 3000, f"only {frames} frames: the fuzz run is smaller than it claims"
    print(f"\nMLLP fuzz: {ROUNDS} rounds, {frames} frames ({oversize} oversize) in {time.monotonic() - started:.1f} s")
