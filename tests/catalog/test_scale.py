"""Scale labels: parts read from the configured layout; price labels become exact quantities."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.catalog.scale import ScaleLabelLayout, ean13_is_valid, parse_scale_label, quantity_for_price
from posapp.domain.money import line_total


def ean13(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def test_ean13_check_digit() -> None:
    assert ean13_is_valid("7891153002125")
    assert not ean13_is_valid("7891153002126")
    assert not ean13_is_valid("789115300212")


def test_price_label_default_layout() -> None:
    code = ean13("2" + "01020" + "001234")
    label = parse_scale_label(code, ScaleLabelLayout())
    assert label is not None
    assert label.product_code == "01020"
    assert label.price == Decimal("12.34")
    assert label.weight is None
    assert label.code_candidates() == ["01020", "1020"]


def test_weight_label_custom_layout() -> None:
    layout = ScaleLabelLayout(
        prefix="2", code_start=1, code_length=4, value_start=7, value_length=5, kind="weight"
    )
    code = ean13("2" + "1020" + "0" + "0" + "00375")
    label = parse_scale_label(code, layout)
    assert label is not None
    assert label.product_code == "1020"
    assert label.weight == Decimal("0.375")
    assert label.price is None


def test_not_a_scale_label() -> None:
    layout = ScaleLabelLayout()
    assert parse_scale_label("7891153002125", layout) is None  # ordinary GTIN
    bad = ean13("201020001234")
    bad = bad[:-1] + str((int(bad[-1]) + 1) % 10)
    assert parse_scale_label(bad, layout) is None  # wrong check digit
    assert parse_scale_label(ean13("201020000000"), layout) is None  # zero value
    assert parse_scale_label(ean13("201020001234"), layout.model_copy(update={"enabled": False})) is None


def test_layout_validation() -> None:
    with pytest.raises(ValueError):
        ScaleLabelLayout(code_start=1, code_length=6, value_start=5, value_length=6)
    with pytest.raises(ValueError):
        ScaleLabelLayout(value_start=8, value_length=6)


@given(
    price=st.integers(min_value=1, max_value=99_999).map(lambda c: Decimal(c).scaleb(-2)),
    unit_price=st.integers(min_value=1, max_value=9_999).map(lambda c: Decimal(c).scaleb(-2)),
)
def test_quantity_reproduces_the_label_price(price: Decimal, unit_price: Decimal) -> None:
    quantity = quantity_for_price(price, unit_price)
    assert quantity > 0
    exponent = quantity.as_tuple().exponent
    assert isinstance(exponent, int) and exponent >= -4  # a finite Decimal: an int exponent
    assert line_total(quantity, unit_price) == price


def test_quantity_for_price_refuses_zero_price() -> None:
    with pytest.raises(ValueError):
        quantity_for_price(Decimal("1.00"), Decimal("0"))


def test_impossible_price_is_said_in_reais() -> None:
    with pytest.raises(ValueError) as info:
        quantity_for_price(Decimal("1234.57"), Decimal("99999.99"))
    assert "R$ 1.234,57" in str(info.value) and "R$ 99.999,99" in str(info.value)
    assert "1234.57" not in str(info.value)
