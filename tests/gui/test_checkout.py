"""The checkout window driven by the keyboard alone: scan, multiply, scale labels, search,
void a line with a manager PIN, CPF, abort; and a sale queued when no issuer answers."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from posapp.config import Config, EmitesConfig, PrinterConfig
from posapp.domain.audit import Action
from posapp.domain.lifecycle import SaleState
from posapp.operators.cash import CashKind
from posapp.ui.dialogs import CashMovementDialog, CustomerDialog, TextReportDialog, VoidLineDialog
from posapp.ui.issue_dialog import IssueDialog
from posapp.ui.main_window import MainWindow
from posapp.ui.models import CartModel
from posapp.ui.payment_dialog import PaymentDialog
from posapp.ui.search_dialog import SearchDialog
from posapp.ui.terminal_settings import TerminalSettings
from posapp.ui.widgets import ConfirmDialog, PinDialog
from tests.gui.conftest import (
    MakeCtx,
    focused,
    open_window,
    press,
    run,
    scan,
    type_text,
    wait_closed,
    wait_dialog,
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def offline_config() -> Config:
    return Config(
        emites=EmitesConfig(host="127.0.0.1", port=closed_port(), connect_timeout_s=1, response_timeout_s=2),
        printer=PrinterConfig(uri="none"),
    )


def ean13(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def column(window: MainWindow, col: int) -> list[object]:
    model = window.vm.model
    return [model.data(model.index(r, col), Qt.ItemDataRole.UserRole) for r in range(model.rowCount())]


@pytest.fixture
def window(qtbot: QtBot, make_ctx: MakeCtx) -> Iterator[MainWindow]:
    ctx = make_ctx(offline_config())
    win = open_window(qtbot, ctx)
    yield win
    run(qtbot, win.shutdown())


def test_scan_multiply_scale_search_void_and_cpf(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, "7891153002125")  # Açúcar Refinado 1kg, 4.99
    scan(qtbot, window, "3*7898621001017")  # 3 x Arroz 27.90
    scan(qtbot, window, "0,375*1020")  # Pão Francês by weight, 14.90/kg -> 5.59
    scan(qtbot, window, ean13("2" + "01020" + "000745"))  # scale label: R$ 7.45 of bread
    assert column(window, CartModel.CODE) == ["1004", "1001", "1020", "1020"]
    assert column(window, CartModel.QUANTITY) == [Decimal(1), Decimal(3), Decimal("0.375"), Decimal("0.5")]
    assert column(window, CartModel.TOTAL) == [
        Decimal("4.99"),
        Decimal("83.70"),
        Decimal("5.59"),
        Decimal("7.45"),
    ]
    assert window.total_label.text() == "R$ 101,73"
    assert window.item_description.text() == "Pão Francês (kg)"

    scan(qtbot, window, "2*1003x")  # unknown code: a message, nothing added
    assert "Produto não encontrado" in window.message.text()
    scan(qtbot, window, "1,5*1001")  # fractional units refused for "UN"
    assert "fracionada" in window.message.text()
    assert window.vm.model.rowCount() == 4

    # F2: search by name without accents, pick with Enter.
    press(qtbot, Qt.Key.Key_F2)
    search = wait_dialog(qtbot, SearchDialog)
    type_text(qtbot, "feijao carioca")
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, search)
    run(qtbot, window.vm.scans.wait_idle())
    assert column(window, CartModel.CODE)[-1] == "1002"
    assert focused() is window.code

    # F6: void line 2 (the cashier needs the manager's PIN; a wrong one is refused first).
    type_text(qtbot, "2")
    press(qtbot, Qt.Key.Key_F6)
    void = wait_dialog(qtbot, VoidLineDialog)
    assert void.number.value() == 2
    press(qtbot, Qt.Key.Key_Return)
    pin = wait_dialog(qtbot, PinDialog)
    type_text(qtbot, "0000")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "inválido" in pin.error.text())
    type_text(qtbot, "1234")
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, pin)
    qtbot.waitUntil(lambda: window.vm.cart.lines[1].voided)
    assert window.vm.cart.total == Decimal("4.99") + Decimal("5.59") + Decimal("7.45") + Decimal("8.49")
    assert window.total_label.text() == "R$ 26,52"
    # The audit row is written on the store's thread right after the cart changes.
    qtbot.waitUntil(lambda: any(e.action == Action.VOID_LINE for e in window.ctx.audit.entries()))
    entries = window.ctx.audit.entries()
    void_entry = next(e for e in entries if e.action == Action.VOID_LINE)
    assert (void_entry.operator, void_entry.authorized_by) == ("caixa", "gerente")
    assert any(e.action == Action.OVERRIDE_FAILED for e in entries)

    # F4: consumer CPF, checked digit by digit.
    press(qtbot, Qt.Key.Key_F4)
    customer = wait_dialog(qtbot, CustomerDialog)
    type_text(qtbot, "111.444.777-35")
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, customer)
    qtbot.waitUntil(lambda: window.customer_label.text() == "Consumidor: 111.444.777-35")

    # F7: abort the whole sale (manager again).
    press(qtbot, Qt.Key.Key_F7)
    wait_dialog(qtbot, ConfirmDialog)
    press(qtbot, Qt.Key.Key_Return)
    pin = wait_dialog(qtbot, PinDialog)
    type_text(qtbot, "1234")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.vm.model.rowCount() == 0)
    assert window.total_label.text() == "R$ 0,00"
    assert window.customer_label.text() == ""
    assert window.ctx.audit.entries()[0].action == Action.ABORT_SALE


def test_sale_is_queued_when_no_issuer_answers(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, "2*7891000315507")  # 2 x Cerveja 4.99
    press(qtbot, Qt.Key.Key_F10)
    payment = wait_dialog(qtbot, PaymentDialog)
    type_text(qtbot, "20")
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, payment)
    issue = wait_dialog(qtbot, IssueDialog)
    qtbot.waitUntil(lambda: not issue.busy, timeout=15000)
    assert issue.report is not None and issue.report.state is SaleState.QUEUED
    assert issue.title.text() == "VENDA GUARDADA NA FILA"
    assert issue.change_label.text() == "R$ 10,02"
    # A scan during the outcome screen is kept for the next sale (keyboard-wedge capture).
    type_text(qtbot, "7891153002125")
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Return)  # Enter: next sale
    wait_closed(qtbot, issue)
    run(qtbot, window.vm.scans.wait_idle())
    assert column(window, CartModel.CODE) == ["1004"]
    qtbot.waitUntil(lambda: window.status.queued == 1, timeout=10000)
    assert "Fila: 1" in window.status.queue_label.text()
    sales = run(qtbot, window.ctx.service.list_sales())
    assert [(s.state, s.total, s.operator) for s in sales] == [(SaleState.QUEUED, Decimal("9.98"), "caixa")]
    assert focused() is window.code


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_serial_scan_during_a_dialog_is_held_then_rung_up(qtbot: QtBot, make_ctx: MakeCtx) -> None:
    master, slave = os.openpty()
    try:
        ctx = make_ctx(offline_config())
        ctx.terminal = TerminalSettings(scanner_port=os.ttyname(slave), scanner_baudrate=9600)
        window = open_window(qtbot, ctx)
        try:
            assert window.scanner is not None
            qtbot.waitUntil(window.scanner.opened.is_set, timeout=5000)
            os.write(master, b"7891153002125\r\n")
            qtbot.waitUntil(lambda: window.vm.model.rowCount() == 1, timeout=5000)
            press(qtbot, Qt.Key.Key_F4)  # a dialog opens...
            customer = wait_dialog(qtbot, CustomerDialog)
            os.write(master, b"3*7898621001017\r\n")  # ...and the scanner reads meanwhile
            qtbot.waitUntil(lambda: window.vm.scans.pending == 1, timeout=5000)
            qtbot.wait(100)
            assert window.vm.model.rowCount() == 1  # held, not typed into the CPF field
            assert customer.field.text() == ""
            press(qtbot, Qt.Key.Key_Escape)
            wait_closed(qtbot, customer)
            qtbot.waitUntil(lambda: window.vm.model.rowCount() == 2, timeout=5000)
            assert column(window, CartModel.QUANTITY) == [Decimal(1), Decimal(3)]
        finally:
            run(qtbot, window.shutdown())
    finally:
        os.close(master)
        os.close(slave)


def test_cash_movements_and_day_close(qtbot: QtBot, window: MainWindow) -> None:
    # F8: opening float (no manager needed), then a sangria (manager PIN).
    press(qtbot, Qt.Key.Key_F8)
    cash = wait_dialog(qtbot, CashMovementDialog)
    cash.kind.setCurrentIndex(0)  # the combo is first in the tab order; arrows would do the same
    type_text(qtbot, "100")
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, cash)
    qtbot.waitUntil(lambda: window.message.text().startswith("Registrado: Abertura"))
    press(qtbot, Qt.Key.Key_F8)
    cash = wait_dialog(qtbot, CashMovementDialog)
    assert cash.selected_kind is CashKind.SANGRIA
    type_text(qtbot, "abc")
    press(qtbot, Qt.Key.Key_Return)
    assert "maior que zero" in cash.error.text()
    cash.value.clear()
    type_text(qtbot, "30,00")
    press(qtbot, Qt.Key.Key_Return)
    pin = wait_dialog(qtbot, PinDialog)
    type_text(qtbot, "1234")
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, pin)
    qtbot.waitUntil(lambda: window.message.text().startswith("Registrado: Sangria"))

    # A queued sale paid in cash counts in the drawer.
    scan(qtbot, window, "7891153002125")
    press(qtbot, Qt.Key.Key_F10)
    payment = wait_dialog(qtbot, PaymentDialog)
    type_text(qtbot, "10")
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, payment)
    issue = wait_dialog(qtbot, IssueDialog)
    qtbot.waitUntil(lambda: not issue.busy, timeout=15000)
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, issue)

    # F9: day close (manager), shown and "printed" (no printer here: the failure is said).
    press(qtbot, Qt.Key.Key_F9)
    pin = wait_dialog(qtbot, PinDialog)
    type_text(qtbot, "1234")
    press(qtbot, Qt.Key.Key_Return)
    report = wait_dialog(qtbot, TextReportDialog)
    text = report.text.toPlainText()
    assert "Vendas (1)" in text
    assert re.search(r"Abertura \(fundo de troco\)\s+100,00", text)
    assert re.search(r"Sangrias\s+-30,00", text)
    assert re.search(r"DINHEIRO ESPERADO NO CAIXA\s+74,99", text)  # 100 - 30 + 4.99
    assert re.search(r"Notas na fila \(a emitir\)\s+1", text)
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, report)
    qtbot.waitUntil(lambda: "Nenhuma impressora" in window.message.text())
    actions = [e.action for e in window.ctx.audit.entries()]
    assert {Action.OPENING_FLOAT, Action.SANGRIA, Action.DAY_CLOSE} <= set(actions)


def test_day_close_bytes_decode(tmp_path: Path) -> None:
    from posapp.config import PrinterConfig
    from posapp.printing.escpos_decode import decode_escpos
    from posapp.ui.report_print import text_report_escpos

    lines = ["FECHAMENTO DO DIA", "Sangrias      -30,00", "Notas em dúvida (gerente)   0"]
    decoded = decode_escpos(text_report_escpos(lines, PrinterConfig(codepage="cp860")), columns=48)
    assert decoded.lines[: len(lines)] == lines
    assert len(decoded.cuts) == 1
