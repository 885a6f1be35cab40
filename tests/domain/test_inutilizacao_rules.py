"""The pure rules of number gaps and inutilização ranges (posapp/domain/inutilizacao.py)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.domain.inutilizacao import (
    InvalidInutilizacao,
    NumberRange,
    check_justificativa,
    check_range,
    gaps,
    subtract,
)


def _numbers(ranges: list[tuple[int, int]]) -> set[int]:
    return {n for first, last in ranges for n in range(first, last + 1)}


@given(st.sets(st.integers(1, 300), max_size=80), st.integers(0, 320))
def test_gaps_are_exactly_the_numbers_not_used_up_to_the_top(used: set[int], top: int) -> None:
    found = gaps(used, up_to=top)
    assert _numbers(found) == set(range(1, top + 1)) - used
    assert all(first <= last for first, last in found)
    assert all(a[1] + 1 < b[0] for a, b in itertools.pairwise(found))  # sorted, not adjacent


@given(
    st.lists(st.tuples(st.integers(1, 100), st.integers(0, 20)), max_size=6),
    st.lists(st.tuples(st.integers(1, 100), st.integers(0, 20)), max_size=6),
)
def test_subtract_removes_exactly_the_covered_numbers(
    ranges: list[tuple[int, int]], covered: list[tuple[int, int]]
) -> None:
    a = [(f, f + w) for f, w in ranges]
    b = [(f, f + w) for f, w in covered]
    assert _numbers(subtract(a, b)) == _numbers(a) - _numbers(b)


def test_gaps_of_an_issuers_serie_start_at_the_first_number_seen() -> None:
    assert gaps({7, 8, 11}, start=7) == [(9, 10)]
    assert gaps(set()) == []


def test_ranges_and_justificativa_are_checked_with_portuguese_messages() -> None:
    assert check_range(2, 5, 9) == NumberRange(2, 5, 9)
    for serie, first, last, words in (
        (1000, 1, 1, "Série"),
        (1, 0, 1, "de 1 a"),
        (1, 9, 5, "maior que o final"),
        (1, 1, 20_000, "limite"),
    ):
        with pytest.raises(InvalidInutilizacao) as caught:
            check_range(serie, first, last)
        assert words in caught.value.user_message
    assert (
        check_justificativa("  Numeros   pulados na troca de bobina ") == "Numeros pulados na troca de bobina"
    )
    for text in ("curta", "x" * 256):
        with pytest.raises(InvalidInutilizacao) as caught:
            check_justificativa(text)
        assert "de 15 a 255" in caught.value.user_message
    assert NumberRange(2, 5, 9).overlaps(NumberRange(2, 9, 12))
    assert not NumberRange(2, 5, 9).overlaps(NumberRange(3, 5, 9))
