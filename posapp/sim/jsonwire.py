"""JSON as Emites-Client speaks it: ISO-8859-1 text whose numbers are exact decimals.

:func:`loads_decimal` parses numbers with a fraction as :class:`~decimal.Decimal`, so
``200.00`` stays ``200.00`` when a simulator echoes it back, and :func:`dumps_decimal` writes
a ``Decimal`` as the JSON number it is (the standard :mod:`json` would need ``float``, which
money never touches). Characters beyond ISO-8859-1 that may arrive as ``\\uXXXX`` escapes are
written back as escapes, so every answer encodes to Latin-1.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from posapp.protocol.messages import dumps_exact

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

    ``float`` is refused (``TypeError``): a simulator that invents a float has a bug. The
    writer is our own codec's (:func:`posapp.protocol.messages.dumps_exact`); only the
    string quoting (:func:`quote`, Latin-1 safe) and the layout are the simulator's.
    """
    separators = (", ", ": ") if indent is None else (",", ": ")
    return dumps_exact(value, quote=quote, indent=indent, separators=separators, error=TypeError)
