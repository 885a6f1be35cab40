"""``[store_server]``: the URL, the password (environment or keyring, never the file), TLS
when the URL asks, and the server's versioned migrations, against a real PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from posapp.config import ConfigError, StoreServerConfig, load_config
from posapp.errors import user_text
from posapp.storeserver.connection import connect
from posapp.storeserver.errors import ServerSchemaTooNew, StoreServerMisconfigured, StoreServerUnavailable
from posapp.storeserver.schema import SCHEMA_VERSION, migrate, server_version
from posapp.storeserver.secret import server_password
from tests.storeserver.conftest import require_tls
from tests.support.postgres import PostgresServer, _free_port


def test_without_store_server_the_configuration_has_none(tmp_path: Path) -> None:
    path = tmp_path / "posapp.toml"
    path.write_text('[store]\nuf = "SP"\n')
    assert load_config(path).store_server is None


def test_a_password_in_the_url_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "posapp.toml"
    path.write_text('[store_server]\nurl = "postgresql://posapp:segredo@loja/pdv"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "POSAPP_STORE_SERVER_PASSWORD" in user_text(caught.value)
    path.write_text('[store_server]\nurl = "mysql://loja/pdv"\n')
    with pytest.raises(ConfigError, match="url"):
        load_config(path)


def test_the_password_comes_from_the_environment_then_the_keyring() -> None:
    config = StoreServerConfig(url="postgresql://posapp@loja/pdv", password_env="PDV_PG")
    assert server_password(config, environ={"PDV_PG": "x1"}, keyring_get=lambda s, u: "k") == "x1"
    asked: list[tuple[str, str]] = []

    def keyring_get(service: str, user: str) -> str | None:
        asked.append((service, user))
        return "from-keyring"

    assert server_password(config, environ={}, keyring_get=keyring_get) == "from-keyring"
    assert asked == [("posapp", "store_server")]
    with pytest.raises(StoreServerMisconfigured) as caught:
        server_password(config, environ={}, keyring_get=lambda s, u: None)
    assert "PDV_PG" in user_text(caught.value)


def test_a_wrong_password_says_so(pg_server: PostgresServer) -> None:
    config = StoreServerConfig(url=pg_server.url(pg_server.create_database()))
    with pytest.raises(StoreServerMisconfigured) as caught:
        connect(config, password="errada")
    assert "recusou a senha" in user_text(caught.value)


def test_a_server_that_is_down_is_unavailable_not_a_crash() -> None:
    config = StoreServerConfig(url=f"postgresql://posapp@127.0.0.1:{_free_port()}/pdv", connect_timeout_s=2)
    with pytest.raises(StoreServerUnavailable) as caught:
        connect(config, password="x")
    assert "continua vendendo" in user_text(caught.value)


def test_tls_when_the_url_asks_for_it(pg_server: PostgresServer) -> None:
    require_tls(pg_server)
    config = StoreServerConfig(url=pg_server.url(pg_server.create_database(), query="sslmode=require"))
    with connect(config, password=pg_server.password) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row == (True,)
    plain = StoreServerConfig(url=pg_server.url(pg_server.create_database(), query="sslmode=disable"))
    with connect(plain, password=pg_server.password) as conn:
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (False,)


def test_migrations_run_once_even_from_two_tills_at_once(pg_server: PostgresServer) -> None:
    config = StoreServerConfig(url=pg_server.url(pg_server.create_database()))
    errors: list[BaseException] = []

    def till() -> None:
        try:
            with connect(config, password=pg_server.password) as conn:
                migrate(conn)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=till) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with connect(config, password=pg_server.password) as conn:
        assert server_version(conn) == SCHEMA_VERSION
        rows = conn.execute("SELECT version FROM posapp_schema ORDER BY version").fetchall()
        assert [r[0] for r in rows] == list(range(1, SCHEMA_VERSION + 1))
        assert migrate(conn) == SCHEMA_VERSION


def test_a_server_migrated_by_a_newer_posapp_is_refused(pg_server: PostgresServer) -> None:
    config = StoreServerConfig(url=pg_server.url(pg_server.create_database()))
    with connect(config, password=pg_server.password) as conn:
        migrate(conn)
        conn.execute("INSERT INTO posapp_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
        with pytest.raises(ServerSchemaTooNew) as caught:
            migrate(conn)
        assert "Atualize o posapp" in user_text(caught.value)


def test_the_settings_dialog_writes_store_server_back_and_leaves_it_out_when_absent(tmp_path: Path) -> None:
    from posapp.ui.config_file import config_to_toml

    path = tmp_path / "posapp.toml"
    path.write_text('[store_server]\nurl = "postgresql://posapp@loja/pdv?sslmode=verify-full"\n')
    text = config_to_toml(load_config(path))
    assert 'url = "postgresql://posapp@loja/pdv?sslmode=verify-full"' in text
    path.write_text(text)
    reread = load_config(path).store_server
    assert reread is not None and reread.url.endswith("sslmode=verify-full")
    path.write_text('[store]\nuf = "SP"\n')
    assert "store_server" not in config_to_toml(load_config(path))
