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
   unreadable. If anything about the QR looks wrong, the page is printed as rendered
   (and a warning is logged: that receipt's QR may not scan);
4. grey -> 1 bit with a fixed threshold, never dithering (dithering breaks QR codes).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from PIL import Image

from posapp.printing.errors import RasterError
from posapp.printing.options import DOTS_PER_MM
from posapp.printing.qr import MIN_QR_MM, matrix_image

log = logging.getLogger("posapp.printing")

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


def finder_run(row: bytes, level: int = 128) -> int:
    """Length of the first dark run in a row of grey pixels, counted from its first dark
    pixel: the bounding box can start a pixel or two before the finder's row is dark at
    the very left (anti-aliasing, a corner pixel under the threshold)."""
    start = next((x for x, value in enumerate(row) if value < level), len(row))
    end = start
    while end < len(row) and row[end] < level:
        end += 1
    return end - start


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
    run = finder_run(symbol.crop((0, 0, symbol.width, 1)).tobytes())
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


def _page_parts(page: Any, ink: Image.Image, content: _Box, width_dots: int) -> list[Image.Image]:
    """One page's ``content`` as bitmaps ``width_dots`` wide, with its QR code re-gridded."""
    qr_px = _locate_qr(ink)
    qr_image = None
    if qr_px is not None:
        region = _Box(*(value / PROBE_SCALE for value in qr_px))
        matrix = _read_matrix(page, region)
        qr_image = None if matrix is None else _qr_block(matrix, width_dots)
        if qr_image is None:
            log.warning(
                "raster DANFE: QR code found but not re-gridded (%s); printing it scaled with the page",
                "unreadable modules" if matrix is None else "too wide for the paper",
            )
    if qr_px is None or qr_image is None:
        return [_render_width(page, content, width_dots)]
    parts: list[Image.Image] = []
    # Cut a point clear of the symbol so no anti-aliased sliver of it is printed twice.
    top_pt, bottom_pt = qr_px[1] / PROBE_SCALE - 1.0, qr_px[3] / PROBE_SCALE + 1.0
    if top_pt - content.top > 0.5:
        parts.append(_render_width(page, _Box(content.left, content.top, content.right, top_pt), width_dots))
    parts.append(qr_image)
    if content.bottom - bottom_pt > 0.5:
        below = _Box(content.left, bottom_pt, content.right, content.bottom)
        parts.append(_render_width(page, below, width_dots))
    return parts


def pdf_to_bitmap(pdf: bytes, *, width_dots: int) -> Image.Image:
    """Every page's ink, one under the other, ``width_dots`` wide, as a 1-bit image
    (black = 0).

    A long sale's DANFE runs over several pages; printing only the first would drop
    items, totals or the QR code (which sits on the last page). All pages share one
    horizontal extent (the union of their ink) so the scale, and the text size, is the
    same from page to page; blank pages are skipped."""
    document = _open(pdf)
    pages = [document[index] for index in range(len(document))]
    try:
        inked: list[tuple[Any, Image.Image, tuple[int, int, int, int]]] = []
        for page in pages:
            ink = _ink(page.render(scale=PROBE_SCALE, grayscale=True).to_pil().convert("L"))
            found = ink.getbbox()
            if found is not None:
                inked.append((page, ink, found))
        if not inked:
            raise RasterError("PDF page is blank", user_message="O PDF do DANFE está em branco.")
        margin = 1.0
        left = min(found[0] for _, _, found in inked) / PROBE_SCALE - margin
        right = max(found[2] for _, _, found in inked) / PROBE_SCALE + margin
        parts: list[Image.Image] = []
        for page, ink, found in inked:
            page_width, page_height = page.get_size()
            content = _Box(
                max(0.0, left),
                max(0.0, found[1] / PROBE_SCALE - margin),
                min(page_width, right),
                min(page_height, found[3] / PROBE_SCALE + margin),
            )
            parts.extend(_page_parts(page, ink, content, width_dots))
    finally:
        for page in pages:
            page.close()
        document.close()
    return _trim_rows(_stack(parts, width_dots))
