"""Verify before trusting: an issuer's "authorized" counts only for a note that is provably
this sale's.

A note is this sale's when its chave has 44 digits and a valid check digit, its UF, CNPJ and
model (65) are this store's, its série and número are the ones we reserved (where we number),
the number fields the issuer sent agree with the chave, and its XML, when there is one, carries
the same chave, the sale's total and the sale's items (codes and quantities). Anything else
is a lie or a mix-up (another till's note, another store's, an NF-e), and the sale needs
attention instead: see
:data:`posapp.domain.lifecycle.Happening.ISSUE_UNVERIFIED`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from posapp.domain.documents import UF_CODES, ChaveAcesso, only_digits, parse_chave
from posapp.domain.errors import InvalidDocument
from posapp.domain.issuance import AuthorizedNote
from posapp.domain.nfe_xml import read_nfe

NFCE_MODEL = "65"


@dataclass(frozen=True, slots=True)
class Expected:
    """What the note of one sale must say."""

    uf: str  # the store's UF
    cnpj: str  # the store's CNPJ (the emitter)
    total: Decimal  # the sale's total (vNF)
    serie: int | None = None  # where we number: the série and número we reserved
    numero: int | None = None
    items: tuple[tuple[str, Decimal], ...] = ()  # (code, quantity) of each line; () skips the check


def note_problems(note: AuthorizedNote, expected: Expected) -> tuple[str, ...]:
    """Why ``note`` is not provably this sale's, in Portuguese; empty when it is."""
    try:
        key = parse_chave(note.chave)
    except InvalidDocument as exc:
        return (f"chave de acesso inválida ({exc.user_message})",)
    problems = list(_key_problems(key, expected))
    if (note.serie, note.numero) != (key.series, key.number):
        problems.append(
            f"série/número informados ({note.serie}/{note.numero}) não conferem com a chave "
            f"({key.series}/{key.number})"
        )
    if note.xml is not None:
        problems.extend(_xml_problems(note, expected))
    return tuple(problems)


def _key_problems(key: ChaveAcesso, expected: Expected) -> list[str]:
    problems = []
    if key.uf_code != UF_CODES.get(expected.uf):
        problems.append(f"chave de outra UF ({key.uf}, a loja é de {expected.uf})")
    if key.cnpj != only_digits(expected.cnpj).upper():  # an alphanumeric CNPJ in either case
        problems.append("chave de outro CNPJ emitente")
    if key.model != NFCE_MODEL:
        problems.append(f"chave de modelo {key.model}, não NFC-e (65)")
    if expected.serie is not None and key.series != expected.serie:
        problems.append(f"série {key.series}, reservada {expected.serie}")
    if expected.numero is not None and key.number != expected.numero:
        problems.append(f"número {key.number}, reservado {expected.numero}")
    return problems


def _xml_problems(note: AuthorizedNote, expected: Expected) -> list[str]:
    assert note.xml is not None
    try:
        document = read_nfe(note.xml)
    except InvalidDocument as exc:
        return [f"XML da nota ilegível ({exc.user_message})"]
    problems = []
    if document.chave != note.chave:
        problems.append("o XML é de outra chave de acesso")
    if document.total != expected.total:
        problems.append(f"total do XML R$ {document.total} difere do total da venda R$ {expected.total}")
    if expected.items and sorted((i.code, i.quantity) for i in document.items) != sorted(expected.items):
        problems.append("os itens do XML diferem dos itens da venda")
    return problems
