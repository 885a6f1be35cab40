"""F2: find a product by name (accent-insensitive), pick it with the arrows and Enter.

A multiplier typed before F2 (``3*``), or at the start of the query (``3*arroz``), is kept:
the dialog shows it and :attr:`SearchDialog.entry` hands the checkout ``3*<code>``.

Each keystroke restarts a short debounce; the search runs on the store's thread and only
the newest answer is shown, so typing fast never shows stale results nor freezes.
"""

from __future__ import annotations

import logging

from posapp.catalog.products import Catalog, Product
from posapp.catalog.storedb import StoreDB
from posapp.ui.errors import error_text
from posapp.ui.formatting import parse_decimal, plural, price_text, quantity_text
from posapp.ui.qt import (
    QDialog,
    QEvent,
    QKeyEvent,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QObject,
    QSize,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    tr,
)
from posapp.ui.scan_burst import text_field
from posapp.ui.scan_input import split_multiplier, with_multiplier
from posapp.ui.tasks import remember, spawn
from posapp.ui.widgets import fit_to_screen

log = logging.getLogger("posapp.ui")

DEBOUNCE_MS = 120


class SearchDialog(QDialog):
    def __init__(
        self, store: StoreDB, catalog: Catalog, parent: QWidget | None = None, *, text: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Buscar produto (F2)"))
        self._store = store
        self._catalog = catalog
        self._generation = 0
        self._searched = 0
        self._pending_choice = False
        self.product: Product | None = None
        self.quantity, text = split_multiplier(text)  # "3*" before F2 sells three
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh)
        layout = QVBoxLayout(self)
        self.query = QLineEdit(text, self)
        self.query.setPlaceholderText(tr("Nome, código ou EAN (sem acento também serve)"))
        self.query.textEdited.connect(lambda _t: self._debounce.start())
        self.query.returnPressed.connect(self.choose)
        self.query.installEventFilter(self)
        text_field(self.query)  # a barcode read here is searched for, not queued
        layout.addWidget(self.query)
        self.quantity_label = QLabel("", self)
        self.quantity_label.setObjectName("itemPrice")
        layout.addWidget(self.quantity_label)
        self._show_quantity()
        self.results = QListWidget(self)
        self.results.itemActivated.connect(lambda _item: self.choose())
        self.results.setMinimumHeight(240)
        layout.addWidget(self.results)
        self.status = QLabel(tr("↑/↓ escolhe, Enter confirma, Esc volta"), self)
        layout.addWidget(self.status)
        self.query.setFocus()
        fit_to_screen(self, QSize(860, 600))
        if text:
            self._debounce.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Arrows typed in the query move the selection in the list."""
        if watched is self.query and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                count = self.results.count()
                if count:
                    step = {
                        Qt.Key.Key_Down: 1,
                        Qt.Key.Key_Up: -1,
                        Qt.Key.Key_PageDown: 10,
                        Qt.Key.Key_PageUp: -10,
                    }
                    row = min(max(self.results.currentRow() + step[Qt.Key(key)], 0), count - 1)
                    self.results.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)

    def _show_quantity(self) -> None:
        amount = parse_decimal(self.quantity) if self.quantity else None
        self.quantity_label.setText(tr("Quantidade: ") + quantity_text(amount) if amount else "")
        self.quantity_label.setVisible(amount is not None)

    def _query_text(self) -> str:
        """The query without a multiplier typed at its start (which is remembered)."""
        quantity, text = split_multiplier(self.query.text())
        if quantity:
            self.quantity = quantity
            self._show_quantity()
        return text

    @property
    def entry(self) -> str:
        """What the checkout's code field gets for the chosen product (``3*1020``)."""
        assert self.product is not None
        return with_multiplier(self.quantity, self.product.code)

    def refresh(self) -> None:
        self._generation += 1
        remember(self, spawn(self._search(self._generation, self._query_text())))

    async def _search(self, generation: int, text: str) -> None:
        try:
            products = await self._store.run(self._catalog.search, text, limit=200)
        except Exception as exc:
            self._failed(generation, error_text(exc, "product search failed"))
            return
        if generation != self._generation:
            return  # a newer query is on its way
        self.results.clear()
        for product in products:
            item = QListWidgetItem(
                f"{product.description}   —   {product.code}   R$ {price_text(product.price)}/{product.unit}"
            )
            item.setData(Qt.ItemDataRole.UserRole, product)
            self.results.addItem(item)
        if products:
            self.results.setCurrentRow(0)
        self.status.setText(
            tr("Nenhum produto encontrado.")
            if not products and text.strip()
            else plural(len(products), tr("produto"), tr("produtos"))
        )
        self._searched = generation
        if self._pending_choice:
            self._pending_choice = False
            self._accept_current()

    def _failed(self, generation: int, text: str) -> None:
        """A search that failed answers with its reason (and an Enter waiting for it is
        dropped: there is nothing to choose)."""
        if generation != self._generation:
            return
        self.results.clear()
        self.status.setText(text)
        self._searched = generation
        self._pending_choice = False

    @property
    def settled(self) -> bool:
        """The list answers the text in the field (no search waiting or running)."""
        return not self._debounce.isActive() and self._searched == self._generation

    def choose(self) -> None:
        """Enter: take the highlighted product; if the list is behind the typing, search
        first and take the first answer."""
        if self._debounce.isActive():
            self._debounce.stop()
            self.refresh()
        if self._searched != self._generation:
            self._pending_choice = True
            return
        self._accept_current()

    def _accept_current(self) -> None:
        item = self.results.currentItem()
        if item is None:
            return
        self.product = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
