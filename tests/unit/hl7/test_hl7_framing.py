"""MLLP framing: frames come out the same however the stream is split into reads."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from radflow.adapters.hl7.framing import END_BLOCK, START_BLOCK, Frame, FrameDecoder, FrameEvent, OversizeFrame, frame

# Message bodies never hold a raw <VT> or <FS>: a sender escapes them (HL7 2.7.3).
bodies = st.binary(max_size=200).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b""))
# Noise between frames: anything without a start block.
noise = st.binary(max_size=20).map(lambda b: b.replace(b"\x0b", b""))


def feed_in_pieces(stream: bytes, cuts: list[int], max_frame_bytes: int = 1_000_000) -> list[FrameEvent]:
    decoder = FrameDecoder(max_frame_bytes)
    events: list[FrameEvent] = []
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    for start, end in itertools.pairwise(points):
        events.extend(decoder.feed(stream[start:end]))
    return events


@settings(max_examples=300)
@given(st.lists(st.tuples(noise, bodies), max_size=6), st.lists(st.integers(min_value=0), max_size=30))
def test_any_split_of_a_stream_gives_the_frames_that_were_sent(
    parts: list[tuple[bytes, bytes]], cuts: list[int]
) -> None:
    stream = b"".join(junk + frame(body) for junk, body in parts)
    assert feed_in_pieces(stream, cuts) == [Frame(body) for _, body in parts]


@settings(max_examples=300)
@given(st.binary(max_size=400), st.lists(st.integers(min_value=0), max_size=40), st.integers(1, 64))
def test_arbitrary_bytes_split_anywhere_give_the_same_events_as_one_read(
    stream: bytes, cuts: list[int], limit: int
) -> None:
    whole = FrameDecoder(limit).feed(stream)
    assert feed_in_pieces(stream, cuts, limit) == whole


def test_one_byte_reads_give_the_same_frames() -> None:
    stream = frame(b"MSH|first") + b"\r\n" + frame(b"MSH|second")
    decoder = FrameDecoder()
    events = [event for byte in stream for event in decoder.feed(bytes([byte]))]
    assert events == [Frame(b"MSH|first"), Frame(b"MSH|second")]


def test_bytes_outside_frames_are_ignored_and_counted() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"junk" + frame(b"MSH|a") + b"\r\n") == [Frame(b"MSH|a")]
    assert decoder.bytes_outside_frames == 6


def test_a_lone_fs_or_vt_inside_a_frame_is_content_not_a_boundary() -> None:
    body = b"MSH|a\x1cb\x0bc"
    assert FrameDecoder().feed(frame(body)) == [Frame(body)]


def test_oversize_frame_is_reported_once_with_its_first_bytes_and_the_next_frame_survives() -> None:
    decoder = FrameDecoder(max_frame_bytes=10)
    events = decoder.feed(START_BLOCK + b"MSH|0123456789ABCDEF" + END_BLOCK + frame(b"MSH|ok"))
    assert events == [OversizeFrame(b"MSH|012345"), Frame(b"MSH|ok")]


def test_oversize_frame_is_reported_before_its_end_arrives() -> None:
    decoder = FrameDecoder(max_frame_bytes=10)
    assert decoder.feed(START_BLOCK + b"MSH|0123456789") == [OversizeFrame(b"MSH|012345")]
    assert decoder.feed(b"more and more" + END_BLOCK[:1]) == []
    assert decoder.feed(END_BLOCK[1:] + frame(b"MSH|ok")) == [Frame(b"MSH|ok")]


def test_frame_exactly_at_the_limit_is_accepted() -> None:
    decoder = FrameDecoder(max_frame_bytes=5)
    assert decoder.feed(START_BLOCK + b"MSH|x\x1c") == []
    assert decoder.feed(b"\r") == [Frame(b"MSH|x")]


def test_an_unfinished_frame_is_visible_to_the_listener() -> None:
    decoder = FrameDecoder()
    decoder.feed(START_BLOCK + b"MSH|half")
    assert decoder.in_frame
    decoder.feed(END_BLOCK)
    assert not decoder.in_frame
