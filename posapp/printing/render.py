"""The entry points that turn documents into printer bytes: DANFE and test page.

``render_danfe`` picks the mode: *native* needs the XML, *raster* needs the PDF, and each
falls back to the other when its document is missing (online providers return no
printable PDF; an old sale may have only the PDF). Pure and CPU-bound: call it from an
executor when on an event loop (a raster render takes tens of milliseconds).
"""

from __future__ import annotations

from PIL import Image

from posapp.config import PrinterConfig
from posapp.printing.danfe_model import DanfeData, parse_danfe_xml
from posapp.printing.errors import NothingToPrint
from posapp.printing.escpos_writer import EscposWriter
from posapp.printing.native import (
    cancel_banner,
    cancel_footer,
    finish_receipt,
    render_native,
    start_receipt,
    write_qr,
)
from posapp.printing.options import ReceiptOptions
from posapp.printing.raster import pdf_to_bitmap
from posapp.printing.text_layout import pair, rule, wrap

TEST_SAMPLE = "Pão de Açúcar – São Paulo: AÇÃO, ÉÍÓÚ, àâêôõ, ç"
TEST_QR = "https://www.nfce.fazenda.sp.gov.br/qrcode?p=TESTE-DE-IMPRESSAO"


def render_danfe(*, xml: bytes | None = None, pdf: bytes | None = None, options: ReceiptOptions) -> bytes:
    """The DANFE NFC-e as ESC/POS bytes for the printer described by ``options``."""
    if xml is None and pdf is None:
        raise NothingToPrint(
            "neither XML nor PDF", user_message="Não há XML nem PDF desta nota para imprimir o DANFE."
        )
    data = parse_danfe_xml(xml) if xml is not None else None
    if data is not None and (options.mode == "native" or pdf is None):
        return render_native(data, options)
    assert pdf is not None
    return render_raster(pdf, options, data=data)


def render_raster(pdf: bytes, options: ReceiptOptions, *, data: DanfeData | None = None) -> bytes:
    """The PDF as ``GS v 0`` bands; the cancel mark (if any) as text around it."""
    bitmap = pdf_to_bitmap(pdf, width_dots=options.width_dots)
    writer = EscposWriter(options.page)
    had_cash = options.had_cash or (data is not None and data.had_cash)
    start_receipt(writer, options, had_cash=had_cash)
    if options.cancelled is not None:
        cancel_banner(writer, options)
    writer.align("left")
    writer.raster(bitmap)
    if options.cancelled is not None:
        cancel_footer(writer, options.cancelled, options, like=None if data is None else data.emitted_at)
    finish_receipt(writer, options)
    return writer.getvalue()


def render_test_page(options: ReceiptOptions | PrinterConfig) -> bytes:
    """A page to check a printer: code page and accents, column width, QR, raster, cut.

    Accepts the ``[printer]`` config directly (what the settings dialog holds)."""
    if isinstance(options, PrinterConfig):
        options = ReceiptOptions.from_config(options)
    page = options.page
    cols = options.columns
    writer = EscposWriter(page)
    writer.init()
    writer.align("center")
    writer.bold(True)
    writer.size(2, 2)
    writer.line("TESTE")
    writer.size(1, 1)
    writer.lines(wrap(page.fold("Página de teste - posapp"), cols))
    writer.bold(False)
    writer.align("left")
    writer.line(rule(cols))
    writer.lines(pair(page.fold("Página de código"), page.fold(f"{page.label}"), cols))
    writer.lines(pair("Tabela ESC t", str(page.table), cols))
    writer.lines(pair("Papel", f"{options.paper_mm} mm, {cols} colunas", cols))
    writer.line(rule(cols))
    writer.lines(wrap(page.fold(TEST_SAMPLE), cols))
    writer.line("".join(str(i % 10) for i in range(1, cols + 1)))
    writer.line(rule(cols))
    writer.align("center")
    writer.lines(wrap(page.fold("QR code (deve ter 25 mm ou mais):"), cols))
    write_qr(writer, TEST_QR, options)
    writer.lines(wrap(page.fold("Faixa raster (deve sair contínua):"), cols))
    writer.align("left")
    band = Image.new("1", (options.width_dots, 16), 0)
    writer.raster(band)
    finish_receipt(writer, options)
    return writer.getvalue()


__all__ = ["render_danfe", "render_raster", "render_test_page"]
