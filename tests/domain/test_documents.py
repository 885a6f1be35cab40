import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.domain.documents import (
    build_chave,
    chave_check_digit,
    format_cpf_cnpj,
    mask_cpf_cnpj,
    parse_chave,
    validate_cnpj,
    validate_cpf,
    validate_cpf_or_cnpj,
)
from posapp.domain.errors import InvalidDocument

FIXTURE_CHAVE = "53181222769530000131650090000001731531212514"  # vendor cancel example


@pytest.mark.parametrize("text", ["529.982.247-25", "52998224725", " 529 982 247 25 "])
def test_cpf_formatted_or_not(text: str) -> None:
    assert validate_cpf(text) == "52998224725"


@pytest.mark.parametrize("text", ["529.982.247-24", "111.111.111-11", "1234567890", "abc"])
def test_bad_cpf(text: str) -> None:
    with pytest.raises(InvalidDocument) as info:
        validate_cpf(text)
    assert "CPF" in info.value.user_message


def test_cnpj() -> None:
    assert validate_cnpj("22.769.530/0001-31") == "22769530000131"
    with pytest.raises(InvalidDocument):
        validate_cnpj("22.769.530/0001-32")
    with pytest.raises(InvalidDocument):
        validate_cnpj("00000000000000")


def test_either_document() -> None:
    assert validate_cpf_or_cnpj("529.982.247-25") == "52998224725"
    assert validate_cpf_or_cnpj("22769530000131") == "22769530000131"
    with pytest.raises(InvalidDocument):
        validate_cpf_or_cnpj("123")


def test_format_and_mask() -> None:
    assert format_cpf_cnpj("52998224725") == "529.982.247-25"
    assert format_cpf_cnpj("22769530000131") == "22.769.530/0001-31"
    assert "529" not in mask_cpf_cnpj("52998224725")
    assert mask_cpf_cnpj("52998224725").endswith("-**")


def test_real_chave_parts() -> None:
    chave = parse_chave(FIXTURE_CHAVE)
    assert chave.uf == "DF"
    assert chave.year_month == "1812"
    assert chave.cnpj == "22769530000131"
    assert chave.model == "65"
    assert chave.series == 9
    assert chave.number == 173
    assert chave.emission_type == 1
    assert chave.grouped().split() == [FIXTURE_CHAVE[i : i + 4] for i in range(0, 44, 4)]


def test_bad_chave() -> None:
    with pytest.raises(InvalidDocument):
        parse_chave(FIXTURE_CHAVE[:-1] + "5")
    with pytest.raises(InvalidDocument):
        parse_chave("123")


@given(st.from_regex(r"[0-9]{43}", fullmatch=True))
def test_any_single_digit_change_is_caught(first43: str) -> None:
    full = first43 + str(chave_check_digit(first43))
    parse_chave(full)
    position = len(first43) // 2
    changed = full[:position] + str((int(full[position]) + 1) % 10) + full[position + 1 :]
    with pytest.raises(InvalidDocument):
        parse_chave(changed)


@given(st.integers(min_value=1, max_value=999_999_999), st.integers(min_value=0, max_value=999))
def test_build_chave_round_trips(number: int, series: int) -> None:
    chave = build_chave(
        uf="SP", year_month="2611", cnpj="22769530000131", series=series, number=number, code="12345678"
    )
    parsed = parse_chave(chave.digits)
    assert (parsed.uf, parsed.series, parsed.number, parsed.code) == ("SP", series, number, "12345678")
