"""The native DANFE NFC-e: text laid out from the authorized XML, with a native QR code.

Blocks in the order of the DANFE NFC-e manual (and of ACBr and sped-da): I emitter;
II title and homologation/contingency notices (each once); III items; IV totals; V
payments (an "Outros" by its own description, xPag) and *Troco*; VI "Consulte pela Chave
de Acesso em" with the URL and the key in groups of four; VII consumer (and address),
number/series/emission, protocol and authorization date ("Pendente de autorização" in its
place while an offline note waits), the fiscal message (infAdFisco, SEFAZ's xMsg); VIII the
QR code; IX Lei 12.741 taxes, the contributor's message and its obsCont fields.

An offline-contingency note not yet authorized is printed twice, "Via Consumidor" and
"Via Estabelecimento" (the store keeps its via until the note is transmitted), each with
its own cut; only the first opens the drawer.

Pure: :class:`~posapp.printing.danfe_model.DanfeData` and options in, bytes out. A
two-item receipt is about 2 KB and renders in a few milliseconds, so it goes over a
9600-baud serial link in a couple of seconds.
"""

from __future__ import annotations

from datetime import datetime

from posapp.devices.drawer import PULSE_LENGTH, is_pulse
from posapp.domain.documents import format_cpf_cnpj
from posapp.domain.money import format_brl
from posapp.printing.danfe_model import DanfeData
from posapp.printing.escpos_writer import EscposWriter
from posapp.printing.lei12741 import lei_12741_lines
from posapp.printing.options import CancelMark, ReceiptOptions
from posapp.printing.qr import centered_on_width, module_size_for, qr_image
from posapp.printing.text_layout import (
    format_datetime,
    format_quantity,
    format_unit_price,
    group_key,
    pair,
    right,
    rule,
    wrap,
)

TITLE = "DANFE NFC-e - Documento Auxiliar da Nota Fiscal de Consumidor Eletrônica"
HOMOLOGATION_NOTICE = "EMITIDA EM AMBIENTE DE HOMOLOGAÇÃO – SEM VALOR FISCAL"
CONTINGENCY_NOTICE = "EMITIDA EM CONTINGÊNCIA"
CONTINGENCY_PENDING = "Pendente de autorização"
VIA_CONSUMER = "Via Consumidor"
VIA_ESTABLISHMENT = "Via Estabelecimento"
FISCAL_MESSAGE = "Mensagem Fiscal"
UNIDENTIFIED_CONSUMER = "CONSUMIDOR NÃO IDENTIFICADO"
QR_EC = "M"


def start_receipt(writer: EscposWriter, options: ReceiptOptions, *, had_cash: bool) -> None:
    """``ESC @`` + code page, then the drawer kick first so the cashier counts change
    while the paper prints."""
    writer.init()
    if options.open_drawer and had_cash:
        writer.drawer_pulse(pin=options.drawer_pin)


def strip_drawer_kick(data: bytes) -> bytes:
    """``data`` without the drawer kick :func:`start_receipt` put after ``ESC @ ESC t n``.

    For reprinting a job that already went (partly) out: the drawer opened then, it must
    not open again. Only that exact position is looked at, so bitmap bytes that happen
    to read ``ESC p`` further on are never touched."""
    header = 5  # ESC @ ESC t n
    kick = data[header : header + PULSE_LENGTH]
    if data[:2] == b"\x1b@" and data[2:4] == b"\x1bt" and is_pulse(kick):
        return data[:header] + data[header + PULSE_LENGTH :]
    return data


def finish_receipt(writer: EscposWriter, options: ReceiptOptions) -> None:
    writer.align("left")
    writer.feed(options.feed_before_cut)
    if options.cut:
        writer.cut(partial=True)


def _local(moment: datetime, like: datetime | None) -> datetime:
    if like is not None and like.tzinfo is not None and moment.tzinfo is not None:
        return moment.astimezone(like.tzinfo)
    return moment


def cancel_banner(writer: EscposWriter, options: ReceiptOptions) -> None:
    """A big CANCELADA at the top: nobody mistakes the reprint for a valid receipt."""
    writer.align("center")
    writer.bold(True)
    writer.size(2, 2)
    writer.line("*** CANCELADA ***" if options.columns // 2 >= 17 else "CANCELADA")
    writer.size(1, 1)
    writer.bold(False)


def cancel_footer(
    writer: EscposWriter, mark: CancelMark, options: ReceiptOptions, *, like: datetime | None = None
) -> None:
    cols = options.columns
    fold = writer.codepage.fold
    writer.align("center")
    writer.bold(True)
    writer.lines(wrap(fold("NFC-e CANCELADA"), cols))
    writer.bold(False)
    protocol = mark.protocol or "não informado"
    writer.lines(wrap(fold(f"Protocolo de cancelamento: {protocol}"), cols))
    if mark.cancelled_at is not None:
        writer.lines(wrap(fold(f"Cancelada em {format_datetime(_local(mark.cancelled_at, like))}"), cols))


def render_native(data: DanfeData, options: ReceiptOptions) -> bytes:
    """The DANFE; two vias while an offline-contingency note waits for its authorization."""
    if not data.pending_contingency:
        return _render_copy(data, options, via=None, first=True)
    return _render_copy(data, options, via=VIA_CONSUMER, first=True) + _render_copy(
        data, options, via=VIA_ESTABLISHMENT, first=False
    )


def _render_copy(data: DanfeData, options: ReceiptOptions, *, via: str | None, first: bool) -> bytes:
    writer = EscposWriter(options.page)
    fold = writer.codepage.fold
    cols = options.columns

    def center(text: str, *, bold: bool = False) -> None:
        writer.align("center")
        writer.bold(bold)
        writer.lines(wrap(fold(text), cols))
        if bold:
            writer.bold(False)

    def left_lines(lines: list[str], *, bold: bool = False) -> None:
        writer.align("left")
        writer.bold(bold)
        writer.lines(lines)
        if bold:
            writer.bold(False)

    start_receipt(writer, options, had_cash=data.had_cash and first)
    if options.cancelled is not None:
        cancel_banner(writer, options)

    # I. Emitter
    emitter = data.emitter
    center(emitter.trade_name or emitter.name, bold=True)
    if emitter.trade_name and emitter.trade_name != emitter.name:
        center(emitter.name)
    document = format_cpf_cnpj(emitter.cnpj)
    ids = [f"CNPJ: {document}"] + ([f"IE: {emitter.ie}"] if emitter.ie else [])
    if len("  ".join(ids)) <= cols:
        ids = ["  ".join(ids)]
    for text in ids:
        center(text)
    if emitter.address:
        center(emitter.address)

    # II. Title and notices
    writer.line(rule(cols))
    center(TITLE, bold=True)
    if data.is_homologation:
        center(HOMOLOGATION_NOTICE, bold=True)
    if data.is_contingency:
        center(CONTINGENCY_NOTICE, bold=True)
    if via is not None:
        center(via, bold=True)
    writer.line(rule(cols))

    # III. Items
    left_lines(
        [fold("#   CÓDIGO DESCRIÇÃO")[:cols], fold("QTD UN x VL UNIT = VL TOTAL").rjust(cols)], bold=True
    )
    item_lines: list[str] = []
    for item in data.items:
        head = fold(f"{item.number:03d} {item.code} {item.description}")
        item_lines.extend(wrap(head, cols, indent=4))
        amounts = fold(
            f"{format_quantity(item.quantity)} {item.unit} x {format_unit_price(item.unit_price)}"
            f" = {format_brl(item.total)}"
        )
        item_lines.extend(right(amounts, cols))
        if item.discount > 0:
            item_lines.extend(right(f"Desconto -{format_brl(item.discount)}", cols))
    left_lines(item_lines)
    writer.line(rule(cols))

    # IV. Totals
    totals = pair("Qtde. total de itens", str(data.item_count), cols)
    totals += pair("Valor total R$", format_brl(data.products_total), cols)
    if data.discount_total > 0:
        totals += pair("Descontos R$", f"-{format_brl(data.discount_total)}", cols)
    if data.surcharge_total > 0:
        totals += pair(fold("Acréscimos R$"), format_brl(data.surcharge_total), cols)
    left_lines(totals)
    left_lines(pair("Valor a Pagar R$", format_brl(data.total), cols), bold=True)

    # V. Payments and change
    left_lines(pair("FORMA DE PAGAMENTO", "VALOR PAGO R$", cols), bold=True)
    payment_lines: list[str] = []
    for payment in data.payments:
        payment_lines += pair(fold(payment.label), format_brl(payment.amount), cols)
    payment_lines += pair("Troco R$", format_brl(data.change), cols)
    left_lines(payment_lines)
    writer.line(rule(cols))

    # VI. Key
    center("Consulte pela Chave de Acesso em", bold=True)
    writer.lines(wrap(fold(data.url_chave), cols))
    writer.lines(group_key(data.chave, cols))
    writer.line(rule(cols))

    # VII. Consumer, identification, protocol
    consumer = data.consumer
    if consumer is None:
        center(UNIDENTIFIED_CONSUMER, bold=True)
    else:
        number = format_cpf_cnpj(consumer.document) if consumer.kind != "ID" else consumer.document
        label = "Id. estrangeiro" if consumer.kind == "ID" else consumer.kind
        center(f"CONSUMIDOR - {label}: {number}", bold=True)
        if consumer.name:
            center(consumer.name)
        if consumer.address:
            center(consumer.address)
    center(f"NFC-e nº {data.numero} Série {data.serie} {format_datetime(data.emitted_at)}", bold=True)
    if data.protocol is not None:
        center(f"Protocolo de autorização: {data.protocol}")
    if data.authorized_at is not None:
        center(f"Data de autorização: {format_datetime(data.authorized_at)}")
    if data.is_contingency and data.protocol is None:
        center(CONTINGENCY_PENDING, bold=True)  # where the protocol goes once authorized
    fiscal = [text for text in (data.fisco_info, data.sefaz_message) if text]
    if fiscal:
        center(FISCAL_MESSAGE, bold=True)
        writer.align("left")
        for text in fiscal:
            writer.lines(wrap(fold(text), cols))

    # VIII. QR code
    center("Consulta via leitor de QR Code")
    write_qr(writer, data.qr_code, options)

    # IX. Taxes and the contributor's message
    for line in lei_12741_lines(data.taxes_total, options.approx_taxes):
        center(line)
    if data.additional_info:
        writer.align("left")
        for paragraph in data.additional_info.replace("|", "\n").splitlines():
            if paragraph.strip():
                writer.lines(wrap(fold(paragraph), cols))
    if data.obs_cont:
        writer.align("left")
        for field, text in data.obs_cont:
            writer.lines(wrap(fold(f"{field}: {text}" if field else text), cols))

    if options.cancelled is not None:
        writer.line(rule(cols))
        cancel_footer(writer, options.cancelled, options, like=data.emitted_at)
    finish_receipt(writer, options)
    return writer.getvalue()


def write_qr(writer: EscposWriter, payload: str, options: ReceiptOptions) -> None:
    """Native ``GS ( k`` or, for printers without it, the same symbol as a raster image."""
    module = module_size_for(payload, width_dots=options.width_dots, ec=QR_EC)
    if options.native_qr:
        writer.align("center")
        writer.qr_native(payload.encode("utf-8"), module_size=module, ec=QR_EC)
        writer.line()
    else:
        writer.align("left")
        writer.raster(centered_on_width(qr_image(payload, module_size=module, ec=QR_EC), options.width_dots))
    writer.align("center")
