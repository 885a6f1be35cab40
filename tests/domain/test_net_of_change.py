"""What each payment method really brought in: the change (vTroco) comes out of cash only,
from the cash payments in order (the day close and the monthly totals both count so)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from posapp.domain.payments import net_of_change

D = Decimal


def test_the_change_comes_out_of_cash_only() -> None:
    # R$ 30,00 sale: R$ 20,00 on the card, R$ 50,00 in cash, R$ 40,00 back.
    assert net_of_change([("03", D("20.00")), ("01", D("50.00"))], D("40.00")) == [
        ("03", D("20.00")),
        ("01", D("10.00")),
    ]


def test_a_change_larger_than_one_cash_payment_spills_into_the_next() -> None:
    payments = [("01", D("5.00")), ("17", D("10.00")), ("01", D("20.00"))]
    assert net_of_change(payments, D("12.00")) == [("01", D("0.00")), ("17", D("10.00")), ("01", D("13.00"))]


@pytest.mark.parametrize("change", [D("0.00"), D("-1.00")])
def test_no_change_leaves_every_payment_whole(change: Decimal) -> None:
    payments = [("01", D("7.50")), ("04", D("2.50"))]
    assert net_of_change(payments, change) == payments
