"""Monospace text layout for receipt columns: wrapping, two-column rows, number formats.

Everything here works on text already folded to the printer's code page, so a length
is a column count (one character = one printed cell in Font A).
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from decimal import Decimal

from posapp.domain.money import format_brl, round_money


def wrap(text: str, width: int, *, indent: int = 0) -> list[str]:
    """Wrap at spaces; words longer than the line (URLs, keys) are broken. Never empty."""
    if width <= indent:
        raise ValueError("indent leaves no room on the line")
    lines = textwrap.wrap(
        " ".join(text.split()),
        width=width,
        subsequent_indent=" " * indent,
        break_long_words=True,
        break_on_hyphens=False,
    )
    return lines or [""]


def pair(left: str, right: str, width: int) -> list[str]:
    """``left`` flush left and ``right`` flush right on one line, or wrapped when too long."""
    if len(left) + 1 + len(right) <= width:
        return [left + " " * (width - len(left) - len(right)) + right]
    head = wrap(left, width)
    if len(head[-1]) + 1 + len(right) <= width:
        last = head.pop()
        return [*head, last + " " * (width - len(last) - len(right)) + right]
    return [*head, right.rjust(width)]


def right(text: str, width: int) -> list[str]:
    return [line.rjust(width) for line in wrap(text, width)]


def rule(width: int, char: str = "-") -> str:
    return char * width


def format_quantity(value: Decimal) -> str:
    """``739`` -> ``"739"``, ``1.5000`` -> ``"1,5"``, ``0.735`` -> ``"0,735"``."""
    if value == value.to_integral_value():
        return f"{value.to_integral_value():f}"
    return f"{value.normalize():f}".replace(".", ",")


def format_unit_price(value: Decimal) -> str:
    """Two decimals at least, more only when the XML has them (``0.4086`` stays ``0,4086``)."""
    if value == round_money(value):
        return format_brl(value)
    integer, _, fraction = f"{value.normalize():f}".partition(".")
    return f"{format_brl(Decimal(integer))[:-3]},{fraction}"


def format_datetime(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M:%S")


def group_key(chave: str, width: int) -> list[str]:
    """The 44-digit key in groups of four, split into balanced lines that fit ``width``."""
    groups = [chave[i : i + 4] for i in range(0, len(chave), 4)]
    per_line_max = max(1, (width + 1) // 5)
    lines_needed = -(-len(groups) // per_line_max)
    per_line = -(-len(groups) // lines_needed)
    return [" ".join(groups[i : i + per_line]) for i in range(0, len(groups), per_line)]
