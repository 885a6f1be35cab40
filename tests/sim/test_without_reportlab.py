"""reportlab is optional: without it the simulators answer without a DANFE PDF and say why once.

The import is made to fail with a patched ``__import__`` (a real ``pip uninstall`` is not an
option in a shared venv); the simulator imports reportlab lazily, so this is what it meets.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import httpx
import pytest

from posapp.protocol.framing import Frame
from posapp.protocol.messages import ResponseStatus, parse_response
from posapp.sim import optional
from posapp.sim.emites import EmitesSimulator
from posapp.sim.integranotas import IntegraNotasSimulator
from tests.sim.emites_wire import Wire, example, latin1, with_sim
from tests.sim.test_provider_sims import TOKEN, integra_body

_real_import = builtins.__import__


def _import_without_reportlab(
    name: str,
    globals: Mapping[str, object] | None = None,
    locals: Mapping[str, object] | None = None,
    fromlist: Sequence[str] | None = (),
    level: int = 0,
) -> ModuleType:
    if level == 0 and name.partition(".")[0] == "reportlab":
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return _real_import(name, globals, locals, fromlist, level)


@pytest.fixture
def no_reportlab(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builtins, "__import__", _import_without_reportlab)
    monkeypatch.setattr(optional, "_reported", set())  # "once" starts again for this test


def test_emites_answers_sucesso_without_danfe_and_logs_once(
    no_reportlab: None, caplog: pytest.LogCaptureFixture
) -> None:
    frames: list[tuple[Frame, dict[str, Any]]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        async with await Wire.open(sim.port) as wire:
            for _ in range(2):
                frames.append(await wire.request("CREATE_NFCE", latin1(example())))

    with caplog.at_level(logging.WARNING, logger="posapp.sim"):
        with_sim(scenario)
    for _, answer in frames:
        assert answer["status"] == "sucesso", answer.get("erros")
        assert "danfe" not in answer  # omitted, never "" (the README's rule for missing values)
        assert answer["xml"] and answer["resposta_emissao"]["chave_acesso"]
    warnings = [r for r in caplog.records if r.name == "posapp.sim" and "reportlab" in r.getMessage()]
    assert len(warnings) == 1 and "DANFE" in warnings[0].getMessage()

    # the client reads such an answer as authorized with no PDF, as from an online provider
    response = parse_response(frames[0][0])
    assert response.status is ResponseStatus.SUCESSO and response.danfe is None
    assert response.chave == frames[0][1]["resposta_emissao"]["chave_acesso"]


def test_integranotas_pdf_is_not_found_without_reportlab(
    no_reportlab: None, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="posapp.sim"),
        IntegraNotasSimulator(token=TOKEN) as sim,
        httpx.Client(base_url=sim.url, headers={"Authorization": TOKEN}, timeout=3) as client,
    ):
        issued = client.post("/nfce", json=integra_body(1)).json()
        assert issued["sucesso"] is True
        assert client.get(f"/nfce/pdf/{issued['chave']}").status_code == 404
    assert any("reportlab" in r.getMessage() for r in caplog.records if r.name == "posapp.sim")
