"""The sale being rung up, before it becomes a :class:`~posapp.domain.sale.Sale`.

Lines keep their number for the whole sale: a voided line stays on screen, struck
through, and the cashier says "item 3" to the manager about the same line all the way.
The sale id is chosen when the cart opens and kept through a rejection and a resend,
so the fix of a rejected sale is the *same* sale to the journal (no duplicate NFC-e).

Discounts (issue 13, item 4): a line's own discount in value or percent, and one of the
whole sale, apportioned to the lines by the domain's rule
(:func:`~posapp.domain.discounts.apportion`), so the total shown is the total the NFC-e
will carry. :meth:`Cart.to_sale` hands the same values to :meth:`Sale.from_mapping`,
which checks them as it checks SALE.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from posapp.catalog.products import Product
from posapp.domain.discounts import apportion, max_sale_discount, percent_of
from posapp.domain.money import ZERO, line_total
from posapp.domain.payments import PaymentMethod
from posapp.domain.sale import Customer, Item, Payment, Sale, SaleDiscount, new_sale_id


@dataclass(frozen=True, slots=True)
class CartLine:
    number: int  # 1-based, stable
    product: Product
    quantity: Decimal
    unit_price: Decimal
    voided: bool = False
    scale_barcode: str | None = None
    discount_value: Decimal | None = None  # the line's own discount in reais...
    discount_percent: Decimal | None = None  # ...or in percent (one of the two)

    @property
    def total(self) -> Decimal:
        """``vProd``: before any discount."""
        return line_total(self.quantity, self.unit_price)

    @property
    def own_discount(self) -> Decimal:
        """The line's own discount in reais (a percent rounded half up, as the domain does)."""
        if self.discount_percent is not None:
            return percent_of(self.total, self.discount_percent)
        return self.discount_value or ZERO

    def to_item(self) -> Item:
        return self.product.to_item(self.quantity, unit_price=self.unit_price)

    def to_mapping(self) -> dict[str, Any]:
        """The line as SALE.json's item, with its own discount."""
        data = self.to_item().model_dump()
        if self.discount_percent is not None:
            data["discount_percent"] = self.discount_percent
        elif self.discount_value is not None:
            data["discount"] = self.discount_value
        return data


@dataclass(slots=True)
class Cart:
    sale_id: str = field(default_factory=new_sale_id)
    lines: list[CartLine] = field(default_factory=list)
    customer: Customer | None = None
    payments: tuple[Payment, ...] = ()
    rejected: bool = False  # the journal has this sale as REJECTED: finish with a resend
    discount: SaleDiscount | None = None  # of the whole sale, apportioned to the lines
    delivery: bool = False  # delivered to the consumer's address (indPres 4)

    @property
    def active_lines(self) -> list[CartLine]:
        return [line for line in self.lines if not line.voided]

    @property
    def gross_total(self) -> Decimal:
        """The lines before any discount (``vProd``)."""
        return sum((line.total for line in self.active_lines), ZERO)

    @property
    def net_before_sale_discount(self) -> Decimal:
        """The lines after their own discounts: the base of the sale's discount."""
        return sum((line.total - line.own_discount for line in self.active_lines), ZERO)

    @property
    def sale_discount_amount(self) -> Decimal:
        """The sale's discount in reais, as far as the lines can take it."""
        if self.discount is None:
            return ZERO
        nets = [line.total - line.own_discount for line in self.active_lines]
        return min(self.discount.amount(sum(nets, ZERO)), max_sale_discount(nets))

    def shares(self) -> dict[int, Decimal]:
        """Each active line's share of the sale's discount, by line number."""
        active = self.active_lines
        nets = [line.total - line.own_discount for line in active]
        amounts = apportion(self.sale_discount_amount, nets) if active else ()
        return {line.number: share for line, share in zip(active, amounts, strict=True)}

    def line_discount(self, number: int) -> Decimal:
        """The line's whole ``vDesc``: its own discount and its share of the sale's."""
        line = self.line(number)
        if line.voided:
            return ZERO
        if self.discount is None:  # the table asks for every visible cell: keep it O(1)
            return line.own_discount
        return line.own_discount + self.shares().get(number, ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((line.own_discount for line in self.active_lines), ZERO) + self.sale_discount_amount

    @property
    def total(self) -> Decimal:
        """What the consumer pays (``vNF``): the lines less every discount."""
        return self.gross_total - self.discount_total

    @property
    def is_empty(self) -> bool:
        return not self.active_lines

    @property
    def item_count(self) -> int:
        return len(self.active_lines)

    def add(
        self,
        product: Product,
        quantity: Decimal,
        *,
        unit_price: Decimal | None = None,
        scale_barcode: str | None = None,
    ) -> CartLine:
        line = CartLine(
            number=len(self.lines) + 1,
            product=product,
            quantity=quantity,
            unit_price=product.price if unit_price is None else unit_price,
            scale_barcode=scale_barcode,
        )
        line.to_item()  # validates now, so a bad catalog row fails at the scan, not at payment
        self.lines.append(line)
        self.payments = ()
        return line

    def line(self, number: int) -> CartLine:
        if not 1 <= number <= len(self.lines):
            raise KeyError(number)
        return self.lines[number - 1]

    def void(self, number: int) -> CartLine:
        line = self.line(number)
        if line.voided:
            raise ValueError(f"item {number} já está cancelado")
        voided = replace(line, voided=True)
        self.lines[number - 1] = voided
        self.payments = ()
        return voided

    def set_line_discount(
        self, number: int, *, value: Decimal | None = None, percent: Decimal | None = None
    ) -> CartLine:
        """Give line ``number`` its own discount (both ``None``: none). The caller checks
        it with :meth:`check` before the cashier sees it."""
        line = self.line(number)
        if line.voided:
            raise ValueError(f"item {number} está cancelado")
        changed = replace(line, discount_value=value if value else None, discount_percent=percent)
        self.lines[number - 1] = changed
        self.payments = ()
        return changed

    def set_sale_discount(self, discount: SaleDiscount | None) -> None:
        self.discount = discount
        self.payments = ()

    def check(self) -> Sale:
        """The cart as a sale paid exactly (raises ``InvalidSale`` in Portuguese): the
        discounts are checked by the same rules as at payment and as SALE.json."""
        total = max(self.total, Decimal("0.01"))
        return self.to_sale((Payment(method=PaymentMethod.DINHEIRO, amount=total),), operator=None)

    def last_active(self) -> CartLine | None:
        active = self.active_lines
        return active[-1] if active else None

    def to_sale(self, payments: tuple[Payment, ...] | list[Payment], *, operator: str | None) -> Sale:
        """The finished sale, through the same validator as SALE.json (paid, change only
        from cash, layout sizes...). Raises ``InvalidSale`` whose Portuguese message names
        an item by the number the cashier sees (a voided line keeps its number)."""
        active = self.active_lines
        return Sale.from_mapping(
            {
                "sale_id": self.sale_id,
                "items": tuple(line.to_mapping() for line in active),
                "payments": tuple(payments),
                "customer": self.customer,
                "operator": operator,
                "discount": self.discount,
                "delivery": self.delivery,
            },
            item_numbers=[line.number for line in active],
        )
