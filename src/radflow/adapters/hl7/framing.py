"""MLLP framing (HL7 MLLP release 2, HL7 2.5.1 appendix C.4): <VT> message <FS><CR>.

The decoder is pure (bytes in, frames out) so that any split of a stream into reads gives the same
frames. Rules, chosen so that no message is silently cut:
- bytes outside a frame (before a <VT>) are ignored and counted;
- a frame ends only at <FS><CR>; a lone <FS> or a <VT> inside a frame is content (the parser then
  refuses the raw control character), so a stray byte cannot split one message into two;
- a frame longer than the limit is reported once, with its first `max_frame_bytes` bytes (enough to
  read MSH and answer AR), and the rest of it is dropped up to its <FS><CR>.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
_FS = b"\x1c"
_CR = b"\x0d"
DEFAULT_MAX_FRAME_BYTES = 1_048_576


def frame(message: bytes) -> bytes:
    """Wrap one message in MLLP start and end blocks."""
    return START_BLOCK + message + END_BLOCK


@dataclass(frozen=True)
class Frame:
    """A complete message as received between <VT> and <FS><CR>."""

    content: bytes


@dataclass(frozen=True)
class OversizeFrame:
    """A frame over the size limit: its first bytes, for a best-effort reject."""

    prefix: bytes


FrameEvent = Frame | OversizeFrame


class _State(Enum):
    OUTSIDE = auto()
    INSIDE = auto()
    SKIPPING = auto()


class FrameDecoder:
    """Turns a byte stream, read in any pieces, into frames."""

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be positive")
        self.max_frame_bytes = max_frame_bytes
        self.bytes_outside_frames = 0
        self.bytes_dropped = 0
        self._state = _State.OUTSIDE
        self._buffer = bytearray()
        self._scanned = 0
        self._skip_saw_fs = False

    @property
    def in_frame(self) -> bool:
        """True while a frame has started and not ended (a close now would cut it)."""
        return self._state is not _State.OUTSIDE

    def feed(self, data: bytes) -> list[FrameEvent]:
        """Add bytes just read; return the frames (and oversize reports) they complete, in order."""
        events: list[FrameEvent] = []
        pending = bytes(data)
        while pending:
            if self._state is _State.OUTSIDE:
                pending = self._find_start(pending)
            elif self._state is _State.INSIDE:
                pending = self._collect(pending, events)
            else:
                pending = self._skip(pending)
        return events

    def _find_start(self, pending: bytes) -> bytes:
        start = pending.find(START_BLOCK)
        if start < 0:
            self.bytes_outside_frames += len(pending)
            return b""
        self.bytes_outside_frames += start
        self._state = _State.INSIDE
        self._buffer.clear()
        self._scanned = 0
        return pending[start + 1 :]

    def _collect(self, pending: bytes, events: list[FrameEvent]) -> bytes:
        self._buffer += pending
        end = self._buffer.find(END_BLOCK, self._scanned)
        if end < 0:
            # Resume the search one byte back: an <FS> may be waiting for its <CR>.
            self._scanned = max(0, len(self._buffer) - 1)
            trailing_fs = self._buffer.endswith(_FS)
            if len(self._buffer) - trailing_fs > self.max_frame_bytes:
                events.append(OversizeFrame(bytes(self._buffer[: self.max_frame_bytes])))
                self.bytes_dropped += len(self._buffer) - self.max_frame_bytes
                self._skip_saw_fs = trailing_fs
                self._buffer.clear()
                self._state = _State.SKIPPING
            return b""
        content = bytes(self._buffer[:end])
        rest = bytes(self._buffer[end + len(END_BLOCK) :])
        self._buffer.clear()
        self._state = _State.OUTSIDE
        if len(content) > self.max_frame_bytes:
            events.append(OversizeFrame(content[: self.max_frame_bytes]))
            self.bytes_dropped += len(content) - self.max_frame_bytes
        else:
            events.append(Frame(content))
        return rest

    def _skip(self, pending: bytes) -> bytes:
        if self._skip_saw_fs and pending.startswith(_CR):
            self._skip_saw_fs = False
            self._state = _State.OUTSIDE
            return pending[1:]
        end = pending.find(END_BLOCK)
        if end < 0:
            self.bytes_dropped += len(pending)
            self._skip_saw_fs = pending.endswith(_FS)
            return b""
        self.bytes_dropped += end
        self._skip_saw_fs = False
        self._state = _State.OUTSIDE
        return pending[end + len(END_BLOCK) :]
