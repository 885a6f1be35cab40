"""Numbering per till: the server hands each till its own série, a till without the server
keeps its configured one, and the doctor warns when two tills claim the same."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from posapp.config import Config, StoreServerConfig
from posapp.doctor.report import collect_checks
from posapp.doctor.result import Level
from posapp.services.store_sync import StoreSync, effective_config
from posapp.storeserver.connection import connect
from posapp.storeserver.numbering import assign_serie, claim_serie, duplicate_claims
from posapp.storeserver.schema import migrate
from tests.storeserver.tills import make_till
from tests.support.issuers import to_toml
from tests.support.postgres import PostgresServer


@pytest.fixture
def server(pg_server: PostgresServer, pg_database: str) -> Iterator[psycopg.Connection]:
    conn = connect(StoreServerConfig(url=pg_database), password=pg_server.password)
    migrate(conn)
    yield conn
    conn.close()


def test_each_till_gets_its_own_serie_even_when_they_ask_at_once(
    pg_server: PostgresServer, pg_database: str, server: psycopg.Connection
) -> None:
    got: dict[str, int] = {}

    def till(name: str) -> None:
        with connect(StoreServerConfig(url=pg_database), password=pg_server.password) as conn:
            got[name] = assign_serie(conn, name, base=2)

    threads = [threading.Thread(target=till, args=(f"till-{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got.values()) == [2, 3, 4, 5, 6, 7]
    assert assign_serie(server, "till-3", base=2) == got["till-3"]  # asked again: the same one
    claim_serie(server, "old-till", 9)  # a till that numbers with its configured 9
    assert assign_serie(server, "new-till", base=9) == 10  # 9 is claimed: skipped


def test_the_till_issues_with_the_serie_it_was_given_and_without_a_server_with_its_own(
    tmp_path: Path, pg_database: str
) -> None:
    a, b = make_till(tmp_path, "a", pg_database), make_till(tmp_path, "b", pg_database)

    async def sync(till_config: Config, data_dir: Path) -> int | None:
        store_sync = StoreSync(till_config, data_dir)
        try:
            return (await store_sync.sync_now()).serie
        finally:
            await store_sync.aclose()

    assert asyncio.run(sync(a.config, a.data_dir)) == 2
    assert asyncio.run(sync(b.config, b.data_dir)) == 3
    assert effective_config(b.config, b.data_dir).nfce.serie == 3
    assert b.service().config.nfce.serie == 3  # what Integra's numbering reads
    alone = b.config.model_copy(update={"store_server": None})
    assert effective_config(alone, b.data_dir).nfce.serie == 2


def test_doctor_warns_when_two_tills_claim_the_same_serie(
    tmp_path: Path, pg_database: str, server: psycopg.Connection
) -> None:
    till = make_till(tmp_path, "a", pg_database)
    till.queue_sales(0, 1)  # the journal exists, with this till's identity
    config_path = tmp_path / "posapp.toml"
    config_path.write_text(
        to_toml(
            {"emites": {"enabled": False}, "printer": {"uri": "none"}, "store_server": {"url": pg_database}}
        )
    )
    asyncio.run(_sync(till.config, till.data_dir))
    checks = {c.title: c for c in collect_checks(config_path, till.data_dir)}
    assert checks["Servidor da loja"].level is Level.OK
    assert checks["Séries dos caixas"].level is Level.OK and "série 2" in checks["Séries dos caixas"].message
    claim_serie(server, "another-till", 2)  # a till that kept its configured série 2
    assert duplicate_claims(server)[0][0] == 2
    checks = {c.title: c for c in collect_checks(config_path, till.data_dir)}
    series = checks["Séries dos caixas"]
    assert (
        series.level is Level.WARN
        and "série 2" in series.message
        and "inclusive este caixa" in series.message
    )


def test_doctor_says_when_the_server_is_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.postgres import _free_port

    monkeypatch.setenv("POSAPP_STORE_SERVER_PASSWORD", "x")
    config_path = tmp_path / "posapp.toml"
    url = f"postgresql://posapp@127.0.0.1:{_free_port()}/loja"
    config_path.write_text(to_toml({"emites": {"enabled": False}, "store_server": {"url": url}}))
    checks = {c.title: c for c in collect_checks(config_path, tmp_path / "data")}
    assert checks["Servidor da loja"].level is Level.FAIL
    assert "vendendo sozinho" in checks["Servidor da loja"].action


async def _sync(config: Config, data_dir: Path) -> None:
    store_sync = StoreSync(config, data_dir)
    try:
        await store_sync.sync_now()
    finally:
        await store_sync.aclose()
