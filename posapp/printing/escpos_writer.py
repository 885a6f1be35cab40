"""A small ESC/POS byte writer: the dozen commands a DANFE needs, and nothing else.

Why our own writer instead of python-escpos' ``Dummy`` printer (measured and read in
``notes/printing-and-libs.md`` §2): python-escpos 3.1 forgets the code page after
``ESC @`` (forced or magic), its magic encoder picks PC857 for ``ã`` (a string-sort
bug), it calls ``logging.basicConfig()`` and creates a temporary directory per process
at import, its ``GS ( L`` length field overflows silently, and its images are dithered.
Each of those is a workaround to remember; a 150-line writer has none, is pure (bytes
in, bytes out, no device), renders a receipt in about a millisecond, and emits exactly
the byte layouts our decoder (:mod:`posapp.printing.escpos_decode`) checks. The
physical connection classes are separate (:mod:`posapp.printing.connections`).

Invariants the writer keeps, so a stream is always decodable:

* :meth:`init` (``ESC @``) is always followed by the code page selection;
* text goes through :meth:`CodePage.encode`, so only printable bytes reach the stream;
* raster images are sent in bands (``GS v 0``) small enough for printers with a few KB
  of receive buffer.
"""

from __future__ import annotations

from typing import Literal

from PIL import Image

from posapp.devices.drawer import DEFAULT_OFF_MS, DEFAULT_ON_MS, pulse_command
from posapp.printing.codepages import CodePage

ESC = b"\x1b"
GS = b"\x1d"
LF = b"\n"

Align = Literal["left", "center", "right"]
_ALIGN = {"left": 0, "center": 1, "right": 2}

QR_EC_LEVELS = {"L": 48, "M": 49, "Q": 50, "H": 51}

DEFAULT_BAND_BYTES = 4096  # fits the 4 KB receive buffers of cheap 58 mm printers


class EscposWriter:
    """Accumulates ESC/POS commands; :meth:`getvalue` returns the stream."""

    def __init__(self, codepage: CodePage) -> None:
        self.codepage = codepage
        self._out = bytearray()

    def getvalue(self) -> bytes:
        return bytes(self._out)

    def raw(self, data: bytes) -> None:
        """Append bytes as they are. Only for sequences built by this module."""
        self._out += data

    # -- printer state -------------------------------------------------------------------

    def init(self) -> None:
        """``ESC @`` then the code page again: the reset forgets the table (§2.3 of the notes)."""
        self._out += ESC + b"@"
        self.select_codepage()

    def select_codepage(self) -> None:
        self._out += ESC + b"t" + bytes([self.codepage.table])

    def align(self, how: Align) -> None:
        self._out += ESC + b"a" + bytes([_ALIGN[how]])

    def bold(self, on: bool) -> None:
        self._out += ESC + b"E" + (b"\x01" if on else b"\x00")

    def size(self, width: int = 1, height: int = 1) -> None:
        """``GS !``: character magnification, 1..8 each way."""
        if not (1 <= width <= 8 and 1 <= height <= 8):
            raise ValueError("character size must be 1..8")
        self._out += GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])

    # -- content -------------------------------------------------------------------------

    def line(self, text: str = "") -> None:
        """One line of text (folded to the code page) and ``LF``."""
        self._out += self.codepage.encode(text) + LF

    def lines(self, texts: list[str]) -> None:
        for text in texts:
            self.line(text)

    def feed(self, lines: int) -> None:
        """``ESC d n``: print the buffer and feed ``n`` lines."""
        if not 0 <= lines <= 255:
            raise ValueError("feed must be 0..255 lines")
        self._out += ESC + b"d" + bytes([lines])

    def cut(self, *, partial: bool = True) -> None:
        """``GS V 1`` (partial) or ``GS V 0`` (full). Feed first so text clears the blade."""
        self._out += GS + b"V" + (b"\x01" if partial else b"\x00")

    def drawer_pulse(self, *, pin: int = 2, on_ms: int = DEFAULT_ON_MS, off_ms: int = DEFAULT_OFF_MS) -> None:
        """``ESC p m t1 t2``: kick the cash drawer on connector pin 2 or 5 (the command is
        the drawer's, :func:`posapp.devices.drawer.pulse_command`)."""
        self._out += pulse_command(pin=pin, on_ms=on_ms, off_ms=off_ms)

    def qr_native(self, payload: bytes, *, module_size: int, ec: str = "M") -> None:
        """``GS ( k`` model 2: select model, module size, error level, store, print."""
        if not 1 <= module_size <= 16:
            raise ValueError("QR module size must be 1..16")
        if not payload or len(payload) > 7089:
            raise ValueError("QR payload must have 1..7089 bytes")
        self._out += GS + b"(k" + b"\x04\x00" + b"1A" + b"\x32\x00"  # fn 65: model 2
        self._out += GS + b"(k" + b"\x03\x00" + b"1C" + bytes([module_size])  # fn 67: size
        self._out += GS + b"(k" + b"\x03\x00" + b"1E" + bytes([QR_EC_LEVELS[ec]])  # fn 69: EC
        store_len = len(payload) + 3
        self._out += GS + b"(k" + bytes([store_len & 0xFF, store_len >> 8]) + b"1P0" + payload  # fn 80
        self._out += GS + b"(k" + b"\x03\x00" + b"1Q0"  # fn 81: print

    def raster(self, image: Image.Image, *, band_bytes: int = DEFAULT_BAND_BYTES) -> None:
        """Print a bitmap with ``GS v 0`` in horizontal bands of at most ``band_bytes``.

        ``image`` is converted to mode ``"1"`` *without dithering* by the caller (see
        :func:`posapp.printing.raster.threshold`); black pixels print.
        """
        if image.mode != "1":
            raise ValueError("raster() needs a 1-bit image; threshold it first")
        width, height = image.size
        width_bytes = (width + 7) // 8
        # PIL packs mode "1" rows MSB-first, 1 = white; ESC/POS wants 1 = black.
        packed = image.tobytes("raw", "1;I")
        rows_per_band = max(1, min(height, band_bytes // width_bytes, 0xFFFF))
        for top in range(0, height, rows_per_band):
            rows = min(rows_per_band, height - top)
            chunk = packed[top * width_bytes : (top + rows) * width_bytes]
            self._out += (
                GS + b"v0\x00" + bytes([width_bytes & 0xFF, width_bytes >> 8, rows & 0xFF, rows >> 8]) + chunk
            )
