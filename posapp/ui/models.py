"""Qt item models: the cart table and the sales history.

Both answer ``DisplayRole`` with the text the cashier reads and ``Qt.UserRole`` with the
raw value (Decimal, datetime, state), so tests and sorting never parse formatted text.
Adding a line is one ``beginInsertRows``/``endInsertRows``: a 300-line cart costs the
same per scan as an empty one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from posapp.domain.lifecycle import SaleState
from posapp.services.results import SaleSummary
from posapp.ui.cart import Cart, CartLine
from posapp.ui.formatting import brl, countdown, local_time, price_text, quantity_text
from posapp.ui.qt import (
    QAbstractTableModel,
    QBrush,
    QColor,
    QFont,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    tr,
)

_Index = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_VOIDED_COLOUR = QColor("#8A939C")

# Roles as plain ints: a view asks data() for every visible cell in half a dozen roles on
# each repaint, and comparing enum members is far slower than comparing ints.
DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
USER = int(Qt.ItemDataRole.UserRole.value)
ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
FONT = int(Qt.ItemDataRole.FontRole.value)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_CART_ROLES = frozenset({DISPLAY, USER, ALIGN, FONT, FOREGROUND, TOOLTIP})


class CartModel(QAbstractTableModel):
    """The cart as a table: item, code, description, quantity, unit price, total."""

    ITEM, CODE, DESCRIPTION, QUANTITY, UNIT_PRICE, TOTAL = range(6)
    HEADERS = ("Item", "Código", "Descrição", "Qtd", "Preço unit.", "Total")

    def __init__(self, cart: Cart, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cart = cart
        self._strike = QFont()
        self._strike.setStrikeOut(True)

    @property
    def cart(self) -> Cart:
        return self._cart

    def set_cart(self, cart: Cart) -> None:
        self.beginResetModel()
        self._cart = cart
        self.endResetModel()

    def line_appended(self) -> None:
        """Call after ``cart.add``: announces exactly one new row."""
        row = len(self._cart.lines) - 1
        self.beginInsertRows(QModelIndex(), row, row)
        self.endInsertRows()

    def line_changed(self, number: int) -> None:
        row = number - 1
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.HEADERS) - 1))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cart.lines)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self.HEADERS[section])
        return None

    def line_at(self, row: int) -> CartLine:
        return self._cart.lines[row]

    def data(self, index: _Index, role: int = DISPLAY) -> Any:
        role = int(role)
        if role not in _CART_ROLES or not index.isValid():
            return None
        line = self._cart.lines[index.row()]
        column = index.column()
        if role == DISPLAY:
            return self._display(line, column)
        if role == USER:
            return self._raw(line, column)
        if role == ALIGN:
            return _RIGHT if column in (self.ITEM, self.QUANTITY, self.UNIT_PRICE, self.TOTAL) else None
        if not line.voided:
            return None
        if role == FONT:
            return self._strike
        if role == FOREGROUND:
            return QBrush(_VOIDED_COLOUR)
        return tr("Item cancelado")

    def _display(self, line: CartLine, column: int) -> str:
        if column == self.ITEM:
            return f"{line.number:03d}"
        if column == self.CODE:
            return line.product.code
        if column == self.DESCRIPTION:
            return line.product.description + (tr(" (CANCELADO)") if line.voided else "")
        if column == self.QUANTITY:
            return f"{quantity_text(line.quantity)} {line.product.unit}"
        if column == self.UNIT_PRICE:
            return price_text(line.unit_price)
        return brl(line.total)

    def _raw(self, line: CartLine, column: int) -> Any:
        return (
            line.number,
            line.product.code,
            line.product.description,
            line.quantity,
            line.unit_price,
            line.total,
        )[column]


class HistoryModel(QAbstractTableModel):
    """The sales of a day, newest first, with a live cancel countdown."""

    TIME, NUMBER, STATE, TOTAL, OPERATOR, DEADLINE = range(6)
    HEADERS = ("Hora", "Nº / Série", "Situação", "Total", "Operador", "Prazo p/ cancelar")

    def __init__(self, now: Callable[[], datetime], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[SaleSummary] = []
        self._now = now

    def set_rows(self, rows: list[SaleSummary]) -> None:
        self.beginResetModel()
        self._rows = sorted(rows, key=lambda s: s.created_at, reverse=True)
        self.endResetModel()

    def summary(self, row: int) -> SaleSummary:
        return self._rows[row]

    def row_of(self, sale_id: str) -> int | None:
        return next((i for i, s in enumerate(self._rows) if s.sale_id == sale_id), None)

    def cancellable(self, summary: SaleSummary) -> bool:
        """Inside its window, or an offline note whose window has not started yet."""
        if summary.state is not SaleState.AUTHORIZED:
            return False
        remaining = self.remaining(summary)
        return summary.window_pending or (remaining is not None and remaining > timedelta(0))

    def remaining(self, summary: SaleSummary) -> timedelta | None:
        """Time left to cancel, ``None`` when the sale cannot be cancelled at all."""
        if summary.state is not SaleState.AUTHORIZED or summary.cancel_deadline is None:
            return None
        return max(summary.cancel_deadline - self._now(), timedelta(0))

    def tick(self) -> None:
        """Once a second: repaint the countdown column only."""
        if self._rows:
            self.dataChanged.emit(
                self.index(0, self.DEADLINE),
                self.index(len(self._rows) - 1, self.DEADLINE),
                [Qt.ItemDataRole.DisplayRole],
            )

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self.HEADERS[section])
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        summary = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(summary, column)
        if role == Qt.ItemDataRole.UserRole:
            return (
                summary.created_at,
                summary.numero,
                summary.state,
                summary.total,
                summary.operator,
                self.remaining(summary),
            )[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (self.TOTAL, self.DEADLINE, self.NUMBER):
            return _RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and column == self.STATE:
            return QBrush(QColor(_STATE_COLOURS.get(summary.state, "#F2F2F2")))
        if role == Qt.ItemDataRole.ToolTipRole and summary.last_error:
            return summary.last_error
        return None

    def _display(self, summary: SaleSummary, column: int) -> str:
        if column == self.TIME:
            return local_time(summary.created_at)
        if column == self.NUMBER:
            if summary.numero is None:
                return "—"
            return f"{summary.numero} / {summary.serie if summary.serie is not None else '-'}"
        if column == self.STATE:
            # An archived sale reads and reprints as before; its documents are in the month's file.
            return tr(summary.state.label) + (tr(" (arquivado)") if summary.archived else "")
        if column == self.TOTAL:
            return brl(summary.total)
        if column == self.OPERATOR:
            return summary.operator or "—"
        if summary.state is SaleState.AUTHORIZED and summary.window_pending:
            return tr("após autorização")
        remaining = self.remaining(summary)
        if remaining is None:
            return "—"
        return countdown(remaining) if remaining > timedelta(0) else tr("encerrado")


_STATE_COLOURS = {
    SaleState.AUTHORIZED: "#7CFC8A",
    SaleState.CANCELLED: "#8A939C",
    SaleState.REJECTED: "#FF8A80",
    SaleState.IN_DOUBT: "#FFD54F",
    SaleState.QUEUED: "#80D8FF",
    SaleState.CANCELLING: "#FFD54F",
}
