"""The stricter world's knobs of the Emites simulator, over its own wire: a lying chave, an
``erro`` after issuing, absurd numbers, the cancel race, and the ground truth."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

import pytest

from posapp.domain.documents import parse_chave
from posapp.domain.errors import InvalidDocument
from posapp.domain.nfe_xml import read_nfe
from posapp.sim.emites import EmitesSimulator, huge_numbers
from posapp.sim.emites_engine import EmitesFaults
from posapp.sim.errors import SimulatorError
from posapp.sim.lies import LIE_MODES
from tests.sim.emites_wire import Wire, ask, example, latin1, with_sim

MOTIVO = "Desistencia do comprador"


def request_with_reference(reference: str = "caixa1-venda9") -> bytes:
    body = example()
    body["informacoes_adicionais"] = {"informacoes_contribuinte": f"PDV-REF:{reference}"}
    return latin1(body)


async def issue(sim: EmitesSimulator) -> dict[str, Any]:
    return await ask(sim.port, "CREATE_NFCE", request_with_reference())


async def cancel(sim: EmitesSimulator, chave: str) -> dict[str, Any]:
    return await ask(sim.port, "CANCEL_NFCE", latin1({"chave_acesso": chave, "motivo": MOTIVO}))


def test_knobs_refuse_unknown_modes() -> None:
    faults = EmitesFaults()
    for name, value in [("lying_chave", "nope"), ("status_after_issue", "sucesso"), ("cancel_race", "135")]:
        with pytest.raises(SimulatorError):
            setattr(faults, name, value)
    faults.lying_chave, faults.status_after_issue, faults.cancel_race = "other_uf", "erro", "573"
    faults.reset()
    assert faults == EmitesFaults()


@pytest.mark.parametrize("mode", LIE_MODES)
def test_lying_chave_issues_the_real_note_and_tells_another(mode: str) -> None:
    got: dict[str, Any] = {}

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.lying_chave = mode
        got["answer"] = await issue(sim)
        told = got["answer"]["resposta_emissao"]["chave_acesso"]
        sim.faults.reset()
        got["cancel"] = await cancel(sim, told)
        got["truth"] = sim.truth

    with_sim(scenario)
    answer = got["answer"]
    (note,) = got["truth"].notes
    told = answer["resposta_emissao"]["chave_acesso"]
    assert answer["status"] == "sucesso" and note.told_chave == told != note.chave
    assert note.reference == "caixa1-venda9" and note.issuer == "emites"
    xml = read_nfe(base64.b64decode(answer["xml"]))
    if mode == "bad_check_digit":
        with pytest.raises(InvalidDocument):
            parse_chave(told)
        assert xml.chave == note.chave  # no document carries the lie
        assert got["cancel"]["status"] == "cancelamento_rejeitado"  # 236: the lie is no chave
        assert got["truth"].events == []
    else:
        assert xml.chave == told and (xml.serie, xml.numero) == (answer["serie"], answer["nfe_numero"])
        lie, truth = parse_chave(told), parse_chave(note.chave)
        assert (lie.model == "55") is (mode == "model_55")
        assert (lie.cnpj != truth.cnpj) is (mode == "other_cnpj")
        assert (lie.uf_code != truth.uf_code) is (mode == "other_uf")
        assert (lie.series != truth.series) is (mode == "other_serie")
        assert (lie.number != truth.number) is (mode == "other_numero")
        assert got["cancel"]["status"] == "cancelada"  # asked by its lie, the liar finds the note
        assert [e.chave for e in got["truth"].events] == [note.chave]


@pytest.mark.parametrize("status", ["erro", "processando"])
def test_status_after_issue_issues_then_says_otherwise(status: str) -> None:
    got: dict[str, Any] = {}

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.status_after_issue = status
        got["answer"] = await issue(sim)
        got["notes"] = len(sim.notes)

    sim = with_sim(scenario)
    assert got["answer"]["status"] == status and got["notes"] == 1
    assert ("erros" in got["answer"]) is (status == "erro")
    assert len(sim.truth.notes) == 1


def test_huge_numbers_are_valid_json_with_absurd_numbers() -> None:
    assert huge_numbers('{\n  "id": 4,\n  "x": "a"\n}') == '{\n  "id": 1e999999,\n  "x": "a"\n}'
    assert huge_numbers('{"x": "a"}').startswith('{"id": 1e999999, ')
    got: dict[str, Any] = {}

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.huge_numbers = True
        async with await Wire.open(sim.port) as wire:
            await wire.send("CREATE_NFCE", request_with_reference())
            got["frame"] = await wire.read_frame()

    sim = with_sim(scenario)
    payload = got["frame"].payload.decode("iso-8859-1")
    assert re.search(r'"id": 1e999999', payload) and re.search(r'"nfe_numero": 1e999999', payload)
    assert len(sim.truth.notes) == 1


@pytest.mark.parametrize("code", ["573", "218"])
def test_cancel_race_first_wins_and_the_loser_is_heard_first(code: str) -> None:
    got: dict[str, Any] = {}

    async def scenario(sim: EmitesSimulator) -> None:
        chave = (await issue(sim))["resposta_emissao"]["chave_acesso"]
        sim.faults.cancel_race = code
        heard: list[str] = []

        async def one(wire: Wire) -> None:
            _, answer = await wire.request("CANCEL_NFCE", {"chave_acesso": chave, "motivo": MOTIVO})
            heard.append(answer["status"])
            got.setdefault("answers", []).append(answer)

        first, second = await Wire.open(sim.port), await Wire.open(sim.port)
        try:
            winner = asyncio.create_task(one(first))
            await asyncio.sleep(0.1)  # the first is processed (and held) before the second comes
            await one(second)
            await winner
        finally:
            await first.close()
            await second.close()
        got["heard"] = heard

    sim = with_sim(scenario)
    assert got["heard"] == ["cancelamento_rejeitado", "cancelada"]  # the loser hears first
    loser = got["answers"][0]
    assert loser["erros"]["rejeicao"][0].startswith(f"{code} - Rejeição")
    assert len(sim.truth.events) == 1


def test_cancel_race_winner_alone_is_released_after_the_wait() -> None:
    async def scenario(sim: EmitesSimulator) -> None:
        chave = (await issue(sim))["resposta_emissao"]["chave_acesso"]
        sim.faults.cancel_race = "573"
        sim.faults.cancel_race_wait_s = 0.2
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert (await cancel(sim, chave))["status"] == "cancelada"
        assert 0.2 <= loop.time() - started < 3
        again = await cancel(sim, chave)  # a later retry hears 573 too
        assert again["status"] == "cancelamento_rejeitado" and "573" in again["erros"]["rejeicao"][0]

    with_sim(scenario)
