"""Draw the posapp icon set: PNGs from 16 to 256 px, a multi-size ``.ico`` and an ``.svg``.

Run once after changing the glyph and commit the outputs (they live in
``posapp/resources/icons/``); the build never runs this script, so a clean clone builds
without Pillow tricks or fonts. The glyph is a white receipt with a torn edge and three
printed lines, on a deep-teal rounded square: readable at 16 px in a task bar, plain
enough to survive a 1-bit thermal print. Every size is drawn at 1024 px and scaled down
(LANCZOS) so small icons stay sharp instead of being drawn with jagged primitives.

Usage: ``python installer/make_icons.py [OUT_DIR]``
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

CANVAS = 1024
SIZES = (16, 24, 32, 48, 64, 128, 256)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)

BACKGROUND = (0, 92, 107, 255)  # deep teal
PAPER = (255, 255, 255, 255)
INK = (0, 92, 107, 255)
ACCENT = (255, 196, 0, 255)  # the amber of the "total" line

# Geometry on a 1024 grid, shared by the PNG and the SVG so both look the same.
RADIUS = 200
RECEIPT_LEFT, RECEIPT_RIGHT = 292, 732
RECEIPT_TOP, RECEIPT_BOTTOM = 170, 800
TEETH = 5  # zig-zag teeth on the torn bottom edge
TOOTH_DEPTH = 56
LINES = ((360, 300, 664), (360, 410, 600), (360, 520, 640))  # (x0, y, x1)
LINE_WIDTH = 44
TOTAL_BAR = (360, 620, 664, 690)  # x0, y0, x1, y1


def _receipt_outline() -> list[tuple[float, float]]:
    """The receipt as a polygon: straight top and sides, a zig-zag torn bottom."""
    points: list[tuple[float, float]] = [
        (RECEIPT_LEFT, RECEIPT_TOP),
        (RECEIPT_RIGHT, RECEIPT_TOP),
        (RECEIPT_RIGHT, RECEIPT_BOTTOM),
    ]
    step = (RECEIPT_RIGHT - RECEIPT_LEFT) / (TEETH * 2)
    for i in range(1, TEETH * 2 + 1):
        x = RECEIPT_RIGHT - i * step
        y = RECEIPT_BOTTOM - TOOTH_DEPTH if i % 2 else RECEIPT_BOTTOM
        points.append((x, y))
    points.append((RECEIPT_LEFT, RECEIPT_TOP))
    return points


def draw(size: int) -> Image.Image:
    img = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    pen = ImageDraw.Draw(img)
    pen.rounded_rectangle((0, 0, CANVAS - 1, CANVAS - 1), radius=RADIUS, fill=BACKGROUND)
    pen.polygon(_receipt_outline(), fill=PAPER)
    if size >= 24:  # below that the lines turn to mush; the torn receipt alone reads better
        for x0, y, x1 in LINES:
            pen.rounded_rectangle(
                (x0, y - LINE_WIDTH // 2, x1, y + LINE_WIDTH // 2), radius=LINE_WIDTH // 2, fill=INK
            )
    pen.rounded_rectangle(TOTAL_BAR, radius=20, fill=ACCENT)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def _hex(rgba: tuple[int, int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgba[:3])


def svg() -> str:
    points = " ".join(f"{x:g},{y:g}" for x, y in _receipt_outline())
    lines = "\n".join(
        f'  <rect x="{x0}" y="{y - LINE_WIDTH // 2}" width="{x1 - x0}" height="{LINE_WIDTH}" '
        f'rx="{LINE_WIDTH // 2}" fill="{_hex(INK)}"/>'
        for x0, y, x1 in LINES
    )
    x0, y0, x1, y1 = TOTAL_BAR
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CANVAS} {CANVAS}" '
        f'width="{CANVAS}" height="{CANVAS}">\n'
        "  <title>posapp</title>\n"
        f'  <rect width="{CANVAS}" height="{CANVAS}" rx="{RADIUS}" fill="{_hex(BACKGROUND)}"/>\n'
        f'  <polygon points="{points}" fill="{_hex(PAPER)}"/>\n'
        f"{lines}\n"
        f'  <rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="20" fill="{_hex(ACCENT)}"/>\n'
        "</svg>\n"
    )


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "posapp/resources/icons"
    out.mkdir(parents=True, exist_ok=True)
    images = {size: draw(size) for size in SIZES}
    for size, image in images.items():
        image.save(out / f"posapp-{size}.png", optimize=True)
    # append_images hands Pillow our own small drawings instead of letting it shrink the 256 px one.
    images[256].save(
        out / "posapp.ico",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES if s != 256],
    )
    (out / "posapp.svg").write_text(svg(), encoding="utf-8")
    print(f"icons written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
