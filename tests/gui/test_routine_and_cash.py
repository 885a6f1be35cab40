"""Issue 13 items 5 and 6, driven with the keyboard: a cashier opens the sales history and
reprints without a manager (cancel and resolve still ask for one); a CPF typed at scanner
speed stays in the F4 field; ``3*`` before F2 sells three of the product picked; a sangria
larger than the drawer's cash asks a manager after a warning and prints a slip for
signature; the day close is monospaced, aligned, and its print reaches the printer; the
screens show the store's time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QDialog, QLabel
from pytestqt.qtbot import QtBot

from posapp.config import Config, PrinterConfig, StoreConfig
from posapp.domain.audit import Action
from posapp.domain.lifecycle import SaleState
from posapp.operators.cash import CashKind
from posapp.printing.escpos_decode import decode_escpos
from posapp.sim.emites import EmitesSimulator
from posapp.ui.dialogs import CashMovementDialog, CustomerDialog, TextReportDialog
from posapp.ui.history import CancelDialog, HistoryDialog, ResolveInDoubtDialog
from posapp.ui.main_window import MainWindow
from posapp.ui.models import HistoryModel
from posapp.ui.search_dialog import SearchDialog
from posapp.ui.terminal_settings import TerminalSettings
from posapp.ui.widgets import ConfirmDialog, PinDialog
from tests.gui.conftest import (
    Clock,
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
from tests.gui.test_flow import next_sale, online, outcome, pay_cash

BEER, RICE = "7891000315507", "7898621001017"
CPF = "52998224725"


def with_printer(config: Config, path: Path) -> Config:
    """The printer is a file: what reaches it can be read back."""
    return config.model_copy(update={"printer": PrinterConfig(uri=f"file:{path}")})


def printed(path: Path, after: int = 0) -> bytes:
    return path.read_bytes()[after:] if path.exists() else b""


def visible_dialog(title: str) -> QDialog | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.isVisible() and widget.windowTitle() == title:
            return widget
    return None


def row_state(history: HistoryDialog, row: int) -> object:
    return history.model.data(history.model.index(row, HistoryModel.STATE), Qt.ItemDataRole.UserRole)


# -- item 5: routine work without a manager -----------------------------------------------


def test_a_cashier_opens_the_history_and_reprints_without_a_manager(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator
) -> None:
    ctx = make_ctx(online(sim, response_timeout_s=2))  # a cashier ("caixa") is logged in
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, BEER)
        pay_cash(qtbot, "5")
        issue = outcome(qtbot)
        assert issue.report is not None and issue.report.state is SaleState.AUTHORIZED
        sale_id = issue.report.sale_id
        next_sale(qtbot, window, issue)

        press(qtbot, Qt.Key.Key_F12)  # no PIN: looking is routine
        history = wait_dialog(qtbot, HistoryDialog)
        assert visible_dialog("Autorização do gerente") is None
        qtbot.waitUntil(lambda: history.model.rowCount() == 1, timeout=10000)
        assert "pedem o PIN do gerente" in history.message.text()
        opened = next(e for e in ctx.audit.entries() if e.action == Action.HISTORY_OPEN)
        assert (opened.operator, opened.authorized_by) == ("caixa", None)  # audited as before

        press(qtbot, Qt.Key.Key_F5)  # reprint: no PIN either
        qtbot.waitUntil(lambda: visible_dialog("Cupom") is not None, timeout=15000)
        assert history.message.text() == "Cupom reimpresso."
        assert visible_dialog("Autorização do gerente") is None
        reprint = next(e for e in ctx.audit.entries() if e.action == Action.REPRINT)
        assert (reprint.operator, reprint.authorized_by, reprint.sale_id) == ("caixa", None, sale_id)
        press(qtbot, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: visible_dialog("Cupom") is None)
        qtbot.waitUntil(lambda: QApplication.focusWidget() is history.table)  # the keys work again

        press(qtbot, Qt.Key.Key_F8)  # cancel: the manager's PIN is part of the cancel dialog
        cancel = wait_dialog(qtbot, CancelDialog)
        assert cancel.pin.echoMode() == cancel.pin.EchoMode.Password
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, cancel)
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, history)

        # An in-doubt sale: resolving it is a manager's decision.
        sim.faults.hang = True
        scan(qtbot, window, RICE)
        pay_cash(qtbot, "30")
        issue = outcome(qtbot)
        assert issue.report is not None and issue.report.state is SaleState.IN_DOUBT
        next_sale(qtbot, window, issue)
        sim.faults.hang = False
        press(qtbot, Qt.Key.Key_F12)
        history = wait_dialog(qtbot, HistoryDialog)
        qtbot.waitUntil(lambda: history.model.rowCount() == 2, timeout=10000)
        history.table.selectRow(next(r for r in range(2) if row_state(history, r) is SaleState.IN_DOUBT))
        qtbot.waitUntil(history.resolve_button.isEnabled)
        press(qtbot, Qt.Key.Key_F7)
        pin = wait_dialog(qtbot, PinDialog)
        assert any("Resolver venda em dúvida" in label.text() for label in pin.findChildren(QLabel))
        press(qtbot, Qt.Key.Key_Escape)  # no manager: nothing is resolved
        wait_closed(qtbot, pin)
        qtbot.wait(100)
        assert not any(
            isinstance(w, ResolveInDoubtDialog) and w.isVisible() for w in QApplication.topLevelWidgets()
        )
        assert Action.RESOLVE not in [e.action for e in ctx.audit.entries()]
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, history)
    finally:
        run(qtbot, window.shutdown())


# -- item 6 -------------------------------------------------------------------------------


@pytest.fixture
def window(qtbot: QtBot, make_ctx: MakeCtx, tmp_path: Path) -> Iterator[MainWindow]:
    ctx = make_ctx(with_printer(offline_config(), tmp_path / "printer.bin"))
    win = open_window(qtbot, ctx)
    yield win
    run(qtbot, win.shutdown())


def test_a_cpf_typed_at_scanner_speed_stays_in_the_cpf_field(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, BEER)
    press(qtbot, Qt.Key.Key_F4)
    customer = wait_dialog(qtbot, CustomerDialog)
    type_text(qtbot, CPF)  # as fast as a scanner (or a quick typist) sends it
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, customer)
    qtbot.waitUntil(lambda: window.vm.cart.customer is not None)
    assert window.vm.cart.customer is not None and window.vm.cart.customer.document == CPF
    run(qtbot, window.vm.scans.wait_idle())
    assert window.scan_filter.captured == 0 and window.vm.scans.pending == 0
    assert len(window.vm.cart.lines) == 1  # nothing replayed as a product code
    assert "não encontrado" not in window.message.text()
    assert "529.982.247-25" in window.customer_label.text()


def test_a_multiplier_typed_before_f2_applies_to_the_product_picked(qtbot: QtBot, window: MainWindow) -> None:
    type_text(qtbot, "3*")
    press(qtbot, Qt.Key.Key_F2)
    search = wait_dialog(qtbot, SearchDialog)
    assert search.quantity_label.text() == "Quantidade: 3"
    assert search.query.text() == ""
    type_text(qtbot, "arroz branco")
    qtbot.waitUntil(lambda: search.settled and search.results.count() > 0, timeout=5000)
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, search)
    qtbot.waitUntil(lambda: len(window.vm.cart.lines) == 1, timeout=5000)
    line = window.vm.cart.lines[0]
    assert line.product.gtin == RICE and line.quantity == Decimal(3)

    press(qtbot, Qt.Key.Key_F2)  # the multiplier typed inside the search works too
    search = wait_dialog(qtbot, SearchDialog)
    type_text(qtbot, "2*arroz branco")
    qtbot.waitUntil(lambda: search.settled and search.results.count() > 0, timeout=5000)
    assert search.quantity_label.text() == "Quantidade: 2"
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, search)
    qtbot.waitUntil(lambda: len(window.vm.cart.lines) == 2, timeout=5000)
    assert window.vm.cart.lines[1].quantity == Decimal(2)


def _cash(qtbot: QtBot, kind: CashKind, amount: str) -> CashMovementDialog:
    press(qtbot, Qt.Key.Key_F8)
    dialog = wait_dialog(qtbot, CashMovementDialog)
    dialog.kind.setCurrentIndex(list(CashKind).index(kind))
    dialog.value.setFocus()
    type_text(qtbot, amount)
    press(qtbot, Qt.Key.Key_Return)
    return dialog


def test_a_sangria_above_the_drawer_warns_asks_a_manager_and_prints_a_slip(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    ctx = window.ctx
    ctx.terminal = TerminalSettings(manager_for_cash=False)  # even a store that trusts its cashiers
    paper = tmp_path / "printer.bin"
    dialog = _cash(qtbot, CashKind.OPENING_FLOAT, "100")
    wait_closed(qtbot, dialog)
    qtbot.waitUntil(lambda: "comprovante impresso" in window.message.text(), timeout=10000)
    assert "COMPROVANTE DE ABERTURA" in decode_escpos(printed(paper)).text
    already = len(printed(paper))

    dialog = _cash(qtbot, CashKind.SANGRIA, "600")
    warning = wait_dialog(qtbot, ConfirmDialog)
    text = " ".join(label.text() for label in warning.findChildren(QLabel))
    assert "R$ 600,00" in text and "(R$ 100,00)" in text
    press(qtbot, Qt.Key.Key_Escape)  # changed their mind: nothing recorded
    wait_closed(qtbot, warning)
    qtbot.waitUntil(lambda: window.flow is None)
    assert [m.kind for m in ctx.cash.movements(since=datetime(2000, 1, 1, tzinfo=UTC))] == [
        CashKind.OPENING_FLOAT
    ]

    dialog = _cash(qtbot, CashKind.SANGRIA, "600")
    warning = wait_dialog(qtbot, ConfirmDialog)
    press(qtbot, Qt.Key.Key_Return)
    pin = wait_dialog(qtbot, PinDialog)  # the cashier alone cannot
    type_text(qtbot, "1234")
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, pin)
    # The opening's "comprovante impresso" may still be on the message line: wait for the
    # flow itself to end (recorded and printed), not for words a previous flow left.
    qtbot.waitUntil(lambda: window.flow is None, timeout=10000)
    assert "comprovante impresso" in window.message.text()
    sangria = ctx.cash.movements(since=datetime(2000, 1, 1, tzinfo=UTC))[-1]
    assert (sangria.kind, sangria.amount, sangria.authorized_by) == (
        CashKind.SANGRIA,
        Decimal("600.00"),
        "gerente",
    )
    slip = decode_escpos(printed(paper, already), columns=48)
    flowing = " ".join(slip.text.split())
    assert "COMPROVANTE DE SANGRIA" in flowing and "Autorizado por: gerente" in flowing
    assert any(line.endswith("-500,00") for line in slip.lines)
    assert "ATENÇÃO: A sangria de R$ 600,00 é maior" in flowing

    dialog = _cash(qtbot, CashKind.SANGRIA, "10")  # a small one now: the drawer is negative
    wait_dialog(qtbot, ConfirmDialog)
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.flow is None)


def test_the_day_close_is_monospaced_aligned_and_reaches_the_printer(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    paper = tmp_path / "printer.bin"
    dialog = _cash(qtbot, CashKind.OPENING_FLOAT, "100")
    wait_closed(qtbot, dialog)
    qtbot.waitUntil(lambda: window.flow is None)
    already = len(printed(paper))
    press(qtbot, Qt.Key.Key_F9)
    wait_dialog(qtbot, PinDialog)
    type_text(qtbot, "1234")
    press(qtbot, Qt.Key.Key_Return)
    report = wait_dialog(qtbot, TextReportDialog)
    metrics = QFontMetrics(report.text.font())
    assert metrics.horizontalAdvance("iiiiiiiiii") == metrics.horizontalAdvance("MMMMMMMMMM")  # monospaced
    lines = report.text.toPlainText().split("\n")
    amounts = [line for line in lines if line.endswith(",00")]
    assert len(amounts) >= 6 and {len(line) for line in amounts} == {48}  # one right edge
    press(qtbot, Qt.Key.Key_Return)  # print
    wait_closed(qtbot, report)
    qtbot.waitUntil(lambda: window.message.text() == "Fechamento impresso.", timeout=10000)
    paper_lines = decode_escpos(printed(paper, already), columns=48).lines
    assert paper_lines[: len(lines)] == lines  # what was on screen is what was printed
    assert focused() is window.code


def test_the_screens_show_the_stores_time(qtbot: QtBot, make_ctx: MakeCtx, clock: Clock) -> None:
    zone = ZoneInfo("America/Noronha")  # UTC-2: never the test machine's zone by accident
    config = offline_config()
    config = config.model_copy(update={"store": StoreConfig(uf="PE", timezone="America/Noronha")})
    # The till's clock at 01:30 UTC tomorrow: still today, 23:30, in the store.
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    target = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 1, 30, tzinfo=UTC)
    clock.advance(target - datetime.now(UTC))
    ctx = make_ctx(config)
    window = open_window(qtbot, ctx)
    try:
        now = datetime.now(zone)
        shown = window.status.clock_label.text()
        assert shown in {now.strftime("%d/%m %H:%M"), (now - timedelta(minutes=1)).strftime("%d/%m %H:%M")}
        scan(qtbot, window, BEER)
        pay_cash(qtbot, "5")
        issue = outcome(qtbot)
        assert issue.report is not None and issue.report.state is SaleState.QUEUED
        next_sale(qtbot, window, issue)
        press(qtbot, Qt.Key.Key_F12)
        history = wait_dialog(qtbot, HistoryDialog)
        store_day = target.astimezone(zone).date()
        assert history.day.date().toPython() == store_day
        qtbot.waitUntil(lambda: history.model.rowCount() == 1, timeout=10000)  # the store's day
        created = history.model.data(history.model.index(0, HistoryModel.TIME))
        assert str(created).startswith("23:3"), created
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, history)
    finally:
        run(qtbot, window.shutdown())
