"""JSON as Emites-Client speaks it: ISO-8859-1 text whose numbers are exact decimals.

:func:`loads_decimal` parses numbers with a fraction as :class:`~decimal.Decimal`, so
``200.00`` stays ``200.00`` when a simulator echoes it back, and :func:`dumps_decimal` writes
a ``Decimal`` as the JSON number it is (the standard :mod:`json` would need ``float``, which
money never touches). Characters beyond ISO-8859-1 that may arrive as ``\\uXXXX`` escapes are
written back as escapes, so every answer encodes to Latin-1.

The writer is the simulator's own (not :mod:`posapp.protocol`'s), so the client's JSON and
the simulator's are two independent readings of RFC 8259.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from posapp.sim.wire import ENCODING

__all__ = ["ENCODING", "dumps_decimal", "loads_decimal", "quote"]

# RFC 8259 §7: '"', '\' and U+0000-U+001F must be escaped; above U+00FF we escape too
# (ISO-8859-1 cannot carry it). U+007F-U+00FF go out raw, as single Latin-1 bytes.
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\u0100-\U0010ffff]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not a number")


def loads_decimal(text: str) -> Any:
    """Parse JSON text; fractional numbers become ``Decimal``. Raises ``ValueError``
    (``json.JSONDecodeError`` is one) for anything that is not JSON, ``NaN`` included."""
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code > 0xFFFF:  # outside the BMP: a UTF-16 surrogate pair, as JSON spells it
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def quote(text: str) -> str:
    """A JSON string literal that stays inside ISO-8859-1 (``\\uXXXX`` above U+00FF)."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def dumps_decimal(value: Any, *, indent: int | None = 2) -> str:
    """Serialize like ``json.dumps(indent=2, ensure_ascii=False)`` but with exact decimals.

    ``float``, non-finite ``Decimal`` and anything that is not JSON data (keys included) are
    refused with ``TypeError``: a simulator that invents a float has a bug.
    """
    out: list[str] = []
    _write(value, out, indent, 0)
    return "".join(out)


def _write(value: Any, out: list[str], indent: int | None, level: int) -> None:
    if value is None:
        out.append("null")
    elif value is True or value is False:
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))  # an IntEnum still writes as its number
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{value!r} has no JSON number")
        out.append(format(value, "f"))  # never exponent notation: 1E+2 is written 100
    elif isinstance(value, str):
        out.append(quote(value))
    elif isinstance(value, Mapping):
        items = list(value.items())
        for key, _ in items:
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys are text, not {type(key).__name__} ({key!r})")
        _container("{", "}", [(quote(k) + ": ", v) for k, v in items], out, indent, level)
    elif isinstance(value, list | tuple):
        _container("[", "]", [("", v) for v in value], out, indent, level)
    else:
        raise TypeError(f"cannot write {type(value).__name__} ({value!r}) as exact JSON")


def _container(
    opening: str, closing: str, entries: list[tuple[str, Any]], out: list[str], indent: int | None, level: int
) -> None:
    """``entries``: (key and ': ', or '' in an array; value). Layout as :func:`json.dumps`:
    ``", "`` on one line, or one entry per line indented by ``indent`` per level."""
    if not entries:
        out.append(opening + closing)
        return
    inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
    separator = ", " if indent is None else "," + inner
    out.append(opening + inner)
    for number, (prefix, item) in enumerate(entries):
        if number:
            out.append(separator)
        out.append(prefix)
        _write(item, out, indent, level + 1)
    if indent is not None:
        out.append("\n" + " " * (indent * level))
    out.append(closing)
