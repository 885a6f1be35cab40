"""JSON as Emites-Client speaks it: ISO-8859-1 text whose numbers are exact decimals.

:func:`loads_decimal` parses numbers with a fraction as :class:`~decimal.Decimal`, so
``200.00`` stays ``200.00`` when a simulator echoes it back, and :func:`dumps_decimal` writes
a ``Decimal`` as the JSON number it is (the standard :mod:`json` would need ``float``, which
money never touches). Characters beyond ISO-8859-1 that may arrive as ``\\uXXXX`` escapes are
written back as escapes, so every answer encodes to Latin-1.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

ENCODING = "iso-8859-1"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not a number")


def loads_decimal(text: str) -> Any:
    """Parse JSON text; fractional numbers become ``Decimal``. Raises ``ValueError``
    (``json.JSONDecodeError`` is one) for anything that is not JSON, ``NaN`` included."""
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


def quote(text: str) -> str:
    """A JSON string literal that stays inside ISO-8859-1 (``\\uXXXX`` above U+00FF)."""
    literal = json.dumps(text, ensure_ascii=False)
    if all(ord(ch) < 0x100 for ch in literal):
        return literal
    return "".join(ch if ord(ch) < 0x100 else json.dumps(ch)[1:-1] for ch in literal)


def dumps_decimal(value: Any, *, indent: int | None = 2) -> str:
    """Serialize like ``json.dumps(indent=2, ensure_ascii=False)`` but with exact decimals.

    ``float`` is refused (``TypeError``): a simulator that invents a float has a bug.
    """
    parts: list[str] = []
    _dump(value, parts, indent, 0)
    return "".join(parts)


def _dump(value: Any, out: list[str], indent: int | None, level: int) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"non-finite number {value!r} has no JSON form")
        out.append(format(value, "f"))
    elif isinstance(value, str):
        out.append(quote(value))
    elif isinstance(value, Mapping):
        entries = [(quote(str(k)) + ": ", v) for k, v in value.items()]
        _container(entries, "{}", out, indent=indent, level=level)
    elif isinstance(value, list | tuple):
        _container([("", v) for v in value], "[]", out, indent=indent, level=level)
    else:
        raise TypeError(f"cannot write a {type(value).__name__} as JSON: {value!r}")


def _container(
    entries: list[tuple[str, Any]], brackets: str, out: list[str], *, indent: int | None, level: int
) -> None:
    opener, closer = brackets[0], brackets[1]
    if not entries:
        out.append(opener + closer)
        return
    out.append(opener)
    inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
    for i, (prefix, item) in enumerate(entries):
        if i:
            out.append(",")
        out.append(inner + prefix if indent is not None else (" " if i else "") + prefix)
        _dump(item, out, indent, level + 1)
    out.append("" if indent is None else "\n" + " " * (indent * level))
    out.append(closer)
