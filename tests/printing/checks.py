"""Shared assertions: decode what we render and check it the way a printer would see it."""

from __future__ import annotations

import re

import zxingcpp
from PIL import Image

from posapp.printing.escpos_decode import CodePageSelect, Cut, DecodedReceipt, Feed, Init, decode_escpos
from posapp.printing.options import ReceiptOptions

MIN_QR_DOTS = 200  # 25 mm at 8 dots/mm


def decode(data: bytes, options: ReceiptOptions) -> DecodedReceipt:
    """Strict decode: the stream's own tables, no image wider than the paper, no line
    longer than a row (the printer would wrap it where we did not mean to)."""
    return decode_escpos(
        data, tables=options.table_map(), width_dots=options.width_dots, columns=options.columns
    )


def flat(receipt: DecodedReceipt) -> str:
    """All text on one line, runs of whitespace collapsed (wrapping-independent search)."""
    return " ".join(receipt.text.split())


def has_row(receipt: DecodedReceipt, left: str, right: str) -> bool:
    """A row with ``left`` flush left and ``right`` flush right."""
    pattern = re.compile(rf"^{re.escape(left)}\s+{re.escape(right)}$")
    return any(pattern.match(line) for line in receipt.lines)


def assert_well_formed(
    receipt: DecodedReceipt, options: ReceiptOptions, *, cut: bool = True, copies: int = 1
) -> None:
    """``copies``: receipts in the stream, each cut (a pending contingency DANFE has two vias)."""
    events = receipt.events
    page = options.page
    inits = [i for i, e in enumerate(events) if isinstance(e, Init)]
    assert inits and inits[0] == 0, "stream must start with ESC @"
    for index in inits:  # the code page is selected again after every reset
        assert events[index + 1] == CodePageSelect(page.table, page.codec)
    assert {s.codec for s in receipt.codepage_selections} == {page.codec}
    if cut:
        assert len(receipt.cuts) == copies, "one cut per copy"
        tail = [e for e in events if not isinstance(e, Feed)]
        assert isinstance(tail[-1], Cut), "the cut comes last"
    else:
        assert receipt.cuts == []


def read_qr(image: Image.Image) -> tuple[str, int]:
    """Payload and width in dots of the one QR code zxing-cpp finds in ``image``."""
    grey = Image.new("L", (image.width + 40, image.height + 40), 255)
    grey.paste(image.convert("L"), (20, 20))  # quiet zone, in case the image is cropped tight
    results = [r for r in zxingcpp.read_barcodes(grey) if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(results) == 1, f"expected one QR code, zxing found {len(results)}"
    position = results[0].position
    width = max(position.top_right.x, position.bottom_right.x) - min(
        position.top_left.x, position.bottom_left.x
    )
    return results[0].text, width
