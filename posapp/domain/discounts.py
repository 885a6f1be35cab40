"""Discounts: a percent turned into centavos, and the sale's discount apportioned to its
items (the *rateio*).

The NF-e has no discount of the whole note: each item carries its own ``vDesc`` (I17) and
the note's ``total/ICMSTot/vDesc`` is their sum (W10; SEFAZ rejects a total that is not the
sum of its items, rejections 531/532-style). So a discount on the whole sale is split over
its items here, before any request is built, and every issuer and the DANFE only ever see
per-item discounts that add up to the sale's discount *to the cent*.

The rule (:func:`apportion`): proportional to each item's net value (its total after its own
discount), in whole centavos, by the largest-remainder method. Each item first gets the
centavos of its exact share rounded down; the centavos left over go one by one to the items
with the largest dropped fractions (ties: the larger item, then the earlier one). No item
is ever left below R$ 0,01 (an item's total after discounts must be positive), so a sale's
discount is at most the sum of ``net - 0,01`` (:func:`max_sale_discount`).

Pure: Decimal in, Decimal out; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import Final

from posapp.domain.money import CENT, ZERO, round_money

HUNDRED: Final = Decimal(100)
#: What is left of an item at least, after every discount (``vProd - vDesc``).
MIN_LINE: Final = CENT


def percent_of(base: Decimal, percent: Decimal) -> Decimal:
    """``percent`` % of ``base`` in centavos, rounded half up (``10`` % of 4,99 is 0,50)."""
    with localcontext() as exact:
        exact.prec = 60
        return round_money(base * percent / HUNDRED)


def max_sale_discount(nets: Sequence[Decimal]) -> Decimal:
    """The largest discount of the whole sale that leaves every item at R$ 0,01 or more."""
    return sum((max(net - MIN_LINE, ZERO) for net in nets), ZERO)


def _cents(value: Decimal) -> int:
    return int((value / CENT).to_integral_value())


def apportion(amount: Decimal, nets: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Split ``amount`` (centavos) over items whose net values are ``nets``: proportional,
    largest remainder, summing to ``amount`` exactly, never leaving an item below R$ 0,01.

    Raises :class:`ValueError` when ``amount`` is negative, not whole centavos, or more than
    :func:`max_sale_discount` allows."""
    if amount < 0 or amount != round_money(amount):
        raise ValueError(f"discount {amount} is not a non-negative amount in centavos")
    if not nets:
        if amount:
            raise ValueError("no items to apportion a discount over")
        return ()
    weights = [max(_cents(net), 0) for net in nets]
    caps = [max(w - 1, 0) for w in weights]
    total_cents = _cents(amount)
    if total_cents > sum(caps):
        raise ValueError(f"discount {amount} leaves an item below {MIN_LINE}")
    if total_cents == 0:
        return tuple(ZERO for _ in nets)
    whole = sum(weights)
    shares = [total_cents * w // whole for w in weights]
    remainders = [total_cents * w % whole for w in weights]
    left = total_cents - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], -weights[i], i))
    while left > 0:  # terminates: the caps hold at least what is left (checked above)
        for i in order:
            if left == 0:
                break
            if shares[i] < caps[i]:
                shares[i] += 1
                left -= 1
    return tuple((Decimal(s) * CENT).quantize(CENT) for s in shares)
