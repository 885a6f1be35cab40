from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.domain.errors import DomainError
from posapp.domain.money import format_brl, line_total, round_money, to_decimal


def test_half_up_rounding_like_nfe() -> None:
    assert round_money(Decimal("5.9625")) == Decimal("5.96")
    assert round_money(Decimal("0.125")) == Decimal("0.13")  # half up, not banker's
    assert round_money(Decimal("2.675")) == Decimal("2.68")  # a float would give 2.67
    assert line_total(Decimal("0.375"), Decimal("15.90")) == Decimal("5.96")


def test_floats_are_refused() -> None:
    with pytest.raises(DomainError):
        to_decimal(4.99)
    with pytest.raises(DomainError):
        to_decimal(True)


def test_strings_parse_both_ways() -> None:
    assert to_decimal("4.99") == Decimal("4.99")
    assert to_decimal("4,99") == Decimal("4.99")
    with pytest.raises(DomainError):
        to_decimal("quatro")
    with pytest.raises(DomainError):
        to_decimal("NaN")


def test_format_brl() -> None:
    assert format_brl(Decimal("1234567.5")) == "1.234.567,50"
    assert format_brl(Decimal("0.005")) == "0,01"
    assert format_brl(Decimal("-12")) == "-12,00"


@given(st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False))
def test_rounding_is_to_cents_and_within_half_cent(value: Decimal) -> None:
    rounded = round_money(value)
    assert rounded.as_tuple().exponent == -2
    assert abs(rounded - value) <= Decimal("0.005")


@given(
    st.decimals(min_value=Decimal("0.0001"), max_value=1000, places=4),
    st.decimals(min_value=0, max_value=10000, places=2),
)
def test_line_total_matches_exact_product_rounded(quantity: Decimal, price: Decimal) -> None:
    assert line_total(quantity, price) == round_money(quantity * price)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4,99", "4.99"),
        ("4.99", "4.99"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("R$ 12,5", "12.5"),
    ],
)
def test_amounts_written_by_people(text: str, value: str) -> None:
    from posapp.domain.money import parse_amount_text

    assert parse_amount_text(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "doze", "1,2,3", "Infinity", "NaN"])
def test_text_that_is_not_an_amount(text: str) -> None:
    from posapp.domain.money import parse_amount_text

    with pytest.raises(DomainError):
        parse_amount_text(text)
