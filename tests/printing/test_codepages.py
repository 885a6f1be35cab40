"""Code pages: the table number we select, and text folded so nothing prints as garbage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.printing.codepages import EPSON_TABLES, resolve_codepage, table_map_for
from posapp.printing.errors import DocumentError

ACCENTED = "HOMOLOGAÇÃO São Paulo Pão de Açúcar ÁÉÍÓÚ àâêôõ ç Ç"


@pytest.mark.parametrize(
    ("name", "codec", "table"),
    [("cp860", "cp860", 3), ("PC860", "cp860", 3), ("cp850", "cp850", 2), ("pc858", "cp858", 19),
     ("WPC1252", "cp1252", 16), ("cp437", "cp437", 0)],
)  # fmt: skip
def test_names_resolve_to_codec_and_epson_table(name: str, codec: str, table: int) -> None:
    page = resolve_codepage(name)
    assert (page.codec, page.table) == (codec, table)
    assert EPSON_TABLES[page.table] == codec


@pytest.mark.parametrize("name", ["cp860", "cp850", "cp858", "cp1252"])
def test_portuguese_accents_survive_every_selectable_page(name: str) -> None:
    page = resolve_codepage(name)
    assert page.encode(ACCENTED).decode(page.codec) == ACCENTED


def test_characters_outside_the_page_are_folded_not_garbled() -> None:
    page = resolve_codepage("cp860")
    assert page.fold("preço – “ótimo” … 5€ ŝ") == 'preço - "ótimo" ... 5EUR s'
    assert page.fold("só 日本") == "só ??"  # no stand-in: a visible '?' rather than a stray byte
    cp1252 = resolve_codepage("cp1252")
    assert cp1252.fold("5€ – “x”") == "5€ – “x”"  # that page has them


def test_control_characters_never_reach_the_printer() -> None:
    page = resolve_codepage("cp860")
    assert page.encode("A\x1b@B\x00C\x1dV\x01D\u200bE\tF\nG") == b"A@BCVDE F G"


def test_table_override_for_clone_firmwares() -> None:
    page = resolve_codepage("cp860", 55)
    assert page.table == 55
    assert table_map_for(page)[55] == "cp860"


def test_unknown_page_or_table_is_a_clear_error() -> None:
    with pytest.raises(DocumentError) as info:
        resolve_codepage("klingon")
    assert "Página de código desconhecida" in info.value.user_message
    with pytest.raises(DocumentError):
        resolve_codepage("cp860", 300)


@given(st.text(max_size=200))
@pytest.mark.parametrize("name", ["cp860", "cp850", "cp858", "cp1252", "cp437"])
def test_any_text_encodes_to_printable_bytes_that_decode_to_the_folded_text(name: str, text: str) -> None:
    page = resolve_codepage(name)
    data = page.encode(text)
    assert all(b >= 0x20 and b != 0x7F for b in data)
    assert data.decode(page.codec) == page.fold(text)


@pytest.mark.parametrize("name", ["cp860", "cp850", "cp858", "cp1252"])
def test_decomposed_text_prints_its_accents(name: str) -> None:
    """NFD input (a base letter + combining mark, as macOS and some forms send it) must
    print the same bytes as the composed text, not "?"."""
    import unicodedata

    page = resolve_codepage(name)
    decomposed = unicodedata.normalize("NFD", ACCENTED)
    assert decomposed != ACCENTED
    assert page.encode(decomposed) == page.encode(ACCENTED)
    assert "?" not in page.fold(decomposed)
