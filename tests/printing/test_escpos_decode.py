"""The decoder is the oracle of every printing test, so it is tested on its own: it reads
what the writer emits, and refuses anything it does not understand."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from posapp.printing.codepages import resolve_codepage
from posapp.printing.errors import EscposDecodeError
from posapp.printing.escpos_decode import (
    CodePageSelect,
    Cut,
    DrawerPulse,
    Init,
    TextLine,
    decode_escpos,
)
from posapp.printing.escpos_writer import EscposWriter

CP860 = resolve_codepage("cp860")


def _writer() -> EscposWriter:
    writer = EscposWriter(CP860)
    writer.init()
    return writer


def test_text_attributes_and_code_page_in_force() -> None:
    writer = _writer()
    writer.align("center")
    writer.bold(True)
    writer.size(2, 2)
    writer.line("Pão de Açúcar")
    writer.size(1, 1)
    writer.bold(False)
    writer.align("right")
    writer.line("São Paulo")
    receipt = decode_escpos(writer.getvalue())
    assert isinstance(receipt.events[0], Init)
    assert receipt.events[1] == CodePageSelect(3, "cp860")
    first, second = receipt.text_lines
    assert first == TextLine("Pão de Açúcar", "center", True, 2, 2, "cp860")
    assert second == TextLine("São Paulo", "right", False, 1, 1, "cp860")


def test_code_page_forgotten_after_reset_shows_as_wrong_accents() -> None:
    """What the python-escpos bug looks like: ESC @ without re-selecting the page."""
    stream = b"\x1b@\x1bt\x03" + CP860.encode("Pão") + b"\n" + b"\x1b@" + CP860.encode("Pão") + b"\n"
    lines = decode_escpos(stream).lines
    assert lines[0] == "Pão"
    assert lines[1] != "Pão"  # decoded in PC437, as the printer would print it


def test_code_page_switch_mid_line_keeps_earlier_bytes() -> None:
    stream = b"\x1bt\x03" + "ã".encode("cp860") + b"\x1bt\x10" + "€".encode("cp1252") + b"\n"
    assert decode_escpos(stream).lines == ["ã€"]


def test_raster_bands_round_trip_and_stack() -> None:
    rng = random.Random(7)
    image = Image.new("1", (200, 150), 1)
    image.putdata([rng.choice((0, 255)) for _ in range(200 * 150)])
    writer = _writer()
    writer.raster(image, band_bytes=25 * 40)  # 40 rows per band
    receipt = decode_escpos(writer.getvalue(), width_dots=384)
    assert len([e for e in receipt.events if type(e).__name__ == "RasterBand"]) == 4
    (stacked,) = receipt.images
    assert stacked.size == (200, 150)
    assert stacked.tobytes() == image.tobytes()
    assert receipt.raster_bytes == 25 * 150


def test_qr_drawer_cut() -> None:
    writer = _writer()
    writer.drawer_pulse(pin=5, on_ms=100, off_ms=200)
    writer.qr_native(b"https://example.com/?p=1|2", module_size=6, ec="Q")
    writer.line()
    writer.feed(3)
    writer.cut(partial=False)
    receipt = decode_escpos(writer.getvalue())
    (qr,) = receipt.qr_codes
    assert (qr.text, qr.module_size, qr.ec, qr.model) == ("https://example.com/?p=1|2", 6, "Q", 2)
    assert receipt.drawer_pulses == [DrawerPulse(pin=5, on_ms=100, off_ms=200)]
    assert receipt.cuts == [Cut(partial=False)]


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        (b"\x07", "unknown control byte 0x07"),
        (b"\x1b\xff", "unknown command ESC 0xFF"),
        (b"\x1d(L\x02\x0002", "unknown command GS ( 0x4C"),  # GS ( L graphics: not ours
        (b"\x1b*\x21\x01\x00abc", "unknown command ESC 0x2A"),
        (b"\x1dv0\x00\x02\x00\x02\x00abc", "truncated GS v 0 image data"),
        (b"\x1dv0\x00\x50\x00\x01\x00" + bytes(80), "wider than the paper"),
        (b"\x1d(k\x03\x0031Q0"[:6], "truncated"),
        (b"\x1d(k\x03\x001Q0", "print without stored QR data"),
        (b"\x1d(k\x03\x002C\x05", "only QR (49)"),
        (b"\x1bt\x37", "code table not known"),
        (b"\x1bt\x10\x81\n", "undefined in cp1252"),
        (b"abc\x1b@", "ESC @ discards unprinted text"),
        (b"abc", "not terminated by LF"),
        (b"abc\x1dV\x01", "GS V in the middle of a line"),
        (b"\x1dV\x07", "unknown cut mode"),
        (b"\x1bp\x07\x10\x10", "bad connector pin"),
        (b"\x10\x05\x01", "unknown command DLE"),
        (b"x" * 33 + b"\n", "overflows 32 columns"),
    ],
)
def test_rejects_what_it_does_not_understand(stream: bytes, reason: str) -> None:
    with pytest.raises(EscposDecodeError) as info:
        decode_escpos(stream, width_dots=384, columns=32)
    assert reason in str(info.value)


def test_other_code_tables_only_with_their_mapping() -> None:
    stream = b"\x1b@\x1bt\x37" + "ção".encode("cp860") + b"\n"
    assert decode_escpos(stream, tables={0: "cp437", 55: "cp860"}).lines == ["ção"]


@given(st.binary(max_size=300))
def test_garbage_raises_only_our_error(data: bytes) -> None:
    with contextlib.suppress(EscposDecodeError):
        decode_escpos(data, width_dots=576, columns=48)
