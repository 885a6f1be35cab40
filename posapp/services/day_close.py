"""The day close (*fechamento*): what the drawer should hold and what is still pending;
and the rules of cash movements. Qt-free: the GUI's F9 and F8 call these.

Built from the day's sales (:class:`~posapp.services.results.SaleSummary`, as the
service lists them) and cash movements. A sale counts as *money received* when the
customer paid and left: authorized, queued, in doubt or cancelling (a queued or in-doubt
sale is still a sale; its note is pending, not its money). Cancelled sales are counted
apart (the money went back); rejected sales are listed as pending attention and not
counted as received; voided ones are ignored.

Change (*troco*) only ever comes from cash, so the cash line is the cash tendered minus
the change given, and the expected drawer is float + suprimentos - sangrias + cash sales.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING

from posapp.catalog.storedb import StoreDB
from posapp.domain import lifecycle
from posapp.domain.audit import Action
from posapp.domain.lifecycle import SaleState
from posapp.domain.money import ZERO, format_brl
from posapp.domain.payments import PaymentMethod, net_of_change
from posapp.operators.audit import AuditLog
from posapp.operators.cash import CashBook, CashKind, CashMovement
from posapp.services.core import Authorization
from posapp.services.ports import PrintResult
from posapp.services.results import SaleSummary

if TYPE_CHECKING:
    from posapp.services.pos import PosService

log = logging.getLogger("posapp.services")

CASH_SLIP_KIND = "cash_slip"


@dataclass(frozen=True, slots=True)
class MethodTotal:
    code: str  # tPag
    label: str
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class DayClose:
    day: date
    generated_at: datetime
    operator: str | None
    sales_count: int
    sales_total: Decimal
    by_method: tuple[MethodTotal, ...]
    cancelled_count: int
    cancelled_total: Decimal
    queued_count: int
    in_doubt_count: int
    rejected_count: int
    opening_float: Decimal
    suprimentos: Decimal
    sangrias: Decimal
    movements: tuple[CashMovement, ...] = field(default=())

    @property
    def cash_sales(self) -> Decimal:
        return sum((m.amount for m in self.by_method if m.code == PaymentMethod.DINHEIRO.value), ZERO)

    @property
    def expected_cash(self) -> Decimal:
        return self.opening_float + self.suprimentos - self.sangrias + self.cash_sales


def _label(code: str) -> str:
    try:
        return PaymentMethod(code).label
    except ValueError:
        return f"Forma {code}"


def build_day_close(
    sales: Sequence[SaleSummary],
    movements: Sequence[CashMovement],
    *,
    day: date,
    generated_at: datetime,
    operator: str | None,
) -> DayClose:
    per_method: dict[str, tuple[int, Decimal]] = {}
    sales_count = 0
    sales_total = ZERO
    cancelled_count = 0
    cancelled_total = ZERO
    for sale in sales:
        if sale.state is SaleState.CANCELLED:
            cancelled_count += 1
            cancelled_total += sale.total
            continue
        if not lifecycle.money_received(sale.state):
            continue
        sales_count += 1
        sales_total += sale.total
        paid = sum((amount for _, amount in sale.payments), ZERO)
        for code, net in net_of_change(sale.payments, paid - sale.total):
            count, total = per_method.get(code, (0, ZERO))
            per_method[code] = (count + 1, total + net)
    by_method = tuple(
        MethodTotal(code, _label(code), count, total) for code, (count, total) in sorted(per_method.items())
    )

    def moved(kind: CashKind) -> Decimal:
        return sum((m.amount for m in movements if m.kind is kind), ZERO)

    return DayClose(
        day=day,
        generated_at=generated_at,
        operator=operator,
        sales_count=sales_count,
        sales_total=sales_total,
        by_method=by_method,
        cancelled_count=cancelled_count,
        cancelled_total=cancelled_total,
        queued_count=sum(1 for s in sales if s.state is SaleState.QUEUED),
        in_doubt_count=sum(1 for s in sales if s.state is SaleState.IN_DOUBT),
        rejected_count=sum(1 for s in sales if s.state is SaleState.REJECTED),
        opening_float=moved(CashKind.OPENING_FLOAT),
        suprimentos=moved(CashKind.SUPRIMENTO),
        sangrias=moved(CashKind.SANGRIA),
        movements=tuple(movements),
    )


def day_close_lines(report: DayClose, *, columns: int = 48, tz: tzinfo | None = None) -> list[str]:
    """The report as fixed-width text lines (the screen, in a monospaced font, and the
    receipt printer use them): every amount ends on the last column, so the values line
    up; a label too long for its amount gets a line of its own (never a cut number).
    Times are in ``tz`` (the store's; ``None``: this machine's)."""
    lines: list[str] = []

    def row(left: str, right: str) -> str:
        if len(left) + 1 + len(right) > columns:
            lines.append(left[:columns])
            return right.rjust(columns)
        return left + " " * (columns - len(left) - len(right)) + right

    rule = "-" * columns
    lines += [
        "FECHAMENTO DO DIA".center(columns).rstrip(),
        report.day.strftime("%d/%m/%Y").center(columns).rstrip(),
        rule,
    ]
    lines.append(row(f"Vendas ({report.sales_count})", format_brl(report.sales_total)))
    for method in report.by_method:
        lines.append(row(f"  {method.label} ({method.count})", format_brl(method.amount)))
    lines.append(row(f"Cancelamentos ({report.cancelled_count})", format_brl(report.cancelled_total)))
    lines.append(rule)
    for label, value in (
        ("Abertura (fundo de troco)", format_brl(report.opening_float)),
        ("Suprimentos", format_brl(report.suprimentos)),
        ("Sangrias", ("-" if report.sangrias else "") + format_brl(report.sangrias)),
        ("Vendas em dinheiro", format_brl(report.cash_sales)),
        ("DINHEIRO ESPERADO NO CAIXA", _signed(report.expected_cash)),
    ):
        lines.append(row(label, value))
    lines.append(rule)
    for label, count in (
        ("Notas na fila (a emitir)", report.queued_count),
        ("Notas em dúvida (gerente)", report.in_doubt_count),
        ("Notas rejeitadas", report.rejected_count),
    ):
        lines.append(row(label, str(count)))
    lines += [rule, f"Emitido em {report.generated_at.astimezone(tz).strftime('%d/%m/%Y %H:%M')}"]
    if report.operator:
        lines.append(f"Responsável: {report.operator}")
    return lines


async def close_day(
    service: PosService,
    store: StoreDB,
    cash: CashBook,
    audit: AuditLog,
    *,
    day: date,
    start: datetime,
    end: datetime,
    by: Authorization,
) -> DayClose:
    """The day close of ``[start, end)`` (the store's local day), audited with the manager
    who asked: the same for the GUI (F9) and any script."""
    sales = await service.list_sales(since=start, until=end, limit=100_000)
    movements = await store.run(cash.movements, since=start, until=end)
    report = build_day_close(sales, movements, day=day, generated_at=service.now(), operator=by.who)
    await store.run(
        audit.record,
        Action.DAY_CLOSE,
        operator=by.operator,
        authorized_by=by.authorized_by,
        detail=f"{report.sales_count} vendas, R$ {format_brl(report.sales_total)}",
    )
    return report


def cash_needs_manager(
    kind: CashKind,
    *,
    manager_for_cash: bool,
    amount: Decimal | None = None,
    in_drawer: Decimal | None = None,
) -> bool:
    """A manager's PIN for every cash movement but the opening float, when the store asks;
    and always for a sangria larger than the cash expected in the drawer (``in_drawer``,
    :func:`expected_drawer`), whatever the store's setting: the till cannot vouch for
    money it does not know about."""
    if cash_warning(kind, amount, in_drawer) is not None:
        return True
    return kind is not CashKind.OPENING_FLOAT and manager_for_cash


def cash_warning(kind: CashKind, amount: Decimal | None, in_drawer: Decimal | None) -> str | None:
    """The warning a manager reads before authorizing a sangria of ``amount`` when the
    drawer is expected to hold only ``in_drawer``; ``None`` when nothing is wrong."""
    if kind is not CashKind.SANGRIA or amount is None or in_drawer is None or amount <= in_drawer:
        return None
    return (
        f"A sangria de R$ {format_brl(amount)} é maior que o dinheiro esperado no caixa "
        f"(R$ {_signed(in_drawer)}): o fechamento ficará negativo. Confira o dinheiro e a "
        "abertura do caixa antes de autorizar."
    )


def _signed(value: Decimal) -> str:
    return ("-" if value < 0 else "") + format_brl(abs(value))


async def expected_drawer(
    service: PosService, store: StoreDB, cash: CashBook, *, start: datetime, end: datetime
) -> Decimal:
    """The cash the drawer should hold now: the day's (``[start, end)``, the store's local
    day) opening float + suprimentos - sangrias + cash sales, as the day close counts it."""
    sales = await service.list_sales(since=start, until=end, limit=100_000)
    movements = await store.run(cash.movements, since=start, until=end)
    report = build_day_close(sales, movements, day=start.date(), generated_at=service.now(), operator=None)
    return report.expected_cash


async def print_cash_slip(
    service: PosService,
    movement: CashMovement,
    *,
    drawer_before: Decimal | None = None,
    warning: str | None = None,
    tz: tzinfo | None = None,
) -> PrintResult:
    """Print the slip of ``movement`` for signature (:mod:`posapp.printing.cash_slip`)
    through the service's printer. Never raises: a failure is the result's message."""
    from posapp.printing.cash_slip import render_cash_slip
    from posapp.printing.options import ReceiptOptions

    try:
        data = render_cash_slip(
            label=movement.kind.label,
            amount=movement.amount,
            sign=movement.kind.sign,
            at=movement.at,
            operator=movement.operator,
            authorized_by=movement.authorized_by,
            note=movement.note,
            drawer_before=drawer_before,
            warning=warning,
            options=ReceiptOptions.from_config(service.config.printer),
            tz=tz or service.config.store.tz,
            store_name=service.config.store.name,
        )
    except Exception as exc:  # a layout bug must not hide that the movement was recorded
        log.exception("cash slip %s not rendered", movement.id)
        return PrintResult(False, f"Comprovante não gerado ({type(exc).__name__}).", None)
    return await service.print_bytes(data, kind=CASH_SLIP_KIND)
