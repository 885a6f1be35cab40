"""The simulator's JSON: exact decimals both ways, always encodable in ISO-8859-1."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.sim.emites import break_json
from posapp.sim.jsonwire import dumps_decimal, loads_decimal

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9)
    | st.text(max_size=20)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def expected(value: Any) -> Any:
    """What reading back should give: a Decimal without places is written as an integer."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else value
    if isinstance(value, list):
        return [expected(v) for v in value]
    if isinstance(value, dict):
        return {k: expected(v) for k, v in value.items()}
    return value


def same(a: Any, b: Any) -> bool:
    """Equal, same types, and every Decimal kept its places (``200.00`` stays ``200.00``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Decimal):
        return str(a) == str(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@given(values, st.sampled_from([None, 2]))
def test_round_trip_keeps_decimals_and_encodes_to_latin1(value: Any, indent: int | None) -> None:
    text = dumps_decimal(value, indent=indent)
    text.encode("iso-8859-1")  # never raises: characters above U+00FF become \\u escapes
    assert same(loads_decimal(text), expected(value))


def test_numbers_are_written_as_json_numbers_with_their_places() -> None:
    text = dumps_decimal({"valor": Decimal("200.00"), "qtd": Decimal("0.3750"), "n": 3}, indent=None)
    assert text == '{"valor": 200.00, "qtd": 0.3750, "n": 3}'
    assert json.loads(text)["n"] == 3


def test_floats_and_non_finite_numbers_are_refused() -> None:
    with pytest.raises(TypeError):
        dumps_decimal({"valor": 1.5})
    with pytest.raises(TypeError):
        dumps_decimal(Decimal("NaN"))
    with pytest.raises(ValueError, match="NaN"):
        loads_decimal('{"v": NaN}')


def test_break_json_makes_the_vendor_mistake() -> None:
    broken = break_json('{"a": "x", "valor": 200.00, "b": 1.5}')
    assert broken == '{"a": "x", "valor": 200,.00, "b": 1.5}'
    with pytest.raises(ValueError):
        loads_decimal(broken)
    with pytest.raises(ValueError):
        loads_decimal(break_json('{"status": "erro"}'))
