"""Outages the cashier can see and explain, and a demo that trains (issue 13, items 2 and 3,
and part of 6), keyboard only, against the Emites-Client simulator over loopback:

* an issuer that takes the sale and never answers turns the badge to NÃO RESPONDE (a probe
  still connects, so the probes alone said ONLINE next to "Em dúvida: 1"); the change shows
  while the note is being issued; the outcome says what to tell the customer, the detail is
  Portuguese, and the non-fiscal pending slip is printed;
* an issuer that is down queues the sale (OFFLINE, slip printed); when it is back the queue
  drains, the bar says "1 venda da fila emitida" and the late DANFE is printed;
* in demo mode Ctrl+Shift+D opens the issuer scenarios, and a digit picks one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from posapp.app import SimulatorScenarios
from posapp.config import Config, PrinterConfig
from posapp.domain.lifecycle import SaleState
from posapp.printing.escpos_decode import decode_escpos
from posapp.sim.emites import EmitesSimulator
from posapp.ui.demo import demo_config
from posapp.ui.issue_dialog import IssueDialog
from posapp.ui.main_window import MainWindow
from posapp.ui.payment_dialog import PaymentDialog
from posapp.ui.status import DemoScenarioDialog
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

BEER = "7891000315507"  # R$ 4,99


def config_for(sim: EmitesSimulator, *, response_timeout_s: float = 20) -> Config:
    config = demo_config(sim.port)
    emites = config.emites.model_copy(update={"response_timeout_s": response_timeout_s})
    return config.model_copy(update={"emites": emites, "printer": PrinterConfig(uri="preview")})


def pay_cash(qtbot: QtBot, amount: str) -> None:
    press(qtbot, Qt.Key.Key_F10)
    payment = wait_dialog(qtbot, PaymentDialog)
    type_text(qtbot, amount)
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, payment)


def outcome(qtbot: QtBot, issue: IssueDialog) -> IssueDialog:
    qtbot.waitUntil(lambda: not issue.busy, timeout=30000)
    assert issue.report is not None
    return issue


def next_sale(qtbot: QtBot, window: MainWindow, issue: IssueDialog) -> None:
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, issue)
    qtbot.waitUntil(lambda: not window.issuing and focused() is window.code)


def test_an_issuer_that_never_answers_shows_as_not_answering(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator
) -> None:
    ctx = make_ctx(config_for(sim, response_timeout_s=3))
    window = open_window(qtbot, ctx)
    printed: list[bytes] = []
    printer = ctx.service.printer
    assert printer is not None
    original = printer.print_bytes

    async def spy(data: bytes, *, kind: str, sale_id: str | None = None):  # type: ignore[no-untyped-def]
        printed.append(data)
        return await original(data, kind=kind, sale_id=sale_id)

    printer.print_bytes = spy  # type: ignore[method-assign]
    try:
        qtbot.waitUntil(lambda: window.status.badge.text() == "Emissor: ONLINE", timeout=10000)
        scan(qtbot, window, f"3*{BEER}")
        sim.faults.hang = True
        pay_cash(qtbot, "20")
        issue = wait_dialog(qtbot, IssueDialog)
        # The change is on the progress page from the start, while the issuer is asked.
        assert not issue.progress_change.isHidden() and issue.progress_change.text() == "R$ 5,03"
        progress_page = issue.pages.widget(0)
        assert progress_page is not None and progress_page.isAncestorOf(issue.progress_change)
        outcome(qtbot, issue)
        assert issue.report is not None and issue.report.state is SaleState.IN_DOUBT
        assert window.status.badge.text() == "Emissor: NÃO RESPONDE"
        assert issue.tell_customer.isVisible() and issue.tell_customer.text().startswith("Diga ao cliente")
        detail = issue.reasons.text()
        assert "não respondeu dentro do prazo" in detail
        assert "within" not in detail and "bytes received" not in detail  # English stays in the log
        qtbot.waitUntil(
            lambda: issue.print_status.text().startswith("Comprovante provisório impresso"), timeout=15000
        )
        [slip] = printed
        text = " ".join(decode_escpos(slip).text.split())
        assert "NFC-e PENDENTE" in text and "NÃO É DOCUMENTO FISCAL" in text
        assert issue.report.sale_id in text and "Troco R$ 5,03" in text
        next_sale(qtbot, window, issue)
        # A probe connects (the daemon accepts connections): the badge keeps what the sale saw.
        run(qtbot, window.status.refresh_health())
        assert window.status.badge.text() == "Emissor: NÃO RESPONDE"
        qtbot.waitUntil(lambda: "Em dúvida: 1" in window.status.queue_label.toolTip(), timeout=10000)
    finally:
        run(qtbot, window.shutdown())


def test_a_queued_sale_prints_a_slip_and_the_drain_says_so(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator
) -> None:
    ctx = make_ctx(config_for(sim))
    controls = SimulatorScenarios(sim, sim.port)
    window = open_window(qtbot, ctx)
    try:
        run(qtbot, controls.set_scenario("down"))
        scan(qtbot, window, BEER)
        pay_cash(qtbot, "5")
        issue = outcome(qtbot, wait_dialog(qtbot, IssueDialog))
        assert issue.report is not None and issue.report.state is SaleState.QUEUED
        assert window.status.badge.text() == "Emissor: OFFLINE"
        assert "será emitida assim que ele voltar" in issue.tell_customer.text()
        qtbot.waitUntil(
            lambda: issue.print_status.text().startswith("Comprovante provisório impresso"), timeout=15000
        )
        next_sale(qtbot, window, issue)
        run(qtbot, controls.set_scenario("normal"))
        window.status.poke_drainer()
        qtbot.waitUntil(
            lambda: "1 venda da fila emitida" in window.status.queue_label.toolTip(), timeout=20000
        )
        assert "DANFE impresso" in window.status.queue_label.toolTip()
        assert window.status.badge.text() == "Emissor: ONLINE"
        assert len(sim.notes) == 1
        jobs = run(qtbot, ctx.service.list_sales())
        assert jobs[0].state is SaleState.AUTHORIZED
    finally:
        run(qtbot, window.shutdown())
        run(qtbot, controls.set_scenario("normal"))


def test_the_demo_key_switches_the_simulated_issuer(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator
) -> None:
    ctx = make_ctx(config_for(sim))
    ctx.demo = True
    controls = SimulatorScenarios(sim, sim.port)
    window = open_window(qtbot, ctx)
    try:
        window.attach_demo(controls)
        assert window.status.demo_button.isVisible()
        press(qtbot, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        dialog = wait_dialog(qtbot, DemoScenarioDialog)
        assert "✔" in dialog.buttons["normal"].text()
        press(qtbot, Qt.Key.Key_2)  # 2: down
        wait_closed(qtbot, dialog)
        qtbot.waitUntil(lambda: controls.scenario == "down", timeout=10000)
        qtbot.waitUntil(lambda: window.status.badge.text() == "Emissor: OFFLINE", timeout=10000)
        assert "emissor: down" in window.status.operator_label.toolTip() + window.status.operator_label.text()

        press(qtbot, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        dialog = wait_dialog(qtbot, DemoScenarioDialog)
        press(qtbot, Qt.Key.Key_5)  # 5: rejecting (the issuer is listening again)
        wait_closed(qtbot, dialog)
        qtbot.waitUntil(lambda: controls.scenario == "rejecting", timeout=10000)
        scan(qtbot, window, BEER)
        pay_cash(qtbot, "5")
        issue = outcome(qtbot, wait_dialog(qtbot, IssueDialog))
        assert issue.report is not None and issue.report.state is SaleState.REJECTED
        assert window.status.badge.text() == "Emissor: ONLINE"  # it answered: a verdict
    finally:
        run(qtbot, window.shutdown())
        run(qtbot, controls.set_scenario("normal"))
