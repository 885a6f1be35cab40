"""The whole counter flow against the Emites-Client simulator over loopback, keyboard only:
scan, multiply, void a line (manager PIN), CPF, split payment with change, issue, receipt
bytes decoded, cancel inside the window with a manager PIN and refused after it; the
rejected (fix and resend), in-doubt (manager resolves) paths, a printer that is off, and
``posapp demo``'s start-up with its operators."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Coroutine
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from posapp.config import Config, PrinterConfig
from posapp.domain.audit import Action
from posapp.domain.lifecycle import SaleState
from posapp.printing.escpos_decode import decode_escpos
from posapp.sim.emites import EmitesSimulator
from posapp.ui.demo import demo_config, prepare_demo_data
from posapp.ui.dialogs import CustomerDialog, LoginDialog, VoidLineDialog
from posapp.ui.history import CancelDialog, HistoryDialog, ResolveInDoubtDialog, SaleDetailsDialog
from posapp.ui.issue_dialog import IssueDialog
from posapp.ui.main import gui_main
from posapp.ui.main_window import MainWindow
from posapp.ui.models import HistoryModel
from posapp.ui.payment_dialog import PaymentDialog
from posapp.ui.widgets import PinDialog
from tests.gui.conftest import (
    Clock,
    MakeCtx,
    focused,
    open_window,
    press,
    run,
    scan,
    service_factory,
    type_like_a_person,
    type_text,
    wait_closed,
    wait_dialog,
)

T = TypeVar("T")

BEER, RICE, SUGAR = "7891000315507", "7898621001017", "7891153002125"


def online(sim: EmitesSimulator, *, printer: str = "preview", response_timeout_s: float = 20) -> Config:
    config = demo_config(sim.port)
    emites = config.emites.model_copy(update={"response_timeout_s": response_timeout_s})
    return config.model_copy(update={"emites": emites, "printer": PrinterConfig(uri=printer)})


def pay_cash(qtbot: QtBot, amount: str) -> None:
    """F10, cash for ``amount``, Enter to finish."""
    press(qtbot, Qt.Key.Key_F10)
    payment = wait_dialog(qtbot, PaymentDialog)
    type_text(qtbot, amount)
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, payment)


def outcome(qtbot: QtBot) -> IssueDialog:
    issue = wait_dialog(qtbot, IssueDialog)
    qtbot.waitUntil(lambda: not issue.busy, timeout=30000)
    assert issue.report is not None
    return issue


def next_sale(qtbot: QtBot, window: MainWindow, issue: IssueDialog) -> None:
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, issue)
    qtbot.waitUntil(lambda: not window.issuing and focused() is window.code)


def open_history(qtbot: QtBot, *, pin: str | None) -> HistoryDialog:
    press(qtbot, Qt.Key.Key_F12)
    if pin is not None:
        dialog = wait_dialog(qtbot, PinDialog)
        type_text(qtbot, pin)
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, dialog)
    history = wait_dialog(qtbot, HistoryDialog)
    qtbot.waitUntil(lambda: history.model.rowCount() > 0, timeout=10000)
    return history


def state_of_first_row(history: HistoryDialog) -> SaleState | None:
    state = history.model.data(history.model.index(0, HistoryModel.STATE), Qt.ItemDataRole.UserRole)
    return state if isinstance(state, SaleState) else None  # None: no row (yet)


def test_sale_with_everything_then_cancel_with_manager_pin(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator
) -> None:
    ctx = make_ctx(online(sim))
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, f"2*{BEER}")  # 2 x 4.99
        scan(qtbot, window, RICE)  # 27.90
        scan(qtbot, window, SUGAR)  # 4.99, voided below
        type_text(qtbot, "3")
        press(qtbot, Qt.Key.Key_F6)
        wait_dialog(qtbot, VoidLineDialog)
        press(qtbot, Qt.Key.Key_Return)
        wait_dialog(qtbot, PinDialog)
        type_text(qtbot, "1234")
        press(qtbot, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window.vm.cart.lines[2].voided)
        assert window.vm.cart.total == Decimal("37.88")

        press(qtbot, Qt.Key.Key_F4)
        customer = wait_dialog(qtbot, CustomerDialog)
        type_text(qtbot, "529.982.247-25")
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, customer)

        # Split payment: 20.00 on credit (authorization typed), the rest in cash with change.
        press(qtbot, Qt.Key.Key_F10)
        payment = wait_dialog(qtbot, PaymentDialog)
        press(qtbot, Qt.Key.Key_F2)
        type_text(qtbot, "20")
        press(qtbot, Qt.Key.Key_Return)
        type_text(qtbot, "123456")
        press(qtbot, Qt.Key.Key_Return)
        assert payment.remaining_label.text() == "R$ 17,88"
        type_text(qtbot, "50")
        press(qtbot, Qt.Key.Key_Return)
        assert payment.change_label.text() == "R$ 32,12"
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, payment)

        issue = outcome(qtbot)
        report = issue.report
        assert report is not None and report.state is SaleState.AUTHORIZED, report
        assert issue.title.text() == "NFC-e AUTORIZADA"
        assert issue.change_label.text() == "R$ 32,12"
        assert issue.print_status.text() == "Cupom impresso."
        assert report.note is not None and report.note.chave in sim.notes
        qtbot.waitUntil(lambda: issue.preview.image is not None, timeout=15000)

        # The receipt, decoded back from the exact bytes that were "printed".
        assert report.receipt
        receipt = decode_escpos(report.receipt)
        text = receipt.text
        # (in homologação SEFAZ wants the first item described as a test note)
        assert "001 14600 NOTA FISCAL EMITIDA EM AMBIENTE DE" in text
        assert "2 UN x 4,99 = 9,98" in text
        assert "002 1001 Arroz Branco Tipo 1 5kg" in text
        assert "Açúcar" not in text  # the voided line is not in the note
        assert re.search(r"Troco R\$\s+32,12", text)
        assert re.search(r"Valor a Pagar R\$\s+37,88", text)
        assert "CONSUMIDOR - CPF: 529.982.247-25" in text
        assert report.note.chave in re.sub(r"\D", "", text)
        assert receipt.qr_codes and report.note.chave in receipt.qr_codes[0].text
        next_sale(qtbot, window, issue)
        assert window.vm.model.rowCount() == 0

        # The manager cancels it from the history, inside the window (a cashier opens the
        # history without a PIN, issue 13 item 5; the cancel asks for it).
        history = open_history(qtbot, pin=None)
        assert state_of_first_row(history) is SaleState.AUTHORIZED
        countdown = history.model.data(history.model.index(0, HistoryModel.DEADLINE))
        assert re.fullmatch(r"2\d:\d\d", countdown), countdown
        assert history.cancel_button.isEnabled()
        press(qtbot, Qt.Key.Key_Return)  # details and XML
        details = wait_dialog(qtbot, SaleDetailsDialog)
        qtbot.waitUntil(lambda: "Chave:" in details.summary_text.toPlainText(), timeout=10000)
        assert "Arroz Branco Tipo 1 5kg" in details.summary_text.toPlainText()
        assert "529.982.247-25" in details.summary_text.toPlainText()
        press(qtbot, Qt.Key.Key_F3)
        assert details.tabs.currentIndex() == 1
        assert report.note.chave in details.xml_text.toPlainText()
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, details)
        press(qtbot, Qt.Key.Key_F8)
        cancel = wait_dialog(qtbot, CancelDialog)
        type_text(qtbot, "desistiu")
        assert cancel.counter.text().startswith("8/255")
        assert not cancel.confirm.isEnabled()
        type_text(qtbot, " da compra")
        press(qtbot, Qt.Key.Key_Return)  # to the PIN field
        assert focused() is cancel.pin
        type_text(qtbot, "0000")  # a cashier's PIN is not a manager's
        press(qtbot, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: "inválido" in cancel.error.text())
        assert not any(r.identifier == "CANCEL_NFCE" for r in sim.requests)
        type_text(qtbot, "1234")
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, cancel, timeout=20000)
        qtbot.waitUntil(lambda: state_of_first_row(history) is SaleState.CANCELLED, timeout=10000)
        assert sim.notes[report.note.chave].cancelled
        entry = next(e for e in ctx.audit.entries() if e.action == Action.CANCEL_SALE)
        assert (entry.operator, entry.authorized_by, entry.sale_id) == ("caixa", "gerente", report.sale_id)
        assert "desistiu da compra" in entry.detail
        refused = next(e for e in ctx.audit.entries() if e.action == Action.OVERRIDE_FAILED)
        assert refused.operator == "caixa"  # the wrong PIN is counted against who asked
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, history)
    finally:
        run(qtbot, window.shutdown())


def test_cancel_is_refused_after_the_window(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator, clock: Clock
) -> None:
    ctx = make_ctx(online(sim), login="gerente")
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, BEER)
        pay_cash(qtbot, "5")
        issue = outcome(qtbot)
        assert issue.report is not None and issue.report.state is SaleState.AUTHORIZED
        next_sale(qtbot, window, issue)
        history = open_history(qtbot, pin=None)  # a manager is logged in
        press(qtbot, Qt.Key.Key_F8)
        cancel = wait_dialog(qtbot, CancelDialog)
        type_text(qtbot, "cliente desistiu da compra")
        press(qtbot, Qt.Key.Key_Return)
        type_text(qtbot, "1234")
        assert cancel.confirm.isEnabled()
        clock.advance(timedelta(minutes=30))  # past the deadline (30 min minus the safety margin)
        qtbot.waitUntil(lambda: not cancel.confirm.isEnabled(), timeout=3000)  # it turns itself off
        assert cancel.remaining_label.text() == "Prazo de cancelamento encerrado"
        press(qtbot, Qt.Key.Key_Return)
        qtbot.wait(200)
        assert cancel.isVisible()
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, cancel)
        qtbot.waitUntil(lambda: not history.cancel_button.isEnabled(), timeout=3000)
        assert history.model.data(history.model.index(0, HistoryModel.DEADLINE)) == "encerrado"
        press(qtbot, Qt.Key.Key_F8)  # the key does nothing either
        qtbot.wait(200)
        assert not any(isinstance(w, CancelDialog) and w.isVisible() for w in qtbot_widgets())
        assert not any(r.identifier == "CANCEL_NFCE" for r in sim.requests)
        assert state_of_first_row(history) is SaleState.AUTHORIZED
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, history)
    finally:
        run(qtbot, window.shutdown())


def qtbot_widgets() -> list[QWidget]:
    from PySide6.QtWidgets import QApplication

    return QApplication.topLevelWidgets()


def test_rejected_sale_is_fixed_and_resent_as_the_same_sale(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator
) -> None:
    ctx = make_ctx(online(sim))
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, RICE)
        press(qtbot, Qt.Key.Key_F4)
        wait_dialog(qtbot, CustomerDialog)
        type_like_a_person(qtbot, "52998224725")
        press(qtbot, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window.vm.cart.customer is not None)
        sim.faults.reject_next = "237 - Rejeicao: CPF do destinatario invalido"
        pay_cash(qtbot, "30")
        issue = outcome(qtbot)
        assert issue.report is not None and issue.report.state is SaleState.REJECTED
        first_id = issue.report.sale_id
        assert issue.title.text() == "NFC-e REJEITADA"
        assert "CPF do consumidor é inválido" in issue.reasons.text()  # plain words
        assert "237 - Rejeicao" in issue.reasons.text()  # and the official text
        assert not issue.change_label.isVisible()
        press(qtbot, Qt.Key.Key_Return)  # back to the cart to fix it
        wait_closed(qtbot, issue)
        qtbot.waitUntil(lambda: not window.issuing)
        assert window.vm.cart.rejected and window.vm.cart.sale_id == first_id
        assert [line.product.code for line in window.vm.cart.lines] == ["1001"]

        press(qtbot, Qt.Key.Key_F4)  # remove the CPF
        customer = wait_dialog(qtbot, CustomerDialog)
        press(qtbot, Qt.Key.Key_Backspace)
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, customer)
        qtbot.waitUntil(lambda: window.vm.cart.customer is None)
        press(qtbot, Qt.Key.Key_F10)  # the earlier tender is still there: Enter finishes
        payment = wait_dialog(qtbot, PaymentDialog)
        assert payment.remaining == 0 and payment.change == Decimal("2.10")
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, payment)
        issue = outcome(qtbot)
        assert issue.report is not None and issue.report.state is SaleState.AUTHORIZED
        assert issue.report.sale_id == first_id
        next_sale(qtbot, window, issue)
        sales = run(qtbot, ctx.service.list_sales())
        assert [(s.sale_id, s.state) for s in sales] == [(first_id, SaleState.AUTHORIZED)]
        assert len(sim.notes) == 1
        _, sale = run(qtbot, ctx.service.get_sale(first_id))
        assert sale.customer is None
        assert any(e.action == Action.RESEND and e.sale_id == first_id for e in ctx.audit.entries())
    finally:
        run(qtbot, window.shutdown())


def test_in_doubt_sale_is_kept_and_resolved_by_a_manager(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator
) -> None:
    ctx = make_ctx(online(sim, response_timeout_s=1))
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, f"3*{BEER}")
        sim.faults.hang = True
        pay_cash(qtbot, "20")
        issue = outcome(qtbot)
        assert issue.report is not None and issue.report.state is SaleState.IN_DOUBT
        assert issue.title.text() == "RESULTADO DESCONHECIDO"
        assert "gerente" in issue.explain.text()
        assert issue.change_label.text() == "R$ 5,03"  # the customer still gets the change
        sale_id = issue.report.sale_id
        next_sale(qtbot, window, issue)
        assert "dúvida" in window.message.text()
        qtbot.waitUntil(lambda: window.status.in_doubt == 1, timeout=10000)
        sim.faults.hang = False
        [chave] = list(sim.notes)  # the simulator did issue it: only the answer was lost

        history = open_history(qtbot, pin=None)  # a cashier looks without a PIN (issue 13 item 5)
        assert state_of_first_row(history) is SaleState.IN_DOUBT
        assert history.resolve_button.isEnabled() and not history.resend_button.isEnabled()
        press(qtbot, Qt.Key.Key_F7)
        pin = wait_dialog(qtbot, PinDialog)  # resolving is the manager's
        type_text(qtbot, "1234")
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, pin)
        resolve = wait_dialog(qtbot, ResolveInDoubtDialog)
        type_text(qtbot, chave)
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, resolve)
        qtbot.waitUntil(lambda: state_of_first_row(history) is SaleState.AUTHORIZED, timeout=10000)
        summary, _ = run(qtbot, ctx.service.get_sale(sale_id))
        assert summary.chave == chave
        assert len(sim.notes) == 1  # never issued twice
        press(qtbot, Qt.Key.Key_Escape)
        wait_closed(qtbot, history)
    finally:
        run(qtbot, window.shutdown())


def test_printer_off_does_not_touch_the_sale(qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    ctx = make_ctx(online(sim, printer=f"tcp:127.0.0.1:{dead}"))
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, SUGAR)
        pay_cash(qtbot, "10")
        issue = outcome(qtbot)
        report = issue.report
        assert report is not None and report.state is SaleState.AUTHORIZED
        assert report.printed is False
        assert issue.print_status.text().startswith("Falha na impressão")
        assert "F5 reimprime" in issue.print_status.text()
        assert window.status.printer_label.text().startswith("Impressora: ERRO")
        press(qtbot, Qt.Key.Key_F5)  # reprint: still off, still authorized
        qtbot.waitUntil(lambda: issue.print_status.text().startswith("Falha na impressão"), timeout=15000)
        next_sale(qtbot, window, issue)
        summary, _ = run(qtbot, ctx.service.get_sale(report.sale_id))
        assert summary.state is SaleState.AUTHORIZED
    finally:
        run(qtbot, window.shutdown())


def test_demo_start_up_logs_in_and_sells(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, sim: EmitesSimulator, tmp_path: Path
) -> None:
    """What ``posapp demo`` does after starting the simulator: demo data, the login screen
    with the demo hint, the checkout; closing the window ends it cleanly."""
    prepare_demo_data(tmp_path)
    windows: list[MainWindow] = []

    async def on_window(window: MainWindow) -> None:
        windows.append(window)

    clock = Clock()
    task = run_task(
        gui_main(
            online(sim),
            tmp_path,
            demo=True,
            config_path=tmp_path / "posapp.toml",
            service_factory=service_factory(tmp_path, clock),
            on_window=on_window,
        )
    )
    login = wait_dialog(qtbot, LoginDialog)
    assert "gerente / PIN 1234" in login.hint.text() and login.hint.isVisible()
    type_text(qtbot, "caixa")
    press(qtbot, Qt.Key.Key_Return)
    type_text(qtbot, "9999")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "inválido" in login.error.text())
    type_text(qtbot, "0000")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(windows), timeout=10000)
    window = windows[0]
    qtbot.waitUntil(lambda: focused() is window.code)
    assert window.ctx.operator is not None and window.ctx.operator.login == "caixa"
    assert "DEMONSTRAÇÃO" in window.windowTitle()
    scan(qtbot, window, "0,5*1020")
    pay_cash(qtbot, "10")
    issue = outcome(qtbot)
    assert issue.report is not None and issue.report.state is SaleState.AUTHORIZED
    next_sale(qtbot, window, issue)
    assert window.vm.model.rowCount() == 0
    window.close()
    qtbot.waitUntil(task.done, timeout=15000)
    assert task.result() == 0


def run_task(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    return asyncio.ensure_future(coro)


def test_a_rejected_sale_is_discarded_with_a_manager_pin(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator
) -> None:
    from posapp.ui.widgets import ConfirmDialog

    ctx = make_ctx(online(sim))
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, BEER)
        sim.faults.reject_next = "778 - Rejeicao: Informado NCM inexistente"
        pay_cash(qtbot, "5")
        issue = outcome(qtbot)
        assert issue.report is not None and issue.report.state is SaleState.REJECTED
        sale_id = issue.report.sale_id
        press(qtbot, Qt.Key.Key_Return)  # back to the cart
        wait_closed(qtbot, issue)
        qtbot.waitUntil(lambda: window.flow is None and window.vm.cart.rejected)

        press(qtbot, Qt.Key.Key_F7)
        confirm = wait_dialog(qtbot, ConfirmDialog)
        assert "rejeitada" in confirm.windowTitle()
        press(qtbot, Qt.Key.Key_Return)
        pin = wait_dialog(qtbot, PinDialog)  # always a manager: the sale is in the journal
        type_text(qtbot, "1234")
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, pin)
        qtbot.waitUntil(lambda: window.flow is None and not window.vm.cart.lines)
        assert not window.vm.cart.rejected and window.vm.cart.sale_id != sale_id
        assert "descartada" in window.message.text()
        summary, _ = run(qtbot, ctx.service.get_sale(sale_id))
        assert summary.state is SaleState.VOIDED
        entry = ctx.audit.entries()[0]
        assert (entry.action, entry.operator, entry.authorized_by, entry.sale_id) == (
            Action.ABORT_SALE,
            "caixa",
            "gerente",
            sale_id,
        )
        assert len(sim.notes) == 0  # nothing was issued
    finally:
        run(qtbot, window.shutdown())
