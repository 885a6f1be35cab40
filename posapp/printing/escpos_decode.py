"""Our ESC/POS decoder: what a printer would do with a byte stream, as data.

It is the test oracle for everything this package writes, and the on-screen printer
(:mod:`posapp.printing.preview`) draws its result. It understands the commands our
writer emits plus a few harmless neighbours (font, underline, line spacing, paper feed),
and raises :class:`~posapp.printing.errors.EscposDecodeError` on anything else — an
unknown command, a truncated parameter block, a ``GS v 0`` whose data is short, a byte
the selected code page cannot show, text discarded by ``ESC @``, a line wider than the
paper. A stream that decodes cleanly is one a printer prints the way we meant.

Text is decoded with the code page *in force*: ``ESC @`` resets to table 0 (PC437), so
a writer that forgets to re-select its page after a reset shows up as wrong accents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

from posapp.printing.codepages import EPSON_TABLES
from posapp.printing.errors import EscposDecodeError

Align = Literal["left", "center", "right"]
_ALIGNS: dict[int, Align] = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
_QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}


@dataclass(frozen=True, slots=True)
class Init:
    pass


@dataclass(frozen=True, slots=True)
class CodePageSelect:
    table: int
    codec: str


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    align: Align
    bold: bool
    width: int  # character magnification
    height: int
    codec: str
    underline: bool = False


@dataclass(frozen=True, slots=True)
class Feed:
    lines: int = 0
    dots: int = 0


@dataclass(frozen=True, slots=True)
class RasterBand:
    image: Image.Image  # mode "1", black = printed dot (0)
    align: Align
    scale_x: int = 1
    scale_y: int = 1


@dataclass(frozen=True, slots=True)
class QrCode:
    data: bytes
    module_size: int
    ec: str
    model: int
    align: Align

    @property
    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return self.data.decode("latin-1")

    @property
    def modules(self) -> int:
        from posapp.printing.qr import qr_modules

        return qr_modules(self.data, self.ec)

    @property
    def width_dots(self) -> int:
        return self.modules * self.module_size

    @property
    def width_mm(self) -> float:
        return self.width_dots / 8


@dataclass(frozen=True, slots=True)
class Cut:
    partial: bool
    feed: int = 0


@dataclass(frozen=True, slots=True)
class DrawerPulse:
    pin: int
    on_ms: int
    off_ms: int


@dataclass(frozen=True, slots=True)
class StatusRequest:
    n: int


Event = Init | CodePageSelect | TextLine | Feed | RasterBand | QrCode | Cut | DrawerPulse | StatusRequest


@dataclass(frozen=True)
class DecodedReceipt:
    events: tuple[Event, ...]

    @property
    def lines(self) -> list[str]:
        out: list[str] = []
        for event in self.events:
            if isinstance(event, TextLine):
                out.append(event.text)
            elif isinstance(event, Feed):
                out.extend([""] * event.lines)
        return out

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def text_lines(self) -> list[TextLine]:
        return [e for e in self.events if isinstance(e, TextLine)]

    @property
    def images(self) -> list[Image.Image]:
        """Raster bands stacked back into whole pictures (consecutive bands of one width)."""
        pictures: list[list[RasterBand]] = []
        previous_was_band = False
        for event in self.events:
            if isinstance(event, RasterBand):
                if previous_was_band and pictures[-1][-1].image.width == event.image.width:
                    pictures[-1].append(event)
                else:
                    pictures.append([event])
                previous_was_band = True
            elif isinstance(event, TextLine | Feed | QrCode | Cut):
                previous_was_band = False
        merged = []
        for bands in pictures:
            width = bands[0].image.width
            height = sum(b.image.height for b in bands)
            canvas = Image.new("1", (width, height), 1)
            top = 0
            for band in bands:
                canvas.paste(band.image, (0, top))
                top += band.image.height
            merged.append(canvas)
        return merged

    @property
    def qr_codes(self) -> list[QrCode]:
        return [e for e in self.events if isinstance(e, QrCode)]

    @property
    def cuts(self) -> list[Cut]:
        return [e for e in self.events if isinstance(e, Cut)]

    @property
    def drawer_pulses(self) -> list[DrawerPulse]:
        return [e for e in self.events if isinstance(e, DrawerPulse)]

    @property
    def codepage_selections(self) -> list[CodePageSelect]:
        return [e for e in self.events if isinstance(e, CodePageSelect)]

    @property
    def raster_bytes(self) -> int:
        return sum(
            ((e.image.width + 7) // 8) * e.image.height for e in self.events if isinstance(e, RasterBand)
        )


@dataclass
class _State:
    tables: Mapping[int, str]
    codec: str = "cp437"
    align: Align = "left"
    bold: bool = False
    underline: bool = False
    width: int = 1
    height: int = 1
    qr_model: int = 2
    qr_size: int = 3
    qr_ec: str = "L"
    qr_data: bytes | None = None
    pending: bytearray = field(default_factory=bytearray)  # bytes in the current code page
    pending_text: str = ""  # earlier parts of the line, decoded before a code page switch

    def reset(self) -> None:
        self.codec = self.tables.get(0, "cp437")
        self.align, self.bold, self.underline, self.width, self.height = "left", False, False, 1, 1
        self.qr_model, self.qr_size, self.qr_ec, self.qr_data = 2, 3, "L", None


class _Decoder:
    def __init__(self, data: bytes, tables: Mapping[int, str], width_dots: int | None, columns: int | None):
        self.data = data
        self.pos = 0
        self.events: list[Event] = []
        self.state = _State(tables=tables)
        self.state.reset()
        self.width_dots = width_dots
        self.columns = columns
        self.pending_start = 0

    # -- helpers -----------------------------------------------------------------------

    def fail(self, message: str, at: int | None = None) -> EscposDecodeError:
        return EscposDecodeError(message, offset=self.pos if at is None else at)

    def take(self, count: int, what: str) -> bytes:
        if self.pos + count > len(self.data):
            raise self.fail(f"truncated {what}: needs {count} more byte(s)")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def decode_pending(self) -> None:
        st = self.state
        raw = bytes(st.pending)
        try:
            st.pending_text += raw.decode(st.codec)
        except UnicodeDecodeError as exc:
            raise self.fail(
                f"byte 0x{raw[exc.start]:02X} undefined in {st.codec}", self.pending_start
            ) from None
        st.pending.clear()

    def has_pending(self) -> bool:
        return bool(self.state.pending or self.state.pending_text)

    def flush_text(self) -> None:
        st = self.state
        if not self.has_pending():
            return
        self.decode_pending()
        text, st.pending_text = st.pending_text, ""
        if self.columns is not None and len(text) * st.width > self.columns:
            raise self.fail(
                f"line of {len(text)} chars x{st.width} overflows {self.columns} columns: {text!r}",
                self.pending_start,
            )
        self.events.append(TextLine(text, st.align, st.bold, st.width, st.height, st.codec, st.underline))

    def require_no_pending(self, command: str) -> None:
        if self.has_pending():
            raise self.fail(f"{command} in the middle of a line (text not terminated by LF)")

    # -- main loop ---------------------------------------------------------------------

    def run(self) -> DecodedReceipt:
        while self.pos < len(self.data):
            start = self.pos
            b = self.data[self.pos]
            self.pos += 1
            if b == 0x0A:
                if self.has_pending():
                    self.flush_text()
                else:
                    self.events.append(TextLine("", *self._attrs()))
            elif b == 0x1B:
                self.esc(start)
            elif b == 0x1D:
                self.gs(start)
            elif b == 0x10:
                self.dle(start)
            elif 0x20 <= b <= 0x7E or b >= 0x80:
                if not self.has_pending():
                    self.pending_start = start
                self.state.pending.append(b)
            else:
                raise self.fail(f"unknown control byte 0x{b:02X}", start)
        if self.has_pending():
            raise self.fail("stream ends with text not terminated by LF (the printer would hold it)")
        return DecodedReceipt(tuple(self.events))

    def _attrs(self) -> tuple[Align, bool, int, int, str]:
        st = self.state
        return st.align, st.bold, st.width, st.height, st.codec

    def esc(self, start: int) -> None:
        st = self.state
        cmd = self.byte("ESC command")
        if cmd == ord("@"):
            if self.has_pending():
                raise self.fail("ESC @ discards unprinted text", start)
            st.reset()
            self.events.append(Init())
        elif cmd == ord("t"):
            n = self.byte("ESC t")
            codec = st.tables.get(n)
            if codec is None:
                raise self.fail(f"ESC t {n}: code table not known to this decoder", start)
            self.decode_pending()  # a switch mid-line is legal: earlier bytes keep the old page
            st.codec = codec
            self.events.append(CodePageSelect(n, codec))
        elif cmd == ord("a"):
            n = self.byte("ESC a")
            if n not in _ALIGNS:
                raise self.fail(f"ESC a {n}: bad alignment", start)
            self.require_no_pending("ESC a")
            st.align = _ALIGNS[n]
        elif cmd == ord("E"):
            st.bold = bool(self.byte("ESC E") & 1)
        elif cmd == ord("-"):
            st.underline = self.byte("ESC -") in (1, 2, 49, 50)
        elif cmd == ord("!"):
            n = self.byte("ESC !")
            st.bold = bool(n & 0x08)
            st.height = 2 if n & 0x10 else 1
            st.width = 2 if n & 0x20 else 1
            st.underline = bool(n & 0x80)
        elif cmd == ord("M"):
            if self.byte("ESC M") not in (0, 1, 48, 49):
                raise self.fail("ESC M: bad font", start)
        elif cmd == ord("2"):
            pass
        elif cmd == ord("3"):
            self.byte("ESC 3")
        elif cmd == ord("d"):
            n = self.byte("ESC d")
            self.flush_text()
            self.events.append(Feed(lines=n))
        elif cmd == ord("J"):
            n = self.byte("ESC J")
            self.flush_text()
            self.events.append(Feed(dots=n))
        elif cmd == ord("p"):
            m, t1, t2 = self.take(3, "ESC p")
            if m not in (0, 1, 48, 49):
                raise self.fail(f"ESC p: bad connector pin {m}", start)
            self.events.append(DrawerPulse(pin=2 if m in (0, 48) else 5, on_ms=t1 * 2, off_ms=t2 * 2))
        else:
            raise self.fail(f"unknown command ESC 0x{cmd:02X}", start)

    def gs(self, start: int) -> None:
        st = self.state
        cmd = self.byte("GS command")
        if cmd == ord("!"):
            n = self.byte("GS !")
            width, height = (n >> 4) + 1, (n & 0x0F) + 1
            if width > 8 or height > 8:
                raise self.fail(f"GS ! 0x{n:02X}: bad size", start)
            st.width, st.height = width, height
        elif cmd == ord("V"):
            m = self.byte("GS V")
            self.require_no_pending("GS V")
            if m in (0, 48):
                self.events.append(Cut(partial=False))
            elif m in (1, 49):
                self.events.append(Cut(partial=True))
            elif m in (65, 66):
                self.events.append(Cut(partial=m == 66, feed=self.byte("GS V n")))
            else:
                raise self.fail(f"GS V {m}: unknown cut mode", start)
        elif cmd == ord("v"):
            self.raster(start)
        elif cmd == ord("("):
            sub = self.byte("GS ( function")
            if sub != ord("k"):
                raise self.fail(f"unknown command GS ( 0x{sub:02X}", start)
            self.qr(start)
        else:
            raise self.fail(f"unknown command GS 0x{cmd:02X}", start)

    def dle(self, start: int) -> None:
        cmd = self.byte("DLE command")
        if cmd != 0x04:
            raise self.fail(f"unknown command DLE 0x{cmd:02X}", start)
        n = self.byte("DLE EOT")
        if n not in (1, 2, 3, 4):
            raise self.fail(f"DLE EOT {n}: unknown status", start)
        self.events.append(StatusRequest(n))

    def raster(self, start: int) -> None:
        if self.byte("GS v") != ord("0"):
            raise self.fail("GS v: only GS v 0 is known", start)
        self.require_no_pending("GS v 0")
        m = self.byte("GS v 0 m")
        if m not in (0, 1, 2, 3, 48, 49, 50, 51):
            raise self.fail(f"GS v 0: bad mode {m}", start)
        xl, xh, yl, yh = self.take(4, "GS v 0 size")
        width_bytes, rows = xl + 256 * xh, yl + 256 * yh
        if width_bytes == 0 or rows == 0:
            raise self.fail("GS v 0: empty image", start)
        if self.width_dots is not None and width_bytes * 8 > self.width_dots + 7:
            raise self.fail(f"GS v 0: {width_bytes * 8} dots wider than the paper ({self.width_dots})", start)
        payload = self.take(width_bytes * rows, "GS v 0 image data")
        image = Image.frombytes("1", (width_bytes * 8, rows), payload, "raw", "1;I")
        scale_x = 2 if m in (1, 3, 49, 51) else 1
        scale_y = 2 if m in (2, 3, 50, 51) else 1
        self.events.append(RasterBand(image, self.state.align, scale_x, scale_y))

    def qr(self, start: int) -> None:
        st = self.state
        pl, ph = self.take(2, "GS ( k length")
        length = pl + 256 * ph
        if length < 2:
            raise self.fail("GS ( k: parameter block too short", start)
        block = self.take(length, "GS ( k parameters")
        cn, fn, params = block[0], block[1], block[2:]
        if cn != 49:
            raise self.fail(f"GS ( k cn={cn}: only QR (49) is known", start)
        if fn == 65 and len(params) == 2 and params[0] in (49, 50, 51):
            st.qr_model = params[0] - 48
        elif fn == 67 and len(params) == 1 and 1 <= params[0] <= 16:
            st.qr_size = params[0]
        elif fn == 69 and len(params) == 1 and params[0] in _QR_EC:
            st.qr_ec = _QR_EC[params[0]]
        elif fn == 80 and len(params) >= 2 and params[0] == 48:
            st.qr_data = bytes(params[1:])
        elif fn == 81 and params == b"0":
            if st.qr_data is None:
                raise self.fail("GS ( k print without stored QR data", start)
            self.require_no_pending("GS ( k print")
            self.events.append(QrCode(st.qr_data, st.qr_size, st.qr_ec, st.qr_model, st.align))
        else:
            raise self.fail(f"GS ( k QR fn={fn} with {len(params)} parameter byte(s) not understood", start)


def decode_escpos(
    data: bytes,
    *,
    tables: Mapping[int, str] | None = None,
    width_dots: int | None = None,
    columns: int | None = None,
) -> DecodedReceipt:
    """Decode ``data`` the way a printer would. ``tables`` maps ``ESC t`` numbers to codecs
    (Epson numbering by default); ``width_dots`` and ``columns``, when given, make images
    wider than the paper and lines longer than a row errors."""
    return _Decoder(data, EPSON_TABLES if tables is None else tables, width_dots, columns).run()
