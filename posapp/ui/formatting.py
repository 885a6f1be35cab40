"""How numbers, quantities and times look on screen, and how typed ones are read back.

Money is always :class:`~decimal.Decimal`; typed amounts accept the Brazilian comma
(``12,50``), the dot, and thousands separators (``1.234,56``).

Times are shown in the store's time zone (``[store] timezone``, or the UF's), the one the
DANFE prints, never the machine's: the checkout sets it with :func:`set_store_timezone`
(and again after the settings change); until then the machine's zone is used.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
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


_zone: list[tzinfo | None] = [None]  # the screens' zone, set by the checkout


def set_store_timezone(zone: tzinfo | None) -> None:
    """The zone every time on screen is shown in (``None``: the machine's)."""
    _zone[0] = zone


def store_timezone() -> tzinfo | None:
    return _zone[0]


def in_store_zone(moment: datetime, tz: tzinfo | None = None) -> datetime:
    """``moment`` (aware) as the store's wall clock (``tz``, else the zone set above)."""
    return moment.astimezone(tz or _zone[0])


def local_time(moment: datetime, tz: tzinfo | None = None) -> str:
    return in_store_zone(moment, tz).strftime("%H:%M:%S")


def local_datetime(moment: datetime, tz: tzinfo | None = None) -> str:
    return in_store_zone(moment, tz).strftime("%d/%m/%Y %H:%M:%S")


def clock_text(moment: datetime, tz: tzinfo | None = None) -> str:
    """The status bar's clock: ``dd/mm HH:MM``."""
    return in_store_zone(moment, tz).strftime("%d/%m %H:%M")


def store_today(now: datetime, tz: tzinfo | None = None) -> date:
    """The store's calendar day at ``now`` (aware)."""
    return in_store_zone(now, tz).date()


def local_day_bounds(day: date, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """The store's midnight of ``day`` and of the next day, as aware datetimes (each
    computed on its own, so a day with a clock change is still midnight to midnight)."""
    zone = tz or _zone[0]
    if zone is None:
        start = datetime.combine(day, time(0, 0)).astimezone()
        end = datetime.combine(day + timedelta(days=1), time(0, 0)).astimezone()
        return start, end
    return (
        datetime.combine(day, time(0, 0), tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone),
    )


def countdown(remaining: timedelta) -> str:
    """``mm:ss`` (or ``h:mm:ss`` for long windows); ``00:00`` when over."""
    seconds = max(int(remaining.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def plural(count: int, one: str, many: str) -> str:
    """``1 item``, ``3 itens``, ``0 itens``: the count and the word that agrees with it."""
    return f"{count} {one if count == 1 else many}"
