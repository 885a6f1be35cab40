"""The layout and text fixes of issue 13 item 6, each driven with the keyboard on the real
widgets under the counter's style sheet: the CPF dialog's error, F10 with money owed, the
change with a card tender, singular and plural, the reprint window's focus, the cancel
dialog's stale error, and the last item after a void."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from posapp.config import PrinterConfig
from posapp.domain.lifecycle import SaleState
from posapp.printing import render_test_page
from posapp.resources import load_stylesheet
from posapp.services.results import IssueReport, NoteInfo, SaleSummary
from posapp.ui.context import AppContext
from posapp.ui.dialogs import CustomerDialog, FirstManagerDialog, LoginDialog, VoidLineDialog
from posapp.ui.history import CancelDialog, HistoryDialog, receipt_dialog
from posapp.ui.issue_dialog import IssueDialog
from posapp.ui.main_window import MainWindow
from posapp.ui.payment_dialog import PaymentDialog
from posapp.ui.receipt_preview import ReceiptView
from posapp.ui.tasks import open_dialog
from tests.gui.conftest import MakeCtx, focused, open_window, press, run, scan, type_text, wait_dialog
from tests.gui.test_geometry import offline_config


@pytest.fixture(autouse=True)
def counter_theme(qapp: QApplication) -> Iterator[None]:
    qapp.setStyleSheet(load_stylesheet())
    yield
    qapp.setStyleSheet("")


@pytest.fixture
def ctx(make_ctx: MakeCtx) -> AppContext:
    return make_ctx(offline_config(), login="gerente")


@pytest.fixture
def window(qtbot: QtBot, ctx: AppContext) -> Iterator[MainWindow]:
    win = open_window(qtbot, ctx)
    yield win
    run(qtbot, win.shutdown())


def shown(qtbot: QtBot, dialog: QWidget) -> None:
    """Open ``dialog`` as the checkout does and wait until it has the keyboard."""
    from PySide6.QtWidgets import QDialog

    assert isinstance(dialog, QDialog)
    open_dialog(dialog)

    def has_keyboard() -> bool:
        widget = QApplication.focusWidget()
        return widget is not None and widget.window() is dialog

    qtbot.waitUntil(has_keyboard)


def not_clipped(widget: QWidget) -> bool:
    """Fully inside its window and at least as large as it needs to be."""
    top = widget.window()
    corner = widget.mapTo(top, widget.rect().bottomRight())
    hint = widget.minimumSizeHint()
    return (
        corner.x() <= top.width()
        and corner.y() <= top.height()
        and widget.width() >= hint.width()
        and widget.height() >= hint.height()
    )


def test_cpf_dialog_error_keeps_its_buttons(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    dialog = CustomerDialog(None)
    qtbot.addWidget(dialog)
    shown(qtbot, dialog)
    type_text(qtbot, "123.456.789-00")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.error.text()
    QApplication.processEvents()
    for button in dialog.findChildren(QPushButton):
        assert not_clipped(button), button.text()
    assert not_clipped(dialog.error)
    dialog.reject()


def test_f10_with_money_owed_says_what_is_missing(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, "1001")  # Arroz 27,90
    press(qtbot, Qt.Key.Key_F10)
    payment = wait_dialog(qtbot, PaymentDialog)
    assert not payment.finish_button.isEnabled()
    press(qtbot, Qt.Key.Key_F10)
    assert payment.isVisible()
    assert "Falta R$ 27,90" in payment.error.text()
    # A disabled primary button does not look like the enabled one.
    disabled = payment.finish_button.grab().toImage()
    payment.finish_button.setEnabled(True)
    enabled = payment.finish_button.grab().toImage()
    payment.finish_button.setEnabled(False)
    assert _mean(disabled) != _mean(enabled)
    press(qtbot, Qt.Key.Key_Escape)


def _mean(image: QImage) -> tuple[int, int, int]:
    pixels = [image.pixelColor(x, y) for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)]
    return (
        sum(p.red() for p in pixels) // len(pixels),
        sum(p.green() for p in pixels) // len(pixels),
        sum(p.blue() for p in pixels) // len(pixels),
    )


def test_change_stays_whole_when_switching_to_card(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    dialog = PaymentDialog(Decimal("45.68"))
    qtbot.addWidget(dialog)
    shown(qtbot, dialog)
    type_text(qtbot, "\b" * 8 + "50,00")  # cash first: R$ 4,32 of change
    press(qtbot, Qt.Key.Key_F2)  # then the card's fields appear
    QApplication.processEvents()
    assert dialog.card_box.isVisible()
    assert not_clipped(dialog.change_label)
    assert not_clipped(dialog.remaining_label)
    dialog.reject()


def test_count_of_items_is_singular_or_plural(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, "1001")
    assert window.count_label.text() == "1 item"
    scan(qtbot, window, "1002")
    assert window.count_label.text() == "2 itens"


def test_voided_item_is_not_the_last_item_and_messages_do_not_carry(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, "1001")
    scan(qtbot, window, "1002")
    first = window.vm.cart.lines[0].product.description
    second = window.vm.cart.lines[1].product.description
    assert window.item_description.text() == second
    press(qtbot, Qt.Key.Key_F6)
    void = wait_dialog(qtbot, VoidLineDialog)
    assert void.number.value() == 2
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.vm.cart.lines[1].voided)
    qtbot.waitUntil(lambda: window.flow is None)
    assert window.item_description.text() == first
    assert "cancelado" in window.message.text()
    window.vm.new_sale()  # the sale ends: its messages go with it
    assert window.message.text() == ""
    assert window.item_description.text() == "CAIXA LIVRE"


def test_reprint_window_takes_the_keyboard(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    dialog = receipt_dialog(None)
    qtbot.addWidget(dialog)
    view = dialog.findChild(ReceiptView)
    assert view is not None
    assert run(qtbot, view.show_receipt(render_test_page(PrinterConfig(uri="preview")), 80))
    dialog.resize(dialog.width(), 400)  # shorter than the receipt: its QR is below
    open_dialog(dialog)
    qtbot.waitUntil(lambda: focused() is view)
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0
    for _ in range(10):
        press(qtbot, Qt.Key.Key_PageDown)
    assert bar.value() == bar.maximum()  # the QR at the end is reachable
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_the_outcome_dialogs_receipt_scrolls_with_the_keyboard(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    """After a sale the receipt on screen reaches its QR code by keyboard too (↓, PgDn, End,
    Home), while Enter still goes on to the next sale and a scan still reaches the cart."""
    scans: list[str] = []

    async def reprint(sale_id: str) -> IssueReport:
        raise AssertionError("not here")

    dialog = IssueDialog(
        total=Decimal("10.00"), change=Decimal("0.00"), scan_sink=scans.append, reprint=reprint, paper_mm=80
    )
    qtbot.addWidget(dialog)
    note = NoteInfo("5" * 44, 1, 1, "135240000123456", datetime.now(UTC))
    report = IssueReport(
        sale_id="01J00000000000000000000001",
        state=SaleState.AUTHORIZED,
        backend="emites",
        note=note,
        printed=True,
        receipt=render_test_page(PrinterConfig(uri="preview")),
    )
    dialog.show()
    run(qtbot, dialog.show_report(report))
    dialog.resize(dialog.width(), 420)  # shorter than the receipt: its QR is below
    QApplication.processEvents()
    bar = dialog.preview.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    dialog.activateWindow()
    dialog.setFocus()
    press(qtbot, Qt.Key.Key_Down)
    assert 0 < bar.value() < bar.maximum()
    press(qtbot, Qt.Key.Key_End)
    assert bar.value() == bar.maximum()  # the QR at the end
    press(qtbot, Qt.Key.Key_PageUp)
    assert bar.value() < bar.maximum()
    press(qtbot, Qt.Key.Key_Home)
    assert bar.value() == 0
    type_text(qtbot, "7891000315507")  # a scanner's burst, then Enter
    press(qtbot, Qt.Key.Key_Return)
    assert scans == ["7891000315507"]
    dialog.busy = False


def _mean_luminance(widget: QWidget) -> float:
    image = widget.grab().toImage()
    points = [(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)]
    return sum(image.pixelColor(x, y).lightness() for x, y in points) / len(points)


def test_the_history_date_picker_follows_the_dark_theme(qtbot: QtBot, ctx: AppContext) -> None:
    """The history's day field and its calendar's month bar were light on the dark counter
    (measured before the fix: 214 and 131 of 255): dark now, on the rendered pixels."""
    dialog = HistoryDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    day = dialog.day
    assert _mean_luminance(day) < 80
    QTest.mouseClick(day, Qt.MouseButton.LeftButton, pos=QPoint(day.width() - 8, day.height() // 2))  # ▼
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None)
    popup = QApplication.activePopupWidget()
    navigation = day.calendarWidget().findChild(QWidget, "qt_calendar_navigationbar")
    assert popup is not None and navigation is not None
    try:
        assert _mean_luminance(popup) < 80
        assert _mean_luminance(navigation) < 100
    finally:
        popup.close()


def test_cancel_dialog_forgets_a_fixed_error_and_needs_one_enter(qtbot: QtBot, ctx: AppContext) -> None:
    now = datetime.now(UTC)
    sale = SaleSummary(
        sale_id="01J0000000000000000000NONE",
        created_at=now,
        state=SaleState.AUTHORIZED,
        total=Decimal("10.00"),
        operator="gerente",
        backend="emites",
        chave=None,
        numero=1,
        serie=1,
        authorized_at=now,
        cancel_deadline=now + timedelta(minutes=20),
    )
    dialog = CancelDialog(ctx, sale)
    qtbot.addWidget(dialog)
    open_dialog(dialog)
    qtbot.waitUntil(lambda: focused() is dialog.motivo)
    type_text(qtbot, "desistiu")
    press(qtbot, Qt.Key.Key_Return)  # no PIN yet: the PIN is next
    assert focused() is dialog.pin
    type_text(qtbot, "1234")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "pelo menos 15" in dialog.error.text())
    assert focused() is dialog.motivo
    type_text(qtbot, " da compra hoje")
    assert dialog.error.text() == ""  # fixed: the old error is gone
    press(qtbot, Qt.Key.Key_Return)  # one Enter with the PIN typed: it goes
    qtbot.waitUntil(lambda: bool(dialog.error.text()) or dialog.result_report is not None, timeout=10000)
    assert "pelo menos 15" not in dialog.error.text()
    qtbot.waitUntil(lambda: not dialog._busy, timeout=10000)
    dialog.reject()


def test_esc_on_the_start_up_login_says_it_quits(qtbot: QtBot, make_ctx: MakeCtx) -> None:
    ctx = make_ctx(offline_config())
    at_start = LoginDialog(ctx.store, ctx.operators, at_start=True)
    later = LoginDialog(ctx.store, ctx.operators)  # Ctrl+L: back to the till, not out of it
    first = FirstManagerDialog(ctx.store, ctx.operators)
    for dialog in (at_start, later, first):
        qtbot.addWidget(dialog)
    texts = [{b.text() for b in d.findChildren(QPushButton)} for d in (at_start, later, first)]
    assert "Sair do posapp (Esc)" in texts[0] and "Voltar (Esc)" not in texts[0]
    assert "Voltar (Esc)" in texts[1]
    assert "Sair do posapp (Esc)" in texts[2]
    at_start.show()
    qtbot.waitExposed(at_start)
    QTest.keyClick(at_start, Qt.Key.Key_Escape)
    assert at_start.result() == LoginDialog.DialogCode.Rejected
