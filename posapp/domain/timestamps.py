"""The one parser of the instants fiscal documents and issuers write.

Every timestamp posapp reads from outside (``dhEmi``, ``dhRecbto``, ``dhEvento``,
``dhRegEvento`` and ``dhCont`` in an NF-e XML; Emites-Client's ``data_emissao``; the online
providers' ``data_autorizacao``, ``data_evento``...) goes through :func:`parse_timestamp`
(or its lenient twin :func:`timestamp_or_none`), so they all follow one rule.

Accepted: ISO 8601 / RFC 3339 date *and* time with seconds, an optional fraction, and a UTC
offset: ``2018-10-09T09:53:13-03:00``, ``2018-10-09T12:53:16Z``,
``2024-01-01T12:00:00.250+00:00``. The result is timezone-aware and keeps the offset it was
written with (a DANFE prints the emission time as the issuer wrote it; compare and store
instants freely, since aware datetimes compare by instant).

**A timestamp without an offset is refused**, never guessed. The NF-e layout's
``TDateTimeUTC`` requires the offset, and Emites-Client documents ``data_emissao`` as UTC
with a ``Z``; a value without one is malformed. Guessing is not safe in either direction:
Brazil spans UTC-2 to UTC-5, so reading a local time as UTC (or a UTC time as Brasília
time) moves the instant by two to five hours, far more than the 30-minute cancel window a
deadline is computed from. A refused value reads as *absent*, and the callers fall back to
a source that does carry an offset (``dhRecbto``, then ``dhEmi``, then the local clock) or
report the document as unreadable.

Also refused: a date without a time, week or ordinal dates, the basic format without
separators, anything longer than :data:`MAX_TIMESTAMP_CHARS`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from posapp.domain.errors import DomainError

MAX_TIMESTAMP_CHARS: Final = 40

_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


class InvalidTimestamp(DomainError):
    """A timestamp that is not an ISO 8601 instant we accept."""


class NaiveTimestamp(InvalidTimestamp):
    """A date and time without a UTC offset: refused, since it names no single instant."""


def parse_timestamp(text: str) -> datetime:
    """The instant ``text`` names, aware, with the offset it was written with.

    Surrounding whitespace is ignored. Raises :class:`NaiveTimestamp` for a value without
    an offset and :class:`InvalidTimestamp` for anything else that is not an instant.
    """
    value = text.strip()
    if len(value) > MAX_TIMESTAMP_CHARS:
        raise InvalidTimestamp(f"timestamp too long: {value[:MAX_TIMESTAMP_CHARS]!r}...")
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise InvalidTimestamp(f"not an ISO 8601 date and time: {value!r}")
    if match["offset"] is None:
        raise NaiveTimestamp(
            f"timestamp {value!r} has no UTC offset",
            user_message=f"Data e hora sem fuso horário: {value}.",
        )
    clock = match["time"]
    if "." in clock:  # datetime keeps microseconds: cut a longer fraction, never round it up
        whole, fraction = clock.split(".")
        clock = f"{whole}.{fraction[:6].ljust(6, '0')}"
    offset = match["offset"]
    offset = "+00:00" if offset == "Z" else offset
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{clock}{offset}")
    except ValueError as exc:  # 2018-02-30, 25:00, an offset of 24 h or more
        raise InvalidTimestamp(f"not a valid date and time: {value!r} ({exc})") from None
    return moment


def timestamp_or_none(value: object) -> datetime | None:
    """:func:`parse_timestamp` for optional values read from JSON: ``None`` for anything
    that is not text naming an instant with an offset (``None``, ``""``, numbers, garbage,
    and naive timestamps, per the module's rule)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_timestamp(value)
    except InvalidTimestamp:
        return None
