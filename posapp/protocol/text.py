"""The text policy: what a string may contain before it goes to Emites-Client.

Emites-Client reads ISO-8859-1 (or US-ASCII); a character Latin-1 cannot carry would have
to be replaced *somewhere*, and the only place that can do it sensibly is here, before
encoding: curly quotes become straight ones, dashes become ``-``, ``€`` becomes ``EUR``,
letters from other Latin alphabets lose the marks Latin-1 has no room for (``ł`` -> ``l``,
``ș`` -> ``s``), compatibility forms are folded (``ﬁ`` -> ``fi``, ``Ａ`` -> ``A``) and what
has no Latin-1 reading at all (emoji, other scripts) is dropped.

Control characters are never sent: SEFAZ rejects them (cStat 588), and a ``\\t`` or
``\\n`` typed into a product description is a mistake, not content. Controls and
unusual spaces become a space, runs of spaces collapse to one, and the ends are
stripped (NF-e string fields may not start or end with a space).

Two policies:

* ``"latin1"`` (default) keeps every printable ISO-8859-1 character: ``"Pão de Açúcar"``
  goes out as is, the ``ã`` as the single byte ``0xE3``.
* ``"ascii"`` also folds accents and Latin-1 symbols (``ã`` -> ``a``, ``ç`` -> ``c``,
  ``º`` -> ``o``, ``ß`` -> ``ss``) for the SEFAZ / Emites set-ups that reject accents.

:func:`clean_text` is idempotent, and plain ASCII letters and digits always survive.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Final, Literal

TextPolicy = Literal["latin1", "ascii"]
TEXT_POLICIES: Final = ("latin1", "ascii")

# Characters outside Latin-1 that have a well-known Latin-1 stand-in. Everything that is
# not here goes through the generic NFKD fold in :func:`_fold_char`.
_TO_LATIN1: Final[dict[str, str]] = {
    # quotes and primes
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2035": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u2036": '"',
    "\u2039": "<", "\u203a": ">", "\u02bc": "'", "\u02b9": "'", "\u02ba": '"', "\u02c6": "^",
    "\u02dc": "~",
    # dashes, hyphens, minus, bullets
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u2043": "-", "\ufe58": "-", "\ufe63": "-", "\uff0d": "-",
    "\u2022": "-", "\u2023": "-", "\u25cf": "-", "\u25e6": "-", "\u2219": "-",
    # punctuation and symbols
    "\u2026": "...", "\u2044": "/", "\u2215": "/", "\u2027": "-", "\u2030": "o/oo",
    "\u20ac": "EUR", "\u2122": "TM", "\u2116": "No", "\u2190": "<-", "\u2192": "->",
    "\u2264": "<=", "\u2265": ">=", "\u2260": "!=", "\u2248": "~",
    # letters NFKD does not decompose
    "\u0131": "i", "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0126": "H",
    "\u0127": "h", "\u0166": "T", "\u0167": "t", "\u0152": "OE", "\u0153": "oe", "\u0192": "f",
    "\u0138": "k", "\u014a": "N", "\u014b": "n", "\u0180": "b", "\u0197": "I", "\u0268": "i",
    "\u0189": "D", "\u0256": "d", "\u0259": "e", "\u018f": "E", "\u0254": "o", "\u0186": "O",
    "\u1e9e": "SS",
}  # fmt: skip

# Latin-1 characters that have no ASCII letter inside them (for the "ascii" policy).
_LATIN1_TO_ASCII: Final[dict[str, str]] = {
    "\u00a1": "!", "\u00a2": "c", "\u00a3": "GBP", "\u00a4": "", "\u00a5": "JPY", "\u00a6": "|",
    "\u00a7": "S", "\u00a8": "", "\u00a9": "(C)", "\u00ab": "<<", "\u00ac": "-", "\u00ae": "(R)",
    "\u00af": "-", "\u00b0": "o", "\u00b1": "+/-", "\u00b4": "'", "\u00b5": "u", "\u00b6": "P",
    "\u00b7": ".", "\u00b8": ",", "\u00bb": ">>", "\u00bf": "?", "\u00c6": "AE", "\u00d0": "D",
    "\u00d7": "x", "\u00d8": "O", "\u00de": "TH", "\u00df": "ss", "\u00e6": "ae", "\u00f0": "d",
    "\u00f7": "/", "\u00f8": "o", "\u00fe": "th",
}  # fmt: skip

_SOFT_HYPHEN: Final = "\u00ad"
_NBSP: Final = "\u00a0"


def _latin1_allowed(char: str) -> bool:
    """Printable ISO-8859-1, without NBSP (a space) and the soft hyphen (invisible)."""
    code = ord(char)
    return 0x20 <= code <= 0x7E or (0xA1 <= code <= 0xFF and code != 0xAD)


def _ascii_allowed(char: str) -> bool:
    return 0x20 <= ord(char) <= 0x7E


def _is_mark(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Mc", "Me")


def _is_blank(char: str) -> bool:
    """Controls (C0, C1, DEL), tab and line breaks, and every Unicode space separator."""
    category = unicodedata.category(char)
    return category == "Cc" or category in ("Zs", "Zl", "Zp")


@lru_cache(maxsize=4096)
def _fold_char(char: str, policy: TextPolicy) -> str:
    """The replacement of one character (already NFC) under ``policy``; ``""`` drops it."""
    allowed = _ascii_allowed if policy == "ascii" else _latin1_allowed
    if allowed(char):
        return char
    if _is_blank(char):
        return " "
    if char in _TO_LATIN1:
        return "".join(_fold_char(c, policy) for c in _TO_LATIN1[char])
    if policy == "ascii" and char in _LATIN1_TO_ASCII:
        return _LATIN1_TO_ASCII[char]
    if _is_mark(char) or unicodedata.category(char) in ("Cf", "Co", "Cs", "Cn"):
        return ""  # a stray mark, a format character (ZWJ, BOM, soft hyphen), unassigned
    decomposed = unicodedata.normalize("NFKD", char)
    if decomposed == char:
        return ""  # no reading in our alphabet: emoji, CJK, Cyrillic, Greek...
    return "".join(_fold_cluster(cluster, policy) for cluster in _clusters(decomposed))


def _clusters(text: str) -> list[str]:
    """Split decomposed text into base characters, each with its combining marks."""
    clusters: list[str] = []
    for char in text:
        if clusters and _is_mark(char):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def _fold_cluster(cluster: str, policy: TextPolicy) -> str:
    """Keep as many marks as the target alphabet can carry (``ǘ`` -> ``ü`` in Latin-1)."""
    allowed = _ascii_allowed if policy == "ascii" else _latin1_allowed
    base, marks = cluster[0], cluster[1:]
    composed = unicodedata.normalize("NFC", cluster)
    if len(composed) == 1 and allowed(composed):
        return composed
    for mark in marks:
        composed = unicodedata.normalize("NFC", base + mark)
        if len(composed) == 1 and allowed(composed):
            return composed
    if _is_mark(base):
        return ""
    return _fold_char(base, policy)


def clean_text(text: str, policy: TextPolicy = "latin1") -> str:
    """Return ``text`` as the policy allows it on the wire (see the module docstring).

    The result always encodes in ISO-8859-1 (``"ascii"``: in ASCII), has no control
    characters, no leading, trailing or repeated spaces, and ``clean_text(result) ==
    result``.
    """
    if policy not in TEXT_POLICIES:
        raise ValueError(f"unknown text policy {policy!r}; use one of {TEXT_POLICIES}")
    if text.isascii() and text.isprintable() and "  " not in text and text == text.strip():
        return text  # the common case: nothing to do
    composed = unicodedata.normalize("NFC", text)
    folded = "".join(_fold_char(char, policy) for char in composed)
    # ``str.split()`` splits on no character a policy allows, only on the spaces made above.
    return " ".join(folded.split())


def is_clean(text: str, policy: TextPolicy = "latin1") -> bool:
    """True if ``text`` would go out unchanged."""
    return clean_text(text, policy) == text
