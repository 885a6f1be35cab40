"""The simulated DANFE NFC-e PDF: rendered by pypdfium2, read back as text and as a QR code."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from posapp.domain.documents import parse_chave
from posapp.sim.danfe_pdf import build_danfe_pdf
from posapp.sim.nfce_xml import SimItem, SimNote, build_nfeproc_xml, make_chave
from tests.sim.emites_wire import HAS_REPORTLAB, NFE
from tests.sim.test_nfce_xml import fixture_like_note

pytestmark = pytest.mark.skipif(not HAS_REPORTLAB, reason="reportlab (optional) draws the DANFE")

PRINTER_DPI = 203  # a thermal printer's resolution: what the raster path renders at
MM_PER_INCH = 25.4


def pdf_text_and_size(pdf: bytes) -> tuple[str, tuple[float, float], int]:
    doc = pdfium.PdfDocument(pdf)
    try:
        pages = len(doc)
        page = doc[0]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        size = page.get_size()
        textpage.close()
        page.close()
    finally:
        doc.close()
    return " ".join(text.split()), size, pages


def render(pdf: bytes, dpi: int = PRINTER_DPI) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        image: Image.Image = page.render(scale=dpi / 72).to_pil()  # pypdfium2 is untyped
        page.close()
    finally:
        doc.close()
    return image


def xml_qr_code(note: SimNote) -> str:
    root = ET.fromstring(build_nfeproc_xml(note))
    qr = root.find(f".//{NFE}infNFeSupl/{NFE}qrCode")
    assert qr is not None and qr.text
    return qr.text


def assert_in_order(text: str, *markers: str) -> None:
    position = -1
    for marker in markers:
        found = text.find(marker, position + 1)
        assert found > position, f"{marker!r} missing or out of order"
        position = found


def test_page_is_a_80mm_receipt_with_the_blocks_in_order() -> None:
    note = fixture_like_note(inf_cpl="Volte sempre! PDV-REF:abc123")
    text, (width, height), pages = pdf_text_and_size(build_danfe_pdf(note))
    assert pages == 1
    assert abs(width - 80 / MM_PER_INCH * 72) < 0.5
    assert height > width
    assert_in_order(
        text,
        "Organizacao Teste NFCe / DF",
        "CNPJ: 22.769.530/0001-31",
        "Documento Auxiliar da Nota Fiscal de Consumidor Eletrônica",
        "EMITIDA EM AMBIENTE DE HOMOLOGAÇÃO - SEM VALOR FISCAL",
        "14600",
        "739 UN x 0,41",
        "301,95",
        "Qtd. Total de Itens 2",
        "Valor a Pagar R$ 603,90",
        "Dinheiro 603,90",
        "Troco R$ 0,00",
        "Consulte pela Chave de Acesso em",
        "http://dec.fazenda.df.gov.br/NFCE/",
        parse_chave(note.chave).grouped(),
        "CONSUMIDOR - CPF: 861.522.888-43",
        "NFC-e nº 276 Série 111 09/10/2018 09:53:13",
        "Protocolo de Autorização: 353180004134006",
        "Data de Autorização: 09/10/2018 09:53:16",
        "Consulta via leitor de QR Code",
        "Tributos Totais Incidentes (Lei Federal 12.741/2012) R$ 164,56",
        "Volte sempre! PDV-REF:abc123",
    )
    assert "5318 1022 7695 3000 0131 6511 1000 0002 7611 0111 7841" in text  # the fixture's key


def test_qr_code_decodes_from_a_203_dpi_thresholded_render() -> None:
    note = fixture_like_note()
    image = render(build_danfe_pdf(note))
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [xml_qr_code(note)]
    # The raster printing path thresholds (never dithers): the symbol must survive that.
    binary = image.convert("L").point(lambda v: 255 if v >= 128 else 0)
    (result,) = zxingcpp.read_barcodes(binary)
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.text == xml_qr_code(note)
    width_dots = result.position.top_right.x - result.position.top_left.x
    assert width_dots >= 25 / MM_PER_INCH * PRINTER_DPI  # at least 25 mm wide


def test_unidentified_consumer_in_production_has_no_homologation_notice() -> None:
    note = fixture_like_note(customer_document=None, customer_name=None, environment=1)
    text, _, _ = pdf_text_and_size(build_danfe_pdf(note))
    assert "CONSUMIDOR NÃO IDENTIFICADO" in text
    assert "HOMOLOGAÇÃO" not in text
    assert "CPF" not in text


def test_contingency_danfe_says_so_and_has_no_protocol() -> None:
    base = fixture_like_note()
    chave = make_chave(
        emitter=base.emitter, serie=111, numero=276, emitted_at=base.emitted_at, code="10111784", tp_emis=9
    )
    note = replace(base, chave=chave, tp_emis=9, protocolo=None)
    pdf = build_danfe_pdf(note)
    text, _, _ = pdf_text_and_size(pdf)
    assert_in_order(text, "EMITIDA EM CONTINGÊNCIA", "Pendente de autorização", "Consulte pela Chave")
    assert "Protocolo de Autorização" not in text
    (result,) = zxingcpp.read_barcodes(render(pdf))
    assert result.text == xml_qr_code(note)
    assert result.text.count("|") == 7  # the offline payload


def test_output_is_deterministic_and_grows_with_the_items() -> None:
    note = fixture_like_note()
    assert build_danfe_pdf(note) == build_danfe_pdf(note)
    many = tuple(
        SimItem(
            code=f"{i:04d}",
            description=f"Produto de teste número {i} com uma descrição bem comprida para quebrar a linha",
            ncm="19059090",
            quantity=Decimal(1),
            unit_price=Decimal("1.00"),
        )
        for i in range(40)
    )
    _, (_, short), _ = pdf_text_and_size(build_danfe_pdf(note))
    text, (_, tall), pages = pdf_text_and_size(build_danfe_pdf(replace(note, items=many)))
    assert pages == 1 and tall > short * 2
    assert "Produto de teste número 39" in text
