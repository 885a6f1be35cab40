"""Every top-level window and dialog fits a 1024×768 till screen (issue 13, item 1).

Each screen is built from the real widgets, with the counter's style sheet, and filled with
long real-world content: 120-character product descriptions, long printer and issuer
errors, a busy status bar (queue, in doubt, the old-queue warning, a scanner problem, a
long operator name). Its minimum size (what a window manager cannot shrink it below) must
fit the screen less the window frame. Offscreen tests cannot see a real screen, so this is
the check that a layout reflows instead of growing; the look itself is checked under Xvfb
(``scripts/screenshots.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget
from pytestqt.qtbot import QtBot

from posapp.config import Config, EmitesConfig, PrinterConfig
from posapp.domain.lifecycle import SaleState
from posapp.domain.payments import PaymentMethod
from posapp.domain.sale import CardDetails, Payment
from posapp.operators.accounts import Operator
from posapp.resources import load_stylesheet
from posapp.services.results import IssueReport, NoteInfo, QueueStatus, SaleSummary
from posapp.ui.context import AppContext
from posapp.ui.dialogs import (
    CashMovementDialog,
    CustomerDialog,
    FirstManagerDialog,
    LoginDialog,
    TextReportDialog,
    VoidLineDialog,
)
from posapp.ui.history import CancelDialog, HistoryDialog, ResolveInDoubtDialog, SaleDetailsDialog
from posapp.ui.issue_dialog import IssueDialog
from posapp.ui.main_window import MainWindow
from posapp.ui.payment_dialog import PaymentDialog
from posapp.ui.receipt_preview import ReceiptView
from posapp.ui.search_dialog import SearchDialog
from posapp.ui.settings_dialog import SettingsDialog
from posapp.ui.widgets import ConfirmDialog, MessageDialog, PinDialog, fill_screen
from tests.gui.conftest import MakeCtx, open_window, run

SCREEN = QSize(1024, 768)
FRAME = QSize(16, 48)  # a window manager's borders and title bar (and a panel) take this much

LONG_DESCRIPTION = (
    "REFRIGERANTE DE COLA SEM ACUCAR GARRAFA PET 2 LITROS EMBALAGEM PROMOCIONAL LEVE 6 PAGUE 5 "
    "SABOR ORIGINAL GELADO LOTE 42"
)[:120]
LONG_PRINTER_ERROR = (
    "[Errno 113] No route to host: a impressora em tcp://192.168.100.250:9100 não respondeu "
    "depois de 3 tentativas; confira o cabo de rede, o papel e se a tampa está fechada"
)
LONG_ISSUER_ERROR = (
    "Rejeição 778: Informado NCM inexistente [nItem:3] — o produto REFRIGERANTE DE COLA SEM "
    "ACUCAR GARRAFA PET 2 LITROS EMBALAGEM PROMOCIONAL tem o NCM 22021000 que não existe na "
    "tabela vigente; corrija o cadastro e reenvie a venda"
)
CHAVE = "35240612345678000190650010000012341000012345"
LONG_NAME = "Maria Aparecida dos Santos Oliveira Figueiredo"


def offline_config() -> Config:
    return Config(
        emites=EmitesConfig(host="127.0.0.1", port=9, connect_timeout_s=1, response_timeout_s=2),
        printer=PrinterConfig(uri="tcp://192.168.100.250:9100"),
    )


@pytest.fixture(autouse=True)
def counter_theme(qapp: QApplication) -> Iterator[None]:
    """The real look: the counter's style sheet makes everything larger."""
    qapp.setStyleSheet(load_stylesheet())
    yield
    qapp.setStyleSheet("")


@pytest.fixture
def ctx(make_ctx: MakeCtx) -> AppContext:
    context = make_ctx(offline_config(), login="gerente")
    assert context.operator is not None
    context.operator = dataclasses.replace(context.operator, name=LONG_NAME)
    context.last_print_ok, context.last_print_error = False, LONG_PRINTER_ERROR
    return context


def minimum(widget: QWidget) -> QSize:
    """What the window cannot be shrunk below once shown (its layout's minimum)."""
    widget.ensurePolished()
    layout = widget.layout()
    if layout is not None:
        layout.activate()
    hint = widget.minimumSizeHint()
    floor = widget.minimumSize()
    return QSize(max(hint.width(), floor.width()), max(hint.height(), floor.height()))


def assert_fits(qtbot: QtBot, widget: QWidget, name: str) -> None:
    widget.show()
    qtbot.waitExposed(widget)
    QApplication.processEvents()
    size = minimum(widget)
    limit = SCREEN - FRAME
    print(f"{name}: minimum {size.width()}x{size.height()}")
    assert size.width() <= limit.width() and size.height() <= limit.height(), (
        f"{name} needs at least {size.width()}x{size.height()}: larger than a 1024x768 screen"
    )


def summary(state: SaleState, number: int, *, error: str | None = None) -> SaleSummary:
    now = datetime.now(UTC)
    return SaleSummary(
        sale_id=f"01J0000000000000000000{number:04d}",
        created_at=now - timedelta(minutes=number),
        state=state,
        total=Decimal("123456.78"),
        operator="gerente.substituto.loja",
        backend="integranotas",
        chave=CHAVE if state is SaleState.AUTHORIZED else None,
        numero=123456 if state is SaleState.AUTHORIZED else None,
        serie=1 if state is SaleState.AUTHORIZED else None,
        authorized_at=now if state is SaleState.AUTHORIZED else None,
        cancel_deadline=now + timedelta(minutes=29) if state is SaleState.AUTHORIZED else None,
        last_error=error,
        had_cash=True,
        payments=(("01", Decimal("100000.00")), ("03", Decimal("23456.78"))),
    )


# -- the checkout ---------------------------------------------------------------------------


def test_checkout_with_a_long_cart_and_a_busy_status_bar(qtbot: QtBot, ctx: AppContext) -> None:
    window = open_window(qtbot, ctx)
    try:
        product = run(qtbot, ctx.store.run(ctx.catalog.find, "1001"))
        assert product is not None
        long = dataclasses.replace(product, description=LONG_DESCRIPTION, price=Decimal("12345.67"))
        for _ in range(12):
            window.vm.add(long, Decimal("999.999"))
        window.vm.set_customer("11222333000181")
        window.say(LONG_ISSUER_ERROR + " " + LONG_PRINTER_ERROR, "error")
        status = window.status
        status.queued, status.in_doubt = 1234, 56
        status.show_queue()
        run(
            qtbot,
            _busy_queue(status, QueueStatus(1234, 56, datetime.now(UTC), contingency_deadline_warning=True)),
        )
        status.show_scanner(False, "Leitor serial /dev/ttyUSB0: desconectado, tentando de novo a cada 5 s")
        status.show_printer()
        assert_fits(qtbot, window, "checkout")
    finally:
        run(qtbot, window.shutdown())


async def _busy_queue(status: object, answer: QueueStatus) -> None:
    """One queue poll that answers ``answer`` (the old-queue warning on)."""
    from posapp.ui.status import StatusPanel

    assert isinstance(status, StatusPanel)
    service = status.ctx.service

    async def queue_status() -> QueueStatus:
        return answer

    original = service.queue_status
    service.queue_status = queue_status  # type: ignore[method-assign]
    try:
        await status.refresh_queue()
    finally:
        service.queue_status = original  # type: ignore[method-assign]


def test_checkout_at_1024x768_keeps_total_change_and_issuer_in_view(qtbot: QtBot, ctx: AppContext) -> None:
    """Maximized on a 1024×768 screen, the total and the issuer's state with the queue
    count lie inside the window, not cut off on its right."""
    window = open_window(qtbot, ctx)
    try:
        window.status.printer_label.setText("Impressora: ERRO — " + LONG_PRINTER_ERROR)
        window.resize(SCREEN - FRAME)
        QApplication.processEvents()
        assert window.width() <= (SCREEN - FRAME).width()
        for label in (window.total_label, window.status.badge, window.status.queue_label):
            assert label.isVisible()
            corner = label.mapTo(window, label.rect().bottomRight())
            assert corner.x() <= window.width() and corner.y() <= window.height(), label.objectName()
    finally:
        run(qtbot, window.shutdown())


def test_the_checkout_takes_its_whole_screen_before_it_is_shown(qtbot: QtBot, ctx: AppContext) -> None:
    """Where no window manager maximizes it (a kiosk till's X session), the checkout still
    covers the screen: it is given the screen's whole available area before showMaximized."""
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    area = window.screen().availableGeometry()
    assert window.geometry() != area  # what it would keep with nobody to maximize it
    fill_screen(window)
    assert window.geometry() == area


class _Scenarios:
    """The demo's issuer switch, for a test that only looks at the status bar."""

    scenario = "normal"

    async def set_scenario(self, name: str) -> None:
        self.scenario = name


def _operator_width(window: MainWindow) -> int:
    window.status.show_operator()
    window.resize(SCREEN - FRAME)
    QApplication.processEvents()
    return window.status.operator_label.width()


def test_demo_mode_keeps_the_operator_in_view(qtbot: QtBot, ctx: AppContext) -> None:
    """At 1024×768 the demo's "Simular falha" button once took the operator's place in the
    status bar (the name was not shown at all): it lives in the header now, and the status
    bar reads as on a real till."""
    window = open_window(qtbot, ctx)
    try:
        plain = _operator_width(window)
        window.attach_demo(_Scenarios())
        button, operator = window.status.demo_button, window.status.operator_label
        assert _operator_width(window) == plain and operator.width() >= 200, operator.width()
        assert button.isVisible() and button.parent() is not window.status
        corner = button.mapTo(window, button.rect().bottomRight())
        assert (
            corner.x() <= window.width()
            and corner.y() < window.table.mapTo(window, window.table.rect().topLeft()).y()
        )
        assert_fits(qtbot, window, "checkout in demo mode")
    finally:
        run(qtbot, window.shutdown())


# -- dialogs over the checkout ----------------------------------------------------------------


def test_payment_with_a_card_and_long_tenders(qtbot: QtBot, ctx: AppContext) -> None:
    card = CardDetails(integration=2, brand="03", authorization="12345678901234567890", acquirer_cnpj=None)
    dialog = PaymentDialog(
        Decimal("123456.78"),
        payments=(
            Payment(method=PaymentMethod.DEBITO, amount=Decimal("100000.00"), card=card),
            Payment(method=PaymentMethod.CREDITO, amount=Decimal("3456.78"), card=card),
        ),
    )
    qtbot.addWidget(dialog)
    dialog.select_method(PaymentMethod.CREDITO)
    dialog.error.setText(LONG_ISSUER_ERROR)
    assert_fits(qtbot, dialog, "payment")


def _issue_dialog(qtbot: QtBot) -> IssueDialog:
    async def reprint(sale_id: str) -> IssueReport:
        raise AssertionError("not here")

    dialog = IssueDialog(
        total=Decimal("123456.78"),
        change=Decimal("98765.43"),
        scan_sink=lambda code: None,
        reprint=reprint,
        paper_mm=80,
    )
    qtbot.addWidget(dialog)
    return dialog


def test_issue_dialog_while_issuing(qtbot: QtBot, qloop: object) -> None:
    dialog = _issue_dialog(qtbot)
    dialog.held_scans(12)
    assert_fits(qtbot, dialog, "issue (issuing)")
    dialog.busy = False


@pytest.mark.parametrize(
    "state", [SaleState.AUTHORIZED, SaleState.REJECTED, SaleState.QUEUED, SaleState.IN_DOUBT]
)
def test_issue_dialog_outcomes(qtbot: QtBot, qloop: object, state: SaleState) -> None:
    from posapp.printing import render_test_page

    dialog = _issue_dialog(qtbot)
    note = None
    if state is SaleState.AUTHORIZED:
        note = NoteInfo(CHAVE, 123456, 1, "135240000123456", datetime.now(UTC), contingency=True)
    report = IssueReport(
        sale_id="01J00000000000000000000001",
        state=state,
        backend="emites",
        note=note,
        errors=(LONG_ISSUER_ERROR, "Rejeição 539: Duplicidade de NF-e com diferença na Chave de Acesso"),
        message=LONG_ISSUER_ERROR,
        printed=False if state is SaleState.AUTHORIZED else None,
        print_error=LONG_PRINTER_ERROR,
        receipt=_receipt(render_test_page) if state is SaleState.AUTHORIZED else None,
    )
    dialog.held_scans(3)
    run(qtbot, dialog.show_report(report))
    assert_fits(qtbot, dialog, f"issue ({state.value})")


def _receipt(render: Callable[[PrinterConfig], bytes]) -> bytes:
    return render(PrinterConfig(uri="preview"))


def test_customer_dialog_with_its_error(qtbot: QtBot, qloop: object) -> None:
    dialog = CustomerDialog(None)
    qtbot.addWidget(dialog)
    dialog.field.setText("123.456.789-00")
    dialog.submit()
    assert dialog.error.text()
    assert_fits(qtbot, dialog, "customer (error)")


def test_small_checkout_dialogs(qtbot: QtBot, ctx: AppContext) -> None:
    async def check(pin: str) -> Operator:
        raise AssertionError(pin)

    dialogs: list[tuple[str, QWidget]] = [
        ("void line", VoidLineDialog(3, 12, hint="'7891000315507' não é um número de item (1 a 12).")),
        ("cash movement", CashMovementDialog()),
        ("pin", PinDialog("Autorização do gerente", LONG_ISSUER_ERROR, check)),
        ("message", MessageDialog("Não foi possível emitir", LONG_ISSUER_ERROR * 3, level="error")),
        ("confirm", ConfirmDialog("Descartar venda", LONG_ISSUER_ERROR, confirm="Descartar")),
        ("login", LoginDialog(ctx.store, ctx.operators, hint="Demonstração: gerente / PIN 1234 " * 3)),
        ("first manager", FirstManagerDialog(ctx.store, ctx.operators)),
        ("search", SearchDialog(ctx.store, ctx.catalog, text="refrigerante")),
    ]
    for name, dialog in dialogs:
        qtbot.addWidget(dialog)
        error = getattr(dialog, "error", None)
        if error is not None:
            error.setText(LONG_ISSUER_ERROR)
        assert_fits(qtbot, dialog, name)


def test_day_close_report(qtbot: QtBot, qloop: object) -> None:
    lines = [f"{'Dinheiro':<30}{'R$ 123.456,78':>18}"] * 60
    dialog = TextReportDialog("Fechamento do dia", lines)
    qtbot.addWidget(dialog)
    assert_fits(qtbot, dialog, "day close")


def test_settings(qtbot: QtBot, ctx: AppContext) -> None:
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        assert_fits(qtbot, dialog, f"settings (tab {index})")


# -- the sales history and its dialogs --------------------------------------------------------


def test_history_with_long_rows(qtbot: QtBot, ctx: AppContext) -> None:
    dialog = HistoryDialog(ctx)
    qtbot.addWidget(dialog)
    rows = [summary(state, n, error=LONG_ISSUER_ERROR) for n, state in enumerate(SaleState)]
    dialog.model.set_rows(rows * 10)
    dialog.summary.setText("9999 vendas · 9999 autorizadas · R$ 9.999.999,99")
    dialog.message.setText(LONG_ISSUER_ERROR)
    assert_fits(qtbot, dialog, "history")


def test_history_dialogs(qtbot: QtBot, ctx: AppContext) -> None:
    sale = summary(SaleState.AUTHORIZED, 1, error=LONG_ISSUER_ERROR)
    cancel = CancelDialog(ctx, sale)
    qtbot.addWidget(cancel)
    cancel.error.setText(LONG_ISSUER_ERROR)
    assert_fits(qtbot, cancel, "cancel")
    resolve = ResolveInDoubtDialog()
    qtbot.addWidget(resolve)
    resolve.error.setText(LONG_ISSUER_ERROR)
    assert_fits(qtbot, resolve, "resolve")
    details = SaleDetailsDialog(ctx, sale)
    qtbot.addWidget(details)
    details.summary_text.setPlainText((LONG_DESCRIPTION + "\n") * 80)
    assert_fits(qtbot, details, "sale details")


def test_receipt_preview(qtbot: QtBot, qloop: object) -> None:
    from posapp.ui.history import receipt_dialog

    dialog = receipt_dialog(None)
    qtbot.addWidget(dialog)
    view = dialog.findChild(ReceiptView)
    assert view is not None
    assert_fits(qtbot, dialog, "receipt preview")


def test_main_window_is_a_main_window(ctx: AppContext) -> None:
    assert issubclass(MainWindow, QMainWindow)
