"""Discounts at the counter (issue 13, item 4): F3 on a line (the last one, or the number
typed in the code field), Shift+F3 on the whole sale.

One field takes either a value (``5,00``) or a percent (``10%``); ``0`` (or an empty field)
removes the discount. The discount, as a percent of what it applies to (the line's total,
or the sale's after the lines' own discounts), is compared with the limit of the operator's
role in the terminal settings (:meth:`TerminalSettings.discount_limit`): above the
cashier's, a manager's PIN is asked (the checkout's ``require_manager``); above the
manager's, nobody may give it. The checkout's view-model applies it through the sale's
rules and audits it (:attr:`Action.DISCOUNT`, who asked and who allowed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import ValidationError

from posapp.domain.discounts import HUNDRED
from posapp.domain.errors import DomainError
from posapp.domain.money import round_money
from posapp.domain.sale import SaleDiscount, plain_number
from posapp.ui.formatting import brl
from posapp.ui.qt import QDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget, tr
from posapp.ui.widgets import set_role

if TYPE_CHECKING:
    from posapp.ui.main_window import MainWindow


def parse_discount(text: str) -> SaleDiscount | None:
    """``5,00`` -> value, ``10%`` -> percent, ``0`` or nothing -> no discount. Raises
    :class:`ValueError` with a Portuguese message."""
    from posapp.domain.money import parse_amount_text
    from posapp.domain.sale import describe_validation_error

    text = text.strip()
    percent = text.endswith("%")
    number_text = text.removesuffix("%").strip()
    if not number_text:
        return None
    try:
        number = parse_amount_text(number_text)
    except DomainError:
        raise ValueError(tr("Digite um valor (5,00) ou um percentual (10%).")) from None
    if number == 0:
        return None
    try:
        return SaleDiscount(percent=number) if percent else SaleDiscount(value=number)
    except ValidationError as exc:
        detail = describe_validation_error(exc).partition(": ")[2]
        raise ValueError(detail or tr("Desconto inválido.")) from None


class DiscountDialog(QDialog):
    """The discount of a line or of the sale: value or percent, in one field."""

    def __init__(self, title: str, base: Decimal, current: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.base = base
        self.discount: SaleDiscount | None = None
        layout = QVBoxLayout(self)
        caption = QLabel(
            tr("Sobre ")
            + brl(base)
            + tr(". Digite o valor (5,00) ou o percentual (10%); 0 remove o desconto."),
            self,
        )
        caption.setWordWrap(True)
        layout.addWidget(caption)
        self.field = QLineEdit(current, self)
        self.field.setMaxLength(20)
        self.field.setPlaceholderText("5,00 ou 10%")
        self.field.returnPressed.connect(self.submit)
        layout.addWidget(self.field)
        self.error = QLabel("", self)
        self.error.setWordWrap(True)
        set_role(self.error, "error")
        layout.addWidget(self.error)
        row = QHBoxLayout()
        back = QPushButton(tr("Voltar (Esc)"), self)
        back.setAutoDefault(False)
        back.clicked.connect(self.reject)
        ok = QPushButton(tr("Aplicar (Enter)"), self)
        ok.setAutoDefault(False)
        set_role(ok, "primary")
        ok.clicked.connect(self.submit)
        row.addWidget(back)
        row.addStretch(1)
        row.addWidget(ok)
        layout.addLayout(row)
        self.field.selectAll()
        self.field.setFocus()

    def submit(self) -> None:
        try:
            discount = parse_discount(self.field.text())
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        if discount is not None and discount.value is not None and discount.value >= self.base:
            self.error.setText(tr("O desconto deve ser menor que ") + brl(self.base) + ".")
            return
        self.discount = discount
        self.accept()


def discount_percent(discount: SaleDiscount, base: Decimal) -> Decimal:
    """What ``discount`` is as a percent of ``base`` (compared with the role's limit)."""
    if discount.percent is not None:
        return discount.percent
    if base <= 0:
        return HUNDRED
    return (discount.amount(base) * HUNDRED / base).quantize(Decimal("0.01"))


def _current(discount: SaleDiscount | None) -> str:
    if discount is None:
        return ""
    if discount.percent is not None:
        return plain_number(discount.percent) + "%"
    return brl(discount.value or Decimal(0)).removeprefix("R$").strip()


async def discount_flow(window: MainWindow, *, whole_sale: bool) -> None:
    """F3 / Shift+F3: ask the discount, the manager when it is above the role's limit, and
    apply it (audited)."""
    vm, cart, ctx = window.vm, window.vm.cart, window.ctx
    if cart.is_empty:
        window.say(tr("Não há itens para dar desconto."), "warning")
        return
    number: int | None = None
    if whole_sale:
        base = cart.net_before_sale_discount
        title = tr("Desconto na venda")
        current = _current(cart.discount)
    else:
        last = cart.last_active()
        number = last.number if last is not None else 1
        typed = window.code.text().strip()
        if typed.isascii() and typed.isdigit() and 1 <= int(typed) <= len(cart.lines):
            number = int(typed)
            window.code.clear()
        line = cart.line(number)
        if line.voided:
            window.say(tr("O item ") + f"{number:03d}" + tr(" está cancelado."), "error")
            return
        base = line.total
        title = tr("Desconto no item ") + f"{number:03d}"
        own = None
        if line.discount_percent is not None:
            own = SaleDiscount(percent=line.discount_percent)
        elif line.discount_value:
            own = SaleDiscount(value=line.discount_value)
        current = _current(own)
    dialog = DiscountDialog(title, base, current, parent=window)
    if await window.dialog(dialog) != QDialog.DialogCode.Accepted:
        return
    discount = dialog.discount
    authorized_by: str | None = None
    if discount is not None:
        percent = discount_percent(discount, base)
        operator = ctx.operator
        ceiling = ctx.terminal.discount_limit_manager
        if percent > ceiling:
            window.say(
                tr("Desconto de ")
                + plain_number(percent)
                + tr(" % passa do limite da loja (")
                + plain_number(ceiling)
                + " %).",
                "error",
            )
            return
        limit = ctx.terminal.discount_limit(operator.role if operator is not None else None)
        if percent > limit:
            amount = round_money(discount.amount(base))
            manager = await window.require_manager(
                tr("Desconto de ")
                + brl(amount)
                + f" ({plain_number(percent)} %)"
                + tr(" passa do limite de ")
                + plain_number(limit)
                + tr(" %: digite o PIN do gerente."),
            )
            if manager is None:
                window.say(tr("Desconto não aplicado."), "warning")
                return
            authorized_by = manager.login
    await vm.set_discount(number, discount, authorized_by=authorized_by)
