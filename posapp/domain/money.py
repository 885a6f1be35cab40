"""Money as :class:`~decimal.Decimal`, rounded the way NF-e values are rounded.

NF-e amounts (``vProd``, ``vDesc``, ``vNF``, ``vPag``...) carry two decimals; quantities
(``qCom``) up to four; unit prices (``vUnCom``) up to ten. Each item total is rounded
on its own (``qCom * vUnCom`` to two places, half up, the *arredondamento comercial* the
SEFAZ validation 629 tolerates) and the note total is the sum of rounded item totals,
so the sum printed on the DANFE always equals the sum of its lines. Floats never enter:
:func:`to_decimal` refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Final

from posapp.domain.errors import DomainError

CENT = Decimal("0.01")
QUANTITY_STEP = Decimal("0.0001")
UNIT_PRICE_STEP = Decimal("0.0000000001")
ZERO = Decimal("0.00")
#: The longest number text we parse: a layout number has at most 11 + 10 digits, a sign and
#: a point; anything much longer is refused before :class:`Decimal` sees it.
MAX_NUMBER_CHARS = 64


@dataclass(frozen=True, slots=True)
class LayoutSize:
    """The size of a numeric field of the NF-e 4.00 layout (``11v0-4``: up to 11 integer
    digits and 4 decimals)."""

    integer_digits: int
    decimals: int
    #: ``10^-decimals``, computed once: every amount of every sale is checked against it.
    step: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "step", Decimal(1).scaleb(-self.decimals))

    @property
    def largest(self) -> Decimal:
        """The largest value that fits (``99999999999.9999`` for ``qCom``)."""
        return Decimal(10**self.integer_digits) - self.step


QCOM = LayoutSize(11, 4)  # qCom, I10
VUNCOM = LayoutSize(11, 10)  # vUnCom, I10a
V13_2 = LayoutSize(13, 2)  # vProd, vDesc, vPag, vNF, vTroco and the other totals
PERCENT = LayoutSize(3, 2)  # a discount in percent, as SALE.json and the cart take it (10.5)


def layout_problem(value: Decimal, size: LayoutSize) -> str | None:
    """Why ``value`` does not fit ``size`` (Portuguese, without the field name), or ``None``.

    Safe for any finite Decimal, ``1e999999`` included: the magnitude is read from the
    exponent before any arithmetic, so nothing huge is ever computed."""
    if not value.is_finite():
        return "não é um número finito"
    if value.is_zero():
        return None
    if value.adjusted() >= size.integer_digits:
        return f"no máximo {size.integer_digits} dígitos antes da vírgula"
    if value != value.quantize(size.step):
        return f"no máximo {size.decimals} casas decimais" if size.decimals else "deve ser inteiro"
    return None


def to_decimal(value: object, *, field: str = "valor") -> Decimal:
    """Parse a string, int or Decimal into a finite Decimal; floats are refused.

    JSON numbers should be parsed with ``parse_float=Decimal`` so they arrive here exact.
    """
    if isinstance(value, (bool, float)):
        raise DomainError(
            f"{field}: float {value!r} refused; pass a string or Decimal",
            user_message=f"{field}: valor inválido ({value!r}).",
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_CHARS:
            raise DomainError(
                f"{field}: a number of {len(text)} characters refused",
                user_message=f"{field}: número longo demais.",
            )
        if text.count(",") == 1 and "." not in text:  # "4,99" typed the Brazilian way
            text = text.replace(",", ".")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise DomainError(
                f"{field}: {value!r} is not a number",
                user_message=f"{field}: '{value}' não é um número.",
            ) from None
    else:
        raise DomainError(f"{field}: unsupported type {type(value).__name__}")
    if not result.is_finite():
        raise DomainError(f"{field}: {value!r} is not finite", user_message=f"{field}: valor inválido.")
    return result


def parse_amount_text(text: str) -> Decimal:
    """What a person or a spreadsheet writes for an amount -> Decimal: ``4,99``, ``4.99``,
    ``1.234,56``, ``1,234.56``, ``R$ 4,99``. The last of ``,``/``.`` is the decimal
    separator when both appear. Raises :class:`DomainError` for anything else."""
    value = text.strip().removeprefix("R$").strip().replace(" ", "")
    if "," in value and "." in value:
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif "," in value:
        value = value.replace(",", ".")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise DomainError(f"{text!r} is not an amount", user_message=f"'{text}' não é um valor.") from None
    if not result.is_finite():
        raise DomainError(f"{text!r} is not finite", user_message=f"'{text}' não é um valor.")
    return result


def round_money(value: Decimal) -> Decimal:
    """Round to centavos, half up (NF-e two-decimal fields)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_quantity(value: Decimal) -> Decimal:
    """Round to the four decimals ``qCom`` allows."""
    return value.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP)


def round_unit_price(value: Decimal) -> Decimal:
    """Round to the ten decimals ``vUnCom`` allows, half up (the value the wire carries)."""
    return value.quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)


#: Room for any qCom x vUnCom exactly (up to 36 digits); one context object, not a
#: ``localcontext()`` per line (every item's total is computed several times per sale).
_EXACT: Final = Context(prec=60)


def line_total(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """``vProd`` of an item: quantity times unit price, rounded to centavos.

    The product is exact (a ``qCom`` times a ``vUnCom`` has up to 36 digits, more than the
    default 28), so it is rounded once, half up, and never twice."""
    return _EXACT.multiply(quantity, unit_price).quantize(CENT, rounding=ROUND_HALF_UP, context=_EXACT)


def format_brl(value: Decimal) -> str:
    """``1234.5`` -> ``'1.234,50'`` (Brazilian grouping, no currency sign)."""
    rounded = round_money(value)
    sign = "-" if rounded < 0 else ""
    integer, _, cents = f"{abs(rounded):.2f}".partition(".")
    groups: list[str] = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    return f"{sign}{'.'.join(groups)},{cents}"
