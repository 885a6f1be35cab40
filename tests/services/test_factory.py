import pytest

from posapp.app import with_overrides
from posapp.config import Config, ProviderConfig, masked_token_from_env
from posapp.ui.settings_dialog import _provider_line

TOKEN = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"


def test_token_is_shown_masked_never_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = ProviderConfig(
        name="focusnfe", base_url="https://homologacao.focusnfe.com.br", token_env="X_TOKEN"
    )
    monkeypatch.setenv("X_TOKEN", TOKEN)
    masked = masked_token_from_env(provider)
    assert masked is not None and TOKEN not in masked and masked.startswith(TOKEN[:4])
    line = _provider_line(provider)
    assert TOKEN not in line and "focusnfe" in line and "X_TOKEN" in line
    monkeypatch.delenv("X_TOKEN")
    assert masked_token_from_env(provider) is None
    assert "chaveiro" in _provider_line(provider)


def test_command_line_overrides() -> None:
    config = with_overrides(Config(), emites_address=("10.0.0.5", 4000), printer_uri="file:/tmp/x")
    assert (config.emites.host, config.emites.port, config.emites.enabled) == ("10.0.0.5", 4000, True)
    assert config.printer.uri == "file:/tmp/x"
