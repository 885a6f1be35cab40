"""``posapp doctor`` on the store's regime (issue 14 item 1) and ``posapp ibpt`` (item 5),
on real store files: the configured CRT and its defaults, products the regime could not
sell, the IBPT table missing, expired or current."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from posapp import cli
from posapp.catalog.csv_import import import_csv
from posapp.catalog.products import Catalog
from posapp.catalog.storedb import StoreDB
from posapp.config import Config, ConfigError, load_config
from posapp.doctor.regime import check_regime
from posapp.doctor.result import Level

IBPT_HEADER = (
    "codigo;ex;tipo;descricao;nacionalfederal;importadosfederal;estadual;municipal;"
    "vigenciainicio;vigenciafim;chave;versao;fonte"
)


def catalog_with(
    data: Path, *rows: str, header: str = "code,description,ncm,cfop,cest,price,csosn,icms_cst"
) -> None:
    csv = data / "c.csv"
    csv.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    store = StoreDB.in_data_dir(data)
    try:
        assert import_csv(Catalog(store), csv).rejected == []
    finally:
        store.close()


def ibpt_file(data: Path, until: str = "30/06/2026") -> Path:
    path = data / "TabelaIBPTaxDF26.1.A.csv"
    path.write_text(
        f"{IBPT_HEADER}\n22030000;;0;Cervejas;24.71;32.10;18.00;0.00;01/01/2026;{until};9oi7eW;26.1.A;IBPT\n",
        encoding="latin-1",
    )
    return path


def test_crt_must_be_one_of_the_four_regimes(tmp_path: Path) -> None:
    bad = tmp_path / "posapp.toml"
    bad.write_text("[store]\ncrt = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert "store.crt" in caught.value.user_message
    bad.write_text('[taxes]\ncsosn = "101"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert "taxes.csosn" in caught.value.user_message and "não aceito" in caught.value.user_message


def test_the_regime_and_its_defaults(tmp_path: Path) -> None:
    (simples,) = check_regime(Config(), tmp_path / "store.sqlite3")
    assert (
        simples.level is Level.OK
        and "CRT 1 (Simples Nacional)" in simples.message
        and "CSOSN 102" in simples.message
    )
    normal = Config.model_validate({"store": {"crt": 3}})
    (result,) = check_regime(normal, tmp_path / "store.sqlite3")
    assert result.level is Level.WARN and "[taxes]" in result.action


def test_products_the_regime_cannot_sell_fail_the_check(tmp_path: Path) -> None:
    catalog_with(tmp_path, "1,Arroz,10063021,5102,,27.90,102,", "2,Sabao,34022000,5102,,12.45,102,00")
    normal = Config.model_validate(
        {
            "store": {"crt": 3},
            "taxes": {
                "icms_rate": "20",
                "pis_cst": "07",
                "cofins_cst": "07",
                "ibs_cbs_cst": "000",
                "cclass_trib": "000001",
            },
        }
    )
    _, products, ibpt = check_regime(normal, tmp_path / "store.sqlite3", today=date(2026, 3, 1))
    assert products.level is Level.FAIL
    assert products.message.startswith("1 de 2 produtos não podem ser vendidos por esta loja (CRT 3)")
    assert "1: icms_cst: loja do regime normal (CRT 3) informa CST do ICMS, não CSOSN" in products.message
    assert ibpt.level is Level.WARN and "posapp ibpt" in ibpt.action
    # the same catalog in a Simples store sells
    _, products, _ = check_regime(Config(), tmp_path / "store.sqlite3", today=date(2026, 3, 1))
    assert products.level is Level.OK


def test_posapp_ibpt_imports_and_the_doctor_follows_its_validity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    catalog_with(data, "14600,Cerveja,22030000,5405,0302100,4.99,500,60")
    code = cli.main(["ibpt", str(ibpt_file(data)), "--data-dir", str(data), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["uf"], out["imported"], out["version"], out["valid_until"]) == (
        "DF",
        1,
        "26.1.A",
        "2026-06-30",
    )
    assert out["warnings"] == []
    config = Config()
    *_, current = check_regime(config, data / "store.sqlite3", today=date(2026, 3, 1))
    assert current.level is Level.OK and "válida até 30/06/2026" in current.message
    *_, expired = check_regime(config, data / "store.sqlite3", today=date(2026, 7, 1))
    assert expired.level is Level.WARN and "venceu em 30/06/2026" in expired.message


def test_posapp_ibpt_refuses_a_file_that_is_not_the_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "TabelaIBPTaxSP.csv"
    wrong.write_text("ncm;aliquota\n22030000;10\n", encoding="utf-8")
    assert cli.main(["ibpt", str(wrong), "--data-dir", str(tmp_path), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "invalid" and "leiaute da tabela IBPT" in out["errors"][0]
    # another UF than the store's: imported, with a warning that sales will not use it
    table = ibpt_file(tmp_path).rename(tmp_path / "TabelaIBPTaxSP26.1.A.csv")
    assert cli.main(["ibpt", str(table), "--data-dir", str(tmp_path)]) == 0
    assert "aviso: a loja é de DF" in capsys.readouterr().out
