"""Accent- and case-insensitive text for name search.

A cashier types ``acucar`` and expects *Açúcar*; the folded form drops diacritics,
casefolds and keeps letters and digits as space-separated words, which is also what the
FTS5 index stores, so the same function prepares both the index and the query.
"""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^0-9a-z]+")
# The accented letters of Portuguese (and their neighbours in Latin-1), folded at C speed;
# anything else non-ASCII goes through Unicode decomposition.
_LATIN1 = str.maketrans(
    "àáâãäåçèéêëìíîïñòóôõöùúûüýÿ",
    "aaaaaaceeeeiiiinooooouuuuyy",
)


def _decompose(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """``'Açúcar  Refinado 1kg!'`` -> ``'acucar refinado 1kg'``."""
    folded = text.casefold().translate(_LATIN1)
    if not folded.isascii():
        folded = _decompose(folded).casefold()
    return _NOT_WORD.sub(" ", folded).strip()


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    folded = fold(text)
    return folded.split() if folded else []
