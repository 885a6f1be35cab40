"""Scans that arrive where they do not belong: a keyboard-wedge burst typed into a dialog's
field is taken back out and queued for the checkout (a person typing is left alone); the
outcome screen's own capture needs 4+ digits and resets after a pause; an absurd cash
amount is refused; an unplugged serial scanner is reported once, in Portuguese, and its
return too."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from posapp.domain.audit import Action
from posapp.domain.lifecycle import SaleState
from posapp.services.results import IssueReport
from posapp.ui.dialogs import VoidLineDialog
from posapp.ui.issue_dialog import IssueDialog
from posapp.ui.main_window import MainWindow
from posapp.ui.payment_dialog import PaymentDialog
from posapp.ui.scanner import SerialScanner
from posapp.ui.widgets import PinDialog
from tests.gui.conftest import (
    MakeCtx,
    focused,
    open_window,
    press,
    run,
    scan,
    type_like_a_person,
    type_text,
    wait_closed,
    wait_dialog,
)
from tests.gui.test_checkout import offline_config

BEER, RICE, SUGAR = "7891000315507", "7898621001017", "7891153002125"


@pytest.fixture
def window(qtbot: QtBot, make_ctx: MakeCtx) -> Iterator[MainWindow]:
    ctx = make_ctx(offline_config())
    win = open_window(qtbot, ctx)
    yield win
    run(qtbot, win.shutdown())


def burst(qtbot: QtBot, code: str) -> None:
    """A keyboard-wedge scanner: the digits and Enter as fast as they come."""
    type_text(qtbot, code)
    press(qtbot, Qt.Key.Key_Return)


def test_a_scan_into_the_pin_field_is_queued_not_counted_as_a_wrong_pin(
    qtbot: QtBot, window: MainWindow
) -> None:
    scan(qtbot, window, BEER)
    scan(qtbot, window, RICE)
    press(qtbot, Qt.Key.Key_F6)
    wait_dialog(qtbot, VoidLineDialog)
    press(qtbot, Qt.Key.Key_Return)
    pin = wait_dialog(qtbot, PinDialog)
    type_like_a_person(qtbot, "12")  # the manager started typing...
    qtbot.wait(100)
    burst(qtbot, SUGAR)  # ...and a customer's item was scanned
    qtbot.wait(100)
    assert pin.isVisible() and pin.pin.text() == "12" and pin.error.text() == ""
    assert window.vm.scans.pending == 1 and window.scan_filter.captured == 1
    assert Action.OVERRIDE_FAILED not in [e.action for e in window.ctx.audit.entries()]
    type_text(qtbot, "34")
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, pin)
    qtbot.waitUntil(lambda: window.vm.cart.lines[1].voided and len(window.vm.cart.lines) == 3)
    assert window.vm.cart.lines[2].product.gtin == SUGAR  # rung up once the flow was over


def test_a_scan_into_the_payment_amount_is_not_a_tender(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, BEER)
    press(qtbot, Qt.Key.Key_F10)
    payment = wait_dialog(qtbot, PaymentDialog)
    assert payment.amount.text() == "4,99" and payment.amount.selectedText() == "4,99"
    burst(qtbot, SUGAR)
    qtbot.wait(100)
    assert payment.isVisible() and payment.payments == []
    assert payment.amount.text() == "4,99" and payment.amount.selectedText() == "4,99"
    assert payment.error.text() == ""
    # Typing by hand still works: a person is slower than a scanner.
    type_like_a_person(qtbot, "10")
    press(qtbot, Qt.Key.Key_Return)
    assert [p.amount for p in payment.payments] == [Decimal("10")]
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, payment)
    qtbot.waitUntil(lambda: len(window.vm.cart.lines) == 2)
    assert window.vm.cart.lines[1].product.gtin == SUGAR


@pytest.mark.parametrize(
    ("method_key", "field_name", "typed"),
    [
        (Qt.Key.Key_F2, "card_authorization", "123456789012"),  # an NSU
        (Qt.Key.Key_F2, "card_acquirer", "11222333000181"),  # the acquirer's CNPJ
        (Qt.Key.Key_F7, "description", "cashback 78910001"),  # "Outros"
    ],
)
def test_card_and_description_fields_keep_what_is_typed_at_scanner_speed(
    qtbot: QtBot, window: MainWindow, method_key: Qt.Key, field_name: str, typed: str
) -> None:
    """A card's authorization, its acquirer's CNPJ and an "Outros" description are text:
    digits typed there as fast as a scanner sends them, then Enter, are that tender's details,
    never a product code replayed into the cart."""
    scan(qtbot, window, BEER)
    press(qtbot, Qt.Key.Key_F10)
    payment = wait_dialog(qtbot, PaymentDialog)
    press(qtbot, method_key)
    field = getattr(payment, field_name)
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    burst(qtbot, typed)
    qtbot.waitUntil(lambda: len(payment.payments) == 1)
    tender = payment.payments[0]
    details = (tender.card.authorization, tender.card.acquirer_cnpj) if tender.card else (tender.description,)
    assert typed in details, details
    assert len(window.vm.cart.lines) == 1  # nothing replayed into the cart
    payment.reject()


def test_a_scan_into_the_line_number_leaves_the_number(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, BEER)
    scan(qtbot, window, RICE)
    press(qtbot, Qt.Key.Key_F6)
    void = wait_dialog(qtbot, VoidLineDialog)
    assert void.number.value() == 2
    burst(qtbot, SUGAR)
    qtbot.wait(100)
    assert void.isVisible() and void.number.value() == 2
    assert not any(line.voided for line in window.vm.cart.lines)
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, void)
    qtbot.waitUntil(lambda: len(window.vm.cart.lines) == 3)


def test_cash_far_above_what_is_owed_is_refused(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    dialog = PaymentDialog(Decimal("10.00"))
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    type_text(qtbot, "1010,01")  # R$ 1.000,01 over
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.payments == []
    assert "muito acima do que falta (R$ 10,00)" in dialog.error.text()
    assert "R$ 1.010,01" in dialog.error.text()
    dialog.amount.setText("1010,00")  # R$ 1.000,00 over: a big note is still change
    press(qtbot, Qt.Key.Key_Return)
    assert [p.amount for p in dialog.payments] == [Decimal("1010.00")]
    assert dialog.change == Decimal("1000.00")


def _outcome_dialog(qtbot: QtBot, held: list[str]) -> IssueDialog:
    async def reprint(sale_id: str) -> IssueReport:
        raise AssertionError("not used")

    dialog = IssueDialog(
        total=Decimal("9.98"), change=Decimal(0), scan_sink=held.append, reprint=reprint, paper_mm=80
    )
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def test_issue_dialog_takes_4_digits_or_more_as_a_scan(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    held: list[str] = []
    dialog = _outcome_dialog(qtbot, held)
    type_text(qtbot, "12")
    press(qtbot, Qt.Key.Key_Return)  # busy: two stray keys and Enter do nothing
    assert held == [] and dialog.isVisible()
    run(qtbot, dialog.show_report(IssueReport("s1", SaleState.QUEUED, None)))
    type_text(qtbot, "1020")
    press(qtbot, Qt.Key.Key_Return)  # an internal code read by the scanner
    assert held == ["1020"] and dialog.isVisible()
    type_text(qtbot, "12")
    press(qtbot, Qt.Key.Key_Return)  # not a scan: Enter is "next sale"
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert held == ["1020"]
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_issue_dialog_buffer_restarts_after_a_pause_even_while_busy(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    held: list[str] = []
    dialog = _outcome_dialog(qtbot, held)
    assert dialog.busy
    type_text(qtbot, "78")  # stray keys...
    qtbot.wait(700)  # ...a pause longer than a scanner's...
    type_text(qtbot, SUGAR)  # ...then a real scan
    press(qtbot, Qt.Key.Key_Return)
    assert held == [SUGAR]
    run(qtbot, dialog.show_report(IssueReport("s1", SaleState.QUEUED, None)))
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_an_unplugged_scanner_is_reported_once_and_its_return_too(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    link = tmp_path / "leitor"  # the port's name; nothing behind it yet (unplugged)
    states: list[tuple[bool, str]] = []
    codes: list[str] = []
    scanner = SerialScanner(
        str(link), 9600, codes.append, on_state=lambda ok, text: states.append((ok, text)), retry_s=0.05
    )
    scanner.start()
    master, slave = os.openpty()
    try:
        qtbot.wait(400)  # several retries
        assert len(states) == 1
        connected, text = states[0]
        assert not connected
        assert text.startswith(f"Leitor {link}: desconectado ou indisponível")
        assert "could not open" not in text and "No such file" not in text  # no raw English
        link.symlink_to(os.ttyname(slave))  # plugged in
        qtbot.waitUntil(scanner.opened.is_set, timeout=5000)
        qtbot.waitUntil(lambda: len(states) == 2, timeout=5000)
        assert states[1] == (True, f"Leitor {link}: reconectado")
        os.write(master, f"{SUGAR}\r\n".encode())
        qtbot.waitUntil(lambda: codes == [SUGAR], timeout=5000)
        qtbot.wait(200)
        assert len(states) == 2  # reading is not a change
    finally:
        run(qtbot, asyncio.to_thread(scanner.stop))
        os.close(master)
        os.close(slave)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_the_scanner_state_shows_in_the_status_bar(qtbot: QtBot, make_ctx: MakeCtx, tmp_path: Path) -> None:
    from posapp.ui.terminal_settings import TerminalSettings

    ctx = make_ctx(offline_config())
    ctx.terminal = TerminalSettings(scanner_port=str(tmp_path / "ttyACM9"), scanner_baudrate=9600)
    window = open_window(qtbot, ctx)
    try:
        label = window.status.scanner_label
        qtbot.waitUntil(lambda: "desconectado" in label.text(), timeout=5000)
        assert window.message.text() == ""  # the cashier's message line is left alone
        assert focused() is window.code
    finally:
        run(qtbot, window.shutdown())
