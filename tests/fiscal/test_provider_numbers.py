"""Provider answers are read with bounded numbers: ``1e999999`` is an unreadable answer at
once, never seconds of CPU (or a MemoryError) turning it into a million-digit integer. And
the note is built from what the provider said, not filled in from what we asked."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from posapp.fiscal.http_base import as_int, build_note, json_object, parse_json, parse_retry_after

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"
NOTE = (FIXTURES / "nfce_authorized_df_homologacao.xml").read_bytes()
XML_CHAVE = "53181022769530000131651110000002761101117841"

ABSURD = [
    b'{"codigo": 1e999999}',
    b'{"codigo": 1E999999999999999999}',
    b'{"codigo": -1e999999}',
    b'{"codigo": 1e-999999}',
    b'{"codigo": 0e-999999}',
    b'{"numero": ' + b"9" * 5000 + b"}",
    b'{"valor": NaN}',
    b'{"valor": Infinity}',
    b"[" * 100_000 + b"]" * 100_000,
]


@pytest.mark.parametrize("body", ABSURD, ids=lambda b: b[:24].decode())
def test_an_absurd_number_makes_the_answer_unreadable_quickly(body: bytes) -> None:
    started = time.monotonic()
    response = httpx.Response(200, content=body)
    assert parse_json(response) is None and json_object(response) == {}
    assert time.monotonic() - started < 0.5


def test_ordinary_numbers_still_read_exactly() -> None:
    body = b'{"codigo": 100, "valor": 35.90, "chave": 53181022769530000131651110000002761101117841}'
    data = json_object(httpx.Response(200, content=body))
    assert data["codigo"] == 100 and data["valor"] == Decimal("35.90")
    assert data["chave"] == int(XML_CHAVE)  # 44 digits still fit the bound


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        ("12", 12),
        (" 101008 ", 101008),
        (Decimal("539"), 539),
        ("12.5", None),
        (True, None),
        ("1e999999", None),
        ("9" * 5000, None),
        (Decimal("1E+999999"), None),
        (10**40, None),
        ("NaN", None),
        ("²", None),
        (None, None),
    ],
)
def test_as_int_never_converts_unbounded(value: object, expected: int | None) -> None:
    started = time.monotonic()
    assert as_int(value) == expected
    assert time.monotonic() - started < 0.1


def test_retry_after_refuses_absurd_values() -> None:
    for value in ("1e999999", "Infinity", "9" * 100):
        assert parse_retry_after(httpx.Headers({"Retry-After": value}), now_epoch=1e9) is None
        assert parse_retry_after(httpx.Headers({"Rate-Limit-Reset": value}), now_epoch=1e9) is None


def test_numero_and_serie_are_the_providers_own_words() -> None:
    """What the provider said goes into the note (so that a claim disagreeing with the chave
    reaches the verification as made); the XML, then the chave, fill only what it did not say."""
    said = build_note(chave=XML_CHAVE, numero=999, serie=7, xml=NOTE)
    assert (said.numero, said.serie) == (999, 7) and said.xml == NOTE
    filled = build_note(chave=XML_CHAVE, numero=None, serie=None, xml=NOTE)
    assert (filled.numero, filled.serie) == (276, 111)
    bare = build_note(chave=XML_CHAVE, numero=None, serie=None, xml=None)
    assert (bare.numero, bare.serie) == (276, 111)
