"""CANCEL_NFCE against the Emites simulator: the event, the window (501), the rejections."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest

from posapp.domain.documents import build_chave
from posapp.sim.emites import EmitesSimulator
from posapp.sim.emites_engine import EmitesFaults
from tests.sim.emites_wire import NFE, ask, example_text, latin1, with_sim

MINIMAL = example_text().encode("iso-8859-1")
MOTIVO = "Desistencia do comprador"
REJEICAO_501 = "501 - Rejeicao: Prazo de Cancelamento Superior ao Previsto na Legislacao"  # the README's text


async def issue(sim: EmitesSimulator) -> dict[str, Any]:
    answer = await ask(sim.port, "CREATE_NFCE", MINIMAL)
    assert answer["status"] == "sucesso"
    return answer


async def cancel(sim: EmitesSimulator, chave: object, motivo: object = MOTIVO) -> dict[str, Any]:
    payload: dict[str, Any] = {"chave_acesso": chave}
    if motivo is not None:
        payload["motivo"] = motivo
    return await ask(sim.port, "CANCEL_NFCE", latin1(payload))


def test_cancel_answers_cancelada_with_the_event_and_is_idempotent() -> None:
    got: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        got.append(await issue(sim))
        got.append(await cancel(sim, got[0]["resposta_emissao"]["chave_acesso"]))
        sim.advance_clock(timedelta(hours=2))  # asked again, even past the window
        got.append(
            await cancel(sim, got[0]["resposta_emissao"]["chave_acesso"], "Outro motivo qualquer aqui")
        )
        assert [r.identifier for r in sim.requests] == ["CREATE_NFCE", "CANCEL_NFCE", "CANCEL_NFCE"]
        assert next(iter(sim.notes.values())).cancelled

    with_sim(scenario)
    issued, cancelled, again = got
    chave = issued["resposta_emissao"]["chave_acesso"]
    assert cancelled["status"] == "cancelada"
    receipt = cancelled["resposta_cancelamento"]
    assert receipt["chave_acesso"] == chave
    assert re.fullmatch(r"\d{15}", receipt["numero_protocolo"])
    assert receipt["numero_protocolo"] != issued["resposta_emissao"]["numero_protocolo"]
    assert cancelled["nfe_numero"] == issued["nfe_numero"] and cancelled["cancel_xml_url"].startswith("http")
    assert "danfe" not in cancelled  # as in the vendor's cancel example
    event = ET.fromstring(base64.b64decode(cancelled["xml"]))
    inf = event.find(f"{NFE}evento/{NFE}infEvento")
    assert inf is not None
    assert inf.findtext(f"{NFE}tpEvento") == "110111"
    assert inf.findtext(f"{NFE}chNFe") == chave
    assert inf.findtext(f"{NFE}detEvento/{NFE}nProt") == issued["resposta_emissao"]["numero_protocolo"]
    assert inf.findtext(f"{NFE}detEvento/{NFE}xJust") == MOTIVO
    assert event.findtext(f"{NFE}retEvento/{NFE}infEvento/{NFE}cStat") == "135"
    assert event.findtext(f"{NFE}retEvento/{NFE}infEvento/{NFE}nProt") == receipt["numero_protocolo"]
    assert again == cancelled  # same protocol, same event: nothing new was registered


def test_the_window_closes_after_30_minutes_with_501() -> None:
    got: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        young, old = await issue(sim), await issue(sim)
        sim.advance_clock(timedelta(minutes=29, seconds=59))
        got.append(await cancel(sim, young["resposta_emissao"]["chave_acesso"]))
        sim.advance_clock(timedelta(minutes=1, seconds=2))  # 31 minutes and a second
        got.append(await cancel(sim, old["resposta_emissao"]["chave_acesso"]))
        got.append(old)

    with_sim(scenario)
    in_time, late, old = got
    assert in_time["status"] == "cancelada"
    assert late["status"] == "cancelamento_rejeitado"
    assert late["erros"] == {"rejeicao": [REJEICAO_501]}
    assert late["nfe_numero"] == old["nfe_numero"] and "xml" not in late


def test_the_window_is_a_knob() -> None:
    got: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.refuse_cancel_after = timedelta(minutes=5)
        note = await issue(sim)
        sim.advance_clock(timedelta(minutes=6))
        got.append(await cancel(sim, note["resposta_emissao"]["chave_acesso"]))

    with_sim(scenario)
    assert got[0]["erros"] == {"rejeicao": [REJEICAO_501]}


def test_unknown_and_malformed_keys_are_rejected() -> None:
    never_issued = build_chave(
        uf="DF", year_month="2401", cnpj="22769530000131", series=1, number=99, code="12345678"
    ).digits
    wrong_digit = never_issued[:43] + str((int(never_issued[43]) + 1) % 10)
    got: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        await issue(sim)
        for chave in (never_issued, wrong_digit, "1234", None):
            got.append(await cancel(sim, chave))

    with_sim(scenario)
    unknown, bad_digit, short, missing = got
    assert all(a["status"] == "cancelamento_rejeitado" for a in got)
    assert unknown["erros"] == {"rejeicao": ["217 - Rejeição: NF-e não consta na base de dados da SEFAZ"]}
    assert bad_digit["erros"] == {
        "rejeicao": ["236 - Rejeição: Chave de Acesso com dígito verificador inválido"]
    }
    assert short["erros"] == {"chave_acesso": ["não é válido"]}
    assert missing["erros"] == {"chave_acesso": ["não pode ficar em branco"]}


@pytest.mark.parametrize(
    ("motivo", "accepted"),
    [("x" * 14, False), ("x" * 15, True), ("y" * 255, True), ("y" * 256, False), (None, True), (42, False)],
)
def test_motivo_must_have_15_to_255_characters(motivo: object, accepted: bool) -> None:
    got: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        note = await issue(sim)
        got.append(await cancel(sim, note["resposta_emissao"]["chave_acesso"], motivo))

    with_sim(scenario)
    answer = got[0]
    if accepted:
        assert answer["status"] == "cancelada"
        event = ET.fromstring(base64.b64decode(answer["xml"]))
        just = event.findtext(f"{NFE}evento/{NFE}infEvento/{NFE}detEvento/{NFE}xJust")
        assert just == (motivo if motivo is not None else "Cancelamento solicitado pelo emitente")
    else:
        assert answer["status"] == "cancelamento_rejeitado"
        assert list(answer["erros"]) == ["motivo"]


def test_status_override_applies_to_cancel_too() -> None:
    got: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        note = await issue(sim)
        sim.faults = EmitesFaults(status_override="erro")  # a new object reaches the engine too
        got.append(await cancel(sim, note["resposta_emissao"]["chave_acesso"]))
        sim.faults.reset()
        got.append(await cancel(sim, note["resposta_emissao"]["chave_acesso"]))

    with_sim(scenario)
    failed, done = got
    assert failed["status"] == "erro" and failed["erros"]
    assert done["status"] == "cancelada"  # the erro cancelled nothing
