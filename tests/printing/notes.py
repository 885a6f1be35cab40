"""Test documents: the vendor fixtures, and notes derived from them the way a simulator
would produce them (accented names, cash with change, card, discount, contingency,
consumer variants), plus narrow DANFE PDFs drawn with reportlab."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "printing"
NFE_NS = "http://www.portalfiscal.inf.br/nfe"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
ET.register_namespace("", NFE_NS)
ET.register_namespace("ds", DSIG_NS)


def q(tag: str) -> str:
    return f"{{{NFE_NS}}}{tag}"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def authorized_xml() -> bytes:
    return fixture("nfce_authorized_df_homologacao.xml")


def danfe_pdf() -> bytes:
    return fixture("danfe_nfce_df_homologacao.pdf")


def cancel_event_xml() -> bytes:
    return fixture("nfce_cancel_event_df_homologacao.xml")


def _edit(edit: Callable[[ET.Element], None]) -> bytes:
    root = ET.fromstring(authorized_xml())
    edit(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _inf(root: ET.Element) -> ET.Element:
    inf = root.find(f"{q('NFe')}/{q('infNFe')}")
    assert inf is not None
    return inf


def _set(parent: ET.Element, path: str, value: str) -> None:
    node = parent.find("/".join(q(p) for p in path.split("/")))
    assert node is not None, path
    node.text = value


def _payments(inf: ET.Element, payments: list[tuple[str, str]], change: str | None) -> None:
    pag = inf.find(q("pag"))
    assert pag is not None
    for child in list(pag):
        pag.remove(child)
    for code, amount in payments:
        det = ET.SubElement(pag, q("detPag"))
        ET.SubElement(det, q("tPag")).text = code
        ET.SubElement(det, q("vPag")).text = amount
    if change is not None:
        ET.SubElement(pag, q("vTroco")).text = change


def accented_cash_xml() -> bytes:
    """ "Pão de Açúcar" in "São Paulo", paid 700,00 in cash: 96,10 of change."""

    def edit(root: ET.Element) -> None:
        inf = _inf(root)
        _set(inf, "emit/xNome", "Companhia Brasileira de Distribuição")
        _set(inf, "emit/xFant", "Pão de Açúcar")
        _set(inf, "emit/enderEmit/xLgr", "Avenida Brigadeiro Luís Antônio")
        _set(inf, "emit/enderEmit/xBairro", "Jardim Paulista")
        _set(inf, "emit/enderEmit/xMun", "São Paulo")
        _set(inf, "emit/enderEmit/UF", "SP")
        dets = inf.findall(q("det"))
        _set(dets[0], "prod/xProd", "Pão francês crocante – fornada da manhã")
        _set(dets[1], "prod/xProd", "Açúcar refinado União 1kg")
        _payments(inf, [("01", "700.00")], "96.10")
        inf_adic = ET.SubElement(inf, q("infAdic"))
        ET.SubElement(
            inf_adic, q("infCpl")
        ).text = "Obrigado pela preferência! Volte sempre ao Pão de Açúcar."

    return _edit(edit)


def card_xml() -> bytes:
    """Paid by debit card: the drawer must stay shut."""
    return _edit(lambda root: _payments(_inf(root), [("04", "603.90")], None))


def split_cash_card_xml() -> bytes:
    """Half card, half cash with change."""
    return _edit(lambda root: _payments(_inf(root), [("03", "300.00"), ("01", "310.00")], "6.10"))


def discount_xml() -> bytes:
    """A 3,90 discount on item 2 (vNF 600,00), no consumer identified."""

    def edit(root: ET.Element) -> None:
        inf = _inf(root)
        prod = inf.findall(q("det"))[1].find(q("prod"))
        assert prod is not None
        desc = ET.Element(q("vDesc"))
        desc.text = "3.90"
        ind_tot = prod.find(q("indTot"))
        assert ind_tot is not None
        prod.insert(list(prod).index(ind_tot), desc)
        _set(inf, "total/ICMSTot/vDesc", "3.90")
        _set(inf, "total/ICMSTot/vNF", "600.00")
        _payments(inf, [("17", "600.00")], None)
        dest = inf.find(q("dest"))
        assert dest is not None
        inf.remove(dest)

    return _edit(edit)


def cnpj_consumer_xml() -> bytes:
    def edit(root: ET.Element) -> None:
        dest = _inf(root).find(q("dest"))
        assert dest is not None
        cpf = dest.find(q("CPF"))
        assert cpf is not None
        cpf.tag = q("CNPJ")
        cpf.text = "11222333000181"

    return _edit(edit)


def contingency_xml() -> bytes:
    """An offline-contingency NFe (tpEmis 9), not yet authorized: no protNFe."""
    root = ET.fromstring(authorized_xml())
    nfe = root.find(q("NFe"))
    assert nfe is not None
    inf = _inf(root)
    _set(inf, "ide/tpEmis", "9")
    ide = inf.find(q("ide"))
    assert ide is not None
    ET.SubElement(ide, q("dhCont")).text = "2018-10-09T09:50:00-03:00"
    ET.SubElement(ide, q("xJust")).text = "Sem comunicação com a SEFAZ no momento da venda"
    return bytes(ET.tostring(nfe, encoding="utf-8", xml_declaration=True))


NOTES: dict[str, Callable[[], bytes]] = {
    "fixture": authorized_xml,
    "accented_cash": accented_cash_xml,
    "card": card_xml,
    "split_cash_card": split_cash_card_xml,
    "discount": discount_xml,
    "cnpj_consumer": cnpj_consumer_xml,
    "contingency": contingency_xml,
}


def narrow_danfe_pdf(lines: list[str], qr_payload: str, *, width_mm: float = 80, qr_mm: float = 35) -> bytes:
    """A simulator-style DANFE: a receipt-width page, text lines, and a vector QR code."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    width = width_mm * mm
    line_h = 11.0
    height = (len(lines) + 4) * line_h + qr_mm * mm + 20 * mm
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(width, height), invariant=True)
    y = height - 10 * mm
    pdf.setFont("Helvetica", 8)
    for text in lines:
        pdf.drawCentredString(width / 2, y, text)
        y -= line_h
    widget = QrCodeWidget(qr_payload, barLevel="M", barBorder=0)
    x0, _, x1, _ = widget.getBounds()
    scale = qr_mm * mm / (x1 - x0)
    drawing = Drawing(qr_mm * mm, qr_mm * mm, transform=[scale, 0, 0, scale, 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, (width - qr_mm * mm) / 2, y - qr_mm * mm - 4 * mm)
    pdf.drawCentredString(width / 2, y - qr_mm * mm - 10 * mm, "Protocolo de autorização: 135240000000001")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def blank_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(200, 200), invariant=True)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def grey_box_pdf() -> bytes:
    """A receipt-width page holding a 50 % grey box: thresholding prints it solid,
    dithering would print a checkerboard."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(80 * mm, 40 * mm), invariant=True)
    pdf.setFillGray(0.5)
    pdf.rect(5 * mm, 10 * mm, 70 * mm, 20 * mm, stroke=0, fill=1)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def with_texts(*, product: str, emitter: str, info: str) -> bytes:
    """The fixture with arbitrary product, trade name and contributor message texts."""

    def edit(root: ET.Element) -> None:
        inf = _inf(root)
        _set(inf, "emit/xFant", emitter)
        _set(inf.findall(q("det"))[0], "prod/xProd", product)
        inf_adic = ET.SubElement(inf, q("infAdic"))
        ET.SubElement(inf_adic, q("infCpl")).text = info

    return _edit(edit)


def two_page_pdf(qr_payload: str) -> bytes:
    """A DANFE that runs over two receipt-width pages: a solid bar and text on page 1
    (the items), text and the QR code on page 2 (where the issuer puts it)."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    width, height, qr = 80 * mm, 120 * mm, 30 * mm
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(width, height), invariant=True)
    pdf.rect(5 * mm, height - 15 * mm, 70 * mm, 8 * mm, stroke=0, fill=1)  # page 1 marker
    pdf.setFont("Helvetica", 8)
    for row in range(20):
        pdf.drawString(
            5 * mm, height - 25 * mm - row * 11, f"{row + 1:03d} ITEM DA PAGINA UM  1,00 UN x 2,50"
        )
    pdf.showPage()
    pdf.setFont("Helvetica", 8)
    pdf.drawCentredString(width / 2, height - 10 * mm, "Valor a pagar R$ 50,00")
    widget = QrCodeWidget(qr_payload, barLevel="M", barBorder=0)
    x0, _, x1, _ = widget.getBounds()
    scale = qr / (x1 - x0)
    drawing = Drawing(qr, qr, transform=[scale, 0, 0, scale, 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, (width - qr) / 2, height - 20 * mm - qr)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def square_block_pdf() -> bytes:
    """A receipt-width page whose only ink is a solid square QR-sized block: it looks like
    a QR code to the locator but has no modules, so the raster path must fall back."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(80 * mm, 60 * mm), invariant=True)
    pdf.setFont("Helvetica", 8)
    pdf.drawString(5 * mm, 52 * mm, "TEXTO ACIMA")
    pdf.rect(25 * mm, 10 * mm, 30 * mm, 30 * mm, stroke=0, fill=1)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
