"""The checkout's view-model: what a scan or a typed code does to the cart.

Every code goes through :class:`~posapp.ui.scan_input.ScanQueue`, so codes are handled
in arrival order, one at a time, and wait while a dialog is open. The lookup runs on the
store's thread; the cart and its model change on the GUI thread. No fiscal rule lives
here: the cart becomes a :class:`~posapp.domain.sale.Sale`, and the domain validates it.

Signals:
    line_added(int): a row was appended (its row index).
    totals_changed(): the total or item count changed.
    last_item(str, str): description and price text of the line just rung up.
    message(str, str): text for the cashier and its level ("", "warning", "error").
    customer_changed(str): the consumer document shown (formatted), or "".
    discounts_changed(): a line's or the sale's discount changed.
    cart_reset(): a new sale started.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from posapp.catalog.products import Product
from posapp.catalog.scale import parse_scale_label, quantity_for_price
from posapp.domain.audit import Action
from posapp.domain.documents import format_cpf_cnpj
from posapp.domain.errors import InvalidSale
from posapp.domain.lifecycle import SaleState
from posapp.domain.sale import Customer, SaleDiscount, describe_validation_error, plain_number
from posapp.errors import PosappError
from posapp.services.core import Authorization
from posapp.services.errors import NothingToDo
from posapp.ui.cart import Cart, CartLine
from posapp.ui.context import AppContext
from posapp.ui.errors import error_text
from posapp.ui.formatting import brl, plural, price_text, quantity_text
from posapp.ui.models import DISPLAY, USER, CartModel
from posapp.ui.qt import QModelIndex, QObject, QPersistentModelIndex, Signal, tr
from posapp.ui.scan_input import EntryError, ScanQueue, parse_entry

log = logging.getLogger("posapp.ui")


class DiscountCartModel(CartModel):
    """The cart table with discounts: a discounted line says so after its description,
    and its total is what it comes to after its own discount and its share of the sale's."""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = DISPLAY) -> Any:
        role = int(role)
        if index.isValid() and role in (DISPLAY, USER):
            line = self.line_at(index.row())
            if not line.voided and index.column() in (self.DESCRIPTION, self.TOTAL):
                discount = self.cart.line_discount(line.number)
                if discount > 0:
                    if index.column() == self.TOTAL:
                        net = line.total - discount
                        return brl(net) if role == DISPLAY else net
                    if role == DISPLAY:
                        return line.product.description + tr("  (desconto -") + brl(discount) + ")"
        return super().data(index, role)


class CheckoutViewModel(QObject):
    line_added = Signal(int)
    totals_changed = Signal()
    last_item = Signal(str, str)
    message = Signal(str, str)
    customer_changed = Signal(str)
    cart_reset = Signal()
    discounts_changed = Signal()

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.cart = Cart()
        self.model: CartModel = DiscountCartModel(self.cart, self)
        self.scans = ScanQueue(self._handle)

    def start(self) -> None:
        self.scans.start()

    async def stop(self) -> None:
        await self.scans.stop()

    # -- input ---------------------------------------------------------------------------

    def submit(self, text: str) -> None:
        """A code typed (or read by a keyboard-wedge scanner) and Enter."""
        text = text.strip()
        if text:
            self.scans.push(text)

    async def _handle(self, text: str) -> None:
        try:
            entry = parse_entry(text)
        except EntryError as exc:
            self.message.emit(error_text(exc), "error")
            return
        try:
            resolved = await self._resolve(entry.code, entry.quantity)
        except PosappError as exc:
            self.message.emit(error_text(exc, f"looking up {text!r} failed"), "error")
            return
        if resolved is None:
            return
        product, quantity, unit_price, barcode = resolved
        self.add(product, quantity, unit_price=unit_price, scale_barcode=barcode)

    async def _resolve(
        self, code: str, quantity: Decimal | None
    ) -> tuple[Product, Decimal, Decimal | None, str | None] | None:
        store, catalog = self.ctx.store, self.ctx.catalog
        label = parse_scale_label(code, self.ctx.terminal.scale)
        if label is not None:
            product = None
            for candidate in label.code_candidates():
                product = await store.run(catalog.by_code, candidate)
                if product is not None:
                    break
            if product is not None:
                if quantity is not None:
                    self.message.emit(
                        tr("Etiqueta de balança já traz a quantidade: não multiplique."),
                        "error",
                    )
                    return None
                if label.price is not None:
                    try:
                        weight = quantity_for_price(label.price, product.price)
                    except ValueError as exc:
                        self.message.emit(str(exc), "error")
                        return None
                    return product, weight, None, code
                assert label.weight is not None
                return product, label.weight, None, code
        product = await store.run(catalog.find, code)
        if product is None:
            self.message.emit(tr("Produto não encontrado: ") + code, "error")
            return None
        quantity = quantity if quantity is not None else Decimal(1)
        if quantity != quantity.to_integral_value() and not product.sold_by_weight:
            self.message.emit(
                tr("Quantidade fracionada só para produtos vendidos por peso ou medida (")
                + product.unit
                + ").",
                "error",
            )
            return None
        return product, quantity, None, None

    def add(
        self,
        product: Product,
        quantity: Decimal,
        *,
        unit_price: Decimal | None = None,
        scale_barcode: str | None = None,
    ) -> CartLine | None:
        if self.cart.rejected:
            self.message.emit(
                tr("Venda rejeitada: corrija e tecle F10 para reenviar (itens novos são aceitos)."),
                "warning",
            )
        try:
            line = self.cart.add(product, quantity, unit_price=unit_price, scale_barcode=scale_barcode)
        except ValidationError as exc:
            self.message.emit(
                tr("Cadastro do produto não permite a venda: ") + describe_validation_error(exc),
                "error",
            )
            return None
        self.model.line_appended()
        self.last_item.emit(
            line.product.description,
            f"{quantity_text(line.quantity)} {line.product.unit} x {brl(line.unit_price)} "
            f"= {brl(line.total)}",
        )
        self.message.emit("", "")
        self.totals_changed.emit()
        return line

    # -- changes that may need a manager ---------------------------------------------------

    async def void_line(self, number: int, *, authorized_by: str | None) -> CartLine | None:
        try:
            line = self.cart.void(number)
        except KeyError:
            self.message.emit(tr("Não existe o item ") + str(number) + ".", "error")
            return None
        except ValueError:
            self.message.emit(tr("O item ") + str(number) + tr(" já está cancelado."), "error")
            return None
        self.model.line_changed(number)
        self._announce_last()  # the voided line is no longer the "last item"
        self.totals_changed.emit()
        self.message.emit(
            tr("Item ") + f"{number:03d}" + tr(" cancelado: ") + line.product.description,
            "warning",
        )
        await self.ctx.store.run(
            self.ctx.audit.record,
            Action.VOID_LINE,
            operator=self.ctx.operator_login,
            authorized_by=authorized_by,
            sale_id=self.cart.sale_id,
            detail=(
                f"item {number}: {line.product.code} {quantity_text(line.quantity)} x "
                f"R$ {price_text(line.unit_price)} = {brl(line.total)}"
            ),
        )
        return line

    async def abort(self, *, authorized_by: str | None) -> None:
        if self.cart.rejected:
            self.message.emit(
                tr("Esta venda já está no registro fiscal (rejeitada): trate-a no histórico (F12)."),
                "error",
            )
            return
        cart = self.cart
        await self.ctx.store.run(
            self.ctx.audit.record,
            Action.ABORT_SALE,
            operator=self.ctx.operator_login,
            authorized_by=authorized_by,
            sale_id=cart.sale_id,
            detail=f"{plural(cart.item_count, 'item', 'itens')}, {brl(cart.total)}",
        )
        self.new_sale()
        self.message.emit(tr("Venda descartada."), "warning")

    async def discard_rejected(self, *, authorized_by: str) -> bool:
        """Discard a sale the issuer rejected (the journal keeps it as VOIDED: it is never
        sent again) and start a new one. Audited as an abort with the manager who allowed it."""
        cart = self.cart
        ctx = self.ctx
        try:
            await ctx.service.void(
                cart.sale_id,
                by=Authorization(ctx.operator_login, authorized_by),
                reason=f"rejeitada: {plural(cart.item_count, 'item', 'itens')}, {brl(cart.total)}",
            )
        except NothingToDo as exc:
            summary, _ = await ctx.service.get_sale(cart.sale_id)
            if summary.state is not SaleState.VOIDED:  # resent and authorized meanwhile, say
                self.message.emit(error_text(exc), "error")
                return False
        self.new_sale()
        self.message.emit(tr("Venda rejeitada descartada: não será emitida."), "warning")
        return True

    async def set_discount(
        self,
        number: int | None,
        discount: SaleDiscount | None,
        *,
        authorized_by: str | None,
    ) -> bool:
        """Give line ``number`` (``None``: the whole sale) a discount (``None``: none),
        checked by the sale's rules, shown, and audited with who asked and who allowed it.
        Returns whether it was applied."""
        cart = self.cart
        previous_lines, previous_sale = list(cart.lines), cart.discount
        value = discount.value if discount is not None else None
        percent = discount.percent if discount is not None else None
        try:
            if number is None:
                cart.set_sale_discount(discount)
            else:
                cart.set_line_discount(number, value=value, percent=percent)
            cart.check()
        except (KeyError, ValueError, InvalidSale) as exc:
            cart.lines[:], cart.discount = previous_lines, previous_sale
            text = exc.user_message if isinstance(exc, InvalidSale) else tr("Item inválido para desconto.")
            self.message.emit(tr("Desconto não aplicado: ") + text, "error")
            return False
        self.model.layoutChanged.emit()  # every line's share may have moved
        self.discounts_changed.emit()
        self.totals_changed.emit()
        what = "venda" if number is None else f"item {number:03d}"
        if discount is None:
            amount_text = tr("removido")
        else:
            amount = cart.sale_discount_amount if number is None else cart.line(number).own_discount
            amount_text = ("" if percent is None else f"{plain_number(percent)} % = ") + brl(amount)
        where = tr("Desconto na venda: ") if number is None else tr("Desconto no item ") + f"{number:03d}: "
        self.message.emit(where + amount_text, "")
        await self.ctx.store.run(
            self.ctx.audit.record,
            Action.DISCOUNT,
            operator=self.ctx.operator_login,
            authorized_by=authorized_by,
            sale_id=cart.sale_id,
            detail=f"{what}: {amount_text} (total {brl(cart.total)})",
        )
        return True

    def set_customer(self, customer: Customer | str | None, *, delivery: bool = False) -> None:
        """The consumer of this sale (a document alone, or what F4 asked), and whether it is
        delivered; the label shows the document, the name and "entrega"."""
        if isinstance(customer, str):
            customer = Customer(document=customer)
        self.cart.customer = customer
        self.cart.delivery = delivery and customer is not None
        shown = ""
        if customer is not None:
            shown = format_cpf_cnpj(customer.identifier)
            if customer.name:
                shown += f" - {customer.name}"
            if self.cart.delivery:
                shown += tr(" (entrega)")
        self.customer_changed.emit(shown)

    def _announce_last(self) -> None:
        line = self.cart.last_active()
        if line is None:
            self.last_item.emit("", "")
            return
        self.last_item.emit(
            line.product.description,
            f"{quantity_text(line.quantity)} {line.product.unit} x {brl(line.unit_price)} "
            f"= {brl(line.total)}",
        )

    def new_sale(self) -> None:
        self.cart = Cart()
        self.model.set_cart(self.cart)
        self.customer_changed.emit("")
        self.message.emit("", "")  # the last sale's messages do not carry into this one
        self.last_item.emit("", "")
        self.totals_changed.emit()
        self.cart_reset.emit()
