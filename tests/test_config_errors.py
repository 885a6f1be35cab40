"""A bad configuration file, or a bad store settings document, is explained in Portuguese with
the key it is about; pydantic's English never reaches the manager."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from posapp.config import ConfigError, load_config

ENGLISH = re.compile(r"Input should|Field required|Extra inputs|not permitted|should be|greater than", re.I)

BAD = """
[store]
uf = "DF"
crt = 7

[nfce]
serie = 0
cancel_window_min = 45

[printer]
uri = "preview"
paper_mm = 70
mode = "bitmap"

[bogus]
x = 1
"""


def test_every_bad_key_is_named_with_what_it_must_be_in_portuguese(tmp_path: Path) -> None:
    path = tmp_path / "posapp.toml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = caught.value.user_message or ""
    assert not ENGLISH.search(message), message
    for expected in (
        "store.crt: deve ser 1, 2, 3 ou 4",
        "nfce.serie: deve ser no mínimo 1",
        "nfce.cancel_window_min: prazo de cancelamento de 45 minutos: o máximo legal é 30",
        "printer.paper_mm: deve ser 58 ou 80",
        'printer.mode: deve ser "native" ou "raster"',
        "bogus: chave desconhecida",
    ):
        assert expected in message, (expected, message)


def test_a_value_of_the_wrong_type_says_what_it_must_be(tmp_path: Path) -> None:
    path = tmp_path / "posapp.toml"
    path.write_text('[nfce]\nserie = "dois"\n[emites]\nport = 3434.5\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = caught.value.user_message or ""
    assert (
        "nfce.serie: deve ser um número inteiro" in message
        and "emites.port: deve ser um número inteiro" in message
    )
    assert not ENGLISH.search(message), message
