"""The slip of a cash movement (*sangria*, *suprimento*, opening float), for signature.

Money that leaves or enters the drawer outside a sale is handed from one person to
another: the slip says what, how much, when (the store's time), who moved it and who
authorized it, what the drawer should hold before and after, any warning the till gave
(a sangria larger than the cash expected in the drawer), and has lines for both
signatures. It is not a fiscal document and says so.

Pure: values in, ESC/POS bytes out, laid out with the same helpers as the DANFE (code-page
folding, wrapped columns), so :func:`posapp.printing.escpos_decode.decode_escpos` reads it
back. It never kicks the drawer.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal

from posapp.domain.money import format_brl
from posapp.printing.escpos_writer import EscposWriter
from posapp.printing.native import finish_receipt, start_receipt
from posapp.printing.options import ReceiptOptions
from posapp.printing.text_layout import format_datetime, pair, rule, wrap

NOT_FISCAL = "NÃO É DOCUMENTO FISCAL"
SIGNATURE_LINE = "_"


def _money(value: Decimal) -> str:
    return ("-" if value < 0 else "") + format_brl(abs(value))


def render_cash_slip(
    *,
    label: str,
    amount: Decimal,
    sign: int,
    at: datetime,
    operator: str,
    options: ReceiptOptions,
    authorized_by: str | None = None,
    note: str = "",
    drawer_before: Decimal | None = None,
    warning: str | None = None,
    tz: tzinfo | None = None,
    store_name: str | None = None,
    copies: int = 1,
) -> bytes:
    """The slip's bytes. ``label`` names the movement ("Sangria"); ``sign`` is how it
    changes the drawer (-1 takes money out); ``drawer_before`` the cash expected in the
    drawer before it (``None``: not shown). ``at`` is printed in ``tz`` (the store's).
    ``copies`` slips in one job, each cut (one for the drawer, one for the safe)."""
    writer = EscposWriter(options.page)
    fold = writer.codepage.fold
    cols = options.columns
    moment = at.astimezone(tz) if at.tzinfo is not None else at
    start_receipt(writer, options, had_cash=False)
    for copy in range(max(copies, 1)):
        if copy:
            writer.init()
        writer.align("center")
        if store_name:
            writer.lines(wrap(fold(store_name), cols))
        writer.bold(True)
        writer.size(1, 2)
        writer.lines(wrap(fold(f"COMPROVANTE DE {label.upper()}"), cols))
        writer.size(1, 1)
        writer.bold(False)
        writer.lines(wrap(fold(NOT_FISCAL), cols))
        writer.line(rule(cols))

        writer.align("left")
        writer.lines(wrap(fold(f"Data {format_datetime(moment)}"), cols))
        writer.lines(wrap(fold(f"Operador: {operator}"), cols))
        if authorized_by:
            writer.lines(wrap(fold(f"Autorizado por: {authorized_by}"), cols))
        if note:
            writer.lines(wrap(fold(f"Observação: {note}"), cols))
        writer.line(rule(cols))
        writer.bold(True)
        writer.lines(pair(fold(f"{label} R$"), format_brl(amount), cols))
        writer.bold(False)
        if drawer_before is not None:
            after = drawer_before + sign * amount
            writer.lines(pair(fold("Caixa esperado antes R$"), _money(drawer_before), cols))
            writer.lines(pair(fold("Caixa esperado depois R$"), _money(after), cols))
        if warning:
            writer.line(rule(cols))
            writer.bold(True)
            writer.lines(wrap(fold(f"ATENÇÃO: {warning}"), cols))
            writer.bold(False)
        writer.line(rule(cols))

        for who in ("Operador", "Gerente / responsável"):
            writer.line()
            writer.line()
            writer.line(SIGNATURE_LINE * cols)
            writer.align("center")
            writer.lines(wrap(fold(who), cols))
            writer.align("left")
        finish_receipt(writer, options)
    return writer.getvalue()
