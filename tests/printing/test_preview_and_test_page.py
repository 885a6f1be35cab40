"""The on-screen printer and the test page."""

from __future__ import annotations

import pytest
from PIL import Image

from posapp.config import PrinterConfig
from posapp.printing import (
    ReceiptOptions,
    parse_danfe_xml,
    render_danfe,
    render_preview_image,
    render_test_page,
)
from posapp.printing.errors import EscposDecodeError
from posapp.printing.options import Mode, PaperWidth
from posapp.printing.preview import MARGIN
from posapp.printing.render import TEST_QR
from tests.printing import notes
from tests.printing.checks import assert_well_formed, decode, flat, read_qr

QR = parse_danfe_xml(notes.authorized_xml()).qr_code


@pytest.mark.parametrize(("paper", "mode"), [(58, "native"), (80, "native"), (58, "raster"), (80, "raster")])
def test_preview_draws_a_readable_receipt(paper: PaperWidth, mode: Mode) -> None:
    options = ReceiptOptions(paper_mm=paper, mode=mode)
    stream = render_danfe(xml=notes.authorized_xml(), pdf=notes.danfe_pdf(), options=options)
    image = render_preview_image(stream, paper)
    assert isinstance(image, Image.Image)
    assert image.width == options.width_dots + 2 * MARGIN
    assert image.height > 600
    payload, _ = read_qr(image)  # the native QR is redrawn from its payload, the raster one pasted
    assert payload == QR
    # Text is drawn: some rows near the top have ink.
    top = image.crop((0, 0, image.width, 60)).convert("L")
    assert min(top.tobytes()) < 100


def test_preview_refuses_streams_it_cannot_decode() -> None:
    with pytest.raises(EscposDecodeError):
        render_preview_image(b"\x1b@\x1d(L\x02\x0002", 80)


@pytest.mark.parametrize("native_qr", [True, False])
def test_test_page(native_qr: bool) -> None:
    config = PrinterConfig(paper_mm=58, codepage="cp850", native_qr=native_qr)
    stream = render_test_page(config)
    options = ReceiptOptions.from_config(config)
    receipt = decode(stream, options)
    assert_well_formed(receipt, options)
    text = flat(receipt)
    assert "Pão de Açúcar - São Paulo: AÇÃO" in text
    assert "PC850 (Multilingual)" in text
    assert any(line.startswith("Tabela ESC t") and line.endswith(" 2") for line in receipt.lines)
    assert receipt.drawer_pulses == []
    if native_qr:
        assert [qr.text for qr in receipt.qr_codes] == [TEST_QR]
    else:
        qr_image, band = receipt.images
        assert read_qr(qr_image)[0] == TEST_QR
        assert band.width == 384
