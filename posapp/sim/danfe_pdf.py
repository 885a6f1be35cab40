"""The DANFE NFC-e as Emites-Client returns it: a PDF, here an 80 mm receipt page.

The real sandbox PDF (``danfe_nfce_df_homologacao.pdf``) is a Letter page with a narrow
receipt column in the middle; ours is the column alone (80 mm wide, as tall as the
content), which is what the raster printing path crops a PDF to anyway. The blocks follow
the DANFE NFC-e manual, in order:

1. emitter (name, CNPJ, IE, address);
2. "Documento Auxiliar da Nota Fiscal de Consumidor Eletrônica" and the homologação /
   contingência notices;
3. items; 4. totals; 5. payments and *Troco*;
6. "Consulte pela Chave de Acesso em" + ``urlChave`` + the key in groups of four;
7. the consumer, or "CONSUMIDOR NÃO IDENTIFICADO"; number, series, emission date, protocol;
8. the QR code (vector modules from ``segno``, 30 mm wide: crisp at any resolution, so a
   203-dpi thermal render still decodes);
9. the Lei 12.741 tax total and ``infCpl``.

Text uses the standard Helvetica fonts (WinAnsi covers every Portuguese letter). The
output is deterministic (``invariant``): the same note gives the same bytes. reportlab is
optional and imported only when a PDF is drawn (:func:`build_danfe_pdf_or_none`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import segno

from posapp.domain.documents import format_cpf_cnpj
from posapp.domain.money import format_brl
from posapp.sim.nfce_xml import (
    CONTINGENCY_NOTICE,
    HOMOLOGACAO_NOTICE,
    SimEmitter,
    SimNote,
    build_nfeproc_xml,
    consult_urls,
    local_timezone,
    nfe_digest_value,
    qr_code_url,
)
from posapp.sim.optional import missing_package, report_missing

if TYPE_CHECKING:  # reportlab is optional and imported when a PDF is drawn
    from reportlab.pdfgen.canvas import Canvas

mm = 72 / 25.4  # points per millimetre, as reportlab.lib.units.mm
PAGE_WIDTH = 80 * mm
MARGIN = 4 * mm
QR_SIZE = 30 * mm  # the manual asks for at least 25 mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN

_REGULAR = "Helvetica"
_BOLD = "Helvetica-Bold"
_BODY = 7.0
_SMALL = 6.5
_TITLE = 8.0

TITLE = "Documento Auxiliar da Nota Fiscal de Consumidor Eletrônica"
CONSULT_BY_KEY = "Consulte pela Chave de Acesso em"
UNIDENTIFIED_CONSUMER = "CONSUMIDOR NÃO IDENTIFICADO"
LAW_12741 = "Tributos Totais Incidentes (Lei Federal 12.741/2012)"

Draw = Callable[["Canvas", float], None]  # (canvas, page height): each op places itself


@dataclass
class _Layout:
    """Lays rows out top-down (``y`` is the distance from the top of the page); the page is
    then made exactly as tall as the rows, and each op converts to PDF coordinates."""

    ops: list[Draw] = field(default_factory=list)
    y: float = MARGIN

    def space(self, height: float) -> None:
        self.y += height

    def _line(self, paint: Callable[[Canvas, float], None], size: float) -> None:
        baseline = self.y + size * 0.95
        self.ops.append(lambda canvas, height: paint(canvas, height - baseline))
        self.y += size * 1.25

    def text(self, text: str, *, size: float = _BODY, bold: bool = False, align: str = "center") -> None:
        from reportlab.lib.utils import simpleSplit

        font = _BOLD if bold else _REGULAR
        for line in simpleSplit(text, font, size, CONTENT_WIDTH) or [""]:
            self._line(_text_op(line, font, size, align), size)

    def pair(self, left: str, right: str, *, size: float = _BODY, bold: bool = False) -> None:
        """``left`` at the margin, ``right`` flush right; ``left`` wraps before ``right``."""
        from reportlab.lib.utils import simpleSplit
        from reportlab.pdfbase.pdfmetrics import stringWidth

        font = _BOLD if bold else _REGULAR
        room = CONTENT_WIDTH - stringWidth(right, font, size) - 2 * mm
        lines = simpleSplit(left, font, size, room) or [""]
        for line in lines[:-1]:
            self._line(_text_op(line, font, size, "left"), size)
        last = lines[-1]

        def paint(canvas: Canvas, baseline: float) -> None:
            canvas.setFont(font, size)
            canvas.drawString(MARGIN, baseline, last)
            canvas.drawRightString(PAGE_WIDTH - MARGIN, baseline, right)

        self._line(paint, size)

    def rule(self) -> None:
        self.y += 1.2 * mm
        at = self.y

        def draw(canvas: Canvas, height: float) -> None:
            canvas.setLineWidth(0.4)
            canvas.setDash(1.5, 1.5)
            canvas.line(MARGIN, height - at, PAGE_WIDTH - MARGIN, height - at)
            canvas.setDash()

        self.ops.append(draw)
        self.y += 1.6 * mm

    def qr(self, payload: str) -> None:
        """The QR code as filled rectangles (runs of dark modules), ``QR_SIZE`` wide."""
        code = segno.make_qr(payload, error="m")
        rows = [[bool(v) for v in row] for row in code.matrix_iter(scale=1, border=0)]
        modules = len(rows)
        module = QR_SIZE / modules
        top = self.y
        left = (PAGE_WIDTH - QR_SIZE) / 2

        def draw(canvas: Canvas, height: float) -> None:
            canvas.setFillColorRGB(0, 0, 0)
            for r, row in enumerate(rows):
                bottom = height - top - (r + 1) * module
                c = 0
                while c < modules:
                    if not row[c]:
                        c += 1
                        continue
                    start = c
                    while c < modules and row[c]:
                        c += 1
                    canvas.rect(left + start * module, bottom, (c - start) * module, module, stroke=0, fill=1)

        self.ops.append(draw)
        self.y += QR_SIZE


def _text_op(line: str, font: str, size: float, align: str) -> Callable[[Canvas, float], None]:
    def paint(canvas: Canvas, baseline: float) -> None:
        canvas.setFont(font, size)
        if align == "center":
            canvas.drawCentredString(PAGE_WIDTH / 2, baseline, line)
        elif align == "right":
            canvas.drawRightString(PAGE_WIDTH - MARGIN, baseline, line)
        else:
            canvas.drawString(MARGIN, baseline, line)

    return paint


def _when(moment: datetime, uf: str) -> str:
    return moment.astimezone(local_timezone(uf)).strftime("%d/%m/%Y %H:%M:%S")


def _quantity(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text.replace(".", ",")


def _emitter_block(lay: _Layout, emitter: SimEmitter) -> None:
    lay.text(emitter.trade_name or emitter.name, size=_TITLE, bold=True)
    if emitter.trade_name and emitter.trade_name != emitter.name:
        lay.text(emitter.name)
    lay.text(f"CNPJ: {format_cpf_cnpj(emitter.cnpj)}   IE: {emitter.ie}")
    lay.text(
        f"{emitter.address}, {emitter.number}, {emitter.district}, "
        f"{emitter.city} - {emitter.uf}, CEP: {emitter.cep}"
    )


def _title_block(lay: _Layout, note: SimNote) -> None:
    lay.text(f"DANFE NFC-e - {TITLE}", bold=True)
    lay.text("Não permite aproveitamento de crédito de ICMS", size=_SMALL)
    if note.environment == 2:
        lay.text(HOMOLOGACAO_NOTICE, bold=True)
    if note.contingency:
        lay.text(CONTINGENCY_NOTICE, bold=True)
        lay.text("Pendente de autorização", bold=True)


def _items_block(lay: _Layout, note: SimNote) -> None:
    lay.pair("#  Código  Descrição", "", size=_SMALL, bold=True)
    lay.pair("Qtde  Un  x  Vl Unit R$", "Vl Total R$", size=_SMALL, bold=True)
    for index, item in enumerate(note.items, start=1):
        lay.text(f"{index:03d}  {item.code}  {item.description}", size=_SMALL, align="left")
        lay.pair(
            f"      {_quantity(item.quantity)} {item.unit} x {format_brl(item.unit_price)}",
            format_brl(item.vprod),
            size=_SMALL,
        )
        if item.discount > 0:
            lay.pair("      Desconto", f"-{format_brl(item.discount)}", size=_SMALL)


def _totals_block(lay: _Layout, note: SimNote) -> None:
    lay.pair("Qtd. Total de Itens", str(len(note.items)))
    lay.pair("Valor Total R$", format_brl(note.gross_total))
    if note.discount_total > 0:
        lay.pair("Desconto R$", f"-{format_brl(note.discount_total)}")
    lay.pair("Valor a Pagar R$", format_brl(note.total), bold=True)
    lay.pair("FORMA DE PAGAMENTO", "VALOR PAGO R$", bold=True)
    for payment in note.payments:
        lay.pair(payment.label, format_brl(payment.amount))
    lay.pair("Troco R$", format_brl(note.troco))


def _key_block(lay: _Layout, note: SimNote) -> None:
    _, url_chave = consult_urls(note.emitter.uf)
    lay.text(CONSULT_BY_KEY, bold=True)
    lay.text(url_chave)
    lay.text(note.key.grouped())


def _consumer_block(lay: _Layout, note: SimNote) -> None:
    document = note.customer_document
    if document:
        kind = {11: "CPF", 14: "CNPJ"}.get(len(document), "Id. Estrangeiro")
        shown = format_cpf_cnpj(document) if kind != "Id. Estrangeiro" else document
        lay.text(f"CONSUMIDOR - {kind}: {shown}", bold=True)
        if note.customer_name:
            lay.text(note.customer_name)
    else:
        lay.text(UNIDENTIFIED_CONSUMER, bold=True)
    uf = note.emitter.uf
    lay.text(f"NFC-e nº {note.numero}  Série {note.serie}  {_when(note.emitted_at, uf)}", bold=True)
    if note.protocolo:
        lay.text(f"Protocolo de Autorização: {note.protocolo}")
        lay.text(f"Data de Autorização: {_when(note.authorized_at, uf)}")
    else:
        lay.text(f"{CONTINGENCY_NOTICE} - Pendente de autorização")


def build_danfe_pdf(note: SimNote, *, qr_url: str | None = None) -> bytes:
    """The DANFE NFC-e of ``note`` as PDF bytes (80 mm wide, as tall as needed).

    The QR code carries ``qr_url`` when given (pass the ``qrCode`` of the XML you return
    alongside); otherwise it is computed the way :func:`~posapp.sim.nfce_xml.build_nfeproc_xml`
    computes it, so both always agree. Raises ``ImportError`` without reportlab (see
    :func:`build_danfe_pdf_or_none`).
    """
    from reportlab.pdfgen.canvas import Canvas  # first, so a missing reportlab fails before any work

    if qr_url is None:
        digest = nfe_digest_value(build_nfeproc_xml(note)) or ""
        qr_url = qr_code_url(note, digest)
    lay = _Layout()
    _emitter_block(lay, note.emitter)
    lay.rule()
    _title_block(lay, note)
    lay.rule()
    _items_block(lay, note)
    lay.rule()
    _totals_block(lay, note)
    lay.rule()
    _key_block(lay, note)
    lay.rule()
    _consumer_block(lay, note)
    lay.space(2 * mm)
    lay.text("Consulta via leitor de QR Code", size=_SMALL)
    lay.space(2.5 * mm)  # quiet zone above the symbol
    lay.qr(qr_url)
    lay.space(2.5 * mm)
    lay.pair(LAW_12741, f"R$ {format_brl(note.tax_total)}", size=_SMALL)
    if note.inf_cpl:
        lay.text(note.inf_cpl, size=_SMALL, align="left")
    lay.space(MARGIN)

    height = lay.y
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, height), invariant=True, pageCompression=1)
    canvas.setTitle(f"DANFE NFC-e {note.chave}")
    canvas.setAuthor("posapp simulator")
    canvas.setSubject("Documento Auxiliar da NFC-e (simulado)")
    for draw in lay.ops:
        canvas.saveState()
        draw(canvas, height)
        canvas.restoreState()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def build_danfe_pdf_or_none(note: SimNote, *, qr_url: str | None = None) -> bytes | None:
    """:func:`build_danfe_pdf`, or ``None`` when reportlab (not a core dependency) is not
    installed: the simulator then answers without a DANFE, as online providers do, and
    says why once in the log."""
    try:
        return build_danfe_pdf(note, qr_url=qr_url)
    except ImportError as exc:
        if not missing_package(exc, "reportlab"):
            raise
        report_missing("reportlab", "the Emites simulator answers without a DANFE PDF (no danfe field)")
        return None
