"""`posapp doctor` against the providers' simulators (issue 12, item 9): a token the provider refuses
(401/403) fails the doctor, with the reason in Portuguese; a token it accepts passes. The probe is
each provider's own health probe, sent with the token, so nothing is ever issued."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.null
import pytest

from posapp.config import ProviderConfig
from posapp.doctor import Level, check_provider, run_doctor
from posapp.doctor.issuers import PROBES
from posapp.fiscal.fastnotas import FastNotasBackend
from posapp.fiscal.focusnfe import ISSUE_PATH, PROBE_REF, FocusNfeBackend
from posapp.fiscal.integranotas import IntegraNotasBackend
from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.sim.http_sim import HttpSimulator, SimResponse
from posapp.sim.integranotas import IntegraNotasSimulator

TOKEN = "right-token-0123456789"
ENV = "POSAPP_DOCTOR_TEST_TOKEN"


@pytest.fixture(autouse=True)
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.null.Keyring())  # type: ignore[no-untyped-call]
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def focus() -> Iterator[FocusNfeSimulator]:
    with FocusNfeSimulator(token=TOKEN) as sim:
        yield sim


@pytest.fixture
def integra() -> Iterator[IntegraNotasSimulator]:
    with IntegraNotasSimulator(token=TOKEN) as sim:
        yield sim


def _provider(name: str, sim: HttpSimulator) -> ProviderConfig:
    return ProviderConfig.model_validate(
        {"name": name, "base_url": sim.url, "token_env": ENV, "timeout_s": 5}
    )


@pytest.mark.parametrize("name", ["focusnfe", "integranotas"])
def test_a_refused_token_fails_the_token_line(
    name: str,
    focus: FocusNfeSimulator,
    integra: IntegraNotasSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim: HttpSimulator = focus if name == "focusnfe" else integra
    monkeypatch.setenv(ENV, "a-token-the-provider-refuses")
    results = check_provider(_provider(name, sim))
    token = next(r for r in results if r.title.startswith("Token"))
    assert token.level is Level.FAIL
    assert "recusou o token" in token.message and "HTTP 401" in token.message
    assert ENV in token.action  # where to fix it
    reach = next(r for r in results if r.title.startswith("Provedor"))
    assert reach.level is Level.OK  # the host answers: only the token is wrong
    assert "a-token-the-provider-refuses" not in " ".join(r.message + r.action for r in results)


@pytest.mark.parametrize("name", ["focusnfe", "integranotas"])
def test_an_accepted_token_passes(
    name: str,
    focus: FocusNfeSimulator,
    integra: IntegraNotasSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim: HttpSimulator = focus if name == "focusnfe" else integra
    monkeypatch.setenv(ENV, TOKEN)
    results = check_provider(_provider(name, sim))
    assert [r.level for r in results if r.title.startswith(("Token", "Provedor"))] == [Level.OK, Level.OK]


class Focus403(FocusNfeSimulator):
    """Focus documents 403 for token trouble (its simulator answers 401 by contract)."""

    def unauthorized(self, status: int = 401) -> SimResponse:
        return SimResponse.json(403, {"codigo": "permissao_negada", "mensagem": "Acesso negado"})


def test_a_403_fails_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "a-token-the-provider-refuses")
    with Focus403(token=TOKEN) as sim:
        results = check_provider(_provider("focusnfe", sim))
    token = next(r for r in results if r.title.startswith("Token"))
    assert token.level is Level.FAIL and "HTTP 403" in token.message


def test_doctor_exits_1_and_never_says_ready_with_a_refused_token(
    focus: FocusNfeSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "a-token-the-provider-refuses")
    config = tmp_path / "posapp.toml"
    config.write_text(
        '[emites]\nenabled = false\n[printer]\nuri = "none"\n'
        f'[[providers]]\nname = "focusnfe"\nbase_url = "{focus.url}"\ntoken_env = "{ENV}"\ntimeout_s = 5\n',
        encoding="utf-8",
    )
    data = tmp_path / "data"
    data.mkdir()
    out = io.StringIO()
    code = run_doctor(config, data, test_page=False, out=out)
    report = out.getvalue()
    assert code == 1, report
    assert "Tudo pronto para vender" not in report
    assert "recusou o token" in report and "Há problemas a corrigir" in report

    monkeypatch.setenv(ENV, TOKEN)
    out = io.StringIO()
    assert run_doctor(config, data, test_page=False, out=out) == 0, out.getvalue()
    assert "Tudo pronto para vender" in out.getvalue()


def test_the_probes_are_the_adapters_own() -> None:
    """The doctor asks what each adapter's probe() asks, with the token sent the same way."""
    assert PROBES["focusnfe"] == (f"{ISSUE_PATH.strip('/')}/{PROBE_REF}", FocusNfeBackend.auth_style)
    assert PROBES["integranotas"][1] == IntegraNotasBackend.auth_style
    assert PROBES["fastnotas"][1] == FastNotasBackend.auth_style
    assert set(PROBES) == {"focusnfe", "integranotas", "fastnotas"}
