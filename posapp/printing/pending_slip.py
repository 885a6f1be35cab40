"""The non-fiscal slip of a sale whose NFC-e is not issued yet (queued, or in doubt).

The customer leaves with a paper that says what they bought and paid, and that it is *not*
a fiscal document: "NFC-e PENDENTE — NÃO É DOCUMENTO FISCAL", the sale's number (its sale
id, the ``PDV-REF`` the issuer will see), the date and time in the store's time zone, the
items, the total, the payments and the change, and where the DANFE will come from.

Pure: a :class:`~posapp.domain.sale.Sale`, the moment and the receipt options in, ESC/POS
bytes out, laid out with the same helpers as the native DANFE (code-page folding, wrapped
columns), so :func:`posapp.printing.escpos_decode.decode_escpos` reads it back.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from posapp.domain.money import format_brl
from posapp.domain.payments import PaymentMethod
from posapp.domain.sale import Sale
from posapp.printing.escpos_writer import EscposWriter
from posapp.printing.native import finish_receipt, start_receipt
from posapp.printing.options import ReceiptOptions
from posapp.printing.text_layout import (
    format_datetime,
    format_quantity,
    format_unit_price,
    pair,
    right,
    rule,
    wrap,
)

TITLE = "NFC-e PENDENTE"
NOT_FISCAL = "NÃO É DOCUMENTO FISCAL"
QUEUED_NOTE = (
    "A NFC-e desta venda será emitida quando o emissor voltar; o DANFE será impresso na loja "
    "ou ficará listado em Vendas (F12)."
)
IN_DOUBT_NOTE = (
    "O emissor recebeu esta venda mas não respondeu. A loja confere a NFC-e; o DANFE será "
    "impresso na loja ou ficará listado em Vendas (F12)."
)
KEEP_NOTE = "Guarde este comprovante. Peça o DANFE na loja."


def render_pending_slip(
    sale: Sale,
    *,
    at: datetime,
    options: ReceiptOptions,
    in_doubt: bool = False,
    tz: tzinfo | None = None,
    store_name: str | None = None,
) -> bytes:
    """The slip's bytes. ``at`` is when the sale was made (aware); it is printed in ``tz``
    (the store's time zone; ``None``: this machine's). The drawer kicks first when the sale
    had cash and the printer is set to open it: the cashier gives the change now."""
    writer = EscposWriter(options.page)
    fold = writer.codepage.fold
    cols = options.columns
    had_cash = any(p.method is PaymentMethod.DINHEIRO for p in sale.payments)
    start_receipt(writer, options, had_cash=had_cash)

    writer.align("center")
    if store_name:
        writer.lines(wrap(fold(store_name), cols))
    writer.bold(True)
    writer.size(1, 2)
    writer.lines(wrap(fold(TITLE), cols))
    writer.lines(wrap(fold(NOT_FISCAL), cols))
    writer.size(1, 1)
    writer.bold(False)
    writer.line(rule(cols))

    writer.align("left")
    moment = at.astimezone(tz) if at.tzinfo is not None else at
    writer.lines(wrap(fold(f"Venda nº {sale.sale_id}"), cols))
    writer.lines(wrap(fold(f"Data {format_datetime(moment)}"), cols))
    writer.line(rule(cols))

    for number, item in enumerate(sale.items, start=1):
        writer.lines(wrap(fold(f"{number:03d} {item.code} {item.description}"), cols, indent=4))
        amounts = (
            f"{format_quantity(item.quantity)} {fold(item.unit)} x {format_unit_price(item.unit_price)}"
            f" = {format_brl(item.gross_total)}"
        )
        writer.lines(right(amounts, cols))
        if item.discount > 0:
            writer.lines(right(f"Desconto -{format_brl(item.discount)}", cols))
    writer.line(rule(cols))

    count = len(sale.items)
    writer.lines(pair("Qtde. total de itens", str(count), cols))
    if sale.discount_total > 0:
        writer.lines(pair("Valor dos produtos R$", format_brl(sale.gross_total), cols))
        writer.lines(pair("Descontos R$", "-" + format_brl(sale.discount_total), cols))
    writer.bold(True)
    writer.lines(pair("Valor total R$", format_brl(sale.total), cols))
    writer.bold(False)
    writer.lines(pair("FORMA PAGAMENTO", "VALOR PAGO R$", cols))
    for payment in sale.payments:
        writer.lines(pair(fold(payment.method.label), format_brl(payment.amount), cols))
    writer.lines(pair("Troco R$", format_brl(sale.change), cols))
    writer.line(rule(cols))

    writer.align("center")
    writer.lines(wrap(fold(IN_DOUBT_NOTE if in_doubt else QUEUED_NOTE), cols))
    writer.lines(wrap(fold(KEEP_NOTE), cols))
    writer.bold(True)
    writer.lines(wrap(fold(NOT_FISCAL), cols))
    writer.bold(False)
    finish_receipt(writer, options)
    return writer.getvalue()
