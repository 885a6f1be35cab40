"""``posapp print danfe (--pdf FILE | --xml FILE | --chave CHAVE) --printer URI
[--paper 58|80] [--mode native|raster]``.

Exit codes (README, "Issue and cancel from the command line"): 0 printed; 2 bad input
(unreadable file, unknown chave, bad option: nothing printed); 7 printer failure (a printer
URI that names no printer we can open, printer off, unplugged, no paper): the README's "7
printer failure" covers every reason the receipt did not reach a printer. Messages for people
go to stderr in Portuguese. With ``--printer
preview`` the receipt is decoded and its text written to stdout, a quick way to see a
DANFE without paper.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from posapp.errors import PosappError
from posapp.printing.connections import PreviewSink, open_connection
from posapp.printing.errors import DocumentError, InvalidPrinterUri, PrinterError
from posapp.printing.escpos_decode import decode_escpos
from posapp.printing.options import ReceiptOptions
from posapp.printing.render import render_danfe
from posapp.printing.spool import deliver

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_PRINTER = 7

DocumentLoader = Callable[[str], tuple[bytes | None, bytes | None]]


def _read(path: object, what: str, err: TextIO) -> bytes | None:
    try:
        return Path(str(path)).read_bytes()
    except OSError as exc:
        err.write(f"Não foi possível ler o {what} {path}: {exc.strerror or exc}\n")
        return None


def print_danfe_command(
    args: argparse.Namespace,
    load_documents_by_chave: DocumentLoader | None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    xml: bytes | None = None
    pdf: bytes | None = None
    pdf_arg, xml_arg, chave = (
        getattr(args, "pdf", None),
        getattr(args, "xml", None),
        getattr(args, "chave", None),
    )
    if sum(value is not None for value in (pdf_arg, xml_arg, chave)) != 1:
        err.write("Informe exatamente um de --pdf, --xml ou --chave.\n")
        return EXIT_BAD_INPUT
    if pdf_arg is not None:
        pdf = _read(pdf_arg, "PDF", err)
        if pdf is None:
            return EXIT_BAD_INPUT
    elif xml_arg is not None:
        xml = _read(xml_arg, "XML", err)
        if xml is None:
            return EXIT_BAD_INPUT
    else:
        if load_documents_by_chave is None:
            err.write("Impressão por chave precisa do diário de vendas, que não está disponível aqui.\n")
            return EXIT_BAD_INPUT
        try:
            xml, pdf = load_documents_by_chave(str(chave))
        except PosappError as exc:
            err.write(f"{exc.user_message}\n")
            return EXIT_BAD_INPUT
        if xml is None and pdf is None:
            err.write(f"Nenhum XML ou PDF guardado para a chave {chave}.\n")
            return EXIT_BAD_INPUT

    mode = getattr(args, "mode", None) or ("raster" if xml is None else "native")
    paper = getattr(args, "paper", None) or 80
    if paper not in (58, 80) or mode not in ("native", "raster"):
        err.write("Use --paper 58 ou 80 e --mode native ou raster.\n")
        return EXIT_BAD_INPUT
    used = "native" if xml is not None and (mode == "native" or pdf is None) else "raster"
    try:
        options = ReceiptOptions(
            paper_mm=58 if paper == 58 else 80,
            mode="native" if mode == "native" else "raster",
            codepage=getattr(args, "codepage", None) or "cp860",
            open_drawer=False,  # a reprint from the command line never opens the till
        )
        data = render_danfe(xml=xml, pdf=pdf, options=options)
    except (DocumentError, ValueError) as exc:
        err.write(f"{getattr(exc, 'user_message', None) or exc}\n")
        return EXIT_BAD_INPUT

    uri = str(args.printer)
    sink = PreviewSink()
    try:
        deliver(lambda u: open_connection(u, preview_sink=sink), uri, data)
    except InvalidPrinterUri as exc:  # the printer named cannot be reached: a printer failure
        err.write(f"{exc.user_message}\n")
        return EXIT_PRINTER
    except PrinterError as exc:
        err.write(f"{exc.user_message}\n")
        return EXIT_PRINTER
    if uri.strip() == "preview":
        receipt = decode_escpos(data, tables=options.table_map())
        out.write(receipt.text + "\n")
        for qr in receipt.qr_codes:
            out.write(f"[QR {qr.width_mm:.1f} mm] {qr.text}\n")
        for image in receipt.images:
            out.write(f"[imagem {image.width}x{image.height} pontos]\n")
    else:
        out.write(f"DANFE enviado para {uri} ({len(data)} bytes, modo {used}, {options.paper_mm} mm).\n")
    return EXIT_OK
