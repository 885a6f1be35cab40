"""The store's regime and the item taxes end to end through ``posapp nfce emit`` (issue 14
items 1, 2, 5), with real simulators and a ``file:`` printer whose bytes are decoded:

* a sale lacking what the store's CRT requires is refused before anything is stored or
  sent, exit 2, naming the item and the field;
* the example sales issue from a Simples store and from a normal-regime store, to
  Emites-Client and to Focus NFe;
* the DANFE's Lei 12.741 line prints the sale's approximate taxes with their source
  whichever issuer authorized the note (Emites-Client's engine writes its own vTotTrib).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from posapp import cli
from posapp.domain.lifecycle import ExitCode
from posapp.domain.nfe_xml import read_nfe
from posapp.printing.options import ReceiptOptions
from posapp.sim.focusnfe import FocusNfeSimulator
from tests.printing.checks import decode, flat
from tests.support.emites_thread import EmitesInThread
from tests.support.issuers import to_toml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIMPLES_SALE = EXAMPLES / "sale.json"
NORMAL_SALE = EXAMPLES / "sale_regime_normal.json"
NORMAL_CONFIG = EXAMPLES / "posapp_regime_normal.toml"
TOKEN_ENV = "POSAPP_TEST_TAXES_FOCUS_TOKEN"
TOKEN = "taxes-e2e-token-0123456789"


def emit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = cli.main(["nfce", "emit", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def listed(capsys: pytest.CaptureFixture[str], data: Path) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert cli.main(["nfce", "list", "--data-dir", str(data), "--json"]) == ExitCode.DONE
    sales: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["sales"]
    return sales


def printed_text(path: Path) -> str:
    options = ReceiptOptions(paper_mm=80)
    return flat(decode(path.read_bytes(), options))


def test_a_sale_lacking_what_the_regime_requires_is_refused_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    # the Simples example (CSOSN only) at a normal-regime store whose [taxes] has no default CST
    config = tmp_path / "posapp.toml"
    config.write_text('[store]\ncrt = 3\n[taxes]\npis_cst = "01"\npis_rate = "1.65"\n', encoding="utf-8")
    data = tmp_path / "data"
    code, out = emit(
        capsys,
        str(SIMPLES_SALE),
        "--data-dir",
        str(data),
        "--config",
        str(config),
        "--emites",
        f"127.0.0.1:{emites.port}",
    )
    assert code == ExitCode.BAD_INPUT
    assert out["status"] == "invalid"
    message = out["errors"][0]
    assert message.startswith(
        "itens[1].tributos.icms_cst: loja do regime normal (CRT 3) informa CST do ICMS, não CSOSN"
    )
    assert emites.requests() == []  # nothing sent
    assert listed(capsys, data) == []  # nothing stored


def test_simples_example_to_emites_prints_the_sales_approximate_taxes_with_the_source(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    receipt = tmp_path / "receipt.bin"
    code, out = emit(
        capsys,
        str(SIMPLES_SALE),
        "--data-dir",
        str(tmp_path / "data"),
        "--emites",
        f"127.0.0.1:{emites.port}",
        "--printer",
        f"file:{receipt}",
    )
    assert code == ExitCode.DONE, out
    assert out["printed"] is True
    text = printed_text(receipt)
    # beer 29.94 x 24.71 % = 7.40, x 18 % = 5.39; bread 5.96 x 7.85 % = 0.47, x 12 % = 0.72
    assert "Tributos Totais Incidentes (Lei Federal 12.741/2012): R$ 13,98" in text
    assert "Federal R$ 7,87, Estadual R$ 6,11, Municipal R$ 0,00" in text
    assert "Fonte: IBPT 26.1.A 9oi7eW" in text
    # Emites-Client's engine wrote its own vTotTrib: the DANFE prints the sale's, with its source
    (issued,) = emites.notes()
    assert read_nfe(issued.xml).totals.taxes != Decimal("13.98")
    # Emites-Client computes the taxes itself: it gets NCM, CEST, CFOP and origin, no CST/CSOSN
    (request,) = [r.payload for r in emites.requests() if r.identifier == "CREATE_NFCE"]
    beer = json.loads(request.decode("latin-1"))["produtos"][0]
    assert (beer["ncm"], beer["cest"], beer["cfop"], beer["codigo_origem_produto"]) == (
        "22030000",
        "0302100",
        "5405",
        0,
    )
    assert "csosn" not in request.decode("latin-1").lower()


def test_normal_regime_example_to_focus_prints_the_same_line_and_sends_the_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with FocusNfeSimulator(token=TOKEN, processing_queries=0, crt=3) as focus:
        settings = {
            "store": {"uf": "DF", "crt": 3},
            "emites": {"enabled": False},
            "providers": [
                {"name": "focusnfe", "base_url": focus.url, "timeout_s": 5, "token_env": TOKEN_ENV}
            ],
        }
        # the example configuration's [taxes], with this test's issuers
        taxes = "[taxes]" + NORMAL_CONFIG.read_text(encoding="utf-8").split("[taxes]", 1)[1]
        config = tmp_path / "posapp.toml"
        config.write_text(to_toml(settings) + "\n" + taxes, encoding="utf-8")
        receipt = tmp_path / "receipt.bin"
        code, out = emit(
            capsys,
            str(NORMAL_SALE),
            "--data-dir",
            str(tmp_path / "data"),
            "--config",
            str(config),
            "--printer",
            f"file:{receipt}",
        )
        assert code == ExitCode.DONE, out
        assert out["backend"] == "focusnfe"
        (note,) = focus.issued()
        assert note.status == "autorizado"
    text = printed_text(receipt)
    # beer 29.94: 7.40 + 5.99; soap 24.90: 3.35 + 4.98; rice has no IBPT rates
    assert "Tributos Totais Incidentes (Lei Federal 12.741/2012): R$ 21,72" in text
    assert "Federal R$ 10,75, Estadual R$ 10,97, Municipal R$ 0,00" in text
    assert "Fonte: IBPT 26.1.A 9oi7eW" in text


def test_a_sale_file_without_rates_takes_the_imported_ibpt_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    table = data / "TabelaIBPTaxDF26.1.A.csv"
    table.write_text(
        "codigo;ex;tipo;descricao;nacionalfederal;importadosfederal;estadual;municipal;"
        "vigenciainicio;vigenciafim;chave;versao;fonte\n"
        "19059090;;0;Outros paes;7.85;12.40;12.00;0.00;01/01/2026;30/06/2026;9oi7eW;26.1.A;IBPT\n",
        encoding="latin-1",
    )
    assert cli.main(["ibpt", str(table), "--data-dir", str(data)]) == 0
    sale = json.loads(SIMPLES_SALE.read_text(encoding="utf-8"))
    for item in sale["items"]:
        item["tax"] = {k: v for k, v in item["tax"].items() if not k.startswith("ibpt_")}
    path = tmp_path / "sale.json"
    path.write_text(json.dumps(sale), encoding="utf-8")
    receipt = tmp_path / "receipt.bin"
    code, out = emit(
        capsys,
        str(path),
        "--data-dir",
        str(data),
        "--emites",
        f"127.0.0.1:{emites.port}",
        "--printer",
        f"file:{receipt}",
    )
    assert code == ExitCode.DONE, out
    text = printed_text(receipt)
    # only the bread's NCM is in the table: 5.96 x 7.85 % = 0.47, x 12 % = 0.72
    assert "Tributos Totais Incidentes (Lei Federal 12.741/2012): R$ 1,19" in text
    assert "Fonte: IBPT 26.1.A 9oi7eW" in text


def test_the_cart_builds_the_sale_with_the_catalogs_registry_and_focus_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the GUI does at the counter, without the widgets: a scanned product's registry
    (and its NCM's IBPT rates) goes into the sale, and a normal-regime store's Focus request
    carries the product's own CST, not a fixed code."""
    from posapp.app import build_service
    from posapp.catalog.csv_import import import_csv
    from posapp.catalog.ibpt import import_ibpt
    from posapp.catalog.products import Catalog
    from posapp.catalog.storedb import StoreDB
    from posapp.config import Config
    from posapp.domain.payments import PaymentMethod
    from posapp.domain.sale import Payment
    from posapp.ui.cart import Cart

    data = tmp_path / "data"
    data.mkdir()
    csv = data / "c.csv"
    csv.write_text(
        "code,description,ncm,cfop,cest,price,icms_cst,st_base_unit,st_rate,st_icms_unit,pis_cst,cofins_cst\n"
        "14600,Cerveja Pilsen 350ml,22030000,5405,0302100,4.99,60,4.50,20,0.54,04,04\n",
        encoding="utf-8",
    )
    table = data / "TabelaIBPTaxDF26.1.A.csv"
    table.write_text(
        "codigo;ex;tipo;descricao;nacionalfederal;importadosfederal;estadual;municipal;"
        "vigenciainicio;vigenciafim;chave;versao;fonte\n"
        "22030000;;0;Cervejas;24.71;32.10;20.00;0.00;01/01/2026;30/06/2026;9oi7eW;26.1.A;IBPT\n",
        encoding="latin-1",
    )
    store = StoreDB.in_data_dir(data)
    try:
        catalog = Catalog(store, uf="DF")
        assert import_csv(catalog, csv).rejected == []
        import_ibpt(store, table)
        cart = Cart()
        cart.add(catalog.get("14600"), Decimal(6))
        sale = cart.to_sale([Payment(method=PaymentMethod.DINHEIRO, amount=Decimal("29.94"))], operator=None)
    finally:
        store.close()
    assert sale.items[0].tax is not None and sale.items[0].tax.icms_cst == "60"
    assert sale.items[0].tax.ibpt_source == "IBPT 26.1.A 9oi7eW"

    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with FocusNfeSimulator(token=TOKEN, processing_queries=0, crt=3) as focus:
        config = Config.model_validate(
            {
                "store": {"uf": "DF", "crt": 3},
                "emites": {"enabled": False},
                "printer": {"uri": "none"},
                "taxes": {"ibs_cbs_cst": "000", "cclass_trib": "000001"},
                "providers": [
                    {"name": "focusnfe", "base_url": focus.url, "timeout_s": 5, "token_env": TOKEN_ENV}
                ],
            }
        )
        service = build_service(config, data, with_printer=False)

        async def issue() -> Any:
            await service.start()
            try:
                return await service.issue(sale, print_receipt=False)
            finally:
                await service.aclose()

        import asyncio

        report = asyncio.run(issue())
        assert report.state.value == "authorized", report
        (request,) = focus.requests_to("POST", "/v2/nfce")
        (item,) = json.loads(request.body)["items"]
    assert (item["icms_situacao_tributaria"], item["icms_valor_retido_st"]) == ("60", "3.24")
    assert item["ibs_cbs_classificacao_tributaria"] == "000001"  # the store's default
    assert item["valor_total_tributos"] == "13.39"  # 29.94 x 24.71 % = 7.40, x 20 % = 5.99
