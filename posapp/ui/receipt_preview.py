"""The on-screen receipt: the exact ESC/POS bytes that went to the printer, drawn as the
thermal paper would show them (``posapp.printing.render_preview_image``).

Rendering is CPU work (text layout, QR, raster bands), so it runs in an executor and the
widget fills in when it is done.
"""

from __future__ import annotations

import asyncio
import logging

from posapp.ui.errors import error_text
from posapp.ui.qt import QImage, QLabel, QPixmap, QScrollArea, Qt, QWidget, tr

log = logging.getLogger("posapp.ui")

PREVIEW_WIDTH = 400  # pixels on screen: a 576-dot receipt, slightly reduced, still legible


def _render(data: bytes, paper_mm: int) -> QImage:
    from posapp.printing.preview import render_preview_image

    image = render_preview_image(data, paper_mm).convert("RGBA")
    raw = image.tobytes("raw", "RGBA")
    qimage = QImage(raw, image.width, image.height, image.width * 4, QImage.Format.Format_RGBA8888)
    return qimage.copy()  # own the pixels: ``raw`` goes away with this frame


async def render_receipt(data: bytes, paper_mm: int) -> QImage:
    return await asyncio.get_running_loop().run_in_executor(None, _render, data, paper_mm)


class ReceiptView(QScrollArea):
    """A scrollable picture of the receipt."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.label = QLabel(tr("Sem pré-visualização"), self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.label.setStyleSheet("background-color: #FFFFFF; color: #000000; padding: 8px;")
        self.setWidget(self.label)
        self.setMinimumWidth(PREVIEW_WIDTH + 40)
        self.image: QImage | None = None

    async def show_receipt(self, data: bytes | None, paper_mm: int) -> bool:
        if not data:
            self.label.setText(tr("Sem pré-visualização"))
            return False
        self.label.setText(tr("Desenhando o cupom…"))
        try:
            image = await render_receipt(data, paper_mm)
        except Exception as exc:  # a preview problem must never hide the sale's outcome
            self.label.setText(
                tr("Pré-visualização indisponível: ") + error_text(exc, "receipt preview failed")
            )
            return False
        self.image = image
        width = min(image.width(), PREVIEW_WIDTH)
        self.label.setPixmap(
            QPixmap.fromImage(image).scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        )
        return True
