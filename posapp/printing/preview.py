"""The on-screen printer: ESC/POS bytes drawn as the thermal paper would show them.

The picture comes from the decoder (:mod:`posapp.printing.escpos_decode`), so the
preview shows exactly what was sent — including its mistakes: a wrong code page shows
wrong accents here too. Text uses Pillow's built-in bitmap font (monospace, Latin-1)
at twice its size, which is Font A's 12 x 24-dot cell; raster images are pasted dot for
dot; a native QR is drawn from its payload with segno at the module size the stream
asked for. CPU work: run it in an executor.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFont

from posapp.printing.escpos_decode import (
    Align,
    Cut,
    DecodedReceipt,
    DrawerPulse,
    Feed,
    QrCode,
    RasterBand,
    TextLine,
    decode_escpos,
)
from posapp.printing.options import COLUMNS, WIDTH_DOTS
from posapp.printing.qr import qr_image

CELL_W, CELL_H = 12, 24  # Font A
FONT_W, FONT_H = 6, 11  # the built-in bitmap font, drawn at 2x
MARGIN = 12
PAPER = 255
INK = 0


@lru_cache(maxsize=1)
def _font() -> ImageFont.ImageFont:
    """Pillow's classic built-in bitmap font: monospace 6 x 11 with Latin-1 glyphs, so
    it is the same on every machine and scaled 2x it fills Font A's 12 x 24 cell."""
    return ImageFont.load_default_imagefont()


def _x_for(align: Align, width: int, paper: int) -> int:
    if align == "center":
        return max(0, (paper - width) // 2)
    if align == "right":
        return max(0, paper - width)
    return 0


def _text_block(line: TextLine, paper: int) -> Image.Image:
    cell_w, cell_h = CELL_W * line.width, CELL_H * line.height
    block = Image.new("L", (paper, cell_h), PAPER)
    if not line.text:
        return block
    small = Image.new("L", (FONT_W * len(line.text), FONT_H), PAPER)
    draw = ImageDraw.Draw(small)
    draw.text((0, 0), line.text, font=_font(), fill=INK)
    if line.underline:
        draw.line((0, FONT_H - 1, small.width, FONT_H - 1), fill=INK)
    text = small.resize((len(line.text) * cell_w, FONT_H * 2 * line.height), Image.Resampling.NEAREST)
    if line.bold:  # embolden by one dot, as the printer does
        text = ImageChops.darker(text, ImageChops.offset(text, 1, 0))
    block.paste(text, (_x_for(line.align, text.width, paper), (cell_h - text.height) // 2))
    return block


def _image_block(image: Image.Image, align: Align, paper: int) -> Image.Image:
    block = Image.new("L", (paper, image.height), PAPER)
    block.paste(
        image.convert("L").crop((0, 0, min(image.width, paper), image.height)),
        (_x_for(align, image.width, paper), 0),
    )
    return block


def _cut_block(paper: int) -> Image.Image:
    block = Image.new("L", (paper, CELL_H), PAPER)
    draw = ImageDraw.Draw(block)
    for x in range(0, paper, 12):
        draw.line((x, CELL_H // 2, x + 6, CELL_H // 2), fill=128)
    return block


def _drawer_block(paper: int) -> Image.Image:
    block = Image.new("L", (paper, CELL_H), PAPER)
    ImageDraw.Draw(block).text((0, 6), "[gaveta aberta]", font=_font(), fill=160)
    return block


def receipt_image(receipt: DecodedReceipt, paper_mm: int) -> Image.Image:
    paper = WIDTH_DOTS[paper_mm]
    blocks: list[Image.Image] = []
    for event in receipt.events:
        if isinstance(event, TextLine):
            blocks.append(_text_block(event, paper))
        elif isinstance(event, Feed):
            height = event.lines * CELL_H + event.dots
            if height:
                blocks.append(Image.new("L", (paper, height), PAPER))
        elif isinstance(event, RasterBand):
            band = event.image
            if event.scale_x != 1 or event.scale_y != 1:
                band = band.resize((band.width * event.scale_x, band.height * event.scale_y))
            blocks.append(_image_block(band, event.align, paper))
        elif isinstance(event, QrCode):
            symbol = qr_image(event.data, module_size=event.module_size, ec=event.ec, quiet_zone=1)
            blocks.append(_image_block(symbol, event.align, paper))
        elif isinstance(event, Cut):
            blocks.append(_cut_block(paper))
        elif isinstance(event, DrawerPulse):
            blocks.append(_drawer_block(paper))
    height = sum(b.height for b in blocks) + 2 * MARGIN
    canvas = Image.new("L", (paper + 2 * MARGIN, max(height, 2 * MARGIN + CELL_H)), PAPER)
    top = MARGIN
    for block in blocks:
        canvas.paste(block, (MARGIN, top))
        top += block.height
    return canvas


def render_preview_image(
    escpos: bytes, paper_mm: int, *, tables: dict[int, str] | None = None
) -> Image.Image:
    """Decode ``escpos`` and draw it on a ``paper_mm`` roll (58 or 80). Raises
    :class:`~posapp.printing.errors.EscposDecodeError` on bytes the decoder rejects."""
    if paper_mm not in WIDTH_DOTS:
        raise ValueError("paper_mm must be 58 or 80")
    receipt = decode_escpos(escpos, tables=tables, width_dots=WIDTH_DOTS[paper_mm], columns=COLUMNS[paper_mm])
    return receipt_image(receipt, paper_mm)
