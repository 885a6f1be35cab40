"""The Latin-1 / ASCII text policy: examples, and the properties that hold for any text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.protocol.text import TextPolicy, clean_text, is_clean

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=80)  # surrogates too
POLICIES = st.sampled_from(["latin1", "ascii"])


@pytest.mark.parametrize(
    ("text", "latin1", "ascii"),
    [
        ("Pão de Açúcar", "Pão de Açúcar", "Pao de Acucar"),
        ("\u201cOlá\u201d \u2013 mundo\u2026", '"Olá" - mundo...', '"Ola" - mundo...'),
        ("Caf\u00e9 \u2019s \u2014 5\u20ac", "Café 's - 5EUR", "Cafe 's - 5EUR"),
        ("nº 5, 1ª vez, 30°", "nº 5, 1ª vez, 30°", "no 5, 1a vez, 30o"),
        ("Cerveja\tPilsen\r\n350ml", "Cerveja Pilsen 350ml", "Cerveja Pilsen 350ml"),
        ("  espaços\u00a0\u2003estranhos  ", "espaços estranhos", "espacos estranhos"),
        ("zero\u200bwidth\u00adsoft", "zerowidthsoft", "zerowidthsoft"),
        ("cœur Œuvre", "coeur OEuvre", "coeur OEuvre"),
        ("Łódź Škoda Ÿ", "Lódz Skoda Y", "Lodz Skoda Y"),
        ("ﬁlé Ａ①", "filé A1", "file A1"),
        ("Straße Æ ø ½", "Straße Æ ø ½", "Strasse AE o 1/2"),
        ("e\u0301 decomposed", "é decomposed", "e decomposed"),  # NFD from macOS stays an é
        ("emoji 😀👍🏽 ok", "emoji ok", "emoji ok"),
        ("Водка 伏特加 βότκα", "", ""),
        ("bell\x07 nul\x00 del\x7f c1\x85 end", "bell nul del c1 end", "bell nul del c1 end"),
        ("\u2028line\u2029para", "line para", "line para"),
    ],
)
def test_examples(text: str, latin1: str, ascii: str) -> None:
    assert clean_text(text) == latin1
    assert clean_text(text, "latin1") == latin1
    assert clean_text(text, "ascii") == ascii


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="text policy"):
        clean_text("x", "utf8")  # type: ignore[arg-type]


@given(text=ANY_TEXT, policy=POLICIES)
def test_output_always_encodes(text: str, policy: TextPolicy) -> None:
    out = clean_text(text, policy)
    out.encode("ascii" if policy == "ascii" else "iso-8859-1")


@given(text=ANY_TEXT, policy=POLICIES)
def test_idempotent(text: str, policy: TextPolicy) -> None:
    once = clean_text(text, policy)
    assert clean_text(once, policy) == once
    assert is_clean(once, policy)


@given(text=ANY_TEXT, policy=POLICIES)
def test_no_controls_and_no_stray_spaces(text: str, policy: TextPolicy) -> None:
    out = clean_text(text, policy)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)  # C0, DEL, C1
    assert "\u00a0" not in out and "\u00ad" not in out
    assert out == out.strip()
    assert "  " not in out


def _is_subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(char in it for char in needle)


@given(text=ANY_TEXT.map(lambda t: unicodedata.normalize("NFC", t)), policy=POLICIES)
def test_plain_ascii_letters_and_digits_survive(text: str, policy: TextPolicy) -> None:
    # On composed text (NFC), an ASCII letter or digit is a character of its own and is kept.
    plain = "".join(c for c in text if c.isascii() and c.isalnum())
    assert _is_subsequence(plain, clean_text(text, policy))


@given(text=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80))
def test_printable_ascii_only_has_its_spaces_normalized(text: str) -> None:
    assert clean_text(text) == " ".join(text.split())
    assert clean_text(text, "ascii") == " ".join(text.split())


@given(text=st.text(alphabet=st.characters(min_codepoint=0xA1, max_codepoint=0xFF), max_size=40))
def test_printable_latin1_is_kept_by_the_latin1_policy(text: str) -> None:
    assert clean_text(text.replace("\u00ad", "")) == text.replace("\u00ad", "")
