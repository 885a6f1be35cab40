"""Each item's real tax codes and values reach Focus NFe and Integra Notas (issue 14 item 2,
never a fixed CSOSN 102 / PIS-COFINS 49), and the simulators refuse what SEFAZ and the
providers refuse: a CST from a Simples store (590), a CSOSN from a normal-regime store (591),
ST without CEST (806), vICMS that is not vBC x pICMS (528), ST without its retained values.
Real loopback servers; the clients under test are the real adapters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from posapp.config import Config, ProviderConfig
from posapp.domain.issuance import IssueContext, Outcome
from posapp.domain.nfe_xml import read_nfe
from posapp.domain.sale import Sale
from posapp.domain.sale_taxes import with_store_taxes
from posapp.fiscal.focusnfe import FocusNfeBackend, build_focus_body
from posapp.fiscal.integranotas import IntegraNotasBackend, build_integra_body
from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.sim.integranotas import IntegraNotasSimulator
from tests.fiscal.provider_helpers import issue_once, run

TOKEN = "taxes-test-token-0123456789abcdef"
NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)

SIMPLES = Config.model_validate({"store": {"crt": 1}})
NORMAL = Config.model_validate(
    {
        "store": {"crt": 3},
        "taxes": {
            "icms_cst": "00",
            "icms_rate": "20",
            "pis_cst": "01",
            "pis_rate": "1.65",
            "cofins_cst": "01",
            "cofins_rate": "7.60",
            "ibs_cbs_cst": "000",
            "cclass_trib": "000001",
        },
    }
)
BEER = {
    "code": "14600",
    "gtin": "7891000315507",
    "description": "Cerveja Pilsen 350ml",
    "ncm": "22030000",
    "cfop": "5405",
    "cest": "0302100",
    "quantity": "6",
    "unit_price": "4.99",
}
SOAP = {
    "code": "3001",
    "description": "Sabao em po 1kg",
    "ncm": "34022000",
    "cfop": "5102",
    "quantity": "2",
    "unit_price": "12.45",
    "discount": "0.90",
}


def sale(config: Config, beer_tax: dict[str, Any], **soap_tax: Any) -> Sale:
    soap = {
        **SOAP,
        "tax": {**soap_tax, "ibpt_federal": "13.45", "ibpt_state": "20", "ibpt_source": "IBPT 26.1.A"},
    }
    raw = Sale.from_mapping(
        {"items": [{**BEER, "tax": beer_tax}, soap], "payments": [{"method": "dinheiro", "amount": "60.00"}]},
        sale_id="taxsale1",
    )
    return with_store_taxes(raw, crt=config.store.regime, defaults=config.tax_defaults)


def simples_sale() -> Sale:
    beer = {"csosn": "500", "st_base_unit": "4.50", "st_rate": "18", "st_icms_unit": "0.45"}
    return sale(SIMPLES, {**beer, "pis_cst": "04", "cofins_cst": "04"})


def normal_sale() -> Sale:
    beer = {"icms_cst": "60", "st_base_unit": "4.50", "st_rate": "20", "st_icms_unit": "0.54"}
    return sale(NORMAL, {**beer, "pis_cst": "04", "cofins_cst": "04"})


def context(s: Sale, **extra: Any) -> IssueContext:
    return IssueContext(sale=s, reference=s.sale_id, emitted_at=datetime.now(UTC), **extra)


# -- what each provider receives --------------------------------------------------------------


def test_focus_gets_each_items_own_codes_and_values() -> None:
    beer, soap = build_focus_body(normal_sale(), NORMAL, emitted_at=NOW)["items"]
    assert beer["icms_situacao_tributaria"] == "60" and beer["cest"] == "0302100" and beer["cfop"] == "5405"
    assert (
        beer["icms_base_calculo_retido_st"],
        beer["icms_aliquota_final"],
        beer["icms_valor_retido_st"],
    ) == (
        "27.00",
        "20.00",
        "3.24",
    )
    assert beer["pis_situacao_tributaria"] == "04" and "pis_valor" not in beer
    # soap: the store's defaults (CST 00 at 20 %, PIS/COFINS 01) on 24.90 - 0.90 = 24.00
    assert soap["icms_situacao_tributaria"] == "00"
    assert (soap["icms_base_calculo"], soap["icms_aliquota"], soap["icms_valor"]) == (
        "24.00",
        "20.00",
        "4.80",
    )
    assert (soap["pis_aliquota_porcentual"], soap["pis_valor"]) == ("1.65", "0.40")
    assert (soap["cofins_aliquota_porcentual"], soap["cofins_valor"]) == ("7.60", "1.82")
    assert (
        soap["ibs_cbs_situacao_tributaria"] == "000" and soap["ibs_cbs_classificacao_tributaria"] == "000001"
    )
    # Lei 12.741: 24.00 x 13.45 % = 3.23, x 20 % = 4.80
    assert soap["valor_total_tributos"] == "8.03" and "valor_total_tributos" not in beer


def test_integra_gets_each_items_own_codes_and_values() -> None:
    body = build_integra_body(simples_sale(), SIMPLES, serie=2, numero=7, emitted_at=NOW)
    beer, soap = body["itens"]
    assert beer["imposto"]["icms"] == {
        "situacao_tributaria": "500",
        "base_calculo_retido_st": "27.00",
        "aliquota_suportada_consumidor": "18.00",
        "valor_retido_st": "2.70",
    }
    assert beer["imposto"]["pis"] == {"situacao_tributaria": "04"}
    assert soap["imposto"]["icms"] == {"situacao_tributaria": "102"}
    assert soap["imposto"]["cofins"] == {"situacao_tributaria": "49"}
    assert soap["imposto"]["valor_aproximado_tributos"] == "8.03"
    assert "ibs_cbs" not in soap["imposto"]


def test_no_fixed_102_when_the_store_is_in_the_normal_regime() -> None:
    text = json.dumps(build_integra_body(normal_sale(), NORMAL, serie=2, numero=1, emitted_at=NOW))
    assert '"102"' not in text and '"49"' not in text


# -- against the simulators --------------------------------------------------------------------


@pytest.fixture
def focus() -> Iterator[FocusNfeSimulator]:
    with FocusNfeSimulator(token=TOKEN, processing_queries=0, crt=3) as simulator:
        yield simulator


@pytest.fixture
def integra() -> Iterator[IntegraNotasSimulator]:
    with IntegraNotasSimulator(token=TOKEN, processing_queries=0, crt=3) as simulator:
        yield simulator


def focus_backend(sim: FocusNfeSimulator, config: Config) -> FocusNfeBackend:
    provider = ProviderConfig(name="focusnfe", base_url=f"http://127.0.0.1:{sim.port}", timeout_s=3)
    return FocusNfeBackend(provider, config, token=TOKEN)


def integra_backend(sim: IntegraNotasSimulator, config: Config) -> IntegraNotasBackend:
    provider = ProviderConfig(name="integranotas", base_url=sim.url, timeout_s=3)
    return IntegraNotasBackend(provider, config, token=TOKEN, fetch_pdf=False, enforce_min_timeout=False)


def test_a_normal_regime_store_is_authorized_by_focus_and_integra(
    focus: FocusNfeSimulator, integra: IntegraNotasSimulator
) -> None:
    result = run(issue_once(focus_backend(focus, NORMAL), context(normal_sale())))
    assert result.outcome is Outcome.AUTHORIZED, result
    # the approximate taxes sent per item are the note's vTotTrib (beer: none; soap: 8.03)
    assert result.note is not None and result.note.xml is not None
    assert read_nfe(result.note.xml).totals.taxes == Decimal("8.03")
    result = run(issue_once(integra_backend(integra, NORMAL), context(normal_sale(), serie=2, numero=11)))
    assert result.outcome is Outcome.AUTHORIZED, result
    assert result.note is not None and result.note.xml is not None
    assert read_nfe(result.note.xml).totals.taxes == Decimal("8.03")


def test_a_csosn_from_a_normal_regime_store_is_rejected_591(
    focus: FocusNfeSimulator, integra: IntegraNotasSimulator
) -> None:
    # posapp configured as Simples, the company registered at the provider as regime normal
    result = run(issue_once(focus_backend(focus, SIMPLES), context(simples_sale())))
    assert result.outcome is Outcome.REJECTED
    assert any("591" in e or "CSOSN" in e for e in result.errors), result.errors
    assert focus.issued() == []
    result = run(issue_once(integra_backend(integra, SIMPLES), context(simples_sale(), serie=2, numero=12)))
    assert result.outcome is Outcome.REJECTED and any("CSOSN" in e for e in result.errors), result


def test_a_cst_from_a_simples_store_is_rejected_590() -> None:
    with FocusNfeSimulator(token=TOKEN, processing_queries=0, crt=1) as sim:
        result = run(issue_once(focus_backend(sim, NORMAL), context(normal_sale())))
        assert result.outcome is Outcome.REJECTED
        assert any("Informado CST para emissor do Simples" in e for e in result.errors), result.errors
        # fixed and sent again under the same ref: authorized
        result = run(issue_once(focus_backend(sim, SIMPLES), context(simples_sale())))
        assert result.outcome is Outcome.AUTHORIZED, result


# -- the simulators' rules, fed raw requests ----------------------------------------------------


def focus_item(**taxes: Any) -> dict[str, Any]:
    return {
        "numero_item": "1",
        "codigo_produto": "14600",
        "descricao": "Cerveja",
        "codigo_ncm": "22030000",
        "cfop": "5405",
        "unidade_comercial": "UN",
        "quantidade_comercial": "6.00",
        "valor_unitario_comercial": "4.99",
        "valor_bruto": "29.94",
        "icms_origem": "0",
        "pis_situacao_tributaria": "04",
        "cofins_situacao_tributaria": "04",
        **taxes,
    }


def post_focus(sim: FocusNfeSimulator, ref: str, item: dict[str, Any]) -> httpx.Response:
    body = {
        "cnpj_emitente": "22769530000131",
        "data_emissao": datetime.now(UTC).isoformat(timespec="seconds"),
        "items": [item],
        "formas_pagamento": [{"forma_pagamento": "01", "valor_pagamento": "29.94"}],
    }
    return httpx.post(f"{sim.url}/v2/nfce", params={"ref": ref}, json=body, auth=(TOKEN, ""))


def test_focus_simulator_rejects_st_without_cest_806_and_a_wrong_icms_528(focus: FocusNfeSimulator) -> None:
    st = {"icms_base_calculo_retido_st": "27.00", "icms_aliquota_final": "20", "icms_valor_retido_st": "3.24"}
    answer = post_focus(focus, "r806", focus_item(icms_situacao_tributaria="60", **st)).json()
    assert answer["status"] == "erro_autorizacao" and answer["status_sefaz"] == "806"
    wrong = {"icms_base_calculo": "29.94", "icms_aliquota": "20", "icms_valor": "5.00"}
    answer = post_focus(focus, "r528", focus_item(icms_situacao_tributaria="00", cfop="5102", **wrong)).json()
    assert answer["status_sefaz"] == "528" and "BC e Alíquota" in answer["mensagem_sefaz"]
    right = {**wrong, "icms_valor": "5.99"}
    answer = post_focus(focus, "r100", focus_item(icms_situacao_tributaria="00", cfop="5102", **right)).json()
    assert answer["status"] == "autorizado"


def test_focus_simulator_refuses_st_without_retained_values_and_odd_ibs_cbs(focus: FocusNfeSimulator) -> None:
    answer = post_focus(focus, "rst", focus_item(icms_situacao_tributaria="60", cest="0302100"))
    assert answer.status_code == 400
    assert any("vBCSTRet" in e for e in answer.json()["erros"])
    bad = focus_item(
        icms_situacao_tributaria="41",
        cfop="5102",
        ibs_cbs_situacao_tributaria="000",
        ibs_cbs_classificacao_tributaria="200001",
    )
    answer = post_focus(focus, "ribs", bad)
    assert answer.status_code == 400 and any("cClassTrib" in e for e in answer.json()["erros"])
    answer = post_focus(
        focus, "rpis", focus_item(icms_situacao_tributaria="41", pis_situacao_tributaria="01")
    )
    assert answer.status_code == 400 and any("PIS 01 sem alíquota" in e for e in answer.json()["erros"])


def test_integra_simulator_rejects_st_without_cest_806(integra: IntegraNotasSimulator) -> None:
    body = build_integra_body(normal_sale(), NORMAL, serie=2, numero=30, emitted_at=datetime.now(UTC))
    body["itens"][0].pop("cest")
    answer = httpx.post(f"{integra.url}/nfce", json=body, headers={"Authorization": TOKEN}).json()
    assert answer["sucesso"] is False and answer["codigo"] == 806
    assert integra.documents == {}


def test_the_values_sent_are_exact_text_never_floats() -> None:
    body = build_focus_body(normal_sale(), NORMAL, emitted_at=NOW)
    values = [v for item in body["items"] for v in item.values()]
    assert not any(isinstance(v, float) for v in values)
    assert Decimal(body["items"][1]["icms_valor"]) == Decimal("4.80")


def test_the_simulators_command_line_takes_the_emitters_regime() -> None:
    import argparse

    from posapp.sim.http_sim import sim_arguments

    assert sim_arguments(["--crt", "3"], "posapp sim focusnfe").crt == 3
    assert sim_arguments([], "posapp sim focusnfe").crt == 1
    assert sim_arguments(argparse.Namespace(crt=4), "posapp sim integranotas").crt == 4
    with pytest.raises(SystemExit):
        sim_arguments(["--crt", "5"], "posapp sim focusnfe")
