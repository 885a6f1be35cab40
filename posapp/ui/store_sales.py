"""Ctrl+F12, *Vendas da loja*: every till's sales as the store server holds them, with the
day per till and for the store (issue 16). Read-only; a manager may ask the till that issued a
note to cancel it (F8): the request goes through the server and that till cancels with its
own discipline (README, "A store of many tills"). All server calls go through the
:class:`~posapp.services.store_sync.StoreSync` the status bar runs, off the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from posapp.domain import lifecycle
from posapp.domain.cancel import check_motivo
from posapp.domain.lifecycle import SaleState
from posapp.errors import PosappError
from posapp.services.core import Authorization
from posapp.ui.context import AppContext
from posapp.ui.dialogs import use_monospace
from posapp.ui.errors import error_text
from posapp.ui.formatting import brl, in_store_zone, plural, store_timezone
from posapp.ui.qt import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    Qt,
    QVBoxLayout,
    QWidget,
    tr,
)
from posapp.ui.scan_burst import text_field
from posapp.ui.tasks import async_slot, run_dialog
from posapp.ui.widgets import key_button, set_role

if TYPE_CHECKING:
    from posapp.services.store_sync import StoreSync

log = logging.getLogger("posapp.ui.store_sales")

Authorize = Callable[[str], Awaitable[Authorization | None]]


class MotivoDialog(QDialog):
    """The cancel's *motivo* (15-255 characters), checked as the issuing till will."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Pedir cancelamento"))
        self.motivo_text = ""
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(what, self))
        self.motivo = QLineEdit(self)
        self.motivo.setPlaceholderText(tr("motivo (15 a 255 caracteres)"))
        text_field(self.motivo)
        layout.addWidget(self.motivo)
        self.error = QLabel("", self)
        set_role(self.error, "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        row = QHBoxLayout()
        row.addWidget(key_button(tr("Enviar"), "Enter", self._send, parent=self, role="primary"))
        row.addWidget(key_button(tr("Voltar"), "Esc", self.reject, parent=self))
        layout.addLayout(row)
        self.motivo.returnPressed.connect(self._send)
        self.motivo.setFocus()

    def _send(self) -> None:
        try:
            self.motivo_text = check_motivo(self.motivo.text())
        except PosappError as exc:
            self.error.setText(error_text(exc))
            return
        self.accept()


class StoreSalesDialog(QDialog):
    def __init__(
        self, ctx: AppContext, sync: StoreSync, authorize: Authorize, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sync = sync
        self.authorize = authorize
        self.sales: list[dict[str, Any]] = []
        self.setWindowTitle(tr("Vendas da loja (todos os caixas)"))
        layout = QVBoxLayout(self)
        self.day = QLabel("", self)
        self.day.setWordWrap(True)
        use_monospace(self.day)
        layout.addWidget(self.day)
        self.list = QListWidget(self)
        use_monospace(self.list)
        self.list.setMinimumSize(640, 320)
        self.list.currentRowChanged.connect(self._show_selected)
        layout.addWidget(self.list)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        # Room for two lines from the start: a longer message never covers the list.
        self.message.setMinimumHeight(self.message.fontMetrics().lineSpacing() * 2 + 6)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addWidget(key_button(tr("Atualizar"), "F5", self.reload, parent=self))
        row.addWidget(key_button(tr("Pedir cancelamento"), "F8", self.request_cancel, parent=self))
        row.addWidget(key_button(tr("Fechar"), "Esc", self.reject, parent=self))
        layout.addLayout(row)
        self.list.setFocus()

    def say(self, text: str, role: str | None = None) -> None:
        self.message.setText(text)
        set_role(self.message, role)

    def _show_selected(self, row: int) -> None:
        """The selected sale's chave and id (too long for the row)."""
        if 0 <= row < len(self.sales):
            sale = self.sales[row]
            self.say(tr("Chave: ") + (sale["chave"] or "—"))

    def selected(self) -> dict[str, Any] | None:
        row = self.list.currentRow()
        return self.sales[row] if 0 <= row < len(self.sales) else None

    @async_slot
    async def reload(self) -> None:
        tz = store_timezone()
        now = in_store_zone(datetime.now().astimezone(), tz)
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            sales = await self.sync.office.store_sales(limit=200)
            day = await self.sync.office.day_by_till(start, start + timedelta(days=1))
        except PosappError as exc:
            self.say(error_text(exc), "error")
            return
        self.sales = sales
        self.list.clear()
        for sale in sales:
            state = SaleState(sale["state"])
            number = f"{sale['serie']}/{sale['numero']}" if sale["numero"] is not None else "—"
            moment = in_store_zone(sale["created_at"], tz).strftime("%d/%m %H:%M")
            text = (
                f"{sale['till_id'][:10]:<10}  {moment}  {state.label:<11} {number:>9}  "
                f"{brl(sale['total']):>12}"
            )
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, sale["sale_id"])
            self.list.addItem(item)
        if sales:
            self.list.setCurrentRow(0)
        total = sum((d["authorized_total"] for d in day), start=0)
        lines = [tr("Hoje (autorizadas):")] + [
            f"  {d['till_id'][:10]:<10} {plural(d['sales'], tr('venda'), tr('vendas')):>11}  "
            f"{brl(d['authorized_total']):>12}  {plural(d['cancelled'], tr('cancelada'), tr('canceladas'))}"
            for d in day
        ]
        count = sum(d["sales"] for d in day)
        lines.append(f"  {tr('Loja'):<10} {plural(count, tr('venda'), tr('vendas')):>11}  {brl(total):>12}")
        self.day.setText("\n".join(lines))
        if not sales:
            self.say(tr("O servidor da loja ainda não tem vendas."))

    @async_slot
    async def request_cancel(self) -> None:
        sale = self.selected()
        if sale is None:
            return
        if not lifecycle.can_cancel(SaleState(sale["state"])):
            self.say(tr("Só NFC-e autorizadas podem ser canceladas."), "warning")
            return
        by = await self.authorize(tr("Cancelar NFC-e de outro caixa: digite o PIN do gerente."))
        if by is None:
            return
        what = tr("NFC-e do caixa ") + f"{sale['till_id']}  ·  {brl(sale['total'])}"
        dialog = MotivoDialog(what, self)
        if await run_dialog(dialog) != QDialog.DialogCode.Accepted:
            return
        try:
            request, _new = await self.sync.cancels.request_cancel(
                chave=sale["chave"], sale_id=None, motivo=dialog.motivo_text, by=by
            )
        except PosappError as exc:
            self.say(error_text(exc), "error")
            return
        self.say(
            tr("Pedido enviado ao caixa ")
            + request.till_id
            + tr(": ele cancela a nota quando sincronizar (em segundos, se estiver ligado).")
        )
