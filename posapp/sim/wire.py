"""The simulated daemon's own ``Size:Identifier:Payload`` framing, sans-IO.

Written from the vendor's README (``emites-client-api-docs``), not shared with the client
(:mod:`posapp.protocol` is deliberately not imported): a bug in one side's codec then shows
up as a failed loopback test instead of being agreed on by both. What the README says:

* ``Size`` is decimal ASCII, *no leading zeros*, and counts every byte after itself:
  ``":" + identifier + ":" + payload``. ``27:TESTE:{ "teste": "teste" }``.
* bytes are US-ASCII / ISO-8859-1, so ``Size`` counts bytes and any byte may be payload.

Stricter than a tolerant client needs to be, like a daemon that answers whoever connects:
a size with a sign, a space, a leading zero or too many digits, an identifier outside
``[A-Z][A-Z0-9_]*`` (max 64) or a frame over ``max_frame_size`` raise :class:`WireError` as
soon as the offending byte arrives, so garbage never waits for more input and the buffer
never grows past one frame plus one read.
"""

from __future__ import annotations

import re
from typing import NamedTuple, NoReturn

from posapp.sim.errors import WireError

ENCODING = "iso-8859-1"
MAX_FRAME_SIZE = 16 * 1024 * 1024  # requests carry JSON only (no PDF): a few KB in practice
MAX_IDENTIFIER = 64
_IDENTIFIER = re.compile(rb"[A-Z][A-Z0-9_]*")
_IDENTIFIER_PREFIX = re.compile(rb"(?:[A-Z][A-Z0-9_]*)?")  # what may precede the second ':'


class Frame(NamedTuple):
    identifier: str
    payload: bytes


def encode_frame(identifier: str, payload: bytes) -> bytes:
    """``Size:Identifier:Payload`` for bytes already in ISO-8859-1."""
    name = identifier.encode("ascii", "replace")
    if len(name) > MAX_IDENTIFIER or not _IDENTIFIER.fullmatch(name):
        raise WireError(f"identifier {identifier!r} is not [A-Z][A-Z0-9_]* of at most {MAX_IDENTIFIER}")
    body = b":" + name + b":" + payload
    return str(len(body)).encode("ascii") + body


class FrameDecoder:
    """Feed bytes as they arrive, then take frames with :meth:`next_frame` until ``None``.

    After a :class:`WireError` the stream is lost (there is no resynchronising on a
    length-prefixed protocol): every later call raises the same error.
    """

    def __init__(self, *, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        if max_frame_size < 4:  # ":A:" is the smallest body; plus the size digit itself
            raise ValueError("max_frame_size must allow at least one identifier byte")
        self._max_size = max_frame_size
        self._max_digits = len(str(max_frame_size))
        self._buffer = bytearray()
        self._error: WireError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Add received bytes; raises :class:`WireError` at once if they cannot be a frame."""
        self._raise_if_failed()
        self._buffer += data
        self._parse()

    def next_frame(self) -> Frame | None:
        """The next complete frame, or ``None`` until more bytes are fed."""
        self._raise_if_failed()
        parsed = self._parse()
        if parsed is None:
            return None
        identifier, start, end = parsed
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[start:end])
        del self._buffer[:end]
        return Frame(identifier, payload)

    def close(self) -> None:
        """The peer closed: fine between frames, an error inside one."""
        self._raise_if_failed()
        if self._buffer:
            self._fail(f"connection closed inside a frame ({len(self._buffer)} bytes pending)")

    # ------------------------------------------------------------------ parsing

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _fail(self, reason: str) -> NoReturn:
        self._error = WireError(reason)
        raise self._error

    def _parse(self) -> tuple[str, int, int] | None:
        """Check the buffered head of the stream. ``(identifier, payload start, frame end)``
        once the header is complete (the payload may still be arriving), else ``None``."""
        buf = self._buffer
        if not buf:
            return None
        # Size: 1..max_digits ASCII digits, the first not '0', then ':'
        colon = buf.find(b":", 0, self._max_digits + 1)
        digits = bytes(buf[: colon if colon >= 0 else self._max_digits + 1])
        if digits and not digits.isdigit():  # bytes.isdigit(): ASCII 0-9 only
            self._fail(f"size {digits[:20]!r} is not decimal digits")
        if digits.startswith(b"0"):
            self._fail(f"size {digits!r} has a leading zero (or is zero)")
        if colon < 0:
            if len(digits) > self._max_digits:
                self._fail(f"size has more than {self._max_digits} digits: frame too large")
            return None
        if colon == 0:
            self._fail("frame starts with ':' (no size)")
        size = int(digits)
        if size > self._max_size:
            self._fail(f"frame of {size} bytes exceeds the limit of {self._max_size}")
        end = colon + size  # the size counts from this ':' (inclusive) on
        # Identifier: between the size's ':' and the next one, inside the frame
        first = colon + 1
        limit = min(end, first + MAX_IDENTIFIER + 1)
        second = buf.find(b":", first, limit)
        name = bytes(buf[first : second if second >= 0 else min(len(buf), limit)])
        if not _IDENTIFIER_PREFIX.fullmatch(name):
            self._fail(f"identifier {name[:MAX_IDENTIFIER]!r} is not [A-Z][A-Z0-9_]*")
        if second < 0:
            if len(name) > MAX_IDENTIFIER:
                self._fail(f"identifier longer than {MAX_IDENTIFIER} bytes")
            if len(buf) >= limit:  # the whole frame (or identifier room) holds no second ':'
                self._fail("no ':' after the identifier inside the frame")
            return None
        if not name:
            self._fail("empty identifier")
        return name.decode("ascii"), second + 1, end
