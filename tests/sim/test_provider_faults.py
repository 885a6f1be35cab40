"""The stricter world's knobs of the Focus NFe and Integra Notas simulators, checked with a
plain HTTP client over loopback: lies about the chave, 5xx after issuing, refused queries,
garbage, duplicidade, the cancel race, and the ground truth under all of them."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from posapp.domain.documents import UF_CODES, parse_chave
from posapp.domain.errors import InvalidDocument
from posapp.domain.nfe_xml import read_nfe
from posapp.sim.errors import SimulatorError
from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.sim.http_sim import HttpSimulator, SimAnswer, SimFaults
from posapp.sim.integranotas import IntegraNotasSimulator
from posapp.sim.lies import LIE_MODES
from tests.sim.test_provider_sims import TOKEN, focus_body, integra_body

MOTIVO = {"justificativa": "Cliente desistiu da compra"}


@pytest.fixture
def focus() -> Iterator[FocusNfeSimulator]:
    with FocusNfeSimulator(token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
def focus_client(focus: FocusNfeSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=focus.url, auth=(TOKEN, ""), timeout=5) as client:
        yield client


@pytest.fixture
def integra() -> Iterator[IntegraNotasSimulator]:
    with IntegraNotasSimulator(token=TOKEN, enforce_rate_limits=False) as simulator:
        yield simulator


@pytest.fixture
def integra_client(integra: IntegraNotasSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=integra.url, headers={"Authorization": TOKEN}, timeout=5) as client:
        yield client


# -- the knobs themselves -----------------------------------------------------------------


def test_mode_knobs_refuse_what_they_do_not_know_and_clear_resets_all() -> None:
    faults = SimFaults()
    for name, value in [
        ("lying_chave", "other_planet"),
        ("garbage", "xml"),
        ("duplicidade", "maybe"),
        ("duplicate_detail", "some"),
        ("cancel_race", "135"),
        ("error_after_accept", 404),
        ("refuse_query", 500),
    ]:
        with pytest.raises(SimulatorError):
            setattr(faults, name, value)
    faults.lying_chave = "model_55"
    faults.error_after_accept = 503
    faults.refuse_query = 403
    faults.garbage = "html"
    faults.duplicidade = "foreign"
    faults.cancel_race = "573"
    faults.hang = True
    faults.clear()
    assert faults == SimFaults()


# -- 5xx after issuing ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_focus_error_after_accept_issues_then_answers_5xx(
    focus: FocusNfeSimulator, focus_client: httpx.Client, status: int
) -> None:
    focus.faults.error_after_accept = status
    answer = focus_client.post("/v2/nfce", params={"ref": "e1"}, json=focus_body())
    assert answer.status_code == status
    assert answer.json()["codigo"] == "erro_interno"
    assert [n.reference for n in focus.truth.notes] == ["e1"]  # issued all the same
    focus.faults.clear()
    assert focus_client.get("/v2/nfce/e1").json()["status"] == "autorizado"


def test_integra_error_after_accept_is_integras_json(
    integra: IntegraNotasSimulator, integra_client: httpx.Client
) -> None:
    integra.faults.error_after_accept = 500
    answer = integra_client.post("/nfce", json=integra_body(7))
    assert answer.status_code == 500
    assert answer.json() == {"sucesso": False, "codigo": 500, "mensagem": "Erro interno do servidor"}
    assert (2, 7) in integra.documents and [n.numero for n in integra.truth.notes] == [7]
    # A 5xx knob that processes nothing stays as it was.
    integra.faults.clear()
    integra.faults.status_5xx = 502
    assert integra_client.post("/nfce", json=integra_body(8)).status_code == 502
    assert (2, 8) not in integra.documents


def test_error_after_accept_applies_to_a_cancel_too(
    focus: FocusNfeSimulator, focus_client: httpx.Client
) -> None:
    focus_client.post("/v2/nfce", params={"ref": "c9"}, json=focus_body())
    focus.faults.error_after_accept = 502
    assert focus_client.request("DELETE", "/v2/nfce/c9", json=MOTIVO).status_code == 502
    assert focus.notes["c9"].status == "cancelado" and len(focus.truth.events) == 1


# -- 401/403 on queries ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_focus_refuses_the_query_token_while_issuing_works(
    focus: FocusNfeSimulator, focus_client: httpx.Client, status: int
) -> None:
    focus.faults.refuse_query = status
    issued = focus_client.post("/v2/nfce", params={"ref": "q1"}, json=focus_body())
    assert issued.status_code == 201 and issued.json()["status"] == "autorizado"
    refused = focus_client.get("/v2/nfce/q1")
    assert refused.status_code == status and refused.json()["codigo"] == "permissao_negada"
    assert focus_client.get(issued.json()["caminho_xml_nota_fiscal"]).status_code == 200
    assert focus_client.request("DELETE", "/v2/nfce/q1", json=MOTIVO).json()["status"] == "cancelado"


@pytest.mark.parametrize("status", [401, 403])
def test_integra_refuses_queries_and_searches_while_issuing_and_cancelling_work(
    integra: IntegraNotasSimulator, integra_client: httpx.Client, status: int
) -> None:
    integra.faults.refuse_query = status
    chave = integra_client.post("/nfce", json=integra_body(3)).json()["chave"]
    assert integra_client.get(f"/nfce/{chave}").status_code == status
    search = integra_client.post("/nfce/busca", json={"numero_inicial": 3, "numero_final": 3, "serie": 2})
    assert search.status_code == status and search.json()["sucesso"] is False
    assert integra_client.get("/nfce/offline").status_code == status
    assert integra_client.get("/nfce/status").status_code == 200
    cancelled = integra_client.post("/nfce/cancela", json={"chave": chave, **MOTIVO})
    assert cancelled.json()["codigo"] == 135


# -- garbage --------------------------------------------------------------------------------


def test_garbage_spoils_the_answer_after_processing(
    focus: FocusNfeSimulator, focus_client: httpx.Client
) -> None:
    focus.faults.garbage = "html"
    page = focus_client.post("/v2/nfce", params={"ref": "g1"}, json=focus_body())
    assert page.status_code == 201 and page.headers["content-type"].startswith("text/html")
    assert b"Bad Gateway" in page.content
    focus.faults.garbage = "truncated"
    cut = focus_client.get("/v2/nfce/g1")
    with pytest.raises(ValueError):
        json.loads(cut.content)
    focus.faults.garbage = "huge_numbers"
    huge = focus_client.get("/v2/nfce/g1")
    assert b'"id": 1e999999' in huge.content and b'"numero": 1e999999' in huge.content
    assert json.loads(huge.content)["chave_nfe"].startswith("NFe")  # valid JSON, absurd numbers
    focus.faults.garbage = "huge_numbers"
    missing = focus_client.get("/v2/nfce/nope")  # an answer without numbers gets one
    assert missing.status_code == 404 and b'"id": 1e999999' in missing.content
    assert [n.reference for n in focus.truth.notes] == ["g1"]


def test_integra_huge_numbers_reach_its_codigo(
    integra: IntegraNotasSimulator, integra_client: httpx.Client
) -> None:
    integra.faults.garbage = "huge_numbers"
    answer = integra_client.post("/nfce", json=integra_body(4))
    assert b'"codigo": 1e999999' in answer.content and b'"numero": 1e999999' in answer.content
    assert (2, 4) in integra.documents


# -- lying about the chave ------------------------------------------------------------------


def _lie_is(mode: str, told: str, real: str, uf: str) -> None:
    """``told`` is the lie ``mode`` about the note ``real``."""
    assert told != real
    if mode == "bad_check_digit":
        assert told[:43] == real[:43]
        with pytest.raises(InvalidDocument):
            parse_chave(told)
        return
    lie, truth = parse_chave(told), parse_chave(real)
    assert lie.code == truth.code and lie.year_month == truth.year_month
    changed = {
        "other_cnpj": lie.cnpj != truth.cnpj,
        "other_uf": lie.uf_code != truth.uf_code and truth.uf_code == UF_CODES[uf],
        "model_55": lie.model == "55" and truth.model == "65",
        "other_serie": lie.series != truth.series,
        "other_numero": lie.number != truth.number,
    }
    assert [m for m, yes in changed.items() if yes] == [mode]


@pytest.mark.parametrize("mode", LIE_MODES)
def test_focus_lies_consistently_about_the_note_it_issued(
    focus: FocusNfeSimulator, focus_client: httpx.Client, mode: str
) -> None:
    focus.faults.lying_chave = mode
    body = focus_client.post("/v2/nfce", params={"ref": "l1"}, json=focus_body()).json()
    (truth,) = focus.truth.notes
    told = body["chave_nfe"].removeprefix("NFe")
    assert truth.told_chave == told
    _lie_is(mode, told, truth.chave, "DF")
    assert focus_client.get("/v2/nfce/l1").json()["chave_nfe"] == body["chave_nfe"]  # the query lies too
    xml = focus_client.get(body["caminho_xml_nota_fiscal"]).content
    if mode == "bad_check_digit":
        assert read_nfe(xml).chave == truth.chave  # no XML carries the lie: the real one goes
    else:
        document = read_nfe(xml)  # a consistent lie: the XML tells it too
        assert document.chave == told and (document.serie, document.numero) == (
            int(body["serie"]),
            int(body["numero"]),
        )
    focus.faults.clear()
    cancelled = focus_client.request("DELETE", "/v2/nfce/l1", json=MOTIVO).json()
    assert cancelled["status"] == "cancelado" and cancelled["chave_nfe"] == body["chave_nfe"]
    assert [e.chave for e in focus.truth.events] == [truth.chave]


@pytest.mark.parametrize("mode", LIE_MODES)
def test_integra_lies_consistently_about_the_note_it_issued(
    integra: IntegraNotasSimulator, integra_client: httpx.Client, mode: str
) -> None:
    integra.faults.lying_chave = mode
    body = integra_client.post("/nfce", json=integra_body(21)).json()
    (truth,) = integra.truth.notes
    assert (truth.serie, truth.numero) == (2, 21) and truth.told_chave == body["chave"]
    _lie_is(mode, body["chave"], truth.chave, "DF")
    xml = base64.b64decode(body["xml"])
    if mode != "bad_check_digit":
        assert read_nfe(xml).chave == body["chave"]
        assert (int(body["serie"]), int(body["numero"])) == (read_nfe(xml).serie, read_nfe(xml).numero)
        # Asked by its lie, the liar finds the note; so does its search, lying the same way.
        assert integra_client.get(f"/nfce/{body['chave']}").json()["chave"] == body["chave"]
    search = integra_client.post("/nfce/busca", json={"numero_inicial": 1, "numero_final": 9999, "serie": 2})
    assert [d["chave"] for d in search.json()["data"]] == [body["chave"]]
    assert integra_client.get(f"/nfce/{truth.chave}").json()["chave"] == body["chave"]


# -- duplicidade ----------------------------------------------------------------------------


def test_integra_tells_204_from_539_by_what_the_sale_is(
    integra: IntegraNotasSimulator, integra_client: httpx.Client
) -> None:
    first = integra_client.post("/nfce", json=integra_body(30)).json()
    again = integra_client.post("/nfce", json=integra_body(30)).json()  # the same sale, resent
    assert (again["sucesso"], again["codigo"], again["chave"]) == (False, 204, first["chave"])
    other_sale = integra_body(30)
    other_sale["itens"][0]["quantidade_comercial"] = "3.00"
    other_sale["itens"][0]["valor_bruto"] = "13.50"
    other = integra_client.post("/nfce", json=other_sale).json()
    assert (other["codigo"], other["chave"]) == (539, first["chave"])
    assert "com diferença na Chave de Acesso" in other["mensagem"]
    assert f"[chNFe:{first['chave']}]" in other["mensagem"]
    # The same items from another till (another PDV-REF) are another sale, too.
    other_till = integra_body(30, informacoes_adicionais_contribuinte="PDV-REF:caixa2-venda1")
    assert integra_client.post("/nfce", json=other_till).json()["codigo"] == 539
    assert len(integra.truth.notes) == 1


def test_integra_duplicate_detail_says_more_or_less(
    integra: IntegraNotasSimulator, integra_client: httpx.Client
) -> None:
    first = integra_client.post("/nfce", json=integra_body(31)).json()
    integra.faults.duplicate_detail = "none"
    bare = integra_client.post("/nfce", json=integra_body(31)).json()
    assert "chave" not in bare and first["chave"] not in bare["mensagem"]
    integra.faults.duplicate_detail = "full"
    full = integra_client.post("/nfce", json=integra_body(31)).json()
    assert full["chave"] == first["chave"] and full["protocolo"] == first["protocolo"]
    assert read_nfe(base64.b64decode(full["xml"])).chave == first["chave"]


def test_integra_foreign_duplicidade_is_another_tills_note(
    integra: IntegraNotasSimulator, integra_client: httpx.Client
) -> None:
    integra.faults.duplicidade = "foreign"
    answer = integra_client.post("/nfce", json=integra_body(32)).json()
    (foreign,) = integra.truth.notes
    assert foreign.foreign is True and (foreign.serie, foreign.numero) == (2, 32)
    assert (answer["codigo"], answer["chave"]) == (539, foreign.chave)
    assert str(foreign.total) == "13.50"  # one unit more than this sale's 9.00


def test_integra_own_duplicidade_issues_this_note_and_says_204(
    integra: IntegraNotasSimulator, integra_client: httpx.Client
) -> None:
    integra.faults.duplicidade = "own"
    answer = integra_client.post("/nfce", json=integra_body(33)).json()
    (own,) = integra.truth.notes
    assert own.foreign is False and str(own.total) == "9.00"
    assert (answer["sucesso"], answer["codigo"], answer["chave"]) == (False, 204, own.chave)


def test_focus_duplicidade_knobs(focus: FocusNfeSimulator, focus_client: httpx.Client) -> None:
    focus.faults.duplicidade = "foreign"
    foreign = focus_client.post("/v2/nfce", params={"ref": "d1"}, json=focus_body())
    assert (foreign.status_code, foreign.json()["codigo"]) == (422, "nfe_autorizada")
    (held,) = focus.truth.notes
    assert held.foreign is True and held.reference == "d1" and str(held.total) == "34.93"
    focus.faults.duplicidade = "own"
    own = focus_client.post("/v2/nfce", params={"ref": "d2"}, json=focus_body())
    assert (own.status_code, own.json()["codigo"]) == (422, "nfe_autorizada")
    assert [(n.reference, n.foreign) for n in focus.truth.notes] == [("d1", True), ("d2", False)]
    focus.faults.clear()
    assert focus_client.get("/v2/nfce/d2").json()["status"] == "autorizado"


# -- the cancel race ------------------------------------------------------------------------


def _race(send: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Two cancels at once, each on its own connection and thread."""
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def one() -> None:
        response = send()
        with lock:
            results.append(response)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 2
    return results


def _cancel_answers(sim: HttpSimulator, method: str, path: str, count: int = 2) -> list[SimAnswer]:
    """The ``count`` answers to cancels, in the order the simulator wrote them. A handler
    records its answer once written, so a client may have read it a moment before: wait."""
    deadline = time.monotonic() + 5
    while True:
        found = [a for a in sim.answers if (a.request.method, a.request.path) == (method, path)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


@pytest.mark.parametrize("code", ["573", "218"])
def test_focus_cancel_race_first_wins_loser_heard_first(focus: FocusNfeSimulator, code: str) -> None:
    with httpx.Client(base_url=focus.url, auth=(TOKEN, ""), timeout=5) as client:
        client.post("/v2/nfce", params={"ref": "r1"}, json=focus_body())
    focus.faults.cancel_race = code

    def send() -> httpx.Response:
        return httpx.request("DELETE", f"{focus.url}/v2/nfce/r1", json=MOTIVO, auth=(TOKEN, ""), timeout=5)

    heard = sorted(r.json()["status_sefaz"] for r in _race(send))
    assert heard == sorted(["135", code])
    loser, winner = _cancel_answers(focus, "DELETE", "/v2/nfce/r1")  # written in this order
    assert loser.status == 200 and loser.json()["status"] == "erro_cancelamento"
    assert loser.json()["status_sefaz"] == code
    assert winner.json()["status"] == "cancelado" and winner.json()["status_sefaz"] == "135"
    assert len(focus.truth.events) == 1


@pytest.mark.parametrize("code", ["573", "218"])
def test_integra_cancel_race_first_wins_loser_heard_first(integra: IntegraNotasSimulator, code: str) -> None:
    headers = {"Authorization": TOKEN}
    chave = httpx.post(f"{integra.url}/nfce", json=integra_body(40), headers=headers, timeout=5).json()[
        "chave"
    ]
    integra.faults.cancel_race = code

    def send() -> httpx.Response:
        return httpx.post(
            f"{integra.url}/nfce/cancela", json={"chave": chave, **MOTIVO}, headers=headers, timeout=5
        )

    assert sorted(r.json()["codigo"] for r in _race(send)) == sorted([135, int(code)])
    loser, winner = _cancel_answers(integra, "POST", "/v1/nfce/cancela")
    assert (loser.json()["sucesso"], loser.json()["codigo"]) == (False, int(code))
    assert (winner.json()["sucesso"], winner.json()["codigo"]) == (True, 135)
    assert [e.protocolo for e in integra.truth.events] == [winner.json()["protocolo"]]


def test_a_lone_winner_is_not_held_forever(
    integra: IntegraNotasSimulator, integra_client: httpx.Client
) -> None:
    chave = integra_client.post("/nfce", json=integra_body(41)).json()["chave"]
    integra.faults.cancel_race = "573"
    integra.faults.cancel_race_wait_s = 0.2
    started = time.monotonic()
    assert integra_client.post("/nfce/cancela", json={"chave": chave, **MOTIVO}).json()["codigo"] == 135
    assert 0.2 <= time.monotonic() - started < 3
    # Without the knob a second cancel hears 218, as before.
    integra.faults.clear()
    assert integra_client.post("/nfce/cancela", json={"chave": chave, **MOTIVO}).json()["codigo"] == 218


# -- the ground truth -----------------------------------------------------------------------


def test_ground_truth_holds_only_what_consumed_a_number(
    focus: FocusNfeSimulator,
    focus_client: httpx.Client,
    integra: IntegraNotasSimulator,
    integra_client: httpx.Client,
) -> None:
    focus.queue_outcome("erro_autorizacao", "denegado", "processando_autorizacao")
    focus_client.post("/v2/nfce", params={"ref": "t1"}, json=focus_body())  # rejected: no note
    focus_client.post("/v2/nfce", params={"ref": "t2"}, json=focus_body())  # denied: a number used
    focus_client.post("/v2/nfce", params={"ref": "t4"}, json=focus_body())  # processing: a number used
    focus.faults.drop_after_accept = True
    with pytest.raises(httpx.RemoteProtocolError):
        focus_client.post("/v2/nfce", params={"ref": "t3"}, json=focus_body())
    assert [(n.reference, n.status) for n in focus.truth.notes] == [
        ("t2", "denegado"),
        ("t4", "processando"),
        ("t3", "autorizado"),
    ]

    integra.queue_outcome("rejeitado", "offline")
    integra_client.post("/nfce", json=integra_body(50))  # rejected and deleted: no note
    integra_client.post("/nfce", json=integra_body(51, informacoes_adicionais_contribuinte="PDV-REF:abc-1"))
    (note,) = integra.truth.notes
    assert (note.numero, note.status, note.reference, note.issuer) == (
        51,
        "contingencia",
        "abc-1",
        "integranotas",
    )
    assert integra.truth.cancelled(note.chave) == 0
