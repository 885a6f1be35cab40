"""The checkout window: the code field that always has focus, the cart, the big total,
the function keys, and the machinery that runs the flows they start. The flows themselves
live in the classes the window composes: the cart's keys (:mod:`posapp.ui.cart_flows`:
search, discounts, consumer, void, abort), the sale's issue (:mod:`posapp.ui.issue_flow`:
payment and issue) and the back office (:mod:`posapp.ui.back_office_flows`: cash, day
close, fiscal month, settings, sales history, operator switch).

Every flow is a coroutine started from a key (:func:`~posapp.ui.flows.checkout_flow`);
dialogs are awaited with :func:`~posapp.ui.tasks.run_dialog` (never a nested ``exec()``).
One flow at a time: the guard is taken *synchronously* when the key arrives
(:meth:`MainWindow.start_flow`), so a double press cannot open two dialogs or write two
audit rows. A flow holds the scan queue from start to end and first waits for the scan
being looked up (F10 right after a scan pays for that item too); scans meanwhile are kept,
and a keyboard-wedge scan typed into a dialog's field is taken back out of it
(:class:`~posapp.ui.scan_burst.ScanBurstFilter`) and queued instead. Whatever a flow
raises, the till is unlocked again and the cashier reads a Portuguese message; the dialogs
it opened are deleted once their own work is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from posapp.domain.audit import Action
from posapp.errors import PosappError
from posapp.operators.accounts import Operator
from posapp.ui.back_office_flows import BackOfficeFlows
from posapp.ui.cart_flows import CartFlows
from posapp.ui.checkout import CheckoutViewModel
from posapp.ui.context import AppContext
from posapp.ui.errors import error_text
from posapp.ui.flows import SALE_OPEN, FlowMaker
from posapp.ui.formatting import brl, plural, set_store_timezone
from posapp.ui.issue_flow import IssueFlow
from posapp.ui.models import CartModel
from posapp.ui.qt import (
    QAbstractItemView,
    QApplication,
    QCloseEvent,
    QDialog,
    QFontMetrics,
    QHBoxLayout,
    QHeaderView,
    QIcon,
    QKeySequence,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPaintEvent,
    QPushButton,
    QShortcut,
    QSize,
    Qt,
    QTableView,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
    tr,
)
from posapp.ui.scan_burst import ScanBurstFilter
from posapp.ui.status import StatusPanel
from posapp.ui.tasks import dispose_when_idle, run_dialog, spawn
from posapp.ui.widgets import (
    ElidedLabel,
    MessageDialog,
    PinDialog,
    fit_to_screen,
    key_button,
    set_role,
)

# The dialogs, the history and the receipt printing are imported when first opened (start-up
# loads only what the checkout shows: issue 11, "start fast"); tests/gui/test_startup.py
# keeps it so.
if TYPE_CHECKING:
    from posapp.ui.demo import DemoControls
    from posapp.ui.scanner import SerialScanner

log = logging.getLogger("posapp.ui")

# Background work starts once the window has painted, or after this long if it never does
# (started hidden or minimized).
BACKGROUND_FALLBACK_MS = 1000

FUNCTION_KEYS = (
    ("F2", "Buscar"),
    ("F3", "Desconto"),  # Shift+F3: on the whole sale
    ("F4", "CPF/CNPJ"),
    ("F6", "Cancelar item"),
    ("F7", "Descartar venda"),
    ("F8", "Caixa"),
    ("F9", "Fechamento"),
    ("F10", "Pagar"),
    ("F11", "Configurações"),
    ("F12", "Vendas"),
)


class MainWindow(QMainWindow):
    """Signals:
    closed(): the window was closed (the app quits).
    """

    closed = Signal()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.vm = CheckoutViewModel(ctx, self)
        self.flow: str | None = None  # the name of the flow running, if any
        self._flow_dialogs: list[QDialog] = []  # deleted when the flow ends
        self._disposals: set[asyncio.Task[None]] = set()
        self.scanner: SerialScanner | None = None
        self._closing = False
        self._shut_down = False
        # The flows the keys start, each a job of its own; all run under this window's guard.
        self.cart_flows = CartFlows(self)
        self.issue_flow = IssueFlow(self)
        self.back_office = BackOfficeFlows(self)
        set_store_timezone(ctx.config.store.tz)  # every time on screen in the store's zone
        self.setWindowTitle(tr("posapp — Frente de caixa") + (tr(" (DEMONSTRAÇÃO)") if ctx.demo else ""))
        try:
            from posapp.resources import icon_path

            self.setWindowIcon(QIcon(str(icon_path(64))))
        except Exception:  # an icon is cosmetic; a broken install shows elsewhere
            log.debug("no window icon")

        central = QWidget(self)
        central.setObjectName("counter")
        self.setCentralWidget(central)
        layout = QVBoxLayout(central)

        top = QHBoxLayout()
        last = QVBoxLayout()
        self.item_description = ElidedLabel(tr("CAIXA LIVRE"), central)
        self.item_description.setObjectName("itemDescription")
        self.item_price = ElidedLabel("", central)
        self.item_price.setObjectName("itemPrice")
        last.addWidget(self.item_description)
        last.addWidget(self.item_price)
        self.demo_slot = QHBoxLayout()  # demo mode's button (attach_demo); empty on a real till
        last.addLayout(self.demo_slot)
        top.addLayout(last, 1)
        totals = QVBoxLayout()
        caption = QLabel(tr("TOTAL"), central)
        caption.setObjectName("totalCaption")
        self.total_label = QLabel(brl(self.vm.cart.total), central)
        self.total_label.setObjectName("totalValue")
        self.total_label.setMinimumWidth(360)
        totals.addWidget(caption)
        totals.addWidget(self.total_label)
        self.count_label = QLabel("", central)
        totals.addWidget(self.count_label)
        self.customer_label = QLabel("", central)
        totals.addWidget(self.customer_label)
        top.addLayout(totals)
        layout.addLayout(top)

        self.table = QTableView(central)
        self.table.setModel(self.vm.model)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self._size_columns()
        layout.addWidget(self.table, 1)

        entry = QHBoxLayout()
        entry_caption = QLabel(tr("Código:"), central)
        self.code = QLineEdit(central)
        self.code.setPlaceholderText(tr("Leia o código de barras ou digite (3*código multiplica)"))
        self.code.setMaxLength(64)
        self.code.returnPressed.connect(self.submit_code)
        entry.addWidget(entry_caption)
        entry.addWidget(self.code, 1)
        layout.addLayout(entry)
        self.message = QLabel("", central)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)

        # Two rows (six keys, then four and the operator), each as wide as its own labels:
        # fits a 1024-pixel screen.
        key_rows = (QHBoxLayout(), QHBoxLayout())
        self.key_buttons: dict[str, QPushButton] = {}
        cart, office = self.cart_flows, self.back_office
        slots = {
            "F2": cart.on_search,
            "F3": cart.on_item_discount,
            "F4": cart.on_customer,
            "F6": cart.on_void_line,
            "F7": cart.on_abort,
            "F8": office.on_cash,
            "F9": office.on_day_close,
            "F10": self.issue_flow.on_pay,
            "F11": office.on_settings,
            "F12": office.on_history,
        }
        for position, (key, label) in enumerate(FUNCTION_KEYS):
            button = key_button(
                tr(label),
                key,
                slots[key],
                parent=self,
                role="primary" if key == "F10" else None,
                focusable=False,
            )
            button.setObjectName("functionKey")
            self.key_buttons[key] = button
            key_rows[position // 6].addWidget(button, 1)
        switch = key_button(
            tr("Trocar operador"), "Ctrl+L", office.on_switch_operator, parent=self, focusable=False
        )
        switch.setObjectName("functionKey")
        key_rows[1].addWidget(switch, 1)
        for key_row in key_rows:
            layout.addLayout(key_row)
        sale_discount = QShortcut(QKeySequence("Shift+F3"), self)
        sale_discount.activated.connect(cart.on_sale_discount)
        fiscal_month = QShortcut(QKeySequence("Ctrl+F9"), self)
        fiscal_month.activated.connect(office.on_fiscal_month)
        store_sales = QShortcut(QKeySequence("Ctrl+F12"), self)  # every till's sales (issue 16)
        store_sales.activated.connect(office.on_store_sales)
        self.key_buttons["F9"].setToolTip(tr("F9: fechamento do dia · Ctrl+F9: fiscal do mês (contador)"))
        self.key_buttons["F3"].setToolTip(tr("F3: desconto no item · Shift+F3: desconto na venda"))
        escape = QShortcut(QKeySequence("Esc"), self)
        escape.activated.connect(self.clear_entry)

        self.status = StatusPanel(ctx, self)
        self.setStatusBar(self.status)
        self.status.on_store_settings = office.store_settings_arrived
        self.scan_filter = ScanBurstFilter(self._scan_from_dialog, active=self._watch_bursts, parent=self)
        self._filter_installed = False
        self._painted = False
        self._background_wanted = False
        self.background_started = False  # probes, drainer, store sync and serial scanner
        # Owned by the window: it never fires for a window already gone.
        self._background_timer = QTimer(self)
        self._background_timer.setSingleShot(True)
        self._background_timer.timeout.connect(self.start_background)

        self.vm.totals_changed.connect(self._show_totals)
        self.vm.model.rowsInserted.connect(lambda _parent, _first, _last: self.table.scrollToBottom())
        self.vm.last_item.connect(self._show_last_item)
        self.vm.message.connect(self.say)
        self.vm.customer_changed.connect(self._show_customer)
        self._show_totals()
        fit_to_screen(self, QSize(1280, 800))

    def _size_columns(self) -> None:
        """The description takes the room left; the numbers get what their widest usual
        value needs (computed, not measured row by row: a long cart costs nothing)."""
        self.table.ensurePolished()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(CartModel.DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        cells = self.table.fontMetrics()
        bold = header.font()
        bold.setBold(True)
        titles = QFontMetrics(bold)
        samples = {
            CartModel.ITEM: "000",
            CartModel.CODE: "7891000315507",
            CartModel.QUANTITY: "999,999",
            CartModel.UNIT_PRICE: "R$ 99.999,99",
            CartModel.TOTAL: "R$ 999.999,99",
        }
        for column, sample in samples.items():
            title = tr(CartModel.HEADERS[column])
            width = max(cells.horizontalAdvance(sample), titles.horizontalAdvance(title)) + 28
            self.table.setColumnWidth(column, width)

    # -- life cycle ----------------------------------------------------------------------

    def attach_demo(self, controls: DemoControls) -> None:
        """Demo mode: the issuer's scenarios (Ctrl+Shift+D), with their button in the header,
        under the last item, where a 1024-pixel screen has room."""
        button = self.status.attach_demo(controls)
        self.demo_slot.addWidget(button)
        self.demo_slot.addStretch(1)
        button.show()  # moved into the header after the window was shown
        self.status.show_operator()

    def start(self) -> None:
        """After ``show()``: the scan queue and the clock at once; the rest once the window
        has painted (:meth:`start_background`), so that the checkout is on screen first."""
        self.vm.start()
        self.status.start()
        self.focus_code()
        self._background_wanted = True
        self._background_timer.start(0 if self._painted else BACKGROUND_FALLBACK_MS)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            if self._background_wanted:  # right after this paint has reached the screen
                self._background_timer.start(0)

    def start_background(self) -> None:
        """What may wait until the checkout is on screen: the status bar's probes, polls,
        drainer and store sync, the serial scanner, and the application-wide scan-burst
        filter (only dialogs need it, and none is open yet; its first events cost ~30 ms, as
        PySide6 builds the Python types of every kind of event and object it is shown).
        Once; never after shutdown."""
        if self.background_started or not self._background_wanted or self._shut_down:
            return
        self.background_started = True
        app = QApplication.instance()
        if app is not None and not self._filter_installed:
            app.installEventFilter(self.scan_filter)
            self._filter_installed = True
        self.status.start_background()
        self.start_scanner()

    def start_scanner(self) -> None:
        port = self.ctx.terminal.scanner_port
        if self.scanner is not None:
            scanner, self.scanner = self.scanner, None
            spawn(asyncio.to_thread(scanner.stop))
        self.status.show_scanner(True, "")
        if port:
            from posapp.ui.scanner import SerialScanner  # only a till with a serial scanner loads it

            self.scanner = SerialScanner(
                port,
                self.ctx.terminal.scanner_baudrate,
                self.vm.scans.push,
                on_state=self.status.show_scanner,
            )
            self.scanner.start()

    async def shutdown(self) -> None:
        """Stop everything this window started (tests call it; closing the window too)."""
        if self._shut_down:
            return
        self._shut_down = True
        with contextlib.suppress(RuntimeError):  # deleted with the window
            self._background_timer.stop()
        app = QApplication.instance()
        if app is not None and self._filter_installed:
            self._filter_installed = False
            with contextlib.suppress(RuntimeError):  # deleted with the window: Qt removed it
                app.removeEventFilter(self.scan_filter)
        await self.status.stop()
        await self.vm.stop()
        if self.scanner is not None:
            scanner, self.scanner = self.scanner, None
            await asyncio.to_thread(scanner.stop)
        if self._disposals:  # a closed dialog's last request (history: check pending sales)
            await asyncio.wait(set(self._disposals), timeout=10)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._shut_down:
            refusal = None
            if self.issuing:
                refusal = tr("Aguarde o fim da emissão antes de fechar.")
            elif self.vm.cart.lines:
                # Closing would drop the sale without the manager the abort key asks for.
                refusal = tr(SALE_OPEN).format(what=tr("fechar"))
            elif self.flow is not None:
                refusal = tr("Feche a janela aberta antes de sair.")
            if refusal is not None:
                self.say(refusal, "warning")
                event.ignore()
                return
        super().closeEvent(event)
        if not self._closing:
            self._closing = True
            self.closed.emit()

    # -- display -------------------------------------------------------------------------

    def focus_code(self) -> None:
        self.activateWindow()
        self.code.setFocus()

    def say(self, text: str, level: str = "") -> None:
        self.message.setText(text)
        set_role(self.message, level or None)

    def clear_entry(self) -> None:
        self.code.clear()
        self.say("")

    def _show_totals(self) -> None:
        cart = self.vm.cart
        self.total_label.setText(brl(cart.total))
        self.count_label.setText(plural(cart.item_count, tr("item"), tr("itens")) if cart.item_count else "")
        if cart.is_empty and not cart.lines:
            self.item_description.setText(tr("CAIXA LIVRE"))
            self.item_price.setText("")

    def _show_last_item(self, description: str, price: str) -> None:
        self.item_description.setText(description or tr("CAIXA LIVRE"))
        self.item_price.setText(price)

    def _show_customer(self, document: str) -> None:
        self.customer_label.setText(tr("Consumidor: ") + document if document else "")

    # -- flows -----------------------------------------------------------------------------

    @property
    def issuing(self) -> bool:
        """A sale is being sent, or its outcome is on screen: no other flow, no closing."""
        return self.issue_flow.running

    def start_flow(self, name: str, make: FlowMaker) -> asyncio.Task[None] | None:
        """Start a key's flow (:func:`~posapp.ui.flows.checkout_flow`), or refuse it at once
        while another runs (or the window is going away): ``None``."""
        if self.flow is not None or self.issuing or self._shut_down:
            return None
        self.flow = name
        self.vm.scans.hold()
        return spawn(self._run_flow(name, make))

    async def _run_flow(self, name: str, make: FlowMaker) -> None:
        try:
            await self.vm.scans.wait_settled()  # a scan made just before the key counts
            await make()
        except PosappError as exc:
            log.warning("%s: %s", name, exc)
            self.say(error_text(exc, f"checkout flow {name} failed"), "error")
        except Exception as exc:
            self.say(error_text(exc, f"checkout flow {name} failed"), "error")
        finally:
            dialogs, self._flow_dialogs = self._flow_dialogs, []
            for dialog in dialogs:
                self._dispose(dialog)
            self.flow = None
            self.vm.scans.release()
            if not self._shut_down:
                self.focus_code()

    def keep_until_flow_ends(self, dialog: QDialog) -> None:
        """``dialog`` (opened by the running flow) is deleted when that flow ends."""
        self._flow_dialogs.append(dialog)

    def _dispose(self, dialog: QDialog) -> None:
        task = dispose_when_idle(dialog)
        self._disposals.add(task)
        task.add_done_callback(self._disposals.discard)

    async def dialogs_disposed(self) -> None:
        """Until the closed dialogs' last requests are over (a history may still be talking
        to the service)."""
        while self._disposals:
            await asyncio.wait(set(self._disposals))

    def _watch_bursts(self, widget: QWidget) -> bool:
        """Scan bursts are taken out of dialogs opened over this checkout."""
        window = widget.window()
        return window is not self and isinstance(window, QDialog) and self.vm.scans.held

    def _scan_from_dialog(self, code: str) -> None:
        log.info("scan typed into a dialog queued for the checkout")
        self.vm.scans.push(code)

    # -- helpers -------------------------------------------------------------------------

    async def dialog(self, dialog: QDialog) -> int:
        """Run a dialog with the scan queue held; focus returns to the code field. The
        dialog is deleted when the flow that opened it ends (read its results before)."""
        self.keep_until_flow_ends(dialog)
        self.vm.scans.hold()
        try:
            return await run_dialog(dialog)
        finally:
            self.vm.scans.release()
            self.focus_code()

    async def message_box(self, title: str, text: str, level: str = "info") -> None:
        await self.dialog(MessageDialog(title, text, level=level, parent=self))

    async def require_manager(
        self, reason: str, *, required: bool = True, action: Action | None = None
    ) -> Operator | None:
        """A manager for ``reason``: the logged-in one, or one who types a PIN. ``None``
        when the cashier gave up. With ``required=False`` the operator is enough."""
        operator = self.ctx.operator
        if operator is not None and (operator.is_manager or not required):
            return operator
        ctx = self.ctx

        async def check(pin: str) -> Operator:
            return await ctx.store.run(ctx.operators.check_manager_pin, pin, operator=ctx.operator_login)

        dialog = PinDialog(tr("Autorização do gerente"), reason, check, parent=self)
        if await self.dialog(dialog) != QDialog.DialogCode.Accepted:
            return None
        return dialog.operator

    # -- keys ----------------------------------------------------------------------------

    def submit_code(self) -> None:
        text = self.code.text()
        self.code.clear()
        if text.strip():
            self.vm.submit(text)


def demo_hint(ctx: AppContext) -> str:
    if not ctx.demo:
        return ""
    return tr("Demonstração: gerente / PIN 1234 (gerente) · caixa / PIN 0000 (operador de caixa)")
