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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from posapp.catalog.storedb import StoreDB
from posapp.domain import lifecycle
from posapp.domain.audit import Action
from posapp.domain.lifecycle import SaleState
from posapp.domain.money import ZERO, format_brl
from posapp.domain.payments import PaymentMethod
from posapp.operators.audit import AuditLog
from posapp.operators.cash import CashBook, CashKind, CashMovement
from posapp.services.core import Authorization
from posapp.services.results import SaleSummary

if TYPE_CHECKING:
    from posapp.services.pos import PosService


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
        change = max(paid - sale.total, ZERO)
        for code, amount in sale.payments:
            net = amount
            if code == PaymentMethod.DINHEIRO.value and change > 0:
                given = min(change, amount)
                net -= given
                change -= given
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


def day_close_lines(report: DayClose, *, columns: int = 48) -> list[str]:
    """The report as fixed-width text lines (the screen and the receipt printer use them)."""

    def row(left: str, right: str) -> str:
        space = max(columns - len(left) - len(right), 1)
        return (left + " " * space + right)[: max(columns, len(right) + 1)]

    rule = "-" * columns
    lines = [
        "FECHAMENTO DO DIA".center(columns).rstrip(),
        report.day.strftime("%d/%m/%Y").center(columns).rstrip(),
        rule,
        row(f"Vendas ({report.sales_count})", format_brl(report.sales_total)),
    ]
    for method in report.by_method:
        lines.append(row(f"  {method.label} ({method.count})", format_brl(method.amount)))
    lines += [
        row(f"Cancelamentos ({report.cancelled_count})", format_brl(report.cancelled_total)),
        rule,
        row("Abertura (fundo de troco)", format_brl(report.opening_float)),
        row("Suprimentos", format_brl(report.suprimentos)),
        row("Sangrias", "-" + format_brl(report.sangrias)),
        row("Vendas em dinheiro", format_brl(report.cash_sales)),
        row("DINHEIRO ESPERADO NO CAIXA", format_brl(report.expected_cash)),
        rule,
        row("Notas na fila (a emitir)", str(report.queued_count)),
        row("Notas em dúvida (gerente)", str(report.in_doubt_count)),
        row("Notas rejeitadas", str(report.rejected_count)),
        rule,
        f"Emitido em {report.generated_at.astimezone().strftime('%d/%m/%Y %H:%M')}",
    ]
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


def cash_needs_manager(kind: CashKind, *, manager_for_cash: bool) -> bool:
    """A manager's PIN for every cash movement but the opening float, when the store asks."""
    return kind is not CashKind.OPENING_FLOAT and manager_for_cash
