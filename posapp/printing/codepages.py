"""Printer code pages: which ``ESC t n`` table to select and how to encode text for it.

A thermal printer prints bytes through the character table selected with ``ESC t n``;
``ESC @`` (initialise) silently goes back to the firmware's default table (usually
PC437, which has no ``ã``/``õ``). So the writer selects the page explicitly after every
``ESC @``, and every string is *folded* to what the page can show before it is encoded:
a character the page lacks becomes its closest plain equivalent (``–`` -> ``-``,
``€`` -> ``EUR``, ``ŝ`` -> ``s``) or ``?`` — never a stray byte that prints as garbage.
Control characters are dropped: a ``\\x1b`` inside a product name must not become a
printer command.

Table numbers are Epson's. Clone and Brazilian firmwares renumber them (the POS-5890
has PC860 at 3 *and* 55), so the number can be overridden per printer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from posapp.printing.errors import DocumentError

# Epson ESC t numbers for the pages we support (and PC437, the power-on default).
EPSON_TABLES: Mapping[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    16: "cp1252",
    19: "cp858",
}

_NAMES: Mapping[str, tuple[str, str]] = {
    # codec: (label, python codec)
    "cp437": ("PC437 (EUA)", "cp437"),
    "cp850": ("PC850 (Multilingual)", "cp850"),
    "cp858": ("PC858 (Multilingual + €)", "cp858"),
    "cp860": ("PC860 (Português)", "cp860"),
    "cp1252": ("WPC1252 (Windows Latin-1)", "cp1252"),
}

_ALIASES: Mapping[str, str] = {
    "437": "cp437",
    "pc437": "cp437",
    "850": "cp850",
    "pc850": "cp850",
    "858": "cp858",
    "pc858": "cp858",
    "860": "cp860",
    "pc860": "cp860",
    "1252": "cp1252",
    "wpc1252": "cp1252",
    "windows-1252": "cp1252",
}

_TABLE_BY_CODEC = {codec: table for table, codec in EPSON_TABLES.items()}

# Characters that NFKD decomposition does not reduce to ASCII but have an obvious stand-in.
_STAND_INS: Mapping[str, str] = {
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": ",",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2022": "*",
    "\u2026": "...",
    "\u20ac": "EUR",
    "\u00a0": " ",
    "\u00b4": "'",
    "\u00ba": "o",
    "\u00aa": "a",
    "\u00b0": "o",
    "\u00d7": "x",
    "\u00df": "ss",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00f8": "o",
    "\u00d8": "O",
    "\u0142": "l",
    "\u0141": "L",
}


@dataclass(frozen=True, slots=True)
class CodePage:
    """One code page as a printer knows it: Python codec plus the ``ESC t`` number."""

    codec: str
    table: int
    label: str

    def fold(self, text: str) -> str:
        """``text`` reduced to characters this page can print (see module docstring).

        NFC first: text from macOS files, some scanners and web forms arrives decomposed
        (``c`` + combining cedilla); char by char, the lone combining mark has no code
        point on the page and would print as ``?``."""
        out: list[str] = []
        for char in unicodedata.normalize("NFC", text):
            if char in "\n\t":
                out.append(" ")
                continue
            if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
                continue  # control/format/unassigned: never let them reach the printer
            if _encodable(char, self.codec):
                out.append(char)
                continue
            out.append(_fallback(char, self.codec))
        return "".join(out)

    def encode(self, text: str) -> bytes:
        """Fold, then encode. Every output byte is printable (0x20-0x7E or 0x80-0xFF)."""
        data = self.fold(text).encode(self.codec)
        # cp437/cp850 map a few symbols below 0x20 (e.g. some box glyphs); none survives
        # fold() because their Unicode sources are not in the map, but make it certain.
        return bytes(b for b in data if b >= 0x20 and b != 0x7F)


def _encodable(char: str, codec: str) -> bool:
    try:
        encoded = char.encode(codec)
    except UnicodeEncodeError:
        return False
    return all(b >= 0x20 and b != 0x7F for b in encoded)


def _fallback(char: str, codec: str) -> str:
    stand_in = _STAND_INS.get(char)
    if stand_in is not None and all(_encodable(c, codec) for c in stand_in):
        return stand_in
    decomposed = unicodedata.normalize("NFKD", char)
    # Try the composed base+accent the page may have (e.g. NFKD of a ligature), then ASCII.
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base and all(_encodable(c, codec) for c in base):
        return base
    return "?"


def normalise_codepage_name(name: str) -> str:
    key = name.strip().lower().replace("_", "").replace(" ", "")
    key = _ALIASES.get(key, key)
    if key not in _NAMES:
        known = ", ".join(sorted(_NAMES))
        raise DocumentError(
            f"unknown code page {name!r}",
            user_message=f"Página de código desconhecida: '{name}'. Use uma de: {known}.",
        )
    return key


def resolve_codepage(name: str = "cp860", table: int | None = None) -> CodePage:
    """The page called ``name`` (``cp860``, ``PC858``, ``wpc1252``...), with the printer's
    own table number when ``table`` is given (clone firmwares)."""
    codec = normalise_codepage_name(name)
    label, python_codec = _NAMES[codec]
    if table is not None and not 0 <= table <= 255:
        raise DocumentError(
            f"code table {table} out of range", user_message=f"Tabela de código {table} inválida (0 a 255)."
        )
    return CodePage(codec=python_codec, table=_TABLE_BY_CODEC[codec] if table is None else table, label=label)


def table_map_for(page: CodePage) -> dict[int, str]:
    """The table-number -> codec map a decoder needs to read a stream written with ``page``."""
    tables = dict(EPSON_TABLES)
    tables[page.table] = page.codec
    return tables
