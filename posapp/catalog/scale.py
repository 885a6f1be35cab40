"""Scale-label barcodes: EAN-13 with a store prefix (``2``), a product code and an embedded
price or weight, printed by the deli or butcher's scale.

Brazilian scales (Toledo, Filizola, Urano) let the store choose the layout, so it is
configurable: where the product code sits, where the value sits, and whether the value is
a price (in centavos) or a weight (in grams). The default is the common
``2 CCCCC VVVVVV D`` (code in digits 2-6, value in 7-12, EAN check digit last).

A price label becomes a quantity: the weight the scale charged for, recovered to the four
decimals ``qCom`` allows and chosen so that ``quantity x unit price`` rounds back to the
exact printed price (the customer pays what the label says).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from posapp.domain.money import QUANTITY_STEP, format_brl, line_total, round_quantity


class ScaleLabelLayout(BaseModel):
    """Where things are in a scale label (0-based digit positions of the EAN-13)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    prefix: str = Field(default="2", pattern=r"^[0-9]{1,2}$")
    code_start: int = Field(default=1, ge=1, le=11)
    code_length: int = Field(default=5, ge=1, le=10)
    value_start: int = Field(default=6, ge=1, le=11)
    value_length: int = Field(default=6, ge=1, le=10)
    kind: Literal["price", "weight"] = "price"

    @model_validator(mode="after")
    def _fits(self) -> ScaleLabelLayout:
        if self.code_start + self.code_length > 12 or self.value_start + self.value_length > 12:
            raise ValueError("código e valor devem caber nos 12 primeiros dígitos")
        code = set(range(self.code_start, self.code_start + self.code_length))
        value = set(range(self.value_start, self.value_start + self.value_length))
        if code & value:
            raise ValueError("código e valor não podem se sobrepor")
        return self

    @property
    def decimals(self) -> int:
        """Price in centavos, weight in grams."""
        return 2 if self.kind == "price" else 3


@dataclass(frozen=True, slots=True)
class ScaleLabel:
    barcode: str
    product_code: str  # as printed, with leading zeros
    price: Decimal | None  # the amount charged, when the label carries a price
    weight: Decimal | None  # kilograms, when the label carries a weight

    def code_candidates(self) -> list[str]:
        """The catalog codes to try: as printed, then without leading zeros."""
        stripped = self.product_code.lstrip("0") or "0"
        return [self.product_code] if stripped == self.product_code else [self.product_code, stripped]


def ean13_is_valid(code: str) -> bool:
    if len(code) != 13 or not code.isdigit():
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def parse_scale_label(code: str, layout: ScaleLabelLayout) -> ScaleLabel | None:
    """The label's parts, or ``None`` when ``code`` is not a scale label for ``layout``
    (so the caller looks it up as an ordinary code)."""
    if not layout.enabled or not code.startswith(layout.prefix) or not ean13_is_valid(code):
        return None
    product_code = code[layout.code_start : layout.code_start + layout.code_length]
    digits = code[layout.value_start : layout.value_start + layout.value_length]
    value = Decimal(int(digits)).scaleb(-layout.decimals)
    if value <= 0:
        return None
    if layout.kind == "price":
        return ScaleLabel(code, product_code, price=value, weight=None)
    return ScaleLabel(code, product_code, price=None, weight=value)


def quantity_for_price(price: Decimal, unit_price: Decimal) -> Decimal:
    """The quantity (4 decimals) whose line total at ``unit_price`` is exactly ``price``.

    Raises ``ValueError`` when no such quantity exists (a unit price so high that one
    step of 0.0001 moves the total by more than a centavo).
    """
    if unit_price <= 0:
        raise ValueError("preço unitário deve ser maior que zero")
    guess = round_quantity(price / unit_price)
    for step in (0, 1, -1, 2, -2):
        quantity = guess + step * QUANTITY_STEP
        if quantity > 0 and line_total(quantity, unit_price) == price:
            return quantity
    raise ValueError(
        f"não há quantidade com 4 casas que dê R$ {format_brl(price)} a R$ {_unit_price(unit_price)} "
        "por unidade"
    )


def _unit_price(value: Decimal) -> str:
    """Brazilian notation, keeping a unit price's extra decimals (``4,999``)."""
    if value == value.quantize(Decimal("0.01")):
        return format_brl(value)
    return f"{value.normalize():f}".replace(".", ",")
