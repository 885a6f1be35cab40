"""Widgets and view-model pieces on their own, driven by the keyboard."""

from __future__ import annotations

import asyncio
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from posapp.catalog.csv_import import import_csv
from posapp.catalog.products import Catalog, Product
from posapp.catalog.storedb import StoreDB
from posapp.domain.payments import PaymentMethod
from posapp.resources import resource_path
from posapp.ui.cart import Cart
from posapp.ui.dialogs import CustomerDialog
from posapp.ui.models import CartModel
from posapp.ui.payment_dialog import PaymentDialog
from posapp.ui.scan_input import EntryError, ScanQueue, parse_entry
from posapp.ui.search_dialog import SearchDialog
from posapp.ui.tasks import spawn
from tests.gui.conftest import focused, press, run, type_text, wait_closed

RICE = Product("1001", "Arroz Branco Tipo 1 5kg", "10063021", Decimal("27.90"), gtin="7898621001017")
BREAD = Product("1020", "Pão Francês (kg)", "19059090", Decimal("14.90"), unit="KG")


def test_only_qt_py_imports_the_binding() -> None:
    ui = Path(__file__).resolve().parents[2] / "posapp" / "ui"
    offenders = [
        path.name
        for path in ui.glob("*.py")
        if path.name != "qt.py"
        and re.search(r"^\s*(from|import)\s+(PySide6|PyQt\d|qasync)\b", path.read_text(), re.M)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("text", "code", "quantity"),
    [
        ("7891000315507", "7891000315507", None),
        ("3*7891000315507", "7891000315507", Decimal(3)),
        (" 0,375 * 1020 ", "1020", Decimal("0.375")),
        ("1.5*1020", "1020", Decimal("1.5")),
    ],
)
def test_parse_entry(text: str, code: str, quantity: Decimal | None) -> None:
    entry = parse_entry(text)
    assert (entry.code, entry.quantity) == (code, quantity)


@pytest.mark.parametrize("text", ["", "0*789", "10000*789", "0,00001*789", "3* "])
def test_parse_entry_refuses(text: str) -> None:
    with pytest.raises(EntryError):
        parse_entry(text)


def test_cart_model_rows_totals_and_void(qtbot: QtBot) -> None:
    cart = Cart()
    model = CartModel(cart)
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    cart.add(RICE, Decimal(2))
    model.line_appended()
    cart.add(BREAD, Decimal("0.375"))
    model.line_appended()
    assert inserted == [(0, 0), (1, 1)]
    assert model.rowCount() == 2 and model.columnCount() == 6
    row = [model.data(model.index(1, c)) for c in range(6)]
    assert row == ["002", "1020", "Pão Francês (kg)", "0,375 KG", "14,90", "R$ 5,59"]
    assert model.data(model.index(0, CartModel.TOTAL), Qt.ItemDataRole.UserRole) == Decimal("55.80")
    assert cart.total == Decimal("61.39")
    cart.void(1)
    model.line_changed(1)
    assert cart.total == Decimal("5.59")
    assert model.data(model.index(0, CartModel.DESCRIPTION)).endswith("(CANCELADO)")
    assert model.data(model.index(0, 0), Qt.ItemDataRole.FontRole).strikeOut()
    with pytest.raises(ValueError):
        cart.void(1)


def test_scan_queue_holds_and_keeps_order(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    handled: list[str] = []

    async def handler(code: str) -> None:
        await asyncio.sleep(0)
        handled.append(code)

    queue = ScanQueue(handler)
    queue.start()
    queue.hold()
    queue.hold()
    for code in ("a", "b", "c"):
        queue.push(code)
    qtbot.wait(50)
    assert handled == []
    queue.release()
    qtbot.wait(20)
    assert handled == []  # still one holder
    queue.release()
    run(qtbot, queue.wait_idle())
    assert handled == ["a", "b", "c"]
    run(qtbot, queue.stop())


def _show(qtbot: QtBot, dialog: QDialog) -> None:
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)


def test_payment_split_with_card_and_cash_change(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    dialog = PaymentDialog(Decimal("37.40"))
    _show(qtbot, dialog)
    assert focused() is dialog.amount
    assert dialog.amount.text() == "37,40"
    press(qtbot, Qt.Key.Key_F2)  # credit card
    assert dialog.card_box.isVisible()
    type_text(qtbot, "20")
    press(qtbot, Qt.Key.Key_Return)
    assert focused() is dialog.card_authorization  # card fields when needed
    type_text(qtbot, "A1B2C3")
    press(qtbot, Qt.Key.Key_Return)
    assert [(p.method, p.amount) for p in dialog.payments] == [(PaymentMethod.CREDITO, Decimal("20"))]
    assert dialog.payments[0].card is not None and dialog.payments[0].card.authorization == "A1B2C3"
    assert dialog.remaining_label.text() == "R$ 17,40"
    assert dialog.method is PaymentMethod.DINHEIRO  # back to cash for the rest
    type_text(qtbot, "50")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.change == Decimal("32.60")
    assert dialog.change_label.text() == "R$ 32,60"
    assert dialog.finish_button.isEnabled()
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_payment_refuses_change_from_a_card(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    dialog = PaymentDialog(Decimal("10.00"))
    _show(qtbot, dialog)
    press(qtbot, Qt.Key.Key_F4)  # PIX
    type_text(qtbot, "15")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.payments == []
    assert "Troco só em dinheiro" in dialog.error.text()
    press(qtbot, Qt.Key.Key_F8)  # nothing to remove: harmless
    type_text(qtbot, "4")
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_F3)  # debit for the rest: Enter at the amount, Enter at authorization
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Return)
    assert [p.method for p in dialog.payments] == [PaymentMethod.PIX, PaymentMethod.DEBITO]
    assert dialog.remaining == 0 and dialog.change == 0
    press(qtbot, Qt.Key.Key_F8)  # remove the last tender
    assert dialog.remaining == Decimal("6.00")
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_customer_dialog_checks_digits(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    dialog = CustomerDialog(None)
    _show(qtbot, dialog)
    type_text(qtbot, "529.982.247-24")
    press(qtbot, Qt.Key.Key_Return)
    assert "dígito verificador" in dialog.error.text()
    assert dialog.isVisible()
    dialog.field.clear()
    type_text(qtbot, "52998224725")
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, dialog)
    assert dialog.document == "52998224725"


def test_search_dialog_is_accent_insensitive(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    store = StoreDB(tmp_path / "store.sqlite3")
    catalog = Catalog(store)
    import_csv(catalog, resource_path("catalog_demo.csv"))
    try:
        dialog = SearchDialog(store, catalog)
        _show(qtbot, dialog)
        type_text(qtbot, "acucar")
        qtbot.waitUntil(lambda: dialog.settled and dialog.results.count() == 2)
        texts = [dialog.results.item(i).text() for i in range(dialog.results.count())]
        assert texts[0].startswith("Açúcar Cristal") and texts[1].startswith("Açúcar Refinado")
        press(qtbot, Qt.Key.Key_Down)
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, dialog)
        assert dialog.product is not None and dialog.product.code == "1004"
        # Enter before the debounce fired still searches first, then takes the first answer.
        dialog = SearchDialog(store, catalog)
        _show(qtbot, dialog)
        type_text(qtbot, "FEIJAO PRE")
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, dialog)
        assert dialog.product is not None and dialog.product.code == "1003"
    finally:
        store.close()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_serial_scanner_reads_lines_from_a_real_tty(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    from posapp.ui.scanner import SerialScanner

    master, slave = os.openpty()
    codes: list[str] = []
    scanner = SerialScanner(os.ttyname(slave), 9600, codes.append)
    scanner.start()
    try:
        qtbot.waitUntil(scanner.opened.is_set, timeout=5000)  # opening flushes the input
        os.write(master, b"7891153002125\r\n78986")
        os.write(master, b"21001017\n\r\n")
        qtbot.waitUntil(lambda: len(codes) == 2, timeout=5000)
        assert codes == ["7891153002125", "7898621001017"]
    finally:
        run(qtbot, asyncio.to_thread(scanner.stop))
        os.close(master)
        os.close(slave)


def test_spawned_task_errors_reach_the_excepthook(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
    expected_ui_errors: pytest.LogCaptureFixture,
) -> None:
    import sys

    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda _t, exc, _tb: seen.append(exc))

    async def boom() -> None:
        raise RuntimeError("x")

    task = spawn(boom())
    qtbot.waitUntil(task.done)
    qtbot.wait(10)
    assert len(seen) == 1 and str(seen[0]) == "x"
