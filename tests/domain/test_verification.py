"""An issuer's "authorized" counts only for a note that is provably this sale's: checked on
the vendor sandbox's real authorized NFC-e (DF, homologação) and on lies built from it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from posapp.domain.documents import ChaveAcesso, build_chave, parse_chave
from posapp.domain.errors import InvalidDocument
from posapp.domain.issuance import AuthorizedNote
from posapp.domain.verification import Expected, note_problems

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "emites" / "nfce_authorized_df_homologacao.xml"
XML = FIXTURE.read_bytes()
CHAVE = "53181022769530000131651110000002761101117841"
STORE = Expected(uf="DF", cnpj="22769530000131", total=Decimal("603.90"))
AT = datetime(2018, 10, 9, 12, 53, 16, tzinfo=UTC)


def note(
    chave: str = CHAVE, *, numero: int | None = None, serie: int | None = None, xml: bytes | None = XML
) -> AuthorizedNote:
    try:
        key: ChaveAcesso | None = parse_chave(chave)
    except InvalidDocument:
        key = None
    return AuthorizedNote(
        chave=chave,
        numero=numero if numero is not None else (key.number if key else 1),
        serie=serie if serie is not None else (key.series if key else 1),
        authorized_at=AT,
        protocolo="353180004134006",
        xml=xml,
    )


def lie(
    *,
    uf: str = "DF",
    cnpj: str | None = None,
    model: str | None = None,
    series: int | None = None,
    number: int | None = None,
) -> str:
    """The fixture's chave with some parts changed and a valid check digit."""
    key = parse_chave(CHAVE)
    return build_chave(
        uf=uf,
        year_month=key.year_month,
        cnpj=cnpj or key.cnpj,
        model=model or key.model,
        series=key.series if series is None else series,
        number=key.number if number is None else number,
        emission_type=key.emission_type,
        code=key.code,
    ).digits


def test_the_real_note_is_this_sales() -> None:
    assert note_problems(note(), STORE) == ()
    reserved = Expected(uf="DF", cnpj="22.769.530/0001-31", total=Decimal("603.90"), serie=111, numero=276)
    assert note_problems(note(), reserved) == ()


@pytest.mark.parametrize(
    ("chave", "expected", "says"),
    [
        (lie(cnpj="11222333000181"), STORE, "outro CNPJ"),
        (lie(uf="SP"), STORE, "outra UF"),
        (lie(model="55"), STORE, "modelo 55"),
        (lie(number=277), Expected("DF", "22769530000131", Decimal("603.90"), 111, 276), "número 277"),
        (lie(series=112), Expected("DF", "22769530000131", Decimal("603.90"), 111, 276), "série 112"),
        (CHAVE[:-1] + "0", STORE, "chave de acesso inválida"),
        ("5318102276953000013165111000000276110111784", STORE, "chave de acesso inválida"),
    ],
)
def test_a_lying_chave_is_never_trusted(chave: str, expected: Expected, says: str) -> None:
    problems = note_problems(note(chave, xml=None), expected)
    assert problems and any(says in p for p in problems), problems


def test_the_xml_must_carry_the_same_chave_and_the_sales_total() -> None:
    other = lie(number=277)
    problems = note_problems(note(other), STORE)
    assert any("outra chave" in p for p in problems)
    assert any(
        "total" in p for p in note_problems(note(), Expected("DF", "22769530000131", Decimal("10.00")))
    )
    assert any("ilegível" in p for p in note_problems(note(xml=b"<nfeProc>"), STORE))


def test_numbers_reported_apart_from_the_chave_must_agree() -> None:
    problems = note_problems(note(numero=1), STORE)
    assert any("não conferem com a chave" in p for p in problems)
