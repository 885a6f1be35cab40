"""The checkout window: the code field that always has focus, the cart, the big total,
the function keys, and the flows they start (search, consumer, void, abort, cash, day
close, payment and issue, settings, sales history).

Every flow is a coroutine started from a key (:func:`checkout_flow`); dialogs are awaited
with :func:`~posapp.ui.tasks.run_dialog` (never a nested ``exec()``). One flow at a time:
the guard is taken *synchronously* when the key arrives, so a double press cannot open two
dialogs or write two audit rows. A flow holds the scan queue from start to end and first
waits for the scan being looked up (F10 right after a scan pays for that item too); scans
meanwhile are kept, and a keyboard-wedge scan typed into a dialog's field is taken back
out of it (:class:`~posapp.ui.scan_burst.ScanBurstFilter`) and queued instead. Whatever a
flow raises, the till is unlocked again and the cashier reads a Portuguese message; the
dialogs it opened are deleted once their own work is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from posapp.domain.audit import Action
from posapp.domain.errors import DomainError
from posapp.domain.lifecycle import SaleState
from posapp.domain.sale import Sale, describe_validation_error
from posapp.errors import PosappError, has_user_message
from posapp.operators.accounts import Operator
from posapp.services.core import Authorization
from posapp.ui.checkout import CheckoutViewModel
from posapp.ui.context import AppContext
from posapp.ui.errors import error_text
from posapp.ui.formatting import brl, local_day_bounds, plural, set_store_timezone, store_today
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
from posapp.ui.tasks import dispose_when_idle, open_dialog, run_dialog, spawn
from posapp.ui.widgets import (
    ConfirmDialog,
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
    from posapp.services.ports import PrintResult
    from posapp.services.pos import PosService
    from posapp.services.results import IssueReport
    from posapp.ui.demo import DemoControls
    from posapp.ui.history import HistoryDialog
    from posapp.ui.issue_dialog import Choice, IssueDialog
    from posapp.ui.scanner import SerialScanner

log = logging.getLogger("posapp.ui")

UNEXPECTED_ISSUE = (
    "Nada se perdeu: antes de tentar de novo, veja abaixo e em Vendas (F12) o que o registro "
    "fiscal tem desta venda."
)
SALE_OPEN = "Finalize ou descarte a venda (F7) antes de {what}."
# Background work starts once the window has painted, or after this long if it never does
# (started hidden or minimized).
BACKGROUND_FALLBACK_MS = 1000

FlowBody = Callable[["MainWindow"], Coroutine[Any, Any, None]]


def checkout_flow(fn: FlowBody) -> Callable[..., asyncio.Task[None] | None]:
    """A key's flow: refused at once while another runs (or the window is going away).

    The check and the claim happen in the key's own call, before any coroutine starts;
    qasync would otherwise start both coroutines of a double press before either ran.
    Returns the flow's task, or ``None`` when it was refused.
    """

    @functools.wraps(fn)
    def start(self: MainWindow, *_signal_args: object) -> asyncio.Task[None] | None:
        if self.flow is not None or self.issuing or self._shut_down:
            return None
        return self._start_flow(fn.__name__, lambda: fn(self))

    return start


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
        self.issuing = False
        self.flow: str | None = None  # the name of the flow running, if any
        self._flow_dialogs: list[QDialog] = []  # deleted when the flow ends
        self._disposals: set[asyncio.Task[None]] = set()
        self.last_report: IssueReport | None = None
        self.scanner: SerialScanner | None = None
        self._closing = False
        self._shut_down = False
        self.history: HistoryDialog | None = None
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
        slots = {
            "F2": self.on_search,
            "F3": self.on_item_discount,
            "F4": self.on_customer,
            "F6": self.on_void_line,
            "F7": self.on_abort,
            "F8": self.on_cash,
            "F9": self.on_day_close,
            "F10": self.on_pay,
            "F11": self.on_settings,
            "F12": self.on_history,
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
            tr("Trocar operador"), "Ctrl+L", self.on_switch_operator, parent=self, focusable=False
        )
        switch.setObjectName("functionKey")
        key_rows[1].addWidget(switch, 1)
        for key_row in key_rows:
            layout.addLayout(key_row)
        sale_discount = QShortcut(QKeySequence("Shift+F3"), self)
        sale_discount.activated.connect(self.on_sale_discount)
        fiscal_month = QShortcut(QKeySequence("Ctrl+F9"), self)
        fiscal_month.activated.connect(self.on_fiscal_month)
        store_sales = QShortcut(QKeySequence("Ctrl+F12"), self)  # every till's sales (issue 16)
        store_sales.activated.connect(self.on_store_sales)
        self.key_buttons["F9"].setToolTip(tr("F9: fechamento do dia · Ctrl+F9: fiscal do mês (contador)"))
        self.key_buttons["F3"].setToolTip(tr("F3: desconto no item · Shift+F3: desconto na venda"))
        escape = QShortcut(QKeySequence("Esc"), self)
        escape.activated.connect(self.clear_entry)

        self.status = StatusPanel(ctx, self)
        self.setStatusBar(self.status)
        self._store_settings_version = 0  # the store's settings this window's service was built with
        self.status.on_store_settings = self._store_settings_arrived
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

    def _start_flow(self, name: str, make: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        self.flow = name
        self.vm.scans.hold()
        return spawn(self._run_flow(name, make))

    async def _run_flow(self, name: str, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
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

    def _dispose(self, dialog: QDialog) -> None:
        task = dispose_when_idle(dialog)
        self._disposals.add(task)
        task.add_done_callback(self._disposals.discard)

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
        self._flow_dialogs.append(dialog)
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

    @checkout_flow
    async def on_search(self) -> None:
        from posapp.ui.search_dialog import SearchDialog

        dialog = SearchDialog(self.ctx.store, self.ctx.catalog, self, text=self.code.text())
        self.code.clear()
        if await self.dialog(dialog) == QDialog.DialogCode.Accepted and dialog.product is not None:
            self.vm.submit(dialog.entry)  # with the "3*" typed before F2

    @checkout_flow
    async def on_customer(self) -> None:
        from posapp.ui.dialogs import CustomerDialog

        dialog = CustomerDialog(self.vm.cart.customer, self, delivery=self.vm.cart.delivery)
        if await self.dialog(dialog) == QDialog.DialogCode.Accepted:
            self.vm.set_customer(dialog.customer, delivery=dialog.delivery)

    @checkout_flow
    async def on_item_discount(self) -> None:
        from posapp.ui.discount_dialog import discount_flow

        await discount_flow(self, whole_sale=False)

    @checkout_flow
    async def on_sale_discount(self) -> None:
        from posapp.ui.discount_dialog import discount_flow

        await discount_flow(self, whole_sale=True)

    @checkout_flow
    async def on_void_line(self) -> None:
        cart = self.vm.cart
        if cart.is_empty:
            self.say(tr("Não há itens para cancelar."), "warning")
            return
        last = cart.last_active()
        number = last.number if last else 1
        hint = ""
        typed = self.code.text().strip()
        if typed:
            # Only a plain number that names a line; a barcode left in the field is not one
            # (int() of it would also accept "²" or "١٢" and overflow the spin box).
            if typed.isascii() and typed.isdigit() and 1 <= int(typed) <= len(cart.lines):
                number = int(typed)
                self.code.clear()
            else:
                hint = tr(
                    "'{typed}' não é um número de item (1 a {count}): sugerido o item {number}."
                ).format(typed=typed[:20], count=len(cart.lines), number=f"{number:03d}")
        from posapp.ui.dialogs import VoidLineDialog

        dialog = VoidLineDialog(number, len(cart.lines), self, hint=hint)
        if await self.dialog(dialog) != QDialog.DialogCode.Accepted:
            return
        number = dialog.number.value()
        manager = await self.require_manager(
            tr("Cancelar o item ") + f"{number:03d}" + tr(": digite o PIN do gerente."),
            required=self.ctx.terminal.manager_for_void_line,
        )
        if manager is None:
            return
        await self.vm.void_line(number, authorized_by=manager.login if manager.is_manager else None)

    @checkout_flow
    async def on_abort(self) -> None:
        cart = self.vm.cart
        if not cart.lines:
            return
        if cart.rejected:
            await self._discard_rejected()
            return
        confirm = ConfirmDialog(
            tr("Descartar venda"),
            tr("Descartar a venda inteira (") + brl(cart.total) + tr(")? Nada será emitido."),
            confirm=tr("Descartar"),
            parent=self,
        )
        if await self.dialog(confirm) != QDialog.DialogCode.Accepted:
            return
        manager = await self.require_manager(
            tr("Descartar a venda: digite o PIN do gerente."), required=self.ctx.terminal.manager_for_abort
        )
        if manager is None:
            return
        await self.vm.abort(authorized_by=manager.login if manager.is_manager else None)

    async def _discard_rejected(self) -> None:
        """F7 on a sale the issuer rejected: it is in the fiscal journal, so discarding it
        is a manager's decision whatever the terminal settings say, and the journal records
        it (VOIDED: never sent again)."""
        cart = self.vm.cart
        confirm = ConfirmDialog(
            tr("Descartar venda rejeitada"),
            tr("Esta venda foi rejeitada e está no registro fiscal (")
            + brl(cart.total)
            + tr("). Descartá-la? Ela não será emitida nem reenviada."),
            confirm=tr("Descartar"),
            parent=self,
        )
        if await self.dialog(confirm) != QDialog.DialogCode.Accepted:
            return
        manager = await self.require_manager(tr("Descartar a venda rejeitada: digite o PIN do gerente."))
        if manager is None:
            return
        await self.vm.discard_rejected(authorized_by=manager.login)

    @checkout_flow
    async def on_cash(self) -> None:
        from posapp.ui.dialogs import CashMovementDialog

        dialog = CashMovementDialog(self)
        if await self.dialog(dialog) != QDialog.DialogCode.Accepted or dialog.amount is None:
            return
        kind, amount, note, summary = (
            dialog.selected_kind,
            dialog.amount,
            dialog.note.text(),
            dialog.summary(),
        )
        # F8 is rare: not at start-up.
        from posapp.services.day_close import (
            cash_needs_manager,
            cash_warning,
            expected_drawer,
            print_cash_slip,
        )

        ctx = self.ctx
        start, end = local_day_bounds(
            store_today(ctx.service.now(), ctx.config.store.tz), ctx.config.store.tz
        )
        in_drawer = await expected_drawer(ctx.service, ctx.store, ctx.cash, start=start, end=end)
        warning = cash_warning(kind, amount, in_drawer)  # a sangria above the drawer's cash
        if warning is not None:
            confirm = ConfirmDialog(
                tr("Sangria maior que o caixa"), tr(warning), confirm=tr("Continuar"), parent=self
            )
            if await self.dialog(confirm) != QDialog.DialogCode.Accepted:
                return
        needs_manager = cash_needs_manager(
            kind, manager_for_cash=ctx.terminal.manager_for_cash, amount=amount, in_drawer=in_drawer
        )
        manager = await self.require_manager(
            tr("Movimento de caixa (") + tr(kind.label) + tr("): digite o PIN do gerente."),
            required=needs_manager,
        )
        if manager is None:
            return
        movement = await ctx.store.run(
            ctx.cash.record,
            kind,
            amount,
            operator=ctx.operator_login or "?",
            authorized_by=manager.login if manager.is_manager else None,
            note=note,
        )
        self.say(tr("Registrado: ") + summary + tr(" · imprimindo o comprovante…"))
        printed = await print_cash_slip(ctx.service, movement, drawer_before=in_drawer, warning=warning)
        ctx.last_print_ok, ctx.last_print_error = printed.ok, printed.error
        self.status.show_printer()
        self.say(
            tr("Registrado: ")
            + summary
            + (
                tr(" · comprovante impresso: colha as assinaturas.")
                if printed.ok
                else tr(" · comprovante não impresso: ") + (printed.error or "")
            ),
            "" if printed.ok else "warning",
        )

    @checkout_flow
    async def on_day_close(self) -> None:
        manager = await self.require_manager(tr("Fechamento do dia: digite o PIN do gerente."))
        if manager is None:
            return
        from posapp.services.day_close import close_day, day_close_lines  # F9: not at start-up
        from posapp.ui.dialogs import TextReportDialog
        from posapp.ui.report_print import text_report_escpos

        ctx = self.ctx
        tz = ctx.config.store.tz  # the store's day, not the machine's
        today = store_today(ctx.service.now(), tz)
        start, end = local_day_bounds(today, tz)
        report = await close_day(
            ctx.service,
            ctx.store,
            ctx.cash,
            ctx.audit,
            day=today,
            start=start,
            end=end,
            by=Authorization(ctx.operator_login, manager.login),
        )
        columns = 48 if ctx.config.printer.paper_mm == 80 else 32
        lines = day_close_lines(report, columns=columns, tz=tz)
        dialog = TextReportDialog(tr("Fechamento do dia"), lines, self)
        await self.dialog(dialog)
        if dialog.print_requested:
            data = text_report_escpos(lines, ctx.config.printer)
            result = await ctx.service.print_bytes(data, kind="day_close")
            ctx.last_print_ok, ctx.last_print_error = result.ok, result.error
            self.status.show_printer()
            self.say(
                tr("Fechamento impresso.") if result.ok else tr("Falha na impressão: ") + (result.error or "")
            )

    @checkout_flow
    async def on_fiscal_month(self) -> None:
        """Ctrl+F9: the month's export for the accountant, the gaps and inutilização."""
        manager = await self.require_manager(tr("Fiscal do mês: digite o PIN do gerente."))
        if manager is None:
            return
        from posapp.ui.fiscal_month_dialog import FiscalMonthDialog  # Ctrl+F9: not at start-up

        dialog = FiscalMonthDialog(self.ctx, Authorization(self.ctx.operator_login, manager.login), self)
        try:
            await self.dialog(dialog)
        finally:
            await dialog.aclose()

    @checkout_flow
    async def on_settings(self) -> None:
        manager = await self.require_manager(tr("Configurações: digite o PIN do gerente."))
        if manager is None:
            return
        from posapp.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.ctx, self)
        if await self.dialog(dialog) != QDialog.DialogCode.Accepted:
            return
        config, terminal = dialog.new_config, dialog.new_terminal
        store_news = None
        if config is not None and terminal is not None and config.store_server is not None:
            from posapp.ui.store_publish import publish_store_part  # the store's part, to every till

            before = (self.ctx.config, self.ctx.terminal)
            config, terminal, store_news = await publish_store_part(
                self.status.store_sync, before, (config, terminal)
            )
        config_changed = config is not None and config != self.ctx.config
        terminal_changed = terminal is not None and terminal != self.ctx.terminal
        if not (config_changed or terminal_changed):
            self.say(tr("Nenhuma configuração mudou.") + (f" {store_news}" if store_news else ""))
            return
        if config is not None and config_changed:
            self.say(tr("Aplicando as configurações…"))
            while self._disposals:  # a closed history may still be talking to the old service
                await asyncio.wait(set(self._disposals))
            await self.status.replace_service(config)
            set_store_timezone(self.ctx.config.store.tz)
            self.status.show_printer()
            self.status.poll_health()
        if terminal is not None and terminal_changed:
            scanner_changed = (terminal.scanner_port, terminal.scanner_baudrate) != (
                self.ctx.terminal.scanner_port,
                self.ctx.terminal.scanner_baudrate,
            )
            await self.ctx.apply_terminal(terminal)
            if scanner_changed:
                self.start_scanner()
        self.say(tr("Configurações salvas.") + (f" {store_news}" if store_news else ""))

    def _store_settings_arrived(self, version: int) -> None:
        """[store_server]: the store's settings in force changed (another till published them).
        Applied between sales only: a sale already in the cart finishes with the settings it
        started with; until then each sync retries."""
        if version != self._store_settings_version and self.vm.cart.is_empty:
            self._apply_store_settings()

    @checkout_flow
    async def _apply_store_settings(self) -> None:
        from posapp.store_settings import local_state

        state = await self.ctx.store.run(local_state, self.ctx.store)
        self._store_settings_version = state.version
        if state.settings is None:
            return
        config = state.settings.overlay(self.ctx.config)
        if config == self.ctx.config:
            return
        while self._disposals:  # a closed history may still be talking to the old service
            await asyncio.wait(set(self._disposals))
        await self.status.replace_service(config)
        set_store_timezone(self.ctx.config.store.tz)
        self.say(tr("Configurações da loja atualizadas (versão {v}).").replace("{v}", str(state.version)))

    @checkout_flow
    async def on_history(self) -> None:
        # Anyone at the till may look (and reprint); the history asks a manager's PIN for
        # what changes a sale (cancel, resolve, discard). Audited as before.
        operator = self.ctx.operator
        await self.ctx.store.run(
            self.ctx.audit.record,
            Action.HISTORY_OPEN,
            operator=self.ctx.operator_login,
            authorized_by=operator.login if operator is not None and operator.is_manager else None,
        )
        from posapp.ui.history import HistoryDialog  # F12: not at start-up

        dialog = HistoryDialog(self.ctx, self)
        dialog.reload()
        self.history = dialog
        try:
            await self.dialog(dialog)
        finally:
            self.history = None
        self.status.poll_queue()

    @checkout_flow
    async def on_store_sales(self) -> None:
        """Ctrl+F12: every till's sales from the store server, the day per till; a manager
        may ask the issuing till to cancel a note (posapp/ui/store_sales.py)."""
        sync = self.status.store_sync
        if sync is None:
            self.say(tr("Este caixa não tem servidor da loja ([store_server] na configuração)."), "warning")
            return
        from posapp.ui.store_sales import StoreSalesDialog  # Ctrl+F12: not at start-up

        async def authorize(reason: str) -> Authorization | None:
            manager = await self.require_manager(reason)
            return None if manager is None else Authorization(self.ctx.operator_login, manager.login)

        dialog = StoreSalesDialog(self.ctx, sync, authorize, self)
        dialog.reload()
        await self.dialog(dialog)

    @checkout_flow
    async def on_switch_operator(self) -> None:
        if self.vm.cart.lines:
            self.say(tr(SALE_OPEN).format(what=tr("trocar de operador")), "warning")
            return
        from posapp.ui.dialogs import LoginDialog

        previous = self.ctx.operator_login
        dialog = LoginDialog(self.ctx.store, self.ctx.operators, hint=demo_hint(self.ctx), parent=self)
        if await self.dialog(dialog) != QDialog.DialogCode.Accepted or dialog.operator is None:
            return  # nobody else logged in: the previous operator is still at the till
        new = dialog.operator
        self.ctx.operator = new
        self.status.show_operator()
        if previous is not None and previous != new.login:
            await self.ctx.store.run(
                self.ctx.audit.record, Action.LOGOUT, operator=previous, detail=f"substituído por {new.login}"
            )

    # -- payment and issue ----------------------------------------------------------------

    @checkout_flow
    async def on_pay(self) -> None:
        cart = self.vm.cart
        if cart.is_empty:
            self.say(tr("Nenhum item na venda."), "warning")
            return
        from posapp.ui.payment_dialog import PaymentDialog

        dialog = PaymentDialog(cart.total, payments=cart.payments, parent=self, uf=self.ctx.config.store.uf)
        accepted = await self.dialog(dialog) == QDialog.DialogCode.Accepted
        cart.payments = tuple(dialog.payments)
        if not accepted:
            return
        try:
            sale = cart.to_sale(cart.payments, operator=self.ctx.operator_login)
        except ValidationError as exc:
            self.say(describe_validation_error(exc), "error")
            return
        except DomainError as exc:
            self.say(error_text(exc, "building the sale failed"), "error")
            return
        await self.issue(sale, resend=cart.rejected)

    async def issue(self, sale: Sale, *, resend: bool) -> None:
        """Issue (or resend) ``sale`` without blocking the window, then show its outcome."""
        from posapp.ui.issue_dialog import Choice

        self.issuing = True
        self.vm.scans.hold()
        try:
            while True:
                choice = await self._issue_once(sale, resend=resend)
                if choice is not Choice.RESEND:
                    break
                resend = True
        finally:
            self.issuing = False
            self.vm.scans.release()
            self.status.poll_queue()
            self.focus_code()

    async def _issue_once(self, sale: Sale, *, resend: bool) -> Choice | None:
        from posapp.ui.issue_dialog import Choice, IssueDialog

        ctx = self.ctx
        dialog = IssueDialog(
            total=sale.total,
            change=sale.change,
            scan_sink=lambda code: self._hold_scan(code, dialog),
            reprint=self._reprint,
            paper_mm=ctx.config.printer.paper_mm,
            print_slip=lambda report: _print_pending_slip(ctx.service, sale, report.state),
            parent=self,
        )
        self._flow_dialogs.append(dialog)
        waiter = open_dialog(dialog)
        try:
            if resend:
                report = await ctx.service.resend(
                    sale.sale_id, sale, at_counter=True, by=Authorization(ctx.operator_login)
                )
            else:
                report = await ctx.service.issue(sale)
        except Exception as exc:
            # Never leave the till behind a dialog that cannot be closed.
            dialog.busy = False
            dialog.reject()
            await waiter
            if has_user_message(exc):
                log.warning("issue of %s failed: %s", sale.sale_id, exc)
                text = error_text(exc)
            else:
                text = error_text(exc, f"issue of {sale.sale_id} failed unexpectedly")
                text += "\n" + tr(UNEXPECTED_ISSUE)
            where = await self._where_is(sale)
            await self.message_box(
                tr("Não foi possível emitir"), text + ("\n\n" + where if where else ""), "error"
            )
            return None
        self.last_report = report
        self.status.saw_issue(report)  # the badge follows what this sale saw
        try:
            if report.printed is not None:
                ctx.last_print_ok, ctx.last_print_error = report.printed, report.print_error
                self.status.show_printer()
        except Exception:  # the sale is issued: the bookkeeping must not hide its outcome
            log.exception("after issuing %s", sale.sale_id)
        try:
            await dialog.show_report(report)
        except Exception:
            log.exception("showing the outcome of %s failed", sale.sale_id)
            dialog.busy = False  # Enter still closes it
        await waiter
        choice = dialog.choice
        if report.state is SaleState.REJECTED:
            self.vm.cart.rejected = True
            if choice is Choice.FIX:
                self.say(tr("Venda rejeitada: corrija (itens, CPF F4) e tecle F10 para reenviar."), "warning")
            return choice
        self.vm.new_sale()
        if report.state is SaleState.QUEUED:
            self.status.poke_drainer()
            self.say(tr("Venda anterior na fila: será emitida automaticamente."), "warning")
        elif report.state is SaleState.IN_DOUBT:
            self.say(tr("Venda anterior em dúvida: um gerente deve conferir (F12)."), "warning")
        return choice

    async def _where_is(self, sale: Sale) -> str:
        """After an issue that raised: is the sale in the journal? The cart follows the
        answer, so the sale is neither lost (still in the cart) nor issued twice (a sale the
        journal holds leaves the cart; the queue or a manager finishes it)."""
        try:
            if await self.ctx.service.state_of(sale.sale_id) is None:
                return tr("Nada foi registrado: a venda continua no caixa; tecle F10 para tentar de novo.")
            summary, _ = await self.ctx.service.get_sale(sale.sale_id)
        except Exception:
            log.exception("looking up %s after a failed issue", sale.sale_id)
            return tr(
                "A venda continua no caixa. Antes de repetir, confira se ela já aparece em Vendas (F12)."
            )
        if summary.state is SaleState.REJECTED:
            self.vm.cart.rejected = True
            return tr("A venda está registrada como rejeitada: corrija e tecle F10 para reenviar.")
        if summary.state is SaleState.VOIDED:
            self.vm.new_sale()
            return tr("Esta venda foi descartada por um gerente: o caixa está livre.")
        self.vm.new_sale()
        self.status.poke_drainer()
        return (
            tr("A venda está no registro fiscal (")
            + tr(summary.state.label)
            + tr("): confira em Vendas (F12).")
        )

    def _hold_scan(self, code: str, dialog: IssueDialog) -> None:
        self.vm.scans.push(code)
        dialog.held_scans(self.vm.scans.pending)

    async def _reprint(self, sale_id: str) -> IssueReport:
        report = await self.ctx.service.reprint(sale_id, by=Authorization(self.ctx.operator_login))
        self.ctx.last_print_ok, self.ctx.last_print_error = report.printed, report.print_error
        self.status.show_printer()
        self.last_report = report
        return report


def demo_hint(ctx: AppContext) -> str:
    if not ctx.demo:
        return ""
    return tr("Demonstração: gerente / PIN 1234 (gerente) · caixa / PIN 0000 (operador de caixa)")


def _print_pending_slip(
    service: PosService, sale: Sale, state: SaleState
) -> Coroutine[Any, Any, PrintResult | None]:
    # The printing stack (Pillow, segno, the spool) loads on the first pending slip, not at start.
    from posapp.services.pending_slips import print_pending_slip

    return print_pending_slip(service, sale, state)
