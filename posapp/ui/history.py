"""F12: the sales history: today's and past sales, the cancel countdown, and what is done
with a sale — reprint, details and XML, cancel, resend, resolve, discard.

Anyone at the till opens it (the opening is audited): looking, details and XML, reprint
(audited with who asked), resend of a queued or rejected sale and checking the pending
ones are routine work — a resend is what the queue's drainer does on its own, and only
``QUEUED``/``REJECTED`` sales can be sent again, so it cannot issue a note twice. What
changes a sale's fate asks for a manager (the logged-in one, or a PIN): cancel (the PIN in
the cancel dialog), resolve an in-doubt sale, discard (void) a queued or rejected one.

Keys: ↑/↓ choose, Enter details, F5 reprint, F6 resend (queued/rejected), F7 resolve an
in-doubt sale, F8 cancel (authorized, inside the window), F9 check pending sales (asks the
issuers, then sends the queue), Del discard a queued or rejected sale (manager; it is never
sent), Esc closes. The countdown ticks every second; the cancel key and button disable
themselves when the selected sale's window closes. The ticking stops when the dialog
closes, and every action reports its failure in the dialog instead of escaping it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, TypeVar

from posapp.domain import lifecycle
from posapp.domain.cancel import MOTIVO_MAX, MOTIVO_MIN
from posapp.domain.documents import format_cpf_cnpj
from posapp.domain.lifecycle import SaleState
from posapp.domain.money import ZERO
from posapp.errors import PosappError
from posapp.operators.accounts import Operator
from posapp.services.core import Authorization
from posapp.services.results import CancelReport, SaleSummary
from posapp.ui.context import AppContext
from posapp.ui.dialogs import use_monospace
from posapp.ui.errors import error_text
from posapp.ui.formatting import (
    brl,
    countdown,
    local_datetime,
    local_day_bounds,
    plural,
    price_text,
    quantity_text,
    store_today,
)
from posapp.ui.models import HistoryModel
from posapp.ui.qt import (
    QAbstractItemView,
    QDate,
    QDateEdit,
    QDialog,
    QFont,
    QFontDatabase,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSize,
    Qt,
    QTableView,
    QTabWidget,
    QTimer,
    QVBoxLayout,
    QWidget,
    tr,
)
from posapp.ui.receipt_preview import ReceiptView
from posapp.ui.scan_burst import PASSTHROUGH, text_field
from posapp.ui.tasks import async_slot, dispose_when_idle, run_dialog
from posapp.ui.widgets import ConfirmDialog, ElidedLabel, PinDialog, fit_to_screen, key_button, set_role

log = logging.getLogger("posapp.ui")

H = TypeVar("H", bound="HistoryDialog")


def day_bounds(day: QDate, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """The store's midnight to its next midnight of ``day`` (in ``tz``, else the zone the
    screens use), as aware datetimes."""
    return local_day_bounds(date(day.year(), day.month(), day.day()), tz)


def _reported(
    fn: Callable[[H], Coroutine[Any, Any, None]],
) -> Callable[[H], Coroutine[Any, Any, None]]:
    """A history action whose failure is said in the dialog's message line (a known error
    in its own words, a bug as "unexpected" plus the log), never left to escape."""

    @functools.wraps(fn)
    async def run(self: H) -> None:
        try:
            await fn(self)
        except Exception as exc:
            self._say(error_text(exc, f"history action {fn.__name__} failed"), "error")

    return run


class HistoryDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Vendas (F12)"))
        self.ctx = ctx
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel(tr("Dia:"), self))
        today = store_today(ctx.service.now(), ctx.config.store.tz)  # the store's day
        self.day = QDateEdit(QDate(today.year, today.month, today.day), self)
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("dd/MM/yyyy")
        self.day.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.day.dateChanged.connect(lambda _d: self.reload())
        top.addWidget(self.day)
        previous = key_button(tr("Dia anterior"), "Ctrl+Left", lambda: self._shift_day(-1), parent=self)
        following = key_button(tr("Dia seguinte"), "Ctrl+Right", lambda: self._shift_day(1), parent=self)
        previous.setText(tr("Ctrl+←  Dia anterior"))
        following.setText(tr("Ctrl+→  Dia seguinte"))
        for button in (previous, following):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAutoDefault(False)
            top.addWidget(button)
        self.summary = ElidedLabel("", self, keep=10)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.summary, 1)
        layout.addLayout(top)

        self.model = HistoryModel(ctx.service.now, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setAlternatingRowColors(True)
        self.table.doubleClicked.connect(lambda _index: self.details())
        self.table.selectionModel().currentRowChanged.connect(lambda _c, _p: self._update_actions())
        self.table.setMinimumHeight(200)
        layout.addWidget(self.table, 1)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)

        rows = (QHBoxLayout(), QHBoxLayout())  # two rows of four: fits a 1024-pixel screen
        self.details_button = key_button(
            tr("Detalhes/XML"), "Return", self.details, parent=self, focusable=False
        )
        self.reprint_button = key_button(tr("Reimprimir"), "F5", self.reprint, parent=self, focusable=False)
        self.resend_button = key_button(tr("Reenviar"), "F6", self.resend, parent=self, focusable=False)
        self.resolve_button = key_button(
            tr("Resolver dúvida"), "F7", self.resolve, parent=self, focusable=False
        )
        self.cancel_button = key_button(
            tr("Cancelar NFC-e"), "F8", self.cancel, parent=self, role="danger", focusable=False
        )
        self.discard_button = key_button(tr("Descartar"), "Del", self.discard, parent=self, focusable=False)
        self.pending_button = key_button(tr("Verificar pendentes"), "F9", self.check_pending, parent=self)
        self.pending_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close = key_button(tr("Fechar"), "Esc", self.reject, parent=self, focusable=False)
        self.details_button.setText(tr("Enter  Detalhes/XML"))
        for position, button in enumerate(
            (
                self.details_button,
                self.reprint_button,
                self.resend_button,
                self.resolve_button,
                self.cancel_button,
                self.discard_button,
                self.pending_button,
                close,
            )
        ):
            button.setAutoDefault(False)
            rows[position // 4].addWidget(button, 1)
        for row in rows:
            layout.addLayout(row)

        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self.table.setFocus()
        self._update_actions()
        operator = ctx.operator
        if operator is not None and not operator.is_manager:
            self._say(tr("Cancelar (F8), resolver (F7) e descartar (Del) pedem o PIN do gerente."))
        fit_to_screen(self, QSize(1280, 720))

    def done(self, result: int) -> None:
        self._timer.stop()  # no ticking behind a closed dialog
        super().done(result)

    # -- data ----------------------------------------------------------------------------

    @async_slot
    @_reported
    async def reload(self) -> None:
        start, end = day_bounds(self.day.date(), self.ctx.config.store.tz)
        selected = self.current()
        rows = await self.ctx.service.list_sales(since=start, until=end, limit=5000)
        self.model.set_rows(rows)
        authorized = [r for r in rows if r.state is SaleState.AUTHORIZED]
        self.summary.setText(
            plural(len(rows), "venda", "vendas")
            + " · "
            + plural(len(authorized), "autorizada", "autorizadas")
            + " · "
            + brl(sum((r.total for r in authorized), ZERO))
        )
        row = self.model.row_of(selected.sale_id) if selected else None
        self.table.selectRow(row if row is not None else 0)
        self._update_actions()

    def _shift_day(self, days: int) -> None:
        self.day.setDate(self.day.date().addDays(days))

    def current(self) -> SaleSummary | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.summary(index.row())

    def tick(self) -> None:
        self.model.tick()
        self._update_actions()

    def _update_actions(self) -> None:
        sale = self.current()
        state = sale.state if sale else None
        self.cancel_button.setEnabled(sale is not None and self.model.cancellable(sale))
        self.reprint_button.setEnabled(state is not None and lifecycle.can_reprint(state))
        self.resend_button.setEnabled(state is not None and lifecycle.can_resend(state))
        self.discard_button.setEnabled(
            sale is not None and lifecycle.can_void(sale.state, pinned=sale.pinned_backend is not None)
        )
        self.resolve_button.setEnabled(state is not None and lifecycle.can_resolve_issue(state))
        self.details_button.setEnabled(sale is not None)

    def _say(self, text: str, level: str | None = None) -> None:
        self.message.setText(text)
        set_role(self.message, level)

    # -- actions ---------------------------------------------------------------------------

    async def _child(self, dialog: QDialog) -> int:
        """Run a dialog over the history; it is deleted once closed (read results first:
        deletion waits for the next turn of the event loop)."""
        try:
            return await run_dialog(dialog)
        finally:
            dispose_when_idle(dialog)

    @async_slot
    @_reported
    async def details(self) -> None:
        sale = self.current()
        if sale is None:
            return
        dialog = SaleDetailsDialog(self.ctx, sale, self)
        try:
            await dialog.load()
        except BaseException:
            dialog.deleteLater()
            raise
        await self._child(dialog)

    @async_slot
    @_reported
    async def reprint(self) -> None:
        sale = self.current()
        if sale is None or not self.reprint_button.isEnabled():
            return
        report = await self.ctx.service.reprint(sale.sale_id, by=Authorization(self.ctx.operator_login))
        if report.printed:
            self._say(tr("Cupom reimpresso."))
        else:
            self._say(tr("Falha na reimpressão: ") + (report.print_error or ""), "error")
        if report.receipt:
            preview = receipt_dialog(self)
            view = preview.findChild(ReceiptView)
            assert view is not None
            await view.show_receipt(report.receipt, self.ctx.config.printer.paper_mm)
            await self._child(preview)

    @async_slot
    @_reported
    async def resend(self) -> None:
        sale = self.current()
        if sale is None or not lifecycle.can_resend(sale.state):
            return
        self._say(tr("Reenviando…"))
        report = await self.ctx.service.resend(sale.sale_id, by=Authorization(self.ctx.operator_login))
        self._say(report.message, "error" if report.state is not SaleState.AUTHORIZED else None)
        self.reload()

    @async_slot
    @_reported
    async def resolve(self) -> None:
        sale = self.current()
        if sale is None or not lifecycle.can_resolve_issue(sale.state):
            return
        manager = await self._manager(tr("Resolver venda em dúvida: digite o PIN do gerente."))
        if manager is None:
            return
        dialog = ResolveInDoubtDialog(self)
        if await self._child(dialog) != QDialog.DialogCode.Accepted:
            return
        report = await self.ctx.service.resolve_in_doubt(
            sale.sale_id,
            issued_chave=dialog.chave,
            by=Authorization(self.ctx.operator_login, manager.login),
        )
        self._say(report.message)
        self.reload()

    @async_slot
    @_reported
    async def check_pending(self) -> None:
        self._say(tr("Consultando os emissores…"))
        reconciled = await self.ctx.service.reconcile()
        drained = await self.ctx.service.drain()
        self._say(
            tr("Em dúvida conferidas: ")
            + str(len(reconciled))
            + tr(". Fila: ")
            + plural(drained.authorized, "autorizada", "autorizadas")
            + ", "
            + str(drained.still_queued)
            + tr(" ainda na fila.")
        )
        self.reload()

    @async_slot
    @_reported
    async def cancel(self) -> None:
        sale = self.current()
        if sale is None or not self.cancel_button.isEnabled():
            return
        dialog = CancelDialog(self.ctx, sale, self)
        await self._child(dialog)
        if dialog.result_report is not None:
            report = dialog.result_report
            self._say(report.message, None if report.state is SaleState.CANCELLED else "error")
        self.reload()

    @async_slot
    @_reported
    async def discard(self) -> None:
        """Del: a queued or rejected sale that must not be issued (the customer left, or it
        was rung up by mistake) is voided in the journal; a manager decides."""
        sale = self.current()
        if sale is None or not lifecycle.can_void(sale.state, pinned=sale.pinned_backend is not None):
            return
        confirm = ConfirmDialog(
            tr("Descartar venda"),
            tr("Descartar a venda de ")
            + brl(sale.total)
            + tr(" (")
            + tr(sale.state.label)
            + tr(")? Ela não será emitida nem reenviada."),
            confirm=tr("Descartar"),
            parent=self,
        )
        if await self._child(confirm) != QDialog.DialogCode.Accepted:
            return
        manager = await self._manager(tr("Descartar a venda: digite o PIN do gerente."))
        if manager is None:
            return
        ctx = self.ctx
        report = await ctx.service.void(
            sale.sale_id,
            by=Authorization(ctx.operator_login, manager.login),
            reason=f"{sale.state.value} descartada no histórico: {brl(sale.total)}",
        )
        self._say(report.message, "warning")
        self.reload()

    async def _manager(self, reason: str) -> Operator | None:
        """The logged-in manager, or one who types a PIN now."""
        operator = self.ctx.operator
        if operator is not None and operator.is_manager:
            return operator
        ctx = self.ctx

        async def check(pin: str) -> Operator:
            return await ctx.store.run(ctx.operators.check_manager_pin, pin, operator=ctx.operator_login)

        dialog = PinDialog(tr("Autorização do gerente"), reason, check, parent=self)
        if await self._child(dialog) != QDialog.DialogCode.Accepted:
            return None
        return dialog.operator


def receipt_dialog(parent: QWidget | None) -> QDialog:
    """The reprinted receipt on screen: a scrollable picture with a close button."""
    preview = QDialog(parent)
    preview.setWindowTitle(tr("Cupom"))
    box = QVBoxLayout(preview)
    view = ReceiptView(preview)
    view.setMinimumSize(460, 360)
    # The keyboard scrolls the receipt down to its QR code (↑/↓, PgUp/PgDn, Home/End).
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    box.addWidget(view, 1)
    close = QPushButton(tr("Fechar (Esc)"), preview)
    close.setAutoDefault(False)
    close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    close.clicked.connect(preview.reject)
    box.addWidget(close, alignment=Qt.AlignmentFlag.AlignRight)
    view.setFocus()
    fit_to_screen(preview, QSize(520, 900))
    return preview


class CancelDialog(QDialog):
    """Cancel an authorized NFC-e: *motivo* (15-255 characters, counted live), the PIN of
    a manager, and the time left. The button turns itself off when the window closes."""

    def __init__(self, ctx: AppContext, sale: SaleSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sale = sale
        self.result_report: CancelReport | None = None
        self.setWindowTitle(tr("Cancelar NFC-e"))
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                tr("NFC-e ")
                + ("—" if sale.numero is None else str(sale.numero))
                + " / "
                + ("—" if sale.serie is None else str(sale.serie))
                + "  ·  "
                + brl(sale.total),
                self,
            )
        )
        self.remaining_label = QLabel("", self)
        self.remaining_label.setObjectName("itemPrice")
        layout.addWidget(self.remaining_label)
        form = QFormLayout()
        self.motivo = QLineEdit(self)
        self.motivo.setMaxLength(MOTIVO_MAX)
        self.motivo.setPlaceholderText(tr("ex.: cliente desistiu da compra"))
        text_field(self.motivo)
        self.motivo.textChanged.connect(lambda _t: self.refresh())
        self.counter = QLabel("", self)
        self.pin = QLineEdit(self)
        self.motivo.returnPressed.connect(self._motivo_entered)
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(12)
        self.pin.textChanged.connect(lambda _t: self.refresh())
        self.pin.returnPressed.connect(self.submit)
        form.addRow(tr("Motivo"), self.motivo)
        form.addRow("", self.counter)
        form.addRow(tr("PIN do gerente"), self.pin)
        layout.addLayout(form)
        self.error = QLabel("", self)
        self.error.setWordWrap(True)
        set_role(self.error, "error")
        layout.addWidget(self.error)
        row = QHBoxLayout()
        back = QPushButton(tr("Voltar (Esc)"), self)
        back.setAutoDefault(False)
        back.clicked.connect(self.reject)
        self.confirm = QPushButton(tr("Cancelar NFC-e (Enter)"), self)
        self.confirm.setAutoDefault(False)
        set_role(self.confirm, "danger")
        self.confirm.clicked.connect(self.submit)
        row.addWidget(back)
        row.addStretch(1)
        row.addWidget(self.confirm)
        layout.addLayout(row)
        self._busy = False
        self._motivo_short = False  # the error line says the motivo is too short
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.setMinimumWidth(640)
        self.refresh()
        self.motivo.setFocus()

    def _motivo_entered(self) -> None:
        """Enter in the motivo: with the PIN already typed it confirms (one Enter, not
        two); otherwise the PIN is next."""
        if self.pin.text():
            self.submit()
        else:
            self.pin.setFocus()

    def remaining(self) -> timedelta:
        if self.sale.cancel_deadline is None:
            return timedelta(0)
        return max(self.sale.cancel_deadline - self.ctx.service.now(), timedelta(0))

    def motivo_length(self) -> int:
        return len(" ".join(self.motivo.text().split()))

    @property
    def window_open(self) -> bool:
        """An offline note not yet authorized: its window has not started, the issuer decides."""
        return self.sale.window_pending or self.remaining() > timedelta(0)

    def refresh(self) -> None:
        remaining = self.remaining()
        length = self.motivo_length()
        if self.sale.window_pending:
            self.remaining_label.setText(tr("Prazo: 30 min após a autorização (NFC-e em contingência)"))
        elif remaining > timedelta(0):
            self.remaining_label.setText(tr("Prazo para cancelar: ") + countdown(remaining))
        else:
            self.remaining_label.setText(tr("Prazo de cancelamento encerrado"))
            self.error.setText(
                tr(
                    "Passou o prazo: esta NFC-e não pode mais ser cancelada. "
                    "Para desfazer a venda, emita uma NF-e de devolução."
                )
            )
        if self._motivo_short and length >= MOTIVO_MIN:  # fixed: the old error goes
            self._motivo_short = False
            self.error.setText("")
        self.counter.setText(f"{length}/{MOTIVO_MAX} " + tr("caracteres (mínimo ") + f"{MOTIVO_MIN})")
        set_role(self.counter, None if MOTIVO_MIN <= length <= MOTIVO_MAX else "warning")
        self.confirm.setEnabled(
            not self._busy
            and self.window_open
            and MOTIVO_MIN <= length <= MOTIVO_MAX
            and bool(self.pin.text())
        )

    def reject(self) -> None:
        if self._busy:  # the cancel is on its way to the issuer: wait for its answer
            return
        super().reject()

    def done(self, result: int) -> None:
        self._timer.stop()
        super().done(result)

    @async_slot
    async def submit(self) -> None:
        try:
            await self._submit()
        except Exception as exc:  # never leave the dialog stuck "busy"
            self._busy = False
            self.error.setText(error_text(exc, f"cancel of {self.sale.sale_id} failed unexpectedly"))
            self.refresh()

    async def _submit(self) -> None:
        if self._busy:
            return
        self.refresh()
        if not self.confirm.isEnabled():
            if self.motivo_length() < MOTIVO_MIN:
                self.error.setText(
                    tr("O motivo precisa de pelo menos ") + str(MOTIVO_MIN) + tr(" caracteres.")
                )
                self._motivo_short = True
                self.motivo.setFocus()
            elif not self.pin.text():
                self.pin.setFocus()
            return
        self._busy = True
        self.refresh()
        ctx = self.ctx
        try:
            manager = await ctx.store.run(
                ctx.operators.check_manager_pin, self.pin.text(), operator=ctx.operator_login
            )
        except PosappError as exc:
            self._busy = False
            self.error.setText(error_text(exc, "manager PIN check failed"))
            self.pin.clear()
            self.refresh()
            return
        motivo = " ".join(self.motivo.text().split())
        try:
            report = await ctx.service.cancel(
                self.sale.sale_id, motivo, by=Authorization(ctx.operator_login, manager.login)
            )
        except PosappError as exc:
            self._busy = False
            self.error.setText(error_text(exc, f"cancel of {self.sale.sale_id} failed"))
            self.refresh()
            return
        self.result_report = report
        self._busy = False
        if report.state is SaleState.CANCELLED:
            self.accept()
            return
        self.error.setText(report.message + ("\n" + "; ".join(report.errors) if report.errors else ""))
        self.refresh()


class ResolveInDoubtDialog(QDialog):
    """The manager checked the issuer's own screen: was the note authorized (type its key)
    or not (the sale goes back to the queue and is sent again)?"""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Resolver venda em dúvida"))
        self.chave: str | None = None
        layout = QVBoxLayout(self)
        text = QLabel(
            tr(
                "Confira no Emites-Client (ou no portal da SEFAZ) se esta venda foi autorizada.\n"
                "Se foi, digite a chave de acesso e tecle Enter. Se NÃO foi emitida, deixe vazio e "
                "tecle F6: ela volta para a fila e será enviada de novo."
            ),
            self,
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.field = QLineEdit(self)
        self.field.setMaxLength(60)
        self.field.setPlaceholderText(tr("chave de acesso (44 dígitos)"))
        self.field.setProperty(PASSTHROUGH, True)  # scanning the DANFE's barcode is welcome here
        self.field.returnPressed.connect(self._authorized)
        layout.addWidget(self.field)
        self.error = QLabel("", self)
        set_role(self.error, "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        row = QHBoxLayout()
        back = key_button(tr("Voltar"), "Esc", self.reject, parent=self, focusable=False)
        not_issued = key_button(tr("Não foi emitida"), "F6", self._not_issued, parent=self, focusable=False)
        issued = QPushButton(tr("Foi autorizada (Enter)"), self)
        set_role(issued, "primary")
        issued.clicked.connect(self._authorized)
        for button in (back, not_issued, issued):
            button.setAutoDefault(False)
        row.addWidget(back)
        row.addWidget(not_issued)
        row.addStretch(1)
        row.addWidget(issued)
        layout.addLayout(row)
        self.setMinimumWidth(640)
        self.field.setFocus()

    def _authorized(self) -> None:
        from posapp.domain.documents import parse_chave
        from posapp.domain.errors import InvalidDocument

        try:
            self.chave = parse_chave(self.field.text()).digits
        except InvalidDocument as exc:
            self.error.setText(error_text(exc))
            return
        self.accept()

    def _not_issued(self) -> None:
        self.chave = None
        self.accept()


class SaleDetailsDialog(QDialog):
    """Items, payments, consumer, note data and the authorized XML of one sale."""

    def __init__(self, ctx: AppContext, sale: SaleSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sale = sale
        self.setWindowTitle(tr("Detalhes da venda"))
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.summary_text = QPlainTextEdit(self)
        self.summary_text.setReadOnly(True)
        self.summary_text.setFont(font)
        use_monospace(self.summary_text)  # the app's style sheet would set a proportional font
        self.xml_text = QPlainTextEdit(self)
        self.xml_text.setReadOnly(True)
        self.xml_text.setFont(font)
        use_monospace(self.xml_text)
        self.tabs.addTab(self.summary_text, tr("Venda"))
        self.tabs.addTab(self.xml_text, tr("XML"))
        layout.addWidget(self.tabs)
        row = QHBoxLayout()
        xml_key = key_button(tr("Ver XML"), "F3", lambda: self.tabs.setCurrentIndex(1), parent=self)
        sale_key = key_button(tr("Ver venda"), "F2", lambda: self.tabs.setCurrentIndex(0), parent=self)
        close = QPushButton(tr("Fechar (Esc)"), self)
        close.clicked.connect(self.reject)
        for button in (sale_key, xml_key, close):
            button.setAutoDefault(False)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            row.addWidget(button)
        layout.addLayout(row)
        fit_to_screen(self, QSize(900, 640))

    async def load(self) -> None:
        summary, sale = await self.ctx.service.get_sale(self.sale.sale_id)
        xml, _pdf = await self.ctx.service.documents(self.sale.sale_id)
        tz = self.ctx.config.store.tz
        lines = [
            tr("Situação: ") + tr(summary.state.label),
            tr("Criada em: ") + local_datetime(summary.created_at, tz),
            tr("Operador: ") + (summary.operator or "—"),
            tr("Emissor: ") + (summary.backend or "—"),
        ]
        if summary.numero is not None:
            lines.append(tr("Número/Série: ") + f"{summary.numero} / {summary.serie}")
        if summary.chave:
            lines.append(tr("Chave: ") + " ".join(summary.chave[i : i + 4] for i in range(0, 44, 4)))
        if summary.authorized_at:
            lines.append(tr("Autorizada em: ") + local_datetime(summary.authorized_at, tz))
        if summary.last_error:
            lines.append(tr("Último erro: ") + summary.last_error)
        if sale.customer is not None:
            lines.append(tr("Consumidor: ") + format_cpf_cnpj(sale.customer.identifier))
        lines.append("")
        for number, item in enumerate(sale.items, start=1):
            lines.append(
                f"{number:03d} {item.code:<8} {item.description[:34]:<34} "
                f"{quantity_text(item.quantity):>7} x {price_text(item.unit_price):>9} "
                f"= {brl(item.net_total):>12}"
            )
        lines.append("")
        for payment in sale.payments:
            lines.append(f"{tr(payment.method.label):<30} {brl(payment.amount):>12}")
        lines.append(f"{tr('TOTAL'):<30} {brl(sale.total):>12}")
        if sale.change:
            lines.append(f"{tr('Troco'):<30} {brl(sale.change):>12}")
        lines.append(f"ID: {summary.sale_id}")
        self.summary_text.setPlainText("\n".join(lines))
        if xml:
            self.xml_text.setPlainText(xml.decode("utf-8", errors="replace"))
        else:
            self.xml_text.setPlainText(tr("Sem XML autorizado para esta venda."))
