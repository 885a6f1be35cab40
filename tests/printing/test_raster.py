"""The raster DANFE from the issuer's PDF: the real vendor PDF (a Letter page) and a
simulator-style receipt-width PDF, at both widths; the QR read back with zxing-cpp."""

from __future__ import annotations

from dataclasses import replace

import pytest

from posapp.printing import CancelMark, ReceiptOptions, parse_danfe_xml, render_danfe
from posapp.printing.errors import NothingToPrint, RasterError
from posapp.printing.escpos_decode import RasterBand
from posapp.printing.escpos_writer import DEFAULT_BAND_BYTES
from posapp.printing.options import PaperWidth
from tests.printing import notes
from tests.printing.checks import MIN_QR_DOTS, assert_well_formed, decode, flat, read_qr

PAPERS: list[PaperWidth] = [58, 80]
QR = parse_danfe_xml(notes.authorized_xml()).qr_code


@pytest.mark.parametrize("paper", PAPERS)
def test_vendor_pdf(paper: PaperWidth) -> None:
    options = ReceiptOptions(paper_mm=paper, mode="raster", open_drawer=True, had_cash=True)
    stream = render_danfe(pdf=notes.danfe_pdf(), options=options)
    receipt = decode(stream, options)
    assert_well_formed(receipt, options)
    (image,) = receipt.images
    assert image.width == options.width_dots
    assert 400 < image.height < 2000
    payload, width = read_qr(image)
    assert payload == QR
    assert width >= MIN_QR_DOTS - 10  # >= 25 mm even on 58 mm paper (zxing measures centre to centre)
    bands = [e for e in receipt.events if isinstance(e, RasterBand)]
    assert all(len(b.image.tobytes()) <= DEFAULT_BAND_BYTES for b in bands)  # small printer buffers
    assert len(stream) <= 2 * receipt.raster_bytes
    assert len(receipt.drawer_pulses) == 1
    assert receipt.qr_codes == []


def test_thresholded_not_dithered() -> None:
    """Dithering breaks QR codes: a 50 % grey area must come out solid, not as a checkerboard."""
    options = ReceiptOptions(paper_mm=80, mode="raster")
    (image,) = decode(render_danfe(pdf=notes.grey_box_pdf(), options=options), options).images
    assert image.width == 576
    inside = image.crop((10, 10, image.width - 10, image.height - 10)).convert("L").tobytes()
    assert inside.count(0) == len(inside)


@pytest.mark.parametrize("paper", PAPERS)
def test_simulator_style_narrow_pdf(paper: PaperWidth) -> None:
    payload = "https://www.homologacao.nfce.fazenda.sp.gov.br/qrcode?p=35240611222333000181650010000000421000000420|2|2|1|ABCDEF0123456789"
    lines = [
        "Pão de Açúcar",
        "CNPJ: 11.222.333/0001-81",
        "DANFE NFC-e",
        "Troco R$ 6,10",
        "Valor a pagar R$ 93,90",
    ]
    pdf = notes.narrow_danfe_pdf(lines, payload, width_mm=80, qr_mm=28)
    options = ReceiptOptions(paper_mm=paper, mode="raster")
    receipt = decode(render_danfe(pdf=pdf, options=options), options)
    assert_well_formed(receipt, options)
    (image,) = receipt.images
    found, width = read_qr(image)
    assert found == payload
    assert width >= MIN_QR_DOTS - 10


def test_mode_fallbacks() -> None:
    native = ReceiptOptions(paper_mm=80, mode="native")
    raster = replace(native, mode="raster")
    # native asked, only the PDF stored (an old sale): raster
    assert decode(render_danfe(pdf=notes.danfe_pdf(), options=native), native).images
    # raster asked, only the XML (online providers return no PDF): native
    assert decode(render_danfe(xml=notes.authorized_xml(), options=raster), raster).qr_codes
    # both: the mode decides; raster with the XML knows the sale had cash
    with_drawer = replace(raster, open_drawer=True)
    both = decode(
        render_danfe(xml=notes.authorized_xml(), pdf=notes.danfe_pdf(), options=with_drawer), with_drawer
    )
    assert both.images and not both.qr_codes and len(both.drawer_pulses) == 1
    card = decode(render_danfe(xml=notes.card_xml(), pdf=notes.danfe_pdf(), options=with_drawer), with_drawer)
    assert card.drawer_pulses == []
    with pytest.raises(NothingToPrint):
        render_danfe(options=native)


def test_cancelled_raster_reprint_is_marked() -> None:
    options = ReceiptOptions(paper_mm=58, mode="raster", cancelled=CancelMark(protocol="353180004176525"))
    receipt = decode(render_danfe(pdf=notes.danfe_pdf(), options=options), options)
    assert_well_formed(receipt, options)
    assert "CANCELADA" in receipt.text_lines[0].text
    assert "Protocolo de cancelamento: 353180004176525" in flat(receipt)


@pytest.mark.parametrize("pdf", [b"%PDF-1.4 not really", b"", notes.blank_pdf()])
def test_unusable_pdf_is_a_clear_error(pdf: bytes) -> None:
    with pytest.raises(RasterError) as info:
        render_danfe(pdf=pdf, options=ReceiptOptions(mode="raster"))
    assert "PDF do DANFE" in info.value.user_message


def test_every_page_is_printed() -> None:
    """A two-page DANFE: the first page's items and the last page's QR are both on paper."""
    payload = "https://www.homologacao.nfce.fazenda.sp.gov.br/qrcode?p=35240611222333000181650010000000421000000420|2|2|1|ABCDEF0123456789"
    options = ReceiptOptions(paper_mm=80, mode="raster")
    receipt = decode(render_danfe(pdf=notes.two_page_pdf(payload), options=options), options)
    assert_well_formed(receipt, options)
    (image,) = receipt.images
    found, width = read_qr(image)  # from page 2
    assert found == payload and width >= MIN_QR_DOTS - 10
    grey = image.convert("L")
    # page 1's solid bar (70 of the ~73 mm ink width) is the first thing printed
    top_row = grey.crop((0, 5, grey.width, 6)).tobytes()
    assert top_row.count(0) > 0.8 * grey.width
    # and its 20 item lines come before the QR: far taller than page 2 alone
    assert image.height > 20 * 11 * options.width_dots / (73 * 2.835)


def test_finder_run_starts_at_the_first_dark_pixel() -> None:
    from posapp.printing.raster import finder_run

    assert finder_run(bytes([0] * 70 + [255] * 10)) == 70
    assert finder_run(bytes([200, 140] + [0] * 70 + [255] * 10)) == 70  # anti-aliased left edge
    assert finder_run(bytes([255] * 10)) == 0


def test_qr_fallback_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    options = ReceiptOptions(paper_mm=80, mode="raster")
    with caplog.at_level("WARNING", logger="posapp.printing"):
        receipt = decode(render_danfe(pdf=notes.square_block_pdf(), options=options), options)
    (image,) = receipt.images
    assert image.width == options.width_dots
    assert any("not re-gridded" in record.getMessage() for record in caplog.records)
