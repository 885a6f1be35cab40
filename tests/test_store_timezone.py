"""One time zone, the store's, everywhere: ``[store] timezone`` (an IANA name; by default
the UF's), the screens' formatting and day bounds, and the pending slip's date."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

import posapp.config as config_module
from posapp.config import UF_TIMEZONES, Config, ConfigError, PrinterConfig, StoreConfig, load_config
from posapp.domain.lifecycle import SaleState
from posapp.domain.sale import Sale
from posapp.printing.escpos_decode import decode_escpos
from posapp.services.pending_slips import print_pending_slip
from posapp.services.ports import PrintResult
from posapp.ui import formatting
from posapp.ui.config_file import config_to_toml

MOMENT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("uf", "zone"),
    [
        ("DF", "America/Sao_Paulo"),
        ("SP", "America/Sao_Paulo"),
        ("RJ", "America/Sao_Paulo"),
        ("MG", "America/Sao_Paulo"),
        ("BA", "America/Sao_Paulo"),
        ("AM", "America/Manaus"),
        ("MT", "America/Cuiaba"),
        ("MS", "America/Cuiaba"),
        ("AC", "America/Rio_Branco"),
        ("RO", "America/Porto_Velho"),
        ("RR", "America/Boa_Vista"),
        ("PA", "America/Belem"),
        ("AP", "America/Belem"),
        ("FN", "America/Noronha"),
    ],
)
def test_the_default_zone_comes_from_the_uf(uf: str, zone: str) -> None:
    store = StoreConfig(uf=uf)
    assert store.timezone is None and store.timezone_name == zone
    assert store.tz.utcoffset(MOMENT) == ZoneInfo(zone).utcoffset(MOMENT)


def test_every_uf_of_the_settings_has_a_zone() -> None:
    from posapp.domain.documents import UF_CODES

    assert set(UF_CODES) <= set(UF_TIMEZONES)


def test_a_configured_zone_wins_and_a_bad_one_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "posapp.toml"
    path.write_text('[store]\nuf = "SP"\ntimezone = "America/Manaus"\n', encoding="utf-8")
    config = load_config(path)
    assert config.store.timezone_name == "America/Manaus"
    assert MOMENT.astimezone(config.store.tz).hour == 21
    assert 'timezone = "America/Manaus"' in config_to_toml(config)  # the settings keep it
    assert "timezone" not in config_to_toml(Config())  # unset: follows the UF
    path.write_text('[store]\ntimezone = "America/Atlantis"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "store.timezone" in info.value.user_message
    assert "fuso horário desconhecido" in info.value.user_message


def test_without_a_zone_database_brazils_fixed_offsets_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> tzinfo:
        raise ZoneInfoNotFoundError(name)

    monkeypatch.setattr(config_module, "ZoneInfo", missing)
    assert StoreConfig(uf="AC").tz.utcoffset(MOMENT) == timedelta(hours=-5)
    assert StoreConfig(uf="SP").tz.utcoffset(MOMENT) == timedelta(hours=-3)
    assert StoreConfig(timezone="America/Noronha").tz.utcoffset(MOMENT) == timedelta(hours=-2)


@pytest.fixture
def store_zone() -> Iterator[tzinfo]:
    zone = ZoneInfo("America/Sao_Paulo")
    formatting.set_store_timezone(zone)
    yield zone
    formatting.set_store_timezone(None)


def test_the_screens_format_times_in_the_stores_zone(store_zone: tzinfo) -> None:
    assert formatting.local_time(MOMENT) == "22:30:00"
    assert formatting.local_datetime(MOMENT) == "01/03/2026 22:30:00"
    assert formatting.clock_text(MOMENT) == "01/03 22:30"
    assert formatting.store_today(MOMENT) == date(2026, 3, 1)
    manaus = ZoneInfo("America/Manaus")
    assert formatting.local_time(MOMENT, manaus) == "21:30:00"  # an explicit zone wins


def test_the_day_bounds_are_the_stores_midnights(store_zone: tzinfo) -> None:
    start, end = formatting.local_day_bounds(date(2026, 3, 1))
    assert start == datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    assert start <= MOMENT < end  # 22:30 of the 1st in the store, whatever the machine says


class _Printer:
    def __init__(self) -> None:
        self.data: list[bytes] = []

    async def print_bytes(self, data: bytes, *, kind: str, sale_id: str | None = None) -> PrintResult:
        self.data.append(data)
        return PrintResult(True, None, data)


class _Service:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.printer = _Printer()

    def now(self) -> datetime:
        return MOMENT


def _sale() -> Sale:
    return Sale.from_mapping(
        {
            "sale_id": "venda-1",
            "items": [
                {
                    "code": "1020",
                    "description": "Arroz",
                    "quantity": "1",
                    "unit_price": "10.00",
                    "ncm": "10063021",
                }
            ],
            "payments": [{"method": "01", "amount": "10.00"}],
        }
    )


def test_the_pending_slip_prints_the_stores_time_by_default() -> None:
    config = Config(store=StoreConfig(uf="AM"), printer=PrinterConfig(uri="preview"))
    service = _Service(config)
    result = asyncio.run(print_pending_slip(service, _sale(), SaleState.QUEUED))  # type: ignore[arg-type]
    assert result is not None and result.ok
    assert "Data 01/03/2026 21:30:00" in decode_escpos(service.printer.data[0]).text  # Manaus, UTC-4
    explicit = asyncio.run(
        print_pending_slip(service, _sale(), SaleState.QUEUED, tz=UTC)  # type: ignore[arg-type]
    )
    assert explicit is not None and "Data 02/03/2026 01:30:00" in decode_escpos(service.printer.data[1]).text
