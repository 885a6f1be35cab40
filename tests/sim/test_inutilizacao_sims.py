"""The simulators' inutilização is as strict as SEFAZ behind the providers: homologated once
with a protocol and ``procInutNFe``, and refused for a range overlapping one already done
(256), the same range again (563), a range holding a número already used (241), a short
justificativa or a reversed range (the provider's validation). Plain HTTP over loopback."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.sim.integranotas import IntegraNotasSimulator
from tests.sim.test_provider_sims import focus_body

TOKEN = "sim-token-0123456789"
CNPJ = "22769530000131"
WHY = "Numeros pulados por falha no caixa"
NS = "{http://www.portalfiscal.inf.br/nfe}"


@pytest.fixture
def focus() -> Iterator[FocusNfeSimulator]:
    with FocusNfeSimulator(token=TOKEN) as sim:
        yield sim


@pytest.fixture
def integra() -> Iterator[IntegraNotasSimulator]:
    with IntegraNotasSimulator(token=TOKEN, cnpj=CNPJ) as sim:
        yield sim


def _focus(sim: FocusNfeSimulator, first: int, last: int, why: str = WHY, serie: int = 1) -> httpx.Response:
    body = {
        "cnpj": CNPJ,
        "serie": str(serie),
        "numero_inicial": str(first),
        "numero_final": str(last),
        "justificativa": why,
    }
    return httpx.post(f"{sim.url}/v2/nfce/inutilizacao", json=body, auth=(TOKEN, ""))


def _integra(
    sim: IntegraNotasSimulator, first: int, last: int, why: str = WHY, serie: int = 2
) -> dict[str, Any]:
    body = {"serie": serie, "numero_inicial": first, "numero_final": last, "justificativa": why}
    answer = httpx.post(f"{sim.url}/nfce/inutiliza", json=body, headers={"Authorization": TOKEN})
    data: dict[str, Any] = answer.json()
    return data


def _check_proc(xml: bytes, first: int, last: int, protocolo: str) -> None:
    root = ET.fromstring(xml)
    assert root.tag == f"{NS}procInutNFe"
    assert root.find(f"{NS}inutNFe/{NS}infInut/{NS}nNFIni").text == str(first)  # type: ignore[union-attr]
    assert root.find(f"{NS}inutNFe/{NS}infInut/{NS}nNFFin").text == str(last)  # type: ignore[union-attr]
    assert root.find(f"{NS}retInutNFe/{NS}infInut/{NS}cStat").text == "102"  # type: ignore[union-attr]
    assert root.find(f"{NS}retInutNFe/{NS}infInut/{NS}nProt").text == protocolo  # type: ignore[union-attr]


def test_focus_homologates_a_range_once_and_lists_it_with_its_xml(focus: FocusNfeSimulator) -> None:
    done = _focus(focus, 10, 12)
    assert done.status_code == 200
    body = done.json()
    assert (body["status"], body["status_sefaz"]) == ("autorizado", "102")
    xml = httpx.get(f"{focus.url}{body['caminho_xml']}", auth=(TOKEN, "")).content
    _check_proc(xml, 10, 12, body["protocolo_sefaz"])
    listed = httpx.get(f"{focus.url}/v2/nfce/inutilizacoes", params={"cnpj": CNPJ}, auth=(TOKEN, "")).json()
    assert [(e["numero_inicial"], e["numero_final"], e["protocolo_sefaz"]) for e in listed] == [
        ("10", "12", body["protocolo_sefaz"])
    ]

    again = _focus(focus, 10, 12).json()
    overlap = _focus(focus, 12, 14).json()
    assert (again["status"], again["status_sefaz"]) == ("erro_autorizacao", "563")
    assert (overlap["status"], overlap["status_sefaz"]) == ("erro_autorizacao", "256")
    assert len(focus.inutilizacoes.records) == 1


def test_focus_refuses_a_range_with_a_used_number_and_bad_requests(focus: FocusNfeSimulator) -> None:
    focus.inutilizacoes.records.clear()
    # A note Focus issued holds número 1 of série 1 (the provider tests' valid sale).
    issued = httpx.post(f"{focus.url}/v2/nfce", params={"ref": "venda1"}, json=focus_body(), auth=(TOKEN, ""))
    assert issued.json()["status"] == "autorizado", issued.text
    used = _focus(focus, 1, 3).json()
    assert (used["status"], used["status_sefaz"]) == ("erro_autorizacao", "241")
    assert _focus(focus, 5, 6, why="curta").status_code == 400
    assert _focus(focus, 6, 5).status_code == 400
    assert httpx.post(f"{focus.url}/v2/nfce/inutilizacao", json={}, auth=("wrong", "")).status_code in (
        401,
        403,
    )
    assert focus.inutilizacoes.records == []


def test_integra_homologates_once_refuses_overlaps_and_used_numbers(integra: IntegraNotasSimulator) -> None:
    done = _integra(integra, 4, 4)
    assert (done["sucesso"], done["codigo"]) == (True, 102)
    _check_proc(base64.b64decode(done["xml"]), 4, 4, done["protocolo"])
    assert _integra(integra, 4, 4)["codigo"] == 563
    assert _integra(integra, 3, 4)["codigo"] == 256
    assert _integra(integra, 5, 6, why="curta")["codigo"] == 5002
    # Another série is another numbering.
    assert _integra(integra, 4, 4, serie=3)["sucesso"] is True
    assert [(r.serie, r.first, r.last) for r in integra.inutilizacoes.records] == [(2, 4, 4), (3, 4, 4)]
