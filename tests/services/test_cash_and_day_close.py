"""Cash movements and the day-close summary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from posapp.catalog.storedb import StoreDB
from posapp.domain.lifecycle import SaleState
from posapp.operators.audit import AuditLog
from posapp.operators.cash import CashBook, CashKind
from posapp.operators.errors import InvalidCashMovement
from posapp.services.day_close import build_day_close, day_close_lines
from posapp.services.results import SaleSummary

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

Book = tuple[CashBook, AuditLog]


def summary(state: SaleState, total: str, payments: list[tuple[str, str]]) -> SaleSummary:
    return SaleSummary(
        sale_id=f"s{state}{total}",
        created_at=T0,
        state=state,
        total=Decimal(total),
        operator="caixa",
        backend="emites",
        chave=None,
        numero=None,
        serie=None,
        authorized_at=None,
        cancel_deadline=None,
        payments=tuple((code, Decimal(amount)) for code, amount in payments),
    )


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Book]:
    store = StoreDB(tmp_path / "store.sqlite3")
    yield CashBook(store), AuditLog(store)
    store.close()


def test_movements_are_recorded_with_their_audit(book: Book) -> None:
    cash, audit = book
    cash.record(CashKind.OPENING_FLOAT, Decimal("100.00"), operator="caixa", at=T0)
    cash.record(
        CashKind.SANGRIA, Decimal("50.00"), operator="caixa", authorized_by="gerente", note="cofre", at=T0
    )
    cash.record(CashKind.SUPRIMENTO, Decimal("20.00"), operator="caixa", at=T0 + timedelta(days=1))
    day = cash.movements(since=T0, until=T0 + timedelta(hours=12))
    assert [(m.kind, m.amount) for m in day] == [
        (CashKind.OPENING_FLOAT, Decimal("100.00")),
        (CashKind.SANGRIA, Decimal("50.00")),
    ]
    entries = audit.entries()
    assert [e.action for e in entries] == ["suprimento", "sangria", "opening_float"]
    assert entries[1].authorized_by == "gerente" and "cofre" in entries[1].detail
    assert entries[1].detail.startswith("R$ 50,00")  # money said the Brazilian way


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1"), Decimal("1.001"), Decimal("NaN")])
def test_bad_amounts_are_refused(book: Book, amount: Decimal) -> None:
    cash, audit = book
    with pytest.raises(InvalidCashMovement):
        cash.record(CashKind.SANGRIA, amount, operator="caixa")
    assert audit.entries() == []


def test_day_close_counts_per_method_and_pending(book: Book) -> None:
    cash, _ = book
    cash.record(CashKind.OPENING_FLOAT, Decimal("100.00"), operator="caixa", at=T0)
    cash.record(CashKind.SANGRIA, Decimal("30.00"), operator="caixa", at=T0)
    cash.record(CashKind.SUPRIMENTO, Decimal("10.00"), operator="caixa", at=T0)
    sales = [
        summary(SaleState.AUTHORIZED, "35.90", [("01", "50.00")]),  # change 14.10
        summary(SaleState.AUTHORIZED, "20.00", [("03", "15.00"), ("01", "10.00")]),  # change 5.00
        summary(SaleState.QUEUED, "8.00", [("17", "8.00")]),
        summary(SaleState.IN_DOUBT, "4.00", [("01", "4.00")]),
        summary(SaleState.CANCELLED, "99.00", [("04", "99.00")]),
        summary(SaleState.REJECTED, "7.00", [("01", "7.00")]),
        summary(SaleState.VOIDED, "1.00", [("01", "1.00")]),
    ]
    report = build_day_close(
        sales, cash.movements(since=T0), day=date(2026, 11, 21), generated_at=T0, operator="gerente"
    )
    assert report.sales_count == 4
    assert report.sales_total == Decimal("67.90")
    methods = {m.code: (m.count, m.amount) for m in report.by_method}
    assert methods == {
        "01": (3, Decimal("35.90") + Decimal("5.00") + Decimal("4.00")),
        "03": (1, Decimal("15.00")),
        "17": (1, Decimal("8.00")),
    }
    assert (report.cancelled_count, report.cancelled_total) == (1, Decimal("99.00"))
    assert (report.queued_count, report.in_doubt_count, report.rejected_count) == (1, 1, 1)
    assert report.expected_cash == Decimal("100.00") + Decimal("10.00") - Decimal("30.00") + Decimal("44.90")
    lines = day_close_lines(report, columns=48)
    assert all(len(line) <= 48 for line in lines)
    assert any(line.startswith("DINHEIRO ESPERADO NO CAIXA") and line.endswith("124,90") for line in lines)
    assert any("Cartão de Crédito (1)" in line for line in lines)
    assert any(line.startswith("Notas em dúvida") and line.endswith("1") for line in lines)
