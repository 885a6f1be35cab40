"""How numbers, quantities and times look on screen, and how typed ones are read back.

Money is always :class:`~decimal.Decimal`; typed amounts accept the Brazilian comma
(``12,50``), the dot, and thousands separators (``1.234,56``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from posapp.domain.errors import DomainError
from posapp.domain.money import format_brl, parse_amount_text


def brl(value: Decimal) -> str:
    """``R$ 1.234,50``."""
    return f"R$ {format_brl(value)}"


def quantity_text(value: Decimal) -> str:
    """``3`` for whole quantities, ``0,375`` otherwise."""
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return str(int(normal))
    return f"{normal:f}".replace(".", ",")


def price_text(value: Decimal) -> str:
    """Unit prices keep more than two decimals when they have them (``4,999``)."""
    if value == value.quantize(Decimal("0.01")):
        return format_brl(value)
    return f"{value.normalize():f}".replace(".", ",")


def parse_decimal(text: str) -> Decimal | None:
    """``'12,50'``, ``'12.5'``, ``'1.234,56'`` -> Decimal; ``None`` for anything else."""
    try:
        return parse_amount_text(text)
    except DomainError:
        return None


def local_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M:%S")


def local_datetime(moment: datetime) -> str:
    return moment.astimezone().strftime("%d/%m/%Y %H:%M:%S")


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Local midnight of ``day`` and of the next day, as aware datetimes (each computed on
    its own, so a day with a clock change is still midnight to midnight)."""
    start = datetime.combine(day, time(0, 0)).astimezone()
    end = datetime.combine(day + timedelta(days=1), time(0, 0)).astimezone()
    return start, end


def countdown(remaining: timedelta) -> str:
    """``mm:ss`` (or ``h:mm:ss`` for long windows); ``00:00`` when over."""
    seconds = max(int(remaining.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def plural(count: int, one: str, many: str) -> str:
    """``1 item``, ``3 itens``, ``0 itens``: the count and the word that agrees with it."""
    return f"{count} {one if count == 1 else many}"
