"""The till never locks and never doubles up: one flow at a time (a double key press opens
one dialog and writes one audit row), a scan made just before F10 is paid for, closing with
a sale open is refused, an unexpected error during the issue unlocks the till and puts the
cart where the journal says the sale is, and closed dialogs are deleted (no timers left
ticking behind them)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from posapp.config import Config
from posapp.domain.audit import Action
from posapp.domain.lifecycle import SaleState
from posapp.domain.sale import Sale
from posapp.services.pos import PosService
from posapp.services.results import IssueReport, SaleSummary
from posapp.ui.dialogs import CustomerDialog, LoginDialog, VoidLineDialog
from posapp.ui.history import CancelDialog, HistoryDialog
from posapp.ui.issue_dialog import IssueDialog
from posapp.ui.main_window import MainWindow
from posapp.ui.payment_dialog import PaymentDialog
from posapp.ui.widgets import ConfirmDialog, MessageDialog, PinDialog
from tests.gui.conftest import (
    Clock,
    MakeCtx,
    alive,
    focused,
    open_window,
    press,
    run,
    scan,
    service_factory,
    type_text,
    wait_closed,
    wait_dialog,
)
from tests.gui.test_checkout import offline_config

BEER, SUGAR = "7891000315507", "7891153002125"


def visible(kind: type[QDialog]) -> list[QDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


def _show(qtbot: QtBot, dialog: QDialog) -> None:
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)


@pytest.fixture
def window(qtbot: QtBot, make_ctx: MakeCtx) -> Iterator[MainWindow]:
    ctx = make_ctx(offline_config())
    win = open_window(qtbot, ctx)
    yield win
    run(qtbot, win.shutdown())


@pytest.fixture
def manager_window(qtbot: QtBot, make_ctx: MakeCtx) -> Iterator[MainWindow]:
    ctx = make_ctx(offline_config(), login="gerente")
    win = open_window(qtbot, ctx)
    yield win
    run(qtbot, win.shutdown())


def test_a_double_press_opens_one_dialog_and_writes_one_audit_row(
    qtbot: QtBot, manager_window: MainWindow
) -> None:
    window = manager_window
    QTest.keyClick(window.code, Qt.Key.Key_F12)  # twice, before the first flow even started
    QTest.keyClick(window.code, Qt.Key.Key_F12)
    history = wait_dialog(qtbot, HistoryDialog)
    qtbot.wait(150)
    assert visible(HistoryDialog) == [history]
    assert [e.action for e in window.ctx.audit.entries()].count(Action.HISTORY_OPEN) == 1
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, history)

    QTest.keyClick(window.code, Qt.Key.Key_F4)
    QTest.keyClick(window.code, Qt.Key.Key_F2)  # another key while F4 is starting: refused too
    customer = wait_dialog(qtbot, CustomerDialog)
    qtbot.wait(150)
    assert len(visible(QDialog)) == 1
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, customer)


def test_pin_dialog_checks_once_when_enter_is_pressed_twice(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    from posapp.operators.accounts import Operator, Role

    calls: list[str] = []

    async def check(pin: str) -> Operator:
        calls.append(pin)
        await asyncio.sleep(0.2)
        return Operator("gerente", "Gerente", Role.MANAGER)

    dialog = PinDialog("Autorização", "PIN do gerente", check)
    _show(qtbot, dialog)
    type_text(qtbot, "1234")
    QTest.keyClick(dialog.pin, Qt.Key.Key_Return)
    QTest.keyClick(dialog.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=3000)
    assert calls == ["1234"]


def test_a_scan_still_being_looked_up_is_in_the_sale_paid_with_f10(qtbot: QtBot, window: MainWindow) -> None:
    type_text(qtbot, BEER)
    QTest.keyClick(window.code, Qt.Key.Key_Return)
    QTest.keyClick(window.code, Qt.Key.Key_F10)  # no pause: the lookup has not finished
    payment = wait_dialog(qtbot, PaymentDialog)
    assert payment.total == Decimal("4.99")
    assert [line.product.gtin for line in window.vm.cart.lines] == [BEER]
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, payment)


def test_closing_with_a_sale_open_is_refused(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, BEER)
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    window.close()
    qtbot.wait(50)
    assert window.isVisible() and not closed
    assert "Finalize ou descarte a venda (F7) antes de fechar" in window.message.text()
    # An empty till closes.
    window.vm.new_sale()
    window.close()
    qtbot.waitUntil(lambda: bool(closed))


def test_f6_uses_a_typed_number_only_when_it_names_a_line(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, BEER)
    scan(qtbot, window, SUGAR)
    type_text(qtbot, BEER)  # a barcode left in the field, not a line number
    press(qtbot, Qt.Key.Key_F6)
    void = wait_dialog(qtbot, VoidLineDialog)
    assert void.number.value() == 2  # the last line
    assert void.hint.isVisible() and "não é um número de item (1 a 2)" in void.hint.text()
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, void)
    assert window.code.text() == BEER  # kept: Enter still rings it up
    window.code.clear()
    type_text(qtbot, "1")
    press(qtbot, Qt.Key.Key_F6)
    void = wait_dialog(qtbot, VoidLineDialog)
    assert void.number.value() == 1 and not void.hint.isVisible()
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, void)
    assert window.code.text() == ""


def test_logout_is_recorded_only_when_someone_else_logs_in(qtbot: QtBot, window: MainWindow) -> None:
    audit = window.ctx.audit
    press(qtbot, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    login = wait_dialog(qtbot, LoginDialog)
    press(qtbot, Qt.Key.Key_Escape)  # changed their mind: still the cashier
    wait_closed(qtbot, login)
    qtbot.waitUntil(lambda: window.flow is None)
    assert Action.LOGOUT not in [e.action for e in audit.entries()]
    assert window.ctx.operator_login == "caixa"

    press(qtbot, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    wait_dialog(qtbot, LoginDialog)
    type_text(qtbot, "gerente")
    press(qtbot, Qt.Key.Key_Return)
    type_text(qtbot, "1234")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.ctx.operator_login == "gerente" and window.flow is None)
    newest = audit.entries()[:2]
    assert [(e.action, e.operator) for e in newest] == [(Action.LOGOUT, "caixa"), (Action.LOGIN, "gerente")]
    assert "Gerente" in window.status.operator_label.text()


def test_closed_dialogs_are_deleted(qtbot: QtBot, manager_window: MainWindow) -> None:
    window = manager_window
    for _ in range(3):
        press(qtbot, Qt.Key.Key_F4)
        customer = wait_dialog(qtbot, CustomerDialog)
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, customer)
    press(qtbot, Qt.Key.Key_F12)
    history = wait_dialog(qtbot, HistoryDialog)
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, history)
    qtbot.waitUntil(lambda: not window.findChildren(QDialog), timeout=5000)
    assert not alive(history) and not alive(customer)


def test_history_and_cancel_stop_ticking_when_closed(qtbot: QtBot, make_ctx: MakeCtx) -> None:
    ctx = make_ctx(offline_config(), login="gerente")
    history = HistoryDialog(ctx)
    _show(qtbot, history)
    assert history._timer.isActive()
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not history.isVisible())
    assert not history._timer.isActive()

    now = datetime.now(UTC)
    sale = SaleSummary(
        sale_id="s1",
        created_at=now,
        state=SaleState.AUTHORIZED,
        total=Decimal("9.98"),
        operator="caixa",
        backend="emites",
        chave=None,
        numero=1,
        serie=1,
        authorized_at=now,
        cancel_deadline=now + timedelta(minutes=20),
    )
    cancel = CancelDialog(ctx, sale)
    _show(qtbot, cancel)
    assert cancel._timer.isActive()
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not cancel.isVisible())
    assert not cancel._timer.isActive()


class BugBeforeJournal(PosService):
    """A bug in the issue path before anything was stored."""

    async def issue(self, sale: Sale, *, print_receipt: bool = True) -> IssueReport:
        raise RuntimeError("bug before the journal")


class BugAfterJournal(PosService):
    """A bug after the journal stored (and queued) the sale: the report is lost."""

    async def issue(self, sale: Sale, *, print_receipt: bool = True) -> IssueReport:
        await super().issue(sale, print_receipt=print_receipt)
        raise RuntimeError("bug after the journal")


@pytest.mark.parametrize("service_class", [BugBeforeJournal, BugAfterJournal])
def test_an_unexpected_error_while_issuing_never_locks_the_till(
    qtbot: QtBot,
    make_ctx: MakeCtx,
    tmp_path: Path,
    clock: Clock,
    service_class: type[PosService],
    expected_ui_errors: pytest.LogCaptureFixture,
) -> None:
    config: Config = offline_config()
    ctx = make_ctx(config, factory=service_factory(tmp_path, clock, service_class))
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, BEER)
        sale_id = window.vm.cart.sale_id
        press(qtbot, Qt.Key.Key_F10)
        payment = wait_dialog(qtbot, PaymentDialog)
        press(qtbot, Qt.Key.Key_Return)  # the amount owed, in cash
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, payment)
        message = wait_dialog(qtbot, MessageDialog, timeout=15000)
        assert not visible(IssueDialog)  # the unclosable dialog is gone
        text = message.text_label.text()
        assert "registro fiscal" in text and "F12" in text
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, message)
        qtbot.waitUntil(lambda: window.flow is None and not window.issuing)
        assert focused() is window.code
        sales = run(qtbot, ctx.service.list_sales())
        if service_class is BugBeforeJournal:
            assert sales == []
            assert "Nada foi registrado" in text
            assert window.vm.cart.sale_id == sale_id and window.vm.cart.item_count == 1  # kept
        else:
            assert [(s.sale_id, s.state) for s in sales] == [(sale_id, SaleState.QUEUED)]
            assert window.vm.cart.is_empty and window.vm.cart.sale_id != sale_id  # not twice
        assert any("failed unexpectedly" in r.getMessage() for r in expected_ui_errors.records)
        scan(qtbot, window, SUGAR)  # the till works
        assert window.vm.cart.lines[-1].product.gtin == SUGAR
    finally:
        run(qtbot, window.shutdown())


def test_manager_discards_a_queued_sale_from_the_history(qtbot: QtBot, make_ctx: MakeCtx) -> None:
    ctx = make_ctx(offline_config())
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, BEER)
        press(qtbot, Qt.Key.Key_F10)
        wait_dialog(qtbot, PaymentDialog)
        press(qtbot, Qt.Key.Key_Return)
        press(qtbot, Qt.Key.Key_Return)
        issue = wait_dialog(qtbot, IssueDialog)
        qtbot.waitUntil(lambda: not issue.busy, timeout=15000)
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, issue)
        [queued] = run(qtbot, ctx.service.list_sales())
        assert queued.state is SaleState.QUEUED

        press(qtbot, Qt.Key.Key_F12)  # a cashier opens the history without a PIN (issue 13 item 5)
        history = wait_dialog(qtbot, HistoryDialog)
        qtbot.waitUntil(lambda: history.model.rowCount() == 1 and history.discard_button.isEnabled())
        press(qtbot, Qt.Key.Key_Delete)
        wait_dialog(qtbot, ConfirmDialog)
        press(qtbot, Qt.Key.Key_Return)
        pin = wait_dialog(qtbot, PinDialog)  # a cashier is logged in: the manager's PIN again
        type_text(qtbot, "0000")
        press(qtbot, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: "inválido" in pin.error.text())
        type_text(qtbot, "1234")
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, pin)
        qtbot.waitUntil(lambda: not history.discard_button.isEnabled(), timeout=5000)
        summary, _ = run(qtbot, ctx.service.get_sale(queued.sale_id))
        assert summary.state is SaleState.VOIDED
        entry = next(e for e in ctx.audit.entries() if e.action == Action.ABORT_SALE)
        assert (entry.operator, entry.authorized_by, entry.sale_id) == ("caixa", "gerente", queued.sale_id)
        failed = next(e for e in ctx.audit.entries() if e.action == Action.OVERRIDE_FAILED)
        assert failed.operator == "caixa"
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, history)
    finally:
        run(qtbot, window.shutdown())


def test_history_shows_one_local_day(qtbot: QtBot, make_ctx: MakeCtx, clock: Clock) -> None:
    ctx = make_ctx(offline_config(), login="gerente")
    window = open_window(qtbot, ctx)
    try:
        clock.advance(-timedelta(days=1))  # a sale rung up yesterday...
        scan(qtbot, window, BEER)
        press(qtbot, Qt.Key.Key_F10)
        wait_dialog(qtbot, PaymentDialog)
        press(qtbot, Qt.Key.Key_Return)
        press(qtbot, Qt.Key.Key_Return)
        issue = wait_dialog(qtbot, IssueDialog)
        qtbot.waitUntil(lambda: not issue.busy, timeout=15000)
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, issue)
        clock.advance(timedelta(days=1))  # ...is not today's
        press(qtbot, Qt.Key.Key_F12)
        history = wait_dialog(qtbot, HistoryDialog)
        qtbot.waitUntil(lambda: history.summary.text().startswith("0 vendas"), timeout=5000)
        press(qtbot, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: history.model.rowCount() == 1, timeout=5000)
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, history)
    finally:
        run(qtbot, window.shutdown())
