"""The checkout's flows live in classes the window composes (cart_flows, issue_flow,
back_office_flows), yet they share one guard: a flow of one class refuses the keys of the
others, and the issue flow's state still locks the window (the store's settings another till
published reach the back office's flow: tests/gui/test_store_settings_gui.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from posapp.domain.audit import Action
from posapp.domain.lifecycle import SaleState
from posapp.ui.dialogs import CustomerDialog
from posapp.ui.history import HistoryDialog
from posapp.ui.issue_dialog import IssueDialog
from posapp.ui.main_window import MainWindow
from posapp.ui.payment_dialog import PaymentDialog
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
from tests.gui.test_checkout import offline_config

BEER = "7891000315507"


def visible() -> list[QDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]


@pytest.fixture
def window(qtbot: QtBot, make_ctx: MakeCtx) -> Iterator[MainWindow]:
    win = open_window(qtbot, make_ctx(offline_config(), login="gerente"))
    yield win
    run(qtbot, win.shutdown())


def test_a_flow_of_one_class_refuses_the_keys_of_the_others(qtbot: QtBot, window: MainWindow) -> None:
    QTest.keyClick(window.code, Qt.Key.Key_F4)  # the cart's flow
    QTest.keyClick(window.code, Qt.Key.Key_F12)  # the back office's, before F4's even started
    assert window.back_office.on_cash() is None
    assert window.issue_flow.on_pay() is None
    customer = wait_dialog(qtbot, CustomerDialog)
    qtbot.wait(150)
    assert window.flow == "on_customer"
    assert visible() == [customer]
    assert Action.HISTORY_OPEN not in [e.action for e in window.ctx.audit.entries()]
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, customer)

    qtbot.waitUntil(lambda: window.flow is None)
    assert window.back_office.on_history() is not None  # free again: the other class's flow starts
    history = wait_dialog(qtbot, HistoryDialog)
    assert window.flow == "on_history"
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, history)


def test_the_issue_flow_locks_the_window_until_its_outcome_is_closed(
    qtbot: QtBot, window: MainWindow
) -> None:
    scan(qtbot, window, BEER)
    press(qtbot, Qt.Key.Key_F10)
    payment = wait_dialog(qtbot, PaymentDialog)
    type_text(qtbot, "5")
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, payment)
    issue = wait_dialog(qtbot, IssueDialog)
    qtbot.waitUntil(lambda: not issue.busy, timeout=15000)
    assert issue.report is not None and issue.report.state is SaleState.QUEUED  # no issuer answers
    assert window.issuing and window.issue_flow.running
    assert window.issue_flow.last_report is issue.report
    assert window.back_office.on_history() is None
    assert window.cart_flows.on_abort() is None
    window.close()  # refused: the outcome is still on screen
    assert window.isVisible()
    assert window.message.text() == "Aguarde o fim da emissão antes de fechar."

    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, issue)
    qtbot.waitUntil(lambda: not window.issuing and window.flow is None and focused() is window.code)
    assert window.vm.cart.is_empty  # queued: the drainer finishes it, the till is free
