"""Our mod-11 check digits against python-stdnum's, for every CPF and CNPJ shape.

posapp computes the CPF's and the CNPJ's check digits itself (``mod11_check_digit``, shared
with the chave) instead of importing python-stdnum at the first sale with a document, which
cost a `posapp nfce emit` process 20-50 ms of its start-up (stdnum.util pulls in pydoc, ssl
and pkgutil). stdnum stays in the dev extra as the oracle: these tests fail on any body whose
digits the two disagree on, and on any wrong pair of digits one of them accepts.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.br import cnpj as stdnum_cnpj
from stdnum.br import cpf as stdnum_cpf

from posapp.domain.documents import mod11_check_digit, validate_cnpj, validate_cpf
from posapp.domain.errors import InvalidDocument

_DIGITS = "0123456789"
_CNPJ_CHARS = _DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _accepted(validate: object, text: str) -> bool:
    assert callable(validate)
    try:
        validate(text)
    except InvalidDocument:
        return False
    return True


def _stdnum_cpf_check_digits(body: str) -> str:
    """The one pair of digits stdnum's public ``is_valid`` accepts after ``body`` (stdnum
    has no public function that computes a CPF's)."""
    accepted = [f"{n:02d}" for n in range(100) if stdnum_cpf.is_valid(body + f"{n:02d}")]
    if body == "000000000":  # stdnum refuses the all-zero number whatever its digits
        return "00"
    assert len(accepted) == 1, (body, accepted)
    return accepted[0]


@given(body=st.text(_DIGITS, min_size=9, max_size=9), wrong=st.text(_DIGITS, min_size=2, max_size=2))
def test_a_cpf_is_accepted_exactly_when_stdnum_accepts_it(body: str, wrong: str) -> None:
    right = body + _stdnum_cpf_check_digits(body)
    if len(set(right)) > 1:  # 000.000.000-00 and the like: both refuse, for different reasons
        assert _accepted(validate_cpf, right)
    assert _accepted(validate_cpf, body + wrong) == (
        stdnum_cpf.is_valid(body + wrong) and len(set(body + wrong)) > 1
    )


@given(body=st.text(_CNPJ_CHARS, min_size=12, max_size=12), wrong=st.text(_DIGITS, min_size=2, max_size=2))
def test_a_cnpj_numeric_or_alphanumeric_is_accepted_exactly_when_stdnum_accepts_it(
    body: str, wrong: str
) -> None:
    right = body + stdnum_cnpj.calc_check_digits(body)
    if len(set(right)) > 1:
        assert _accepted(validate_cnpj, right)
    assert _accepted(validate_cnpj, body + wrong) == (
        stdnum_cnpj.is_valid(body + wrong) and len(set(body + wrong)) > 1
    )


@pytest.mark.parametrize(
    ("body", "max_weight", "digit"),
    [
        ("529982247", 11, 2),  # 529.982.247-25, the CPF of the example sale
        ("5299822472", 11, 5),
        ("112223330001", 9, 8),  # 11.222.333/0001-81
        ("1122233300018", 9, 1),
        ("12ABC34501DE", 9, 3),  # the Receita's alphanumeric example, 12.ABC.345/01DE-35
        ("12ABC34501DE3", 9, 5),
    ],
)
def test_the_published_examples_check_digits(body: str, max_weight: int, digit: int) -> None:
    assert mod11_check_digit(body, max_weight=max_weight) == digit
