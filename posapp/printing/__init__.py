"""DANFE NFC-e on ESC/POS receipt printers.

* rendering (pure, bytes out): :func:`render_danfe` (native from the XML, raster from
  the PDF), :func:`render_test_page`, options in :class:`ReceiptOptions`;
* checking and showing: :func:`decode_escpos` (our decoder, the tests' oracle) and
  :func:`render_preview_image` (the on-screen printer);
* printers: :func:`open_connection` from a URI (blocking: use an executor), and the
  asyncio :class:`PrintSpool` (one job at a time per printer, retries, journal records).

A print failure never changes the fiscal state of a sale.
"""

from __future__ import annotations

from posapp.printing.connections import PREVIEW_SINK, PreviewSink, PrinterConnection, open_connection
from posapp.printing.danfe_model import DanfeData, parse_danfe_xml
from posapp.printing.errors import (
    DanfeDataError,
    DocumentError,
    EscposDecodeError,
    InvalidPrinterUri,
    NothingToPrint,
    PaperOut,
    PrinterError,
    PrinterOffline,
    PrintingError,
    RasterError,
)
from posapp.printing.escpos_decode import DecodedReceipt, decode_escpos
from posapp.printing.options import CancelMark, ReceiptOptions, cancel_mark_from_event
from posapp.printing.preview import render_preview_image
from posapp.printing.render import render_danfe, render_test_page
from posapp.printing.spool import (
    MemoryRecorder,
    PrintJob,
    PrintOutcome,
    PrintRecorder,
    PrintSpool,
    print_danfe,
)
from posapp.printing.status import PrinterStatus

__all__ = [
    "PREVIEW_SINK",
    "CancelMark",
    "DanfeData",
    "DanfeDataError",
    "DecodedReceipt",
    "DocumentError",
    "EscposDecodeError",
    "InvalidPrinterUri",
    "MemoryRecorder",
    "NothingToPrint",
    "PaperOut",
    "PreviewSink",
    "PrintJob",
    "PrintOutcome",
    "PrintRecorder",
    "PrintSpool",
    "PrinterConnection",
    "PrinterError",
    "PrinterOffline",
    "PrinterStatus",
    "PrintingError",
    "RasterError",
    "ReceiptOptions",
    "cancel_mark_from_event",
    "decode_escpos",
    "open_connection",
    "parse_danfe_xml",
    "print_danfe",
    "render_danfe",
    "render_preview_image",
    "render_test_page",
]
