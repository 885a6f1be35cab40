"""QR code sizing and bitmaps for the DANFE NFC-e.

The DANFE NFC-e manual (v6.0) wants the QR code at least 25 mm wide. A native
``GS ( k`` QR is sized by its *module* size in dots, and the printer picks the symbol
version from the payload length and error level, so we compute the same version with
segno (smallest version for the payload at that level, as a printer does) and choose the
smallest module size that reaches 25 mm — without exceeding the printable width.
The raster fallback and the on-screen preview draw the very same matrix.
"""

from __future__ import annotations

import math

import segno
from PIL import Image

from posapp.printing.options import DOTS_PER_MM

MIN_QR_MM = 25
QUIET_ZONE_MODULES = 4
_SEGNO_EC = {"L": "l", "M": "m", "Q": "q", "H": "h"}


def qr_symbol(payload: str | bytes, ec: str = "M", *, mask: int | None = None) -> segno.QRCode:
    """The model-2 QR symbol a printer builds for ``payload`` (no error boost, no micro).

    ``mask=None`` lets segno evaluate the eight masks (~13 ms); a fixed mask is ~5x faster
    and gives the same version, which is all the sizing needs."""
    return segno.make_qr(payload, error=_SEGNO_EC[ec], boost_error=False, mask=mask)


def qr_modules(payload: str | bytes, ec: str = "M") -> int:
    """Modules per side (without quiet zone)."""
    return int(qr_symbol(payload, ec, mask=0).symbol_size(scale=1, border=0)[0])


def module_size_for(
    payload: str | bytes, *, width_dots: int, ec: str = "M", min_mm: float = MIN_QR_MM
) -> int:
    """Smallest module size (dots) giving at least ``min_mm``; capped to fit ``width_dots``
    with a quiet zone, and to the ``GS ( k`` range 1..16."""
    modules = qr_modules(payload, ec)
    wanted = math.ceil(min_mm * DOTS_PER_MM / modules)
    fits = width_dots // (modules + 2 * QUIET_ZONE_MODULES)
    return max(1, min(16, wanted, max(fits, 1)))


def qr_image(
    payload: str | bytes, *, module_size: int, ec: str = "M", quiet_zone: int = QUIET_ZONE_MODULES
) -> Image.Image:
    """A 1-bit image of the symbol (black modules = 0), ``module_size`` dots per module."""
    symbol = qr_symbol(payload, ec)
    return matrix_image([[bool(dark) for dark in row] for row in symbol.matrix], module_size, quiet_zone)


def matrix_image(
    matrix: list[list[bool]], module_size: int, quiet_zone: int = QUIET_ZONE_MODULES
) -> Image.Image:
    """Draw a module matrix (``True`` = dark) at ``module_size`` dots per module."""
    modules = len(matrix)
    small = Image.new("1", (modules, modules), 1)
    small.putdata([0 if dark else 255 for row in matrix for dark in row])
    scaled = small.resize((modules * module_size, modules * module_size), Image.Resampling.NEAREST)
    side = (modules + 2 * quiet_zone) * module_size
    image = Image.new("1", (side, side), 1)
    image.paste(scaled, (quiet_zone * module_size, quiet_zone * module_size))
    return image


def centered_on_width(image: Image.Image, width_dots: int) -> Image.Image:
    """Pad ``image`` on the left so it prints centered without relying on ``ESC a``
    (which some firmwares ignore for raster images). No right padding: fewer bytes."""
    if image.width >= width_dots:
        return image
    left = (width_dots - image.width) // 2
    padded = Image.new("1", (left + image.width, image.height), 1)
    padded.paste(image, (left, 0))
    return padded
