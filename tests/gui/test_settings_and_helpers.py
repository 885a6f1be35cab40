"""Settings (config written back as TOML, terminal settings in the store), plain-word
rejection reasons, formatting, and the history model's countdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from posapp.catalog.scale import ScaleLabelLayout
from posapp.catalog.storedb import StoreDB
from posapp.config import Config, EmitesConfig, NfceConfig, ProviderConfig, load_config
from posapp.domain.lifecycle import SaleState
from posapp.services.results import SaleSummary
from posapp.ui.config_file import config_to_toml, save_config
from posapp.ui.formatting import brl, countdown, parse_decimal, price_text, quantity_text
from posapp.ui.models import HistoryModel
from posapp.ui.reasons import plain_reason
from posapp.ui.terminal_settings import TerminalSettings, load_terminal_settings, save_terminal_settings


def test_config_round_trips_through_toml(tmp_path: Path) -> None:
    config = Config(
        emites=EmitesConfig(host="10.0.0.5", port=4000, text_policy="ascii"),
        nfce=NfceConfig(cancel_window_min=20),
        providers=(
            ProviderConfig(
                name="focusnfe", base_url="https://homologacao.focusnfe.com.br", token_env="TOKEN"
            ),
        ),
    )
    path = tmp_path / "conf" / "posapp.toml"
    save_config(config, path)
    assert load_config(path) == config
    assert 'text_policy = "ascii"' in config_to_toml(config)
    assert "[[providers]]" in config_to_toml(config)
    assert "codepage_table" not in config_to_toml(config)  # None is left out


def test_terminal_settings_persist_and_survive_garbage(tmp_path: Path) -> None:
    store = StoreDB(tmp_path / "store.sqlite3")
    try:
        assert load_terminal_settings(store) == TerminalSettings()
        wanted = TerminalSettings(
            scanner_port="/dev/ttyACM0", scanner_baudrate=115200, scale=ScaleLabelLayout(kind="weight")
        )
        save_terminal_settings(store, wanted)
        assert load_terminal_settings(store) == wanted
        store.set_setting("terminal", {"scanner_baudrate": "fast"})
        assert load_terminal_settings(store) == TerminalSettings()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("error", "contains"),
    [
        ("778 - Rejeicao: Informado NCM inexistente", "NCM de um produto não existe"),
        ("Rejeição 539: Duplicidade de NF-e", "duplicidade"),
        ("cStat=237 CPF invalido", "CPF do consumidor"),
    ],
)
def test_plain_reasons(error: str, contains: str) -> None:
    assert contains in plain_reason(error)


def test_unknown_reason_is_kept_and_numbers_inside_text_are_not_codes() -> None:
    assert plain_reason("Falha de comunicação") == "Falha de comunicação"
    assert plain_reason("produto 4,99 custa R$ 237") == "produto 4,99 custa R$ 237"


def test_formatting() -> None:
    assert brl(Decimal("1234.5")) == "R$ 1.234,50"
    assert quantity_text(Decimal("3.000")) == "3"
    assert quantity_text(Decimal("0.3750")) == "0,375"
    assert price_text(Decimal("4.99")) == "4,99"
    assert price_text(Decimal("4.995")) == "4,995"
    assert parse_decimal("1.234,56") == Decimal("1234.56")
    assert parse_decimal("12,5") == Decimal("12.5")
    assert parse_decimal("abc") is None and parse_decimal("") is None
    assert countdown(timedelta(minutes=28, seconds=5)) == "28:05"
    assert countdown(timedelta(hours=1, minutes=2, seconds=3)) == "1:02:03"
    assert countdown(timedelta(seconds=-5)) == "00:00"


def summary(state: SaleState, deadline: datetime | None) -> SaleSummary:
    return SaleSummary(
        sale_id="s1",
        created_at=datetime(2026, 11, 21, 12, tzinfo=UTC),
        state=state,
        total=Decimal("9.98"),
        operator="caixa",
        backend="emites",
        chave=None,
        numero=12,
        serie=1,
        authorized_at=None,
        cancel_deadline=deadline,
    )


def test_history_model_countdown_ticks(qtbot: QtBot) -> None:
    now = [datetime(2026, 11, 21, 12, 0, tzinfo=UTC)]
    model = HistoryModel(lambda: now[0])
    deadline = now[0] + timedelta(minutes=29)
    model.set_rows([summary(SaleState.AUTHORIZED, deadline), summary(SaleState.QUEUED, None)])
    index = model.index(0, HistoryModel.DEADLINE)
    assert model.data(index) == "29:00"
    assert model.data(model.index(0, HistoryModel.NUMBER)) == "12 / 1"
    assert model.data(model.index(1, HistoryModel.DEADLINE)) == "—"
    changed: list[int] = []
    model.dataChanged.connect(lambda first, last, _roles: changed.append(first.column()))
    now[0] += timedelta(minutes=29, seconds=1)
    model.tick()
    assert changed == [HistoryModel.DEADLINE]
    assert model.data(index) == "encerrado"
    assert model.data(index, Qt.ItemDataRole.UserRole) == timedelta(0)
