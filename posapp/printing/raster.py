"""The raster DANFE: the issuer's PDF drawn as a bitmap the printer prints dot for dot.

Emites-Client returns the DANFE as a PDF; the vendor's is a Letter page with a narrow
(about 80 mm) receipt column in the middle. Steps:

1. a probe render (2 px per PDF point) finds the ink, and the QR code in it: the only
   block of ink rows that is tall and square (text lines are a few points high);
2. the ink rectangle is rendered again at the exact scale that makes it as wide as the
   printable area (384 or 576 dots) — rendering at the target scale keeps vector text
   crisp where shrinking a big bitmap would blur it;
3. the QR code is *re-gridded*: its module count is measured on a sharp render of its
   region (finder pattern = 7 modules), each module is sampled at its centre, the three
   finder patterns are checked, and the symbol is redrawn with a whole number of dots per
   module and at least 25 mm wide (the DANFE NFC-e rule). Scaled with the page, the QR
   of the vendor PDF would be 17 mm wide at 2.7 dots per module on 58 mm paper —
   unreadable. If anything about the QR looks wrong, the page is printed as rendered;
4. grey -> 1 bit with a fixed threshold, never dithering (dithering breaks QR codes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PIL import Image

from posapp.printing.errors import RasterError
from posapp.printing.options import DOTS_PER_MM
from posapp.printing.qr import MIN_QR_MM, matrix_image

INK_THRESHOLD = 200  # grey level below which a pixel counts as ink when locating things
PRINT_THRESHOLD = 160  # grey level below which a dot is printed
PROBE_SCALE = 2.0  # px per PDF point for the locating pass
QR_SAMPLE_SCALE = 6.0  # px per PDF point for measuring the QR modules
MIN_QR_PT = 40.0  # a QR block is at least this tall (14 mm); text lines are ~10 pt
QR_QUIET_MODULES = 2  # blank modules kept above and below the re-gridded symbol


@dataclass(frozen=True, slots=True)
class _Box:
    """A rectangle in PDF points, origin top-left (y grows downwards)."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def _open(pdf: bytes) -> Any:
    import pypdfium2 as pdfium  # heavy import, only for the raster path

    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise RasterError(
            f"unreadable PDF: {exc}", user_message="O PDF do DANFE está corrompido ou ilegível."
        ) from None
    if len(document) < 1:
        document.close()
        raise RasterError("PDF has no pages", user_message="O PDF do DANFE não tem páginas.")
    return document


def _ink(grey: Image.Image, level: int = INK_THRESHOLD) -> Image.Image:
    """``L`` image where ink is 255 and paper 0 (so ``getbbox`` finds the ink)."""
    return grey.point(lambda value: 255 if value < level else 0)


def threshold(image: Image.Image, level: int = PRINT_THRESHOLD) -> Image.Image:
    """Grey -> 1-bit with a fixed cut (no dithering). Black (printed) = 0."""
    return image.convert("L").point(lambda value: 255 if value >= level else 0, mode="1")


def _render(page: Any, box: _Box, scale: float) -> Image.Image:
    page_width, page_height = page.get_size()
    crop = (box.left, page_height - box.bottom, page_width - box.right, box.top)
    image: Image.Image = page.render(scale=scale, crop=crop, grayscale=True).to_pil().convert("L")
    return image


def _render_width(page: Any, box: _Box, width_dots: int) -> Image.Image:
    """``box`` rendered exactly ``width_dots`` wide, thresholded."""
    grey = _render(page, box, width_dots / box.width)
    if grey.width != width_dots:  # pdfium rounds the bitmap size: a dot or two at most
        height = max(1, round(grey.height * width_dots / grey.width))
        grey = grey.resize((width_dots, height), Image.Resampling.LANCZOS)
    return threshold(grey)


def _row_runs(ink: Image.Image) -> list[tuple[int, int]]:
    """Vertical runs ``[start, end)`` of rows that contain ink."""
    profile = ink.resize((1, ink.height), Image.Resampling.BOX).tobytes()
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for y, value in enumerate(profile):
        if value and start is None:
            start = y
        elif not value and start is not None:
            runs.append((start, y))
            start = None
    if start is not None:
        runs.append((start, len(profile)))
    return runs


def _locate_qr(ink: Image.Image) -> tuple[int, int, int, int] | None:
    """The probe-pixel box of the tallest square block of ink rows, if one looks like a QR."""
    best = None
    for top, bottom in _row_runs(ink):
        height = bottom - top
        if height < MIN_QR_PT * PROBE_SCALE:
            continue
        box = ink.crop((0, top, ink.width, bottom)).getbbox()
        if box is None:
            continue
        width = box[2] - box[0]
        if abs(width - height) > 0.08 * height:
            continue
        if best is None or height > best[3] - best[1]:
            best = (box[0], top, box[2], bottom)
    return best


_VALID_SIDES = [17 + 4 * version for version in range(1, 41)]


def _finder_ok(matrix: list[list[bool]], row: int, col: int) -> bool:
    for dy in range(7):
        for dx in range(7):
            ring = max(abs(dy - 3), abs(dx - 3))
            if matrix[row + dy][col + dx] != (ring != 2):
                return False
    return True


def _read_matrix(page: Any, region: _Box) -> list[list[bool]] | None:
    """The QR's modules sampled at their centres from a sharp render, or ``None``."""
    margin = 2.0
    around = _Box(region.left - margin, region.top - margin, region.right + margin, region.bottom + margin)
    grey = _render(page, around, QR_SAMPLE_SCALE)
    ink = _ink(grey, 128)
    box = ink.getbbox()
    if box is None:
        return None
    symbol = grey.crop(box)
    side = min(symbol.size)
    # The top-left finder pattern's first row is a dark run of exactly 7 modules.
    first_row = symbol.crop((0, 0, symbol.width, 1)).tobytes()
    run = 0
    while run < len(first_row) and first_row[run] < 128:
        run += 1
    if run == 0:
        return None
    estimate = side / (run / 7)
    modules = min(_VALID_SIDES, key=lambda n: abs(n - estimate))
    if abs(modules - estimate) > 1.5:
        return None
    pitch_x, pitch_y = symbol.width / modules, symbol.height / modules
    raw = symbol.tobytes()
    columns = [int((col + 0.5) * pitch_x) for col in range(modules)]
    matrix = []
    for row in range(modules):
        offset = int((row + 0.5) * pitch_y) * symbol.width
        matrix.append([raw[offset + x] < 128 for x in columns])
    corners = ((0, 0), (0, modules - 7), (modules - 7, 0))
    if not all(_finder_ok(matrix, r, c) for r, c in corners):
        return None
    return matrix


def _qr_block(matrix: list[list[bool]], width_dots: int) -> Image.Image | None:
    modules = len(matrix)
    dots = math.ceil(MIN_QR_MM * DOTS_PER_MM / modules)
    if modules * dots > width_dots:
        return None
    symbol = matrix_image(matrix, dots, quiet_zone=0)
    block = Image.new("1", (width_dots, symbol.height + 2 * QR_QUIET_MODULES * dots), 1)
    block.paste(symbol, ((width_dots - symbol.width) // 2, QR_QUIET_MODULES * dots))
    return block


def _stack(parts: list[Image.Image], width: int) -> Image.Image:
    canvas = Image.new("1", (width, sum(p.height for p in parts)), 1)
    top = 0
    for part in parts:
        canvas.paste(part, (0, top))
        top += part.height
    return canvas


def _trim_rows(bitmap: Image.Image) -> Image.Image:
    box = bitmap.point(lambda value: 0 if value else 255).getbbox()
    if box is None:
        return bitmap
    return bitmap.crop((0, box[1], bitmap.width, box[3]))


def pdf_to_bitmap(pdf: bytes, *, width_dots: int) -> Image.Image:
    """The first page's ink, ``width_dots`` wide, as a 1-bit image (black = 0)."""
    document = _open(pdf)
    page = document[0]
    try:
        probe = page.render(scale=PROBE_SCALE, grayscale=True).to_pil().convert("L")
        ink = _ink(probe)
        found = ink.getbbox()
        if found is None:
            raise RasterError("PDF page is blank", user_message="O PDF do DANFE está em branco.")
        page_width, page_height = page.get_size()
        margin = 1.0
        content = _Box(
            max(0.0, found[0] / PROBE_SCALE - margin),
            max(0.0, found[1] / PROBE_SCALE - margin),
            min(page_width, found[2] / PROBE_SCALE + margin),
            min(page_height, found[3] / PROBE_SCALE + margin),
        )
        parts: list[Image.Image] = []
        qr_px = _locate_qr(ink)
        qr_image = None
        if qr_px is not None:
            region = _Box(*(value / PROBE_SCALE for value in qr_px))
            matrix = _read_matrix(page, region)
            qr_image = None if matrix is None else _qr_block(matrix, width_dots)
        if qr_px is None or qr_image is None:
            parts.append(_render_width(page, content, width_dots))
        else:
            # Cut a point clear of the symbol so no anti-aliased sliver of it is printed twice.
            top_pt, bottom_pt = qr_px[1] / PROBE_SCALE - 1.0, qr_px[3] / PROBE_SCALE + 1.0
            if top_pt - content.top > 0.5:
                parts.append(
                    _render_width(page, _Box(content.left, content.top, content.right, top_pt), width_dots)
                )
            parts.append(qr_image)
            if content.bottom - bottom_pt > 0.5:
                below = _Box(content.left, bottom_pt, content.right, content.bottom)
                parts.append(_render_width(page, below, width_dots))
    finally:
        page.close()
        document.close()
    return _trim_rows(_stack(parts, width_dots))
