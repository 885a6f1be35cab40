"""``Size:Identifier:Payload`` framing of the Emites-Client socket protocol.

``Size`` is decimal ASCII without leading zeros and counts every *byte* after itself:
``:`` + identifier + ``:`` + payload, e.g. ``27:TESTE:{ "teste": "teste" }``. Bytes are
ISO-8859-1 (a superset of US-ASCII); UTF-8 is never used, so a character is a byte and
the size header is exact.

:class:`FrameDecoder` is sans-IO: feed it whatever chunks the transport produced and pull
complete frames out; it never blocks, and it bounds its buffer by ``max_frame_size`` so
garbage cannot make memory grow without limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from posapp.protocol.errors import LocalProtocolError, RemoteProtocolError

ENCODING = "iso-8859-1"
DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024  # a DANFE PDF + XML in base64 is a few hundred KB
# Use ``fullmatch``: ``$`` alone would also accept a trailing newline.
IDENTIFIER = re.compile(rb"[A-Z][A-Z0-9_]{0,63}")
_MAX_IDENTIFIER = 64
_MAX_SIZE_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Frame:
    identifier: str
    payload: bytes

    def text(self) -> str:
        """The payload as text (ISO-8859-1 decodes every byte; it cannot fail)."""
        return self.payload.decode(ENCODING)


def encode_frame(identifier: str, payload: bytes) -> bytes:
    """Frame an already-encoded payload. Raises :class:`LocalProtocolError` on a bad identifier."""
    ident = identifier.encode("ascii", errors="replace")
    if not IDENTIFIER.fullmatch(ident):
        raise LocalProtocolError(f"invalid frame identifier {identifier!r}")
    body = b":" + ident + b":" + payload
    return str(len(body)).encode("ascii") + body


def encode_text_frame(identifier: str, payload: str) -> bytes:
    """Frame text that must already be representable in ISO-8859-1 (see :mod:`.text`)."""
    try:
        data = payload.encode(ENCODING)
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(
            f"payload has a character ISO-8859-1 cannot carry at {exc.start}: {payload[exc.start]!r}"
        ) from None
    return encode_frame(identifier, data)


class FrameDecoder:
    """Incremental decoder: ``feed(chunk)`` then ``next_frame()`` until it returns ``None``.

    ``feed(b"")`` marks end of stream; :meth:`close` then reports a truncated frame.
    A caller that pulls every complete frame after each ``feed`` never holds more than
    one partial frame (``max_frame_size`` at most) plus the last chunk: a bad size or
    identifier is reported as soon as its bytes are in, not after the declared size.
    """

    def __init__(self, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._buffer = bytearray()
        self._max = max_frame_size
        self._eof = False

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        if self._eof and data:
            raise RemoteProtocolError("data after end of stream")
        if not data:
            self._eof = True
            return
        self._buffer += data
        # Fail early on a malformed header or identifier rather than buffering garbage
        # until a (possibly huge) declared size has arrived.
        header = self._parse_header()
        if header is not None:
            self._check_identifier_prefix(*header)

    def _check_identifier_prefix(self, size: int, colon: int) -> None:
        """Validate the identifier as soon as its bytes are in, before the payload.

        After the size's ``:`` come ``size - 1`` bytes: identifier, ``:``, payload; the
        identifier's ``:`` must therefore show up within ``_MAX_IDENTIFIER + 1`` bytes.
        """
        limit = min(size - 1, _MAX_IDENTIFIER + 1)
        window = bytes(self._buffer[colon + 1 : colon + 1 + limit])
        sep = window.find(b":")
        if sep >= 0:
            ident, complete = window[:sep], True
        else:
            ident, complete = window, len(window) == limit
            if complete:
                raise RemoteProtocolError(f"frame has no ':' after its identifier: {window[:40]!r}")
        # Any non-empty prefix of a valid identifier is itself identifier-shaped.
        if (ident or complete) and not IDENTIFIER.fullmatch(ident):
            raise RemoteProtocolError(f"invalid frame identifier {ident[:40]!r}")

    def _parse_header(self) -> tuple[int, int] | None:
        """Return ``(size, header_length)`` once the size digits and first ``:`` are in."""
        buf = self._buffer
        colon = buf.find(b":", 0, _MAX_SIZE_DIGITS + 1)
        if colon < 0:
            head = bytes(buf[: _MAX_SIZE_DIGITS + 1])
            if not head.isdigit() and head:
                raise RemoteProtocolError(f"frame size is not decimal digits: {head[:20]!r}")
            if len(buf) > _MAX_SIZE_DIGITS:
                raise RemoteProtocolError("frame size header too long")
            if len(head) > 1 and head.startswith(b"0"):
                raise RemoteProtocolError(f"frame size has leading zeros: {head!r}")
            return None
        digits = bytes(buf[:colon])
        if not digits or not digits.isdigit():
            raise RemoteProtocolError(f"frame size is not decimal digits: {digits[:20]!r}")
        if len(digits) > 1 and digits.startswith(b"0"):
            raise RemoteProtocolError(f"frame size has leading zeros: {digits!r}")
        size = int(digits)
        if size > self._max:
            raise RemoteProtocolError(f"frame of {size} bytes exceeds the limit of {self._max}")
        if size < 2:
            raise RemoteProtocolError(f"frame size {size} cannot hold ':' identifier ':'")
        return size, colon

    def next_frame(self) -> Frame | None:
        header = self._parse_header()
        if header is None:
            return None
        size, colon = header
        end = colon + size
        if len(self._buffer) < end:
            return None
        body = bytes(self._buffer[colon + 1 : end])  # identifier ':' payload
        sep = body.find(b":")
        if sep < 0:
            raise RemoteProtocolError("frame has no ':' after its identifier")
        ident = body[:sep]
        if not IDENTIFIER.fullmatch(ident):
            raise RemoteProtocolError(f"invalid frame identifier {ident[:40]!r}")
        del self._buffer[:end]
        return Frame(ident.decode("ascii"), body[sep + 1 :])

    def close(self) -> None:
        """Call at end of stream: a partial frame left over is a remote error."""
        if self._buffer:
            raise RemoteProtocolError(f"connection closed inside a frame ({len(self._buffer)} bytes pending)")
