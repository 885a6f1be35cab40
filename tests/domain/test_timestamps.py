"""The one timestamp parser: offsets required, kept as written; naive values refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.domain.timestamps import (
    MAX_TIMESTAMP_CHARS,
    InvalidTimestamp,
    NaiveTimestamp,
    parse_timestamp,
    timestamp_or_none,
)

BRASILIA = timezone(timedelta(hours=-3))


def test_nfe_form_keeps_its_offset() -> None:
    moment = parse_timestamp("2018-10-09T09:53:13-03:00")  # the vendor sandbox's dhEmi
    assert moment == datetime(2018, 10, 9, 9, 53, 13, tzinfo=BRASILIA)
    assert moment.utcoffset() == timedelta(hours=-3)  # a DANFE prints the issuer's local time
    assert moment == datetime(2018, 10, 9, 12, 53, 13, tzinfo=UTC)  # and it is one instant


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-12-14T19:32:00Z", datetime(2018, 12, 14, 19, 32, tzinfo=UTC)),  # Emites data_emissao
        ("2018-12-14T19:32:00+00:00", datetime(2018, 12, 14, 19, 32, tzinfo=UTC)),
        ("2018-12-14T17:33:02-02:00", datetime(2018, 12, 14, 19, 33, 2, tzinfo=UTC)),
        ("2018-12-14T16:32:00-0300", datetime(2018, 12, 14, 19, 32, tzinfo=UTC)),
        ("2018-12-14 16:32:00-03:00", datetime(2018, 12, 14, 19, 32, tzinfo=UTC)),
        ("  2018-12-14T19:32:00Z\n", datetime(2018, 12, 14, 19, 32, tzinfo=UTC)),
        ("2024-01-01T12:00:00.250Z", datetime(2024, 1, 1, 12, 0, 0, 250_000, tzinfo=UTC)),
        ("2024-01-01T12:00:00.123456789Z", datetime(2024, 1, 1, 12, 0, 0, 123_456, tzinfo=UTC)),  # cut
    ],
)
def test_accepted_forms(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected
    assert timestamp_or_none(text) == expected


@pytest.mark.parametrize("text", ["2018-10-09T09:53:13", "2018-10-09 09:53:13", "2024-01-01T12:00:00.5"])
def test_naive_timestamps_are_refused_not_guessed(text: str) -> None:
    with pytest.raises(NaiveTimestamp) as info:
        parse_timestamp(text)
    assert "fuso" in info.value.user_message
    assert timestamp_or_none(text) is None  # absent: callers fall back to a source with an offset


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ontem",
        "2018-10-09",  # a date without a time
        "2018-10-09T09:53-03:00",  # no seconds (the layout requires them)
        "20181009T095313-0300",  # basic format
        "2018-W41-2T09:53:13Z",  # week date
        "2018-02-30T09:53:13-03:00",  # no such day
        "2018-10-09T25:00:00-03:00",
        "2018-10-09T09:53:13+24:00",
        "2018-10-09T09:53:13z",
        "2018-10-09T09:53:13-03:00" + " " * 3 + "x",
        "1" * 10_000,
        "٢٠١٨-١٠-٠٩T09:53:13Z",  # Arabic-Indic digits: \\d would match them without re.ASCII
    ],
)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(InvalidTimestamp):
        parse_timestamp(text)
    assert timestamp_or_none(text) is None


@pytest.mark.parametrize("value", [None, 1539089593, 1.5, ["2018-10-09T09:53:13Z"], {"a": 1}, True])
def test_non_text_json_values_are_absent(value: object) -> None:
    assert timestamp_or_none(value) is None


def test_length_is_bounded_before_matching() -> None:
    text = "2018-10-09T09:53:13.123456-03:00"
    assert len(text) <= MAX_TIMESTAMP_CHARS
    with pytest.raises(InvalidTimestamp, match="too long"):
        parse_timestamp("2018-10-09T09:53:13." + "1" * MAX_TIMESTAMP_CHARS + "Z")


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.sampled_from(
            [UTC, BRASILIA, timezone(timedelta(hours=-5)), timezone(timedelta(hours=-2))]
        ),
    )
)
def test_round_trip_of_what_an_issuer_writes(moment: datetime) -> None:
    written = moment.replace(microsecond=0).isoformat()
    parsed = parse_timestamp(written)
    assert parsed == moment.replace(microsecond=0)
    assert parsed.utcoffset() == moment.utcoffset()
