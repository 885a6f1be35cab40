"""Text reports (the day close) as ESC/POS, with the printing package's writer: the code
page configured for the printer, selected again after the reset, then the lines, a feed
and a cut."""

from __future__ import annotations

from posapp.config import PrinterConfig


def text_report_escpos(lines: list[str], printer: PrinterConfig) -> bytes:
    from posapp.printing.codepages import resolve_codepage
    from posapp.printing.escpos_writer import EscposWriter

    writer = EscposWriter(resolve_codepage(printer.codepage, printer.codepage_table))
    writer.init()
    writer.lines(lines)
    writer.feed(4)
    if printer.cut:
        writer.cut()
    return writer.getvalue()
