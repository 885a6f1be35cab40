"""The Focus NFe and Integra Notas simulators as HTTP servers: the documented contracts, the
fault knobs, and the command line, checked with a plain HTTP client over loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.sim.integranotas import IntegraNotasSimulator
from tests.sim.emites_wire import HAS_REPORTLAB

TOKEN = "sim-token-0123456789"


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def focus_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cnpj_emitente": "22769530000131",
        "data_emissao": datetime.now(UTC).isoformat(timespec="seconds"),
        "natureza_operacao": "VENDA AO CONSUMIDOR",
        "items": [
            {
                "numero_item": "1",
                "codigo_produto": "14600",
                "descricao": "Cerveja Pilsen 350ml",
                "codigo_ncm": "22030000",
                "cfop": "5102",
                "unidade_comercial": "UN",
                "quantidade_comercial": "6.00",
                "valor_unitario_comercial": "4.99",
                "valor_bruto": "29.94",
                "icms_origem": "0",
                "icms_situacao_tributaria": "102",
                "pis_situacao_tributaria": "49",
                "cofins_situacao_tributaria": "49",
            }
        ],
        "formas_pagamento": [{"forma_pagamento": "01", "valor_pagamento": "29.94"}],
    }
    body.update(overrides)
    return body


def integra_body(numero: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "natureza_operacao": "VENDA AO CONSUMIDOR",
        "serie": "2",
        "numero": str(numero),
        "data_emissao": datetime.now(UTC).isoformat(timespec="seconds"),
        "itens": [
            {
                "numero_item": "1",
                "codigo_produto": "000297",
                "descricao": "SAL GROSSO 1KG",
                "codigo_ncm": "25010020",
                "cfop": "5102",
                "unidade_comercial": "UN",
                "quantidade_comercial": "2.00",
                "valor_unitario_comercial": "4.50",
                "valor_bruto": "9.00",
                "origem": "0",
                "imposto": {
                    "icms": {"situacao_tributaria": "102"},
                    "pis": {"situacao_tributaria": "49"},
                    "cofins": {"situacao_tributaria": "49"},
                },
            }
        ],
        "pagamento": {"formas_pagamento": [{"meio_pagamento": "01", "valor": "9.00"}]},
    }
    body.update(overrides)
    return body


@pytest.fixture
def focus() -> Iterator[FocusNfeSimulator]:
    with FocusNfeSimulator(token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
def focus_client(focus: FocusNfeSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=focus.url, auth=(TOKEN, ""), timeout=3) as client:
        yield client


# -- Focus NFe ----------------------------------------------------------------------------


def test_focus_token_ref_rules_and_rate_headers(focus: FocusNfeSimulator, focus_client: httpx.Client) -> None:
    anonymous = httpx.post(f"{focus.url}/v2/nfce?ref=a1", json=focus_body(), timeout=3)
    assert anonymous.status_code == 401
    wrong = httpx.post(f"{focus.url}/v2/nfce?ref=a1", json=focus_body(), auth=("nope", ""), timeout=3)
    assert wrong.status_code == 401
    assert focus.issued() == []

    missing = focus_client.post("/v2/nfce", json=focus_body())
    assert (missing.status_code, missing.json()["codigo"]) == (400, "ref_ausente")

    issued = focus_client.post("/v2/nfce", params={"ref": "a1"}, json=focus_body())
    assert issued.status_code == 201
    body = issued.json()
    assert body["status"] == "autorizado" and body["ref"] == "a1" and body["chave_nfe"].startswith("NFe")
    assert issued.headers["Rate-Limit-Limit"] == "100"
    assert int(issued.headers["Rate-Limit-Remaining"]) < 100

    again = focus_client.post("/v2/nfce", params={"ref": "a1"}, json=focus_body())
    assert (again.status_code, again.json()["codigo"]) == (422, "nfe_autorizada")

    assert focus_client.get("/v2/nfce/a1").json()["status"] == "autorizado"
    assert focus_client.get("/v2/nfce/zz9").status_code == 404
    xml = focus_client.get(body["caminho_xml_nota_fiscal"])
    assert xml.status_code in (200, 404)  # 404 only while the XML builder is unavailable
    assert httpx.get(f"{focus.url}{body['caminho_xml_nota_fiscal']}", timeout=3).status_code == 401
    danfe = focus_client.get(body["caminho_danfe"])
    assert danfe.headers["content-type"].startswith("text/html")


def test_focus_ref_is_reusable_after_a_rejection_only(
    focus: FocusNfeSimulator, focus_client: httpx.Client
) -> None:
    focus.queue_outcome("erro_autorizacao")
    rejected = focus_client.post("/v2/nfce", params={"ref": "r1"}, json=focus_body()).json()
    assert rejected["status"] == "erro_autorizacao" and rejected["status_sefaz"] == "591"
    accepted = focus_client.post("/v2/nfce", params={"ref": "r1"}, json=focus_body()).json()
    assert accepted["status"] == "autorizado"
    late = focus_client.post(
        "/v2/nfce", params={"ref": "r2"}, json=focus_body(data_emissao="2020-01-01T10:00:00-03:00")
    )
    assert late.json()["status_sefaz"] == "704"
    floats = focus_client.post(
        "/v2/nfce", params={"ref": "r3"}, content=b'{"cnpj_emitente":"1","data_emissao":"x","items":[]'
    )
    assert floats.status_code == 415


def test_focus_cancel_contract(focus: FocusNfeSimulator, focus_client: httpx.Client) -> None:
    focus_client.post("/v2/nfce", params={"ref": "c1"}, json=focus_body())
    short = focus_client.request("DELETE", "/v2/nfce/c1", json={"justificativa": "curta"})
    assert (short.status_code, short.json()["codigo"]) == (400, "requisicao_invalida")
    done = focus_client.request("DELETE", "/v2/nfce/c1", json={"justificativa": "Cliente desistiu da compra"})
    assert done.json()["status"] == "cancelado" and done.json()["status_sefaz"] == "135"
    xml = focus_client.get(done.json()["caminho_xml_cancelamento"])
    assert xml.status_code == 200 and b"110111" in xml.content
    twice = focus_client.request(
        "DELETE", "/v2/nfce/c1", json={"justificativa": "Cliente desistiu da compra"}
    )
    assert twice.json()["codigo"] == "nfe_cancelada"


def test_focus_over_one_hundred_calls_a_minute_gets_429() -> None:
    clock = FakeClock()
    with (
        FocusNfeSimulator(token=TOKEN, clock=clock, rate_limit_per_minute=5) as sim,
        httpx.Client(base_url=sim.url, auth=(TOKEN, ""), timeout=3) as client,
    ):
        statuses = [client.get("/v2/nfce/x").status_code for _ in range(6)]
        assert statuses == [404] * 5 + [429]
        clock.advance(61)
        assert client.get("/v2/nfce/x").status_code == 404


def test_fault_knobs(focus: FocusNfeSimulator, focus_client: httpx.Client) -> None:
    focus.faults.slow_s = 0.3
    started = time.monotonic()
    assert focus_client.get("/v2/nfce/x").status_code == 404
    assert time.monotonic() - started >= 0.3
    focus.faults.clear()

    focus.faults.status_5xx = 503
    assert focus_client.post("/v2/nfce", params={"ref": "f1"}, json=focus_body()).status_code == 503
    assert focus.issued() == []  # a 5xx fault processes nothing
    focus.faults.clear()

    focus.faults.rate_limit = True
    limited = focus_client.get("/v2/nfce/x")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.headers["Rate-Limit-Remaining"] == "0"
    focus.faults.clear()

    focus.faults.hang = True
    with pytest.raises(httpx.ReadTimeout):
        focus_client.get("/v2/nfce/x", timeout=0.3)
    focus.faults.clear()

    focus.faults.drop_after_accept = True
    with pytest.raises(httpx.RemoteProtocolError):
        focus_client.post("/v2/nfce", params={"ref": "d1"}, json=focus_body())
    focus.faults.clear()
    assert focus_client.get("/v2/nfce/d1").json()["status"] == "autorizado"  # issued before the drop
    assert len(focus.requests_to("POST", "/v2/nfce")) == 2


# -- Integra Notas ------------------------------------------------------------------------


@pytest.fixture
def integra() -> Iterator[IntegraNotasSimulator]:
    with IntegraNotasSimulator(token=TOKEN) as simulator:
        yield simulator


def test_integra_contract(integra: IntegraNotasSimulator) -> None:
    assert integra.url.endswith("/v1")
    with httpx.Client(base_url=integra.url, headers={"Authorization": TOKEN}, timeout=3) as client:
        assert httpx.post(f"{integra.url}/nfce", json=integra_body(1), timeout=3).status_code == 401
        bearer = httpx.post(
            f"{integra.url}/nfce",
            json=integra_body(1),
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=3,
        )
        assert bearer.status_code == 401

        missing = client.post("/nfce", json={**integra_body(1), "numero": ""})
        assert missing.json()["codigo"] == 5001

        issued = client.post("/nfce", json=integra_body(1)).json()
        assert issued["sucesso"] is True and len(issued["chave"]) == 44
        assert issued["chave"][22:34] == "002000000001"

        duplicate = client.post("/nfce", json=integra_body(1)).json()
        assert (duplicate["sucesso"], duplicate["codigo"]) == (False, 204)

        found = client.post("/nfce/busca", json={"numero_inicial": 1, "numero_final": 5, "serie": 2}).json()
        assert [d["chave"] for d in found["data"]] == [issued["chave"]]
        assert client.get(f"/nfce/{issued['chave']}").json()["status"] == "autorizado"
        if HAS_REPORTLAB:
            pdf = client.get(f"/nfce/pdf/{issued['chave']}").json()["pdf"]
            assert pdf.startswith("JVBERi0")  # base64 of "%PDF-"
        assert client.get("/nfce/status").json()["sucesso"] is True

        integra.queue_outcome("rejeitado")
        rejected = client.post("/nfce", json=integra_body(2)).json()
        assert rejected["sucesso"] is False and (2, 2) not in integra.documents  # deleted, number reusable
        assert client.post("/nfce", json=integra_body(2)).json()["sucesso"] is True

        integra.queue_outcome("sefaz_erro")
        trouble = client.post("/nfce", json=integra_body(3)).json()
        assert trouble["codigo"] == 5008 and len(trouble["chave"]) == 44


def test_integra_refuses_bodies_over_two_megabytes(integra: IntegraNotasSimulator) -> None:
    big = b'{"x":"' + b"a" * (2 * 1024 * 1024) + b'"}'
    response = httpx.post(
        f"{integra.url}/nfce",
        content=big,
        headers={"Authorization": TOKEN, "Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 413
    assert integra.documents == {}


def test_integra_per_chave_limit_blocks_the_token_for_five_minutes() -> None:
    clock = FakeClock()
    with (
        IntegraNotasSimulator(token=TOKEN, clock=clock) as sim,
        httpx.Client(base_url=sim.url, headers={"Authorization": TOKEN}, timeout=3) as client,
    ):
        chave = client.post("/nfce", json=integra_body(9)).json()["chave"]
        assert [client.get(f"/nfce/{chave}").status_code for _ in range(3)] == [200, 200, 429]
        blocked = client.get("/nfce/status")
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 250
        clock.advance(301)
        assert client.get("/nfce/status").status_code == 200


# -- command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "probe_path"), [("focusnfe", "/v2/nfce/x"), ("integranotas", "/v1/nfce/status")]
)
def test_sim_command_writes_its_port_and_stops_on_sigterm(tmp_path: Path, kind: str, probe_path: str) -> None:
    port_file = tmp_path / "port"
    env = {**os.environ, "POSAPP_SIM_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "posapp", "sim", kind, "--port", "0", "--port-file", str(port_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        port = int(port_file.read_text())
        headers = {"Authorization": TOKEN} if kind == "integranotas" else None
        auth = (TOKEN, "") if kind == "focusnfe" else None
        response = httpx.get(f"http://127.0.0.1:{port}{probe_path}", headers=headers, auth=auth, timeout=3)
        assert response.status_code in (200, 404) and response.headers["content-type"].startswith(
            "application/json"
        )
        bad = httpx.get(f"http://127.0.0.1:{port}{probe_path}", timeout=3)
        assert bad.status_code == 401
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert f"127.0.0.1:{port}" in out.decode()
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
