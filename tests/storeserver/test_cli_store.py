"""``posapp store sync|status|cancel``, ``posapp catalog import|find`` and ``posapp nfce list
--store`` through :func:`posapp.cli.main`, against a real PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from posapp import cli
from tests.storeserver.tills import make_till
from tests.support.issuers import to_toml
from tests.support.postgres import PostgresServer, _free_port

CSV = (
    "code,gtin,description,ncm,cfop,cest,unit,price,origin\n"
    "1001,7898621001017,Arroz Branco Tipo 1 5kg,10063021,5102,,UN,27.90,0\n"
    "1002,7898621002397,Feijão Carioca Tipo 1 1kg,07133399,5102,,UN,8.49,0\n"
    "1003,,Pão francês,19059090,5102,,KG,15.90,0\n"
    "1004,,Sem preço,19059090,5102,,UN,,0\n"
)


def config_file(tmp_path: Path, name: str, url: str | None) -> Path:
    data: dict[str, Any] = {"emites": {"enabled": False}, "printer": {"uri": "none"}}
    if url is not None:
        data["store_server"] = {"url": url, "connect_timeout_s": 2}
    path = tmp_path / f"{name}.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(list(argv))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else {}


def test_catalog_import_and_find_work_without_a_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "catalogo.csv"
    csv.write_text(CSV, encoding="utf-8")
    conf, data = str(config_file(tmp_path, "alone", None)), str(tmp_path / "alone")
    code, report = run(capsys, "catalog", "import", str(csv), "--config", conf, "--data-dir", data, "--json")
    assert code == 0 and report["accepted"] == 3 and report["published"] is None
    assert [r["line"] for r in report["rejected"]] == [5]  # the line without a price, named
    code, found = run(capsys, "catalog", "find", "feijao", "--config", conf, "--data-dir", data, "--json")
    assert code == 0 and [p["code"] for p in found["products"]] == ["1002"]
    product = found["products"][0]
    assert product["price"] == "8.49" and "id" not in product and "ncm" in product  # every column, by name
    code, found = run(
        capsys, "catalog", "find", "7898621001017", "--config", conf, "--data-dir", data, "--json"
    )
    assert [p["description"] for p in found["products"]] == ["Arroz Branco Tipo 1 5kg"]
    assert cli.main(["catalog", "find", "nada disso", "--config", conf, "--data-dir", data]) == 0
    assert "Nenhum produto" in capsys.readouterr().out


def test_store_commands_without_a_server_say_what_to_configure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf, data = str(config_file(tmp_path, "alone", None)), str(tmp_path / "alone")
    code, answer = run(capsys, "store", "sync", "--config", conf, "--data-dir", data, "--json")
    assert code == 2 and "[store_server]" in answer["errors"][0]


def test_a_server_that_is_down_fails_the_command_not_the_till(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSAPP_STORE_SERVER_PASSWORD", "x")
    conf = str(config_file(tmp_path, "a", f"postgresql://posapp@127.0.0.1:{_free_port()}/loja"))
    code, answer = run(
        capsys, "store", "status", "--config", conf, "--data-dir", str(tmp_path / "a"), "--json"
    )
    assert code == 1 and "não respondeu" in answer["errors"][0]


def test_two_tills_and_the_store_view(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pg_server: PostgresServer, pg_database: str
) -> None:
    a, b = make_till(tmp_path, "a", pg_database), make_till(tmp_path, "b", pg_database)
    a.queue_sales(0, 3)
    b.queue_sales(10, 2)
    conf = str(config_file(tmp_path, "store", pg_database))
    csv = tmp_path / "catalogo.csv"
    csv.write_text(CSV, encoding="utf-8")
    code, report = run(
        capsys, "catalog", "import", str(csv), "--config", conf, "--data-dir", str(a.data_dir), "--json"
    )
    assert code == 0 and report["published"] == 3
    code, synced_a = run(capsys, "store", "sync", "--config", conf, "--data-dir", str(a.data_dir), "--json")
    assert code == 0 and synced_a["pushed"]["sales"] == 3 and synced_a["serie"] == 2
    code, synced_b = run(capsys, "store", "sync", "--config", conf, "--data-dir", str(b.data_dir), "--json")
    assert code == 0 and synced_b["pushed"]["sales"] == 2 and synced_b["pulled"]["products"]["upserted"] == 3
    assert synced_b["serie"] == 3  # its own série: never the same as another till's
    code, again = run(capsys, "store", "sync", "--config", conf, "--data-dir", str(b.data_dir), "--json")
    assert again["pushed"]["events"] == 0 and again["pulled"]["products"]["upserted"] == 0
    code, found = run(
        capsys, "catalog", "find", "arroz", "--config", conf, "--data-dir", str(b.data_dir), "--json"
    )
    assert [p["code"] for p in found["products"]] == ["1001"]
    code, listing = run(
        capsys, "nfce", "list", "--store", "--config", conf, "--data-dir", str(b.data_dir), "--json"
    )
    tills = {s["till_id"] for s in listing["sales"]}
    assert code == 0 and len(listing["sales"]) == 5 and len(tills) == 2
    code, status = run(capsys, "store", "status", "--config", conf, "--data-dir", str(a.data_dir), "--json")
    assert code == 0 and len(status["tills"]) == 2 and status["duplicate_series"] == []
    store_line = status["day"][-1]  # per till, then the store
    assert store_line["till_id"] == "loja" and store_line["sales"] == 5 and store_line["open"] == 5
    assert len(status["day"]) == 3
    assert cli.main(["nfce", "list", "--store", "--config", conf, "--data-dir", str(a.data_dir)]) == 0
    assert "caixa " in capsys.readouterr().out


def test_store_cancel_from_the_managers_till_through_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pg_database: str
) -> None:
    import asyncio

    from posapp.domain.lifecycle import SaleState
    from posapp.services.store_sync import StoreSync
    from tests.support.emites_thread import EmitesInThread
    from tests.support.sales import make_sale

    with EmitesInThread() as emites:
        issuing = make_till(tmp_path, "a", pg_database, emites.port)

        async def sell() -> str:
            service = issuing.service()
            await service.start()
            sync = StoreSync(issuing.config, issuing.data_dir, service=service)
            try:
                report = await service.issue(make_sale(7), print_receipt=False)
                assert report.state is SaleState.AUTHORIZED and report.note is not None
                await sync.sync_now()
                return report.note.chave
            finally:
                await sync.aclose()
                await service.aclose()

        chave = asyncio.run(sell())
        manager_conf = str(config_file(tmp_path, "m", pg_database))
        issuing_conf = tmp_path / "a.toml"
        issuing_conf.write_text(
            to_toml(
                {
                    "emites": {"port": emites.port, "connect_timeout_s": 1, "response_timeout_s": 5},
                    "printer": {"uri": "none"},
                    "store_server": {"url": pg_database, "connect_timeout_s": 2},
                }
            ),
            encoding="utf-8",
        )
        manager = ["--config", manager_conf, "--data-dir", str(tmp_path / "m"), "--json"]
        motivo = "Cliente devolveu a mercadoria no balcão"
        code, asked = run(
            capsys, "store", "cancel", chave, "--motivo", motivo, "--operator", "gerente", *manager
        )
        assert code == 0 and asked["status"] == "requested" and asked["new_request"] is True
        code, synced = run(
            capsys,
            "store",
            "sync",
            "--config",
            str(issuing_conf),
            "--data-dir",
            str(issuing.data_dir),
            "--json",
        )
        assert code == 0 and [c["status"] for c in synced["cancels"]] == ["done"]
        code, again = run(
            capsys, "store", "cancel", chave, "--motivo", motivo, "--operator", "gerente", *manager
        )
        assert code == 1 and "Cancelada" in again["errors"][0]  # already cancelled: nothing queued
        code, bad = run(
            capsys, "store", "cancel", chave, "--motivo", "curto", "--operator", "gerente", *manager
        )
        assert code == 2 and bad["errors"]
        assert emites.simulator.truth.cancelled(chave) == 1
