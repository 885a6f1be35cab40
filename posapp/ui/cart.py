"""The sale being rung up, before it becomes a :class:`~posapp.domain.sale.Sale`.

Lines keep their number for the whole sale: a voided line stays on screen, struck
through, and the cashier says "item 3" to the manager about the same line all the way.
The sale id is chosen when the cart opens and kept through a rejection and a resend,
so the fix of a rejected sale is the *same* sale to the journal (no duplicate NFC-e).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from posapp.catalog.products import Product
from posapp.domain.money import ZERO, line_total
from posapp.domain.sale import Customer, Item, Payment, Sale, new_sale_id


@dataclass(frozen=True, slots=True)
class CartLine:
    number: int  # 1-based, stable
    product: Product
    quantity: Decimal
    unit_price: Decimal
    voided: bool = False
    scale_barcode: str | None = None

    @property
    def total(self) -> Decimal:
        return line_total(self.quantity, self.unit_price)

    def to_item(self) -> Item:
        return self.product.to_item(self.quantity, unit_price=self.unit_price)


@dataclass(slots=True)
class Cart:
    sale_id: str = field(default_factory=new_sale_id)
    lines: list[CartLine] = field(default_factory=list)
    customer: Customer | None = None
    payments: tuple[Payment, ...] = ()
    rejected: bool = False  # the journal has this sale as REJECTED: finish with a resend

    @property
    def active_lines(self) -> list[CartLine]:
        return [line for line in self.lines if not line.voided]

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.active_lines), ZERO)

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
                "items": tuple(line.to_item() for line in active),
                "payments": tuple(payments),
                "customer": self.customer,
                "operator": operator,
            },
            item_numbers=[line.number for line in active],
        )
