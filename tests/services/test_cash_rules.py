"""The cash rules of the till, Qt-free: who must authorize a cash movement, the warning of
a sangria larger than the cash expected in the drawer (computed from the day's sales and
movements), and the slip for signature printed through the service's printer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from posapp.catalog.storedb import StoreDB
from posapp.config import Config, PrinterConfig, StoreConfig
from posapp.domain.lifecycle import SaleState
from posapp.operators.cash import CashBook, CashKind
from posapp.printing.escpos_decode import decode_escpos
from posapp.services.day_close import (
    CASH_SLIP_KIND,
    cash_needs_manager,
    cash_warning,
    expected_drawer,
    print_cash_slip,
)
from posapp.services.ports import PrintResult
from posapp.services.results import SaleSummary

T0 = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
DAY = (datetime(2026, 11, 21, 3, 0, tzinfo=UTC), datetime(2026, 11, 22, 3, 0, tzinfo=UTC))


def sale(state: SaleState, total: str, payments: list[tuple[str, str]]) -> SaleSummary:
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


class FakeService:
    """What the cash rules use of PosService: the day's sales, the clock, the config and
    ``print_bytes`` (recorded)."""

    def __init__(self, sales: list[SaleSummary], config: Config | None = None) -> None:
        self.sales = sales
        self.config = config or Config(store=StoreConfig(uf="SP"), printer=PrinterConfig(paper_mm=58))
        self.printed: list[tuple[bytes, str]] = []
        self.since: datetime | None = None

    async def list_sales(
        self, *, since: datetime | None, until: datetime | None, limit: int
    ) -> list[SaleSummary]:
        self.since = since
        return self.sales

    def now(self) -> datetime:
        return T0

    async def print_bytes(self, data: bytes, *, kind: str = "report") -> PrintResult:
        self.printed.append((data, kind))
        return PrintResult(True, None, data)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StoreDB]:
    db = StoreDB(tmp_path / "store.sqlite3")
    yield db
    db.close()


@pytest.mark.parametrize(
    ("kind", "manager_for_cash", "amount", "in_drawer", "needed"),
    [
        (CashKind.OPENING_FLOAT, True, "100.00", "0.00", False),  # the float is never a manager's
        (CashKind.SANGRIA, True, "50.00", "100.00", True),  # the store asks for every movement
        (CashKind.SANGRIA, False, "50.00", "100.00", False),
        (CashKind.SANGRIA, False, "100.00", "100.00", False),  # the whole drawer is still there
        (CashKind.SANGRIA, False, "100.01", "100.00", True),  # more than the drawer: always
        (CashKind.SANGRIA, False, "10.00", "-5.00", True),
        (CashKind.SUPRIMENTO, False, "1000.00", "0.00", False),  # putting money in is never "too much"
        (CashKind.SUPRIMENTO, True, "10.00", "0.00", True),
    ],
)
def test_who_authorizes_a_cash_movement(
    kind: CashKind, manager_for_cash: bool, amount: str, in_drawer: str, needed: bool
) -> None:
    assert (
        cash_needs_manager(
            kind, manager_for_cash=manager_for_cash, amount=Decimal(amount), in_drawer=Decimal(in_drawer)
        )
        is needed
    )


def test_the_old_call_without_amounts_keeps_its_meaning() -> None:
    assert cash_needs_manager(CashKind.SANGRIA, manager_for_cash=True)
    assert not cash_needs_manager(CashKind.SANGRIA, manager_for_cash=False)
    assert not cash_needs_manager(CashKind.OPENING_FLOAT, manager_for_cash=True)


def test_the_warning_says_both_amounts_the_brazilian_way() -> None:
    text = cash_warning(CashKind.SANGRIA, Decimal("600.00"), Decimal("100.00"))
    assert text is not None
    assert "R$ 600,00" in text and "(R$ 100,00)" in text and "negativo" in text
    assert cash_warning(CashKind.SANGRIA, Decimal("99.99"), Decimal("100.00")) is None
    assert cash_warning(CashKind.SUPRIMENTO, Decimal("600.00"), Decimal("100.00")) is None
    assert cash_warning(CashKind.SANGRIA, Decimal("600.00"), None) is None
    negative = cash_warning(CashKind.SANGRIA, Decimal("1.00"), Decimal("-500.00"))
    assert negative is not None and "(R$ -500,00)" in negative


def test_the_drawer_is_float_plus_suprimentos_minus_sangrias_plus_cash_sales(store: StoreDB) -> None:
    cash = CashBook(store)
    cash.record(CashKind.OPENING_FLOAT, Decimal("100.00"), operator="caixa", at=T0)
    cash.record(CashKind.SUPRIMENTO, Decimal("20.00"), operator="caixa", at=T0)
    cash.record(CashKind.SANGRIA, Decimal("30.00"), operator="caixa", at=T0)
    cash.record(CashKind.SANGRIA, Decimal("999.00"), operator="caixa", at=T0 - timedelta(days=1))  # yesterday
    service = FakeService(
        [
            sale(SaleState.AUTHORIZED, "35.90", [("01", "50.00")]),  # 14.10 change: 35.90 stays
            sale(SaleState.QUEUED, "10.00", [("01", "10.00")]),  # queued: the money is in the drawer
            sale(SaleState.AUTHORIZED, "20.00", [("03", "20.00")]),  # card: not in the drawer
            sale(SaleState.CANCELLED, "5.00", [("01", "5.00")]),  # given back
        ]
    )
    in_drawer = asyncio.run(
        expected_drawer(service, store, cash, start=DAY[0], end=DAY[1])  # type: ignore[arg-type]
    )
    assert in_drawer == Decimal("100.00") + Decimal("20.00") - Decimal("30.00") + Decimal("45.90")
    assert service.since == DAY[0]
    assert cash_warning(CashKind.SANGRIA, Decimal("500.00"), in_drawer) is not None
    assert cash_warning(CashKind.SANGRIA, in_drawer, in_drawer) is None


def test_the_slip_goes_through_the_services_printer_in_the_stores_time(store: StoreDB) -> None:
    cash = CashBook(store)
    movement = cash.record(
        CashKind.SANGRIA,
        Decimal("600.00"),
        operator="caixa",
        authorized_by="gerente",
        note="cofre",
        at=datetime(2026, 11, 21, 2, 5, tzinfo=UTC),  # 20/11 23:05 in São Paulo
    )
    service = FakeService([])
    warning = cash_warning(CashKind.SANGRIA, movement.amount, Decimal("100.00"))
    result = asyncio.run(
        print_cash_slip(service, movement, drawer_before=Decimal("100.00"), warning=warning)  # type: ignore[arg-type]
    )
    assert result.ok
    [(data, kind)] = service.printed
    assert kind == CASH_SLIP_KIND
    decoded = decode_escpos(data, columns=32)  # 58 mm paper: every line fits
    text = decoded.text
    assert "COMPROVANTE DE SANGRIA" in text
    assert "Data 20/11/2026 23:05:00" in text
    assert "Autorizado por: gerente" in text
    assert any(line.endswith("-500,00") for line in decoded.lines)
    assert "ATENÇÃO" in text


def test_a_slip_that_cannot_be_rendered_is_a_result_not_an_exception(
    store: StoreDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    import posapp.printing.cash_slip as cash_slip

    def broken(**_kwargs: Any) -> bytes:
        raise RuntimeError("layout bug")

    monkeypatch.setattr(cash_slip, "render_cash_slip", broken)
    movement = CashBook(store).record(CashKind.SUPRIMENTO, Decimal("5.00"), operator="caixa", at=T0)
    service = FakeService([])
    result = asyncio.run(print_cash_slip(service, movement))  # type: ignore[arg-type]
    assert not result.ok and result.error is not None and "Comprovante não gerado" in result.error
    assert service.printed == []
