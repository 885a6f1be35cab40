"""The store's settings and IBPT table shared from the store server (issue 16 item 3), against
a real PostgreSQL and the Focus NFe simulator: a manager publishes, two tills pull and issue
with them, a till keeps its copy while the server is away, an invalid document is refused at
publish and never applied by a till, and a change reaches a running till within seconds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posapp import cli
from posapp.app import build_service
from posapp.catalog.ibpt import import_ibpt, rates_for
from posapp.catalog.storedb import StoreDB
from posapp.config import Config, StoreServerConfig
from posapp.domain.lifecycle import SaleState
from posapp.services.store_sync import StoreSync, effective_config
from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.store_settings import local_state
from posapp.storeserver import shared
from posapp.storeserver.connection import connect
from posapp.storeserver.schema import migrate
from tests.support.issuers import to_toml
from tests.support.postgres import PostgresServer
from tests.support.sales import make_sale
from tests.support.service import wait_until

TOKEN_ENV = "POSAPP_TEST_STORE_FOCUS_TOKEN"
TOKEN = "store-settings-token-0123456789"
STORE_TOML = """
[store]
uf = "DF"
name = "MERCADO CENTRAL LTDA"
crt = 3

[emitter]
natureza_operacao = "venda de mercadorias"

[taxes]
icms_cst = "00"
icms_rate = "12.00"
pis_cst = "01"
pis_rate = "1.65"
cofins_cst = "01"
cofins_rate = "7.60"
ibs_cbs_cst = "000"
cclass_trib = "000001"

[nfce]
cancel_window_min = 25

[discounts]
cashier = "3"
manager = "50"
"""
IBPT_HEADER = (
    "codigo;ex;tipo;descricao;nacionalfederal;importadosfederal;estadual;municipal;"
    "vigenciainicio;vigenciafim;chave;versao;fonte\n"
)


@pytest.fixture
def focus(monkeypatch: pytest.MonkeyPatch) -> Iterator[FocusNfeSimulator]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with FocusNfeSimulator(token=TOKEN, processing_queries=0, crt=3) as sim:  # a normal-regime store
        yield sim


def till_data(url: str, focus_url: str | None = None) -> dict[str, Any]:
    """A till's own file: Simples (the default crt 1), no [taxes]; Focus as its issuer."""
    data: dict[str, Any] = {
        "emites": {"enabled": False},
        "printer": {"uri": "none"},
        "store_server": {"url": url, "connect_timeout_s": 2, "sync_interval_s": 0.2},
    }
    if focus_url is not None:
        data["providers"] = [
            {"name": "focusnfe", "base_url": focus_url, "timeout_s": 5, "token_env": TOKEN_ENV}
        ]
    return data


def write_config(path: Path, data: dict[str, Any]) -> str:
    path.write_text(to_toml(data), encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(list(argv))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else {}


async def issue(config: Config, data_dir: Path, index: int) -> SaleState:
    service = build_service(config, data_dir, with_printer=False)
    await service.start()
    try:
        return (await service.issue(make_sale(index), print_receipt=False)).state
    finally:
        await service.aclose()


async def pull(config: Config, data_dir: Path) -> Any:
    sync = StoreSync(config, data_dir)
    try:
        return await sync.sync_now()
    finally:
        await sync.aclose()


def focus_bodies(sim: FocusNfeSimulator) -> list[dict[str, Any]]:
    return [r.json() for r in sim.requests_to("POST", "/v2/nfce")]


def test_a_manager_publishes_and_two_tills_issue_with_the_stores_settings_even_with_the_server_away(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    pg_server: PostgresServer,
    pg_database: str,
    focus: FocusNfeSimulator,
) -> None:
    configs = {name: Config.model_validate(till_data(pg_database, focus.url)) for name in ("a", "b")}
    dirs = {name: tmp_path / name for name in ("a", "b")}
    # Before anything is published, a till issues with its own file: Simples (CSOSN) in a
    # normal-regime store, which SEFAZ (the simulator) rejects. The test can fail.
    assert asyncio.run(issue(configs["b"], dirs["b"], 1)) is SaleState.REJECTED
    store_file = tmp_path / "loja.toml"
    store_file.write_text(STORE_TOML, encoding="utf-8")
    manager = ["--config", write_config(tmp_path / "m.toml", till_data(pg_database)), "--data-dir"]
    code, published = run(
        capsys, "store", "publish", "settings", "--from", str(store_file), "--operator", "gerente",
        *manager, str(tmp_path / "m"), "--json",
    )  # fmt: skip
    assert code == 0 and published["changed"] == 1 and published["settings"]["store"]["crt"] == 3
    code, again = run(
        capsys, "store", "publish", "settings", "--from", str(store_file), "--operator", "gerente",
        *manager, str(tmp_path / "m"), "--json",
    )  # fmt: skip
    assert code == 0 and again["changed"] == 0  # the same document: no new version, nothing to pull
    for index, name in enumerate(("a", "b")):
        report = asyncio.run(pull(configs[name], dirs[name]))
        assert report.settings is not None and report.settings.applied
        effective = effective_config(configs[name], dirs[name])
        assert (effective.store.crt, effective.nfce.cancel_window_min) == (3, 25)
        assert effective.nfce.serie != configs[name].nfce.serie or name == "a"  # the till's own série
        assert asyncio.run(issue(configs[name], dirs[name], 10 + index)) is SaleState.AUTHORIZED
    bodies = focus_bodies(focus)[1:]  # after the rejected one
    assert len(bodies) == 2
    for body in bodies:
        assert body["natureza_operacao"] == "venda de mercadorias"  # [emitter]
        assert body["items"][0]["icms_situacao_tributaria"] == "00"  # [taxes] under CRT 3
        assert body["items"][0]["icms_aliquota"] == "12.00"
    # The server goes away: a till builds its service from the copy it keeps.
    pg_server.stop("immediate")
    try:
        assert asyncio.run(issue(configs["a"], dirs["a"], 20)) is SaleState.AUTHORIZED
        assert focus_bodies(focus)[-1]["items"][0]["icms_situacao_tributaria"] == "00"
    finally:
        pg_server.start()
    # The discount limits reach the terminal settings the checkout reads.
    from posapp.ui.terminal_settings import load_terminal_settings

    store = StoreDB.in_data_dir(dirs["b"])
    try:
        terminal = load_terminal_settings(store)
        assert (str(terminal.discount_limit_cashier), str(terminal.discount_limit_manager)) == ("3", "50")
    finally:
        store.close()


def test_an_invalid_publish_is_refused_and_a_till_never_applies_an_invalid_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pg_server: PostgresServer, pg_database: str
) -> None:
    conf = write_config(tmp_path / "a.toml", till_data(pg_database))
    data = str(tmp_path / "a")
    base = ["--config", conf, "--data-dir", data, "--json"]
    bad = tmp_path / "bad.toml"
    for text, named in (
        ('[store]\ncrt = 7\nuf = "DF"\n', "store.crt"),
        ("[nfce]\ncancel_window_min = 45\n", "máximo legal"),
        ('[printer]\nuri = "none"\n', "[printer]"),
        ("[nfce]\nserie = 4\n", "nfce.serie"),
        ('[discounts]\ncashier = "120"\nmanager = "100"\n', "discounts.cashier"),
    ):
        bad.write_text(text, encoding="utf-8")
        code, answer = run(
            capsys, "store", "publish", "settings", "--from", str(bad), "--operator", "g", *base
        )
        assert code == 2 and named in answer["errors"][0], answer
    config = Config.model_validate(till_data(pg_database))
    conn = connect(StoreServerConfig(url=pg_database), password=pg_server.password)
    try:
        migrate(conn)
        assert conn.execute("SELECT count(*) FROM store_settings").fetchone() == (0,)  # nothing reached it
        good = tmp_path / "loja.toml"
        good.write_text(STORE_TOML, encoding="utf-8")
        code, _ = run(capsys, "store", "publish", "settings", "--from", str(good), "--operator", "g", *base)
        assert code == 0
        assert asyncio.run(pull(config, Path(data))).settings.applied
        # Another tool (or a newer posapp) writes a document this till cannot validate.
        shared.publish(conn, "settings", [{"name": "store", "settings": {"store": {"crt": 9}}}])
        report = asyncio.run(pull(config, Path(data)))
        assert (
            report.settings is not None and report.settings.refused and "store.crt" in report.settings.refused
        )
        store = StoreDB.in_data_dir(Path(data))
        try:
            state = local_state(store)
        finally:
            store.close()
        assert (
            state.version > 0 and state.problem is not None and (state.problem_version or 0) > state.version
        )
        assert effective_config(config, Path(data)).store.crt == 3  # the previous copy, still in force
        from posapp.doctor.result import Level
        from posapp.doctor.store import check_store_settings

        in_force, refused = check_store_settings(Path(data))
        assert in_force.level is Level.OK and "MERCADO CENTRAL" in in_force.message
        assert refused.level is Level.WARN and "store.crt" in refused.message
        code, status = run(capsys, "store", "status", *base)
        assert code == 0 and "store.crt" in status["settings"]["problem"]
        assert status["settings"]["server_version"] == state.problem_version
        # The store withdraws its settings: the till goes back to its own file.
        from posapp.storeserver.settings import withdraw_settings

        assert withdraw_settings(conn) == 1
        report = asyncio.run(pull(config, Path(data)))
        assert report.settings is not None and report.settings.withdrawn
        assert effective_config(config, Path(data)).store.crt == config.store.crt == 1
    finally:
        conn.close()


def test_a_change_reaches_a_running_till_within_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pg_database: str
) -> None:
    config = Config.model_validate(till_data(pg_database))
    till = tmp_path / "a"
    good = tmp_path / "loja.toml"
    good.write_text(STORE_TOML, encoding="utf-8")
    manager = ["--config", write_config(tmp_path / "m.toml", till_data(pg_database)), "--data-dir"]

    async def scenario() -> float:
        sync = StoreSync(config, till)
        sync.start()
        try:
            code = await asyncio.to_thread(
                cli.main,
                [
                    "store",
                    "publish",
                    "settings",
                    "--from",
                    str(good),
                    "--operator",
                    "g",
                    *manager,
                    str(tmp_path / "m"),
                ],
            )
            assert code == 0
            started = time.monotonic()

            async def arrived() -> bool:
                return (await asyncio.to_thread(effective_config, config, till)).nfce.cancel_window_min == 25

            await wait_until(arrived, timeout_s=10)
            return time.monotonic() - started
        finally:
            await sync.aclose()

    took = asyncio.run(scenario())
    capsys.readouterr()
    assert took < 10


def test_the_ibpt_table_is_published_whole_and_pulled_in_chunks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared, "CHUNK", 2)  # three rows: two chunks
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    table = tmp_path / "TabelaIBPTaxDF26.1.A.csv"
    rows = (
        "19059090;;0;Outros paes;7.85;12.40;12.00;0.00;01/01/2026;30/06/2026;9oi7eW;26.1.A;IBPT\n"
        "22030000;;0;Cervejas;13.45;15.10;20.00;0.00;01/01/2026;30/06/2026;9oi7eW;26.1.A;IBPT\n"
        "10063021;;0;Arroz;4.20;6.10;7.00;0.00;01/01/2026;30/06/2026;9oi7eW;26.1.A;IBPT\n"
    )
    table.write_text(IBPT_HEADER + rows, encoding="latin-1")
    store_a = StoreDB.in_data_dir(a)
    try:
        import_ibpt(store_a, table)
    finally:
        store_a.close()
    conf = write_config(tmp_path / "t.toml", till_data(pg_database))
    code, published = run(
        capsys, "store", "publish", "ibpt", "--config", conf, "--data-dir", str(a), "--json"
    )
    assert code == 0 and published["changed"] == 3
    code, synced = run(capsys, "store", "sync", "--config", conf, "--data-dir", str(b), "--json")
    assert code == 0 and synced["pulled"]["ibpt"] == {"upserted": 3, "deleted": 0, "refused": []}
    store_b = StoreDB.in_data_dir(b)
    try:
        bread = rates_for(store_b, "DF", ["19059090"])["19059090"]
        assert (str(bread.national_federal), str(bread.state), bread.source) == (
            "7.85",
            "12.00",
            "IBPT 26.1.A 9oi7eW",
        )
        # A new table without the rice: published whole, the rice is withdrawn at every till.
        table.write_text(
            IBPT_HEADER + rows.replace("7.85", "7.90").rsplit("10063021", 1)[0], encoding="latin-1"
        )
        store_a = StoreDB.in_data_dir(a)
        try:
            import_ibpt(store_a, table)
        finally:
            store_a.close()
        code, published = run(
            capsys, "store", "publish", "ibpt", "--config", conf, "--data-dir", str(a), "--json"
        )
        assert code == 0 and published["changed"] == 2  # one changed, one withdrawn
        code, synced = run(capsys, "store", "sync", "--config", conf, "--data-dir", str(b), "--json")
        assert synced["pulled"]["ibpt"] == {"upserted": 1, "deleted": 1, "refused": []}
        assert set(rates_for(store_b, "DF", ["19059090", "22030000", "10063021"])) == {"19059090", "22030000"}
        assert str(rates_for(store_b, "DF", ["19059090"])["19059090"].national_federal) == "7.90"
    finally:
        store_b.close()


def test_catalog_import_checks_products_against_the_stores_regime(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pg_database: str
) -> None:
    """The regime comes from the store's settings when they were pulled (this till's file says
    Simples; the store is in the normal regime), as the F11 import checks it."""
    conf = write_config(tmp_path / "t.toml", till_data(pg_database))
    data = tmp_path / "t"
    good = tmp_path / "loja.toml"
    good.write_text(STORE_TOML, encoding="utf-8")
    base = ["--config", conf, "--data-dir", str(data), "--json"]
    assert cli.main(["store", "publish", "settings", "--from", str(good), "--operator", "g", *base]) == 0
    code, synced = run(capsys, "store", "sync", *base)
    assert code == 0 and synced["settings"]["applied"] and synced["settings"]["refused"] is None
    csv = tmp_path / "catalogo.csv"
    csv.write_text(
        "code,description,ncm,cfop,unit,price,origin,csosn\n"
        "1001,Arroz Branco 5kg,10063021,5102,UN,27.90,0,\n"
        "1002,Feijao 1kg,07133399,5102,UN,8.49,0,102\n",
        encoding="utf-8",
    )
    code, report = run(capsys, "catalog", "import", str(csv), *base)
    assert code == 0
    assert report["accepted"] == 1 and [r["code"] for r in report["rejected"]] == ["1002"]
    assert "CSOSN" in report["rejected"][0]["reason"] or "CST" in report["rejected"][0]["reason"]


def test_the_settings_dialog_publishes_the_stores_part_or_keeps_it_when_the_server_is_away(
    tmp_path: Path, pg_server: PostgresServer, pg_database: str
) -> None:
    """F11's save with [store_server] (posapp/ui/store_publish.py): the store's part goes to
    every till before this one applies it; with the server away it stays as the store has it."""
    from posapp.ui.store_publish import publish_store_part
    from posapp.ui.terminal_settings import TerminalSettings

    till = tmp_path / "a"
    config = Config.model_validate(till_data(pg_database))
    terminal = TerminalSettings()
    edited = config.model_copy(
        update={
            "store": config.store.model_copy(update={"crt": 2}),
            "printer": config.printer.model_copy(update={"paper_mm": 58}),
        }
    )

    async def save(before: Config, new: Config, when_down: bool = False) -> tuple[Config, str | None, int]:
        sync = StoreSync(config, till)
        try:
            if when_down:
                await asyncio.to_thread(pg_server.stop, "immediate")
            applied, _terminal, news = await publish_store_part(sync, (before, terminal), (new, terminal))
        finally:
            await sync.aclose()
        return applied, news, effective_config(config, till).store.crt

    applied, news, in_force = asyncio.run(save(config, edited))
    assert applied.store.crt == 2 and in_force == 2 and news and "publicadas" in news
    again = edited.model_copy(update={"store": edited.store.model_copy(update={"crt": 3})})
    try:
        applied, news, in_force = asyncio.run(save(applied, again, when_down=True))
    finally:
        pg_server.start()
    assert news and "NÃO mudaram" in news
    assert applied.store.crt == 2 and in_force == 2  # the store's part as the store has it
    assert applied.printer.paper_mm == 58  # the till's own part is applied
