"""Discounts (issue 13, item 4): percent to centavos, the sale's discount apportioned to the
items' vDesc to the cent, and the Portuguese messages that name the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.domain.discounts import apportion, max_sale_discount, percent_of
from posapp.domain.errors import InvalidSale
from posapp.domain.money import CENT, ZERO
from posapp.domain.sale import Sale

cents = st.integers(min_value=1, max_value=10_000_000).map(lambda c: Decimal(c) * CENT)


def item(price: str, quantity: str = "1", **extra: Any) -> dict[str, Any]:
    return {
        "code": "1",
        "description": "Produto",
        "ncm": "22030000",
        "quantity": quantity,
        "unit_price": price,
        **extra,
    }


def sale(*items: dict[str, Any], discount: dict[str, object] | None = None, paid: str = "1000") -> Sale:
    data: dict[str, Any] = {"items": list(items), "payments": [{"method": "dinheiro", "amount": paid}]}
    if discount is not None:
        data["discount"] = discount
    return Sale.from_mapping(data)


def refused(*items: dict[str, Any], discount: dict[str, object] | None = None) -> str:
    with pytest.raises(InvalidSale) as info:
        sale(*items, discount=discount)
    return info.value.user_message


@given(st.lists(cents, min_size=1, max_size=40), st.data())
def test_apportionment_sums_exactly_and_leaves_every_line_a_centavo(
    nets: list[Decimal], data: st.DataObject
) -> None:
    most = max_sale_discount(nets)
    amount = data.draw(st.integers(min_value=0, max_value=int(most / CENT))) * CENT
    shares = apportion(amount, nets)
    assert len(shares) == len(nets)
    assert sum(shares, ZERO) == amount
    for share, net in zip(shares, nets, strict=True):
        assert ZERO <= share <= net - CENT
        assert share == share.quantize(CENT)


@given(st.lists(cents, min_size=1, max_size=40), st.data())
def test_apportionment_is_proportional_within_a_centavo_when_no_line_is_full(
    nets: list[Decimal], data: st.DataObject
) -> None:
    whole = sum(nets, ZERO)
    amount = data.draw(st.integers(min_value=0, max_value=int(whole / CENT) // 2)) * CENT
    if amount > max_sale_discount(nets):
        return
    shares = apportion(amount, nets)
    if any(share == net - CENT for share, net in zip(shares, nets, strict=True)):
        return  # a full line passed its centavos on: proportional no longer within one
    for share, net in zip(shares, nets, strict=True):
        assert abs(share - amount * net / whole) < CENT


@given(st.lists(cents, min_size=1, max_size=10))
def test_more_than_the_lines_can_take_is_refused(nets: list[Decimal]) -> None:
    with pytest.raises(ValueError):
        apportion(max_sale_discount(nets) + CENT, nets)


def test_largest_remainder_example() -> None:
    # 1,00 over three equal lines: 0,33 each and the extra centavo to the first.
    assert apportion(Decimal("1.00"), [Decimal("5.00")] * 3) == (
        Decimal("0.34"),
        Decimal("0.33"),
        Decimal("0.33"),
    )
    # 0,10 over 9,99 and 0,01: the one-centavo line cannot give anything.
    assert apportion(Decimal("0.10"), [Decimal("9.99"), Decimal("0.01")]) == (Decimal("0.10"), ZERO)


def test_percent_rounds_half_up_to_the_cent() -> None:
    assert percent_of(Decimal("4.99"), Decimal("10")) == Decimal("0.50")
    assert percent_of(Decimal("0.05"), Decimal("10")) == Decimal("0.01")  # 0,005 -> 0,01
    assert percent_of(Decimal("0.04"), Decimal("10")) == Decimal("0.00")


def test_item_percent_becomes_its_vdesc() -> None:
    s = sale(item("4.99", "6", discount_percent="10"))
    assert s.items[0].gross_total == Decimal("29.94")
    assert s.items[0].discount == Decimal("2.99")  # 2,994 -> 2,99
    assert s.total == Decimal("26.95")


def test_sale_discount_in_value_is_apportioned_to_the_items() -> None:
    s = sale(item("10.00"), item("20.00"), item("0.01"), discount={"value": "3.00"})
    assert [i.discount for i in s.items] == [Decimal("1.00"), Decimal("2.00"), ZERO]
    assert s.discount_total == s.sale_discount_total == Decimal("3.00")
    assert s.total == Decimal("27.01")


def test_sale_percent_is_of_the_total_after_item_discounts() -> None:
    s = sale(item("10.00", discount="1.00"), item("9.00"), discount={"percent": "10"})
    # base 9,00 + 9,00 = 18,00; 10 % = 1,80, 0,90 each
    assert [i.own_discount for i in s.items] == [Decimal("1.00"), ZERO]
    assert [i.sale_discount for i in s.items] == [Decimal("0.90"), Decimal("0.90")]
    assert [i.discount for i in s.items] == [Decimal("1.90"), Decimal("0.90")]
    assert s.total == Decimal("16.20")


def test_building_a_sale_again_gives_the_same_items() -> None:
    first = sale(item("3.33", "3", discount_percent="10"), item("10.00"), discount={"percent": "10"})
    again = Sale.model_validate(first.model_dump())
    assert again == first
    assert Sale.from_stored_json(first.model_dump_json()) == first


def test_payment_is_checked_against_the_discounted_total() -> None:
    s = sale(item("50.00"), discount={"percent": "10"}, paid="45.00")
    assert s.total == Decimal("45.00") and s.change == ZERO
    message = refused(item("50.00"), discount={"value": "50.00"})
    assert message == "desconto: R$ 50,00 deixaria item abaixo de R$ 0,01: o máximo nesta venda é R$ 49,99"


def test_messages_name_the_field_in_portuguese() -> None:
    assert refused(item("1.00", discount_percent="100")).startswith(
        "itens[1].desconto_percentual: deve ser menor que 100"
    )
    assert (
        refused(item("1.00", discount_percent="0")) == "itens[1].desconto_percentual: deve ser maior que zero"
    )
    assert refused(item("1.00", discount_percent="10", discount="0.50")).startswith(
        "itens[1].desconto: informe o desconto em valor (desconto) ou em percentual"
    )
    assert refused(item("1.00"), discount={"value": "0.50", "percent": "5"}).startswith(
        "desconto: informe o desconto da venda em valor"
    )
    assert (
        refused(item("1.00"), discount={"percent": "2.555"})
        == "desconto.percentual: no máximo 2 casas decimais"
    )
    assert refused(item("1.00"), discount={"value": "-1"}) == "desconto.valor: deve ser maior que zero"
    assert refused(item("1.00"), discount={"percent": 1.5}).startswith("desconto.percentual: número 1.5")
    assert refused(item("0.01", discount_percent="60")).startswith(
        "itens[1].desconto_percentual: R$ 0,01 (60 %) deve ser menor que o valor do item"
    )
