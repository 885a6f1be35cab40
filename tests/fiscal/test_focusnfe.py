"""Focus NFe adapter against the loopback Focus simulator, plus the shared HTTP plumbing and
the token handling it relies on. Real sockets everywhere: the client under test is the real
httpx client, the server a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import keyring
import keyring.backend
import keyring.errors
import pytest

from posapp.config import Config, ProviderConfig, mask_token
from posapp.domain.documents import parse_chave
from posapp.domain.errors import CancelRefused
from posapp.domain.issuance import (
    CancelOutcome,
    CancelTarget,
    Health,
    IssueContext,
    IssueResult,
    Outcome,
    PreparedIssue,
)
from posapp.domain.sale import Sale
from posapp.fiscal.errors import BackendMisconfigured
from posapp.fiscal.focusnfe import FocusNfeBackend, build_focus_body
from posapp.fiscal.http_base import ProviderHttp, ProviderRequestError, parse_retry_after, read_nfeproc
from posapp.fiscal.secrets import SecretToken, TokenNotFound, redact, resolve_token
from posapp.sim.focusnfe import FocusNfeSimulator
from tests.conftest import sale_mapping
from tests.fiscal.provider_helpers import FakeClock, issue_once, run

TOKEN = "focus-test-token-0123456789abcdef"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"


@pytest.fixture
def sim() -> Iterator[FocusNfeSimulator]:
    with FocusNfeSimulator(token=TOKEN, processing_queries=0) as simulator:
        yield simulator


def provider_for(port: int, *, timeout_s: float = 3.0) -> ProviderConfig:
    return ProviderConfig(name="focusnfe", base_url=f"http://127.0.0.1:{port}", timeout_s=timeout_s)


def backend_for(sim: FocusNfeSimulator, **kwargs: Any) -> FocusNfeBackend:
    timeout_s = kwargs.pop("timeout_s", 3.0)
    token = kwargs.pop("token", TOKEN)
    return FocusNfeBackend(provider_for(sim.port, timeout_s=timeout_s), Config(), token=token, **kwargs)


def context(sale_id: str = "sale0001", **overrides: Any) -> IssueContext:
    sale = Sale.from_mapping(sale_mapping(**overrides), sale_id=sale_id)
    return IssueContext(sale=sale, reference=sale_id, emitted_at=datetime.now(UTC))


def assert_no_token(*texts: object) -> None:
    basic = base64.b64encode(f"{TOKEN}:".encode()).decode()
    for text in texts:
        if text is None:
            continue
        blob = text if isinstance(text, (bytes, str)) else repr(text)
        blob = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
        assert TOKEN not in blob and basic not in blob


# -- the request body -----------------------------------------------------------------------


def test_prepared_body_is_exact_json_without_floats_and_carries_the_ref() -> None:
    backend = FocusNfeBackend(provider_for(9), Config(), token=TOKEN)
    ctx = context("venda42")
    prepared = backend.prepare_issue(ctx)
    assert prepared.backend == "focusnfe"
    assert prepared.reference == "venda42"
    assert prepared.meta["ref"] == "venda42"
    body = json.loads(prepared.payload, parse_float=Decimal)
    assert prepared.payload == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert body["cnpj_emitente"] == Config().store.cnpj
    assert body["cpf_destinatario"] == "52998224725"
    beer, bread = body["items"]
    assert (beer["quantidade_comercial"], beer["valor_unitario_comercial"], beer["valor_bruto"]) == (
        "6.00",
        "4.99",
        "29.94",
    )
    assert (bread["quantidade_comercial"], bread["valor_bruto"]) == ("0.375", "5.96")
    assert bread["codigo_barras_comercial"] == "SEM GTIN"
    assert body["formas_pagamento"] == [{"forma_pagamento": "01", "valor_pagamento": "50.00"}]
    assert body["valor_troco"] == "14.10"  # 50.00 - 35.90

    def no_floats(value: Any) -> None:
        assert not isinstance(value, (float, Decimal)), value
        if isinstance(value, dict):
            for item in value.values():
                no_floats(item)
        if isinstance(value, list):
            for item in value:
                no_floats(item)

    no_floats(body)
    assert_no_token(prepared.payload, prepared.meta)
    assert ctx.emitted_at is not None
    assert datetime.fromisoformat(body["data_emissao"]) == ctx.emitted_at.replace(microsecond=0)


def test_card_payment_and_refs_focus_would_refuse() -> None:
    sale = Sale.from_mapping(
        sale_mapping(
            payments=[
                {"method": "credito", "amount": "35.90", "card": {"brand": "02", "authorization": "A1B2"}}
            ]
        )
    )
    body = build_focus_body(sale, Config(), emitted_at=datetime.now(UTC))
    assert body["formas_pagamento"] == [
        {
            "forma_pagamento": "03",
            "valor_pagamento": "35.90",
            "tipo_integracao": "2",
            "bandeira_operadora": "02",
            "numero_autorizacao": "A1B2",
        }
    ]
    assert "valor_troco" not in body
    backend = FocusNfeBackend(provider_for(9), Config(), token=TOKEN)
    with pytest.raises(ProviderRequestError):
        backend.prepare_issue(IssueContext(sale=sale, reference="ref with spaces/x"))


# -- issuing ------------------------------------------------------------------------------


def test_authorized_note_comes_with_the_downloaded_xml(sim: FocusNfeSimulator) -> None:
    result = run(issue_once(backend_for(sim), context()))
    assert result.outcome is Outcome.AUTHORIZED, result
    note = result.note
    assert note is not None
    chave = parse_chave(note.chave)
    assert (chave.cnpj, chave.series, chave.number) == (Config().store.cnpj, 1, 1)
    assert (note.numero, note.serie, note.danfe_pdf, note.contingency) == (1, 1, None, False)
    assert note.xml is not None and note.chave.encode() in note.xml
    facts = read_nfeproc(note.xml)
    assert facts is not None and facts.protocolo == note.protocolo is not None
    assert facts.chave == note.chave and facts.authorized_at == note.authorized_at
    assert b"<vTroco>14.10</vTroco>" in note.xml and b"<CPF>52998224725</CPF>" in note.xml
    assert note.authorized_at.tzinfo is not None
    posts = sim.requests_to("POST", "/v2/nfce")
    assert len(posts) == 1 and posts[0].query == {"ref": "sale0001"}
    user = base64.b64decode(posts[0].headers["authorization"].removeprefix("Basic ")).decode()
    assert user == f"{TOKEN}:"
    assert sim.requests_to("GET", "/arquivos/"), "the XML was downloaded from caminho_xml_nota_fiscal"
    assert_no_token(result.raw_response, result.detail)


def test_rejection_then_resend_with_the_same_ref(sim: FocusNfeSimulator) -> None:
    sim.queue_outcome("erro_autorizacao")

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            rejected = await backend.send_issue(backend.prepare_issue(context()))
            assert rejected.outcome is Outcome.REJECTED
            assert any("591" in e for e in rejected.errors)
            again = await backend.send_issue(backend.prepare_issue(context()))
            assert again.outcome is Outcome.AUTHORIZED

    run(scenario())
    assert len(sim.issued()) == 1


def test_denied_note_is_a_rejection_that_says_so(sim: FocusNfeSimulator) -> None:
    sim.queue_outcome("denegado")
    result = run(issue_once(backend_for(sim), context()))
    assert result.outcome is Outcome.REJECTED
    assert "denegado" in result.errors[0].lower()
    assert "cannot be resent" in result.detail


def test_processing_then_authorized_on_query(sim: FocusNfeSimulator) -> None:
    sim.queue_outcome("processando_autorizacao")

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            prepared = backend.prepare_issue(context())
            first = await backend.send_issue(prepared)
            assert first.outcome is Outcome.IN_DOUBT and "processando" in first.detail
            queried = await backend.query_issue(prepared)
            assert queried.outcome is Outcome.AUTHORIZED and queried.note is not None
            assert queried.note.xml is not None

    run(scenario())
    assert len(sim.requests_to("POST", "/v2/nfce")) == 1


def test_offline_contingency_is_flagged(sim: FocusNfeSimulator) -> None:
    sim.queue_outcome("contingencia")
    result = run(issue_once(backend_for(sim), context()))
    assert result.outcome is Outcome.AUTHORIZED and result.note is not None
    assert result.note.contingency is True
    assert parse_chave(result.note.chave).emission_type == 9
    assert result.note.protocolo is None  # not transmitted to SEFAZ yet
    assert result.note.xml is not None and b"<tpEmis>9</tpEmis>" in result.note.xml


def test_answer_lost_after_accept_is_in_doubt_and_the_same_ref_finds_it(sim: FocusNfeSimulator) -> None:
    sim.faults.drop_after_accept = True

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            prepared = backend.prepare_issue(context())
            lost = await backend.send_issue(prepared)
            assert lost.outcome is Outcome.IN_DOUBT, lost
            assert "after the request was written" in lost.detail
            sim.faults.clear()
            found = await backend.query_issue(prepared)
            assert found.outcome is Outcome.AUTHORIZED and found.note is not None
            first = sim.issued()[0].note
            assert first is not None and found.note.chave == first.chave
            # A blind resend of the same ref is answered "already authorized": no second note,
            # and no verdict either (another sale could hold the ref). It is a duplicate, in
            # doubt, carrying the note the ref holds for the services to judge.
            resent = await backend.send_issue(prepared)
            assert resent.outcome is Outcome.IN_DOUBT and resent.duplicate is True
            assert resent.note is not None and resent.note.chave == found.note.chave

    run(scenario())
    assert len(sim.issued()) == 1
    assert len(sim.requests_to("POST", "/v2/nfce")) == 2  # the lost one, and the blind resend
    assert all(r.query["ref"] == "sale0001" for r in sim.requests_to("POST", "/v2/nfce"))


def test_query_of_a_ref_focus_never_got_is_not_sent(sim: FocusNfeSimulator) -> None:
    async def scenario() -> IssueResult:
        async with aclosing(backend_for(sim)) as backend:
            return await backend.query_issue(backend.prepare_issue(context("nunca")))

    assert run(scenario()).outcome is Outcome.NOT_SENT


def test_429_is_not_sent_and_honoured_until_the_retry_time(sim: FocusNfeSimulator) -> None:
    clock = FakeClock()
    sim.faults.rate_limit = True
    sim.faults.retry_after_s = 30

    async def scenario() -> None:
        async with aclosing(backend_for(sim, clock=clock)) as backend:
            prepared = backend.prepare_issue(context())
            limited = await backend.send_issue(prepared)
            assert limited.outcome is Outcome.NOT_SENT
            assert limited.retry_after_s == 30
            seen = len(sim.requests)
            held = await backend.send_issue(prepared)
            assert held.outcome is Outcome.NOT_SENT and held.retry_after_s is not None
            assert len(sim.requests) == seen, "a blocked client must not touch the network"
            assert backend.blocked_s() == pytest.approx(30)
            sim.faults.clear()
            clock.advance(31)
            assert backend.blocked_s() == 0
            done = await backend.send_issue(backend.prepare_issue(context()))
            assert done.outcome is Outcome.AUTHORIZED

    run(scenario())


def test_bad_token_is_not_sent_and_probe_down(sim: FocusNfeSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim, token="wrong-token-value-123456")) as backend:
            result = await backend.send_issue(backend.prepare_issue(context()))
            assert result.outcome is Outcome.NOT_SENT
            assert await backend.probe() is Health.DOWN
        async with aclosing(backend_for(sim)) as good:
            assert await good.probe() is Health.UP

    run(scenario())
    assert sim.issued() == []


def test_server_error_on_post_is_in_doubt_and_slow_answers_still_count(sim: FocusNfeSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            sim.faults.status_5xx = 502
            failed = await backend.send_issue(backend.prepare_issue(context()))
            assert failed.outcome is Outcome.IN_DOUBT
            sim.faults.clear()
            sim.faults.slow_s = 0.3
            slow = await backend.send_issue(backend.prepare_issue(context()))
            assert slow.outcome is Outcome.AUTHORIZED

    run(scenario())


def test_hanging_server_times_out_in_doubt(sim: FocusNfeSimulator) -> None:
    sim.faults.hang = True

    async def scenario() -> None:
        async with aclosing(backend_for(sim, timeout_s=0.5)) as backend:
            started = time.monotonic()
            result = await backend.send_issue(backend.prepare_issue(context()))
            assert time.monotonic() - started < 5
            assert result.outcome is Outcome.IN_DOUBT
            assert "ReadTimeout" in result.detail
            query = await backend.query_issue(backend.prepare_issue(context()))
            assert query.outcome is Outcome.IN_DOUBT  # could not ask: still unknown

    run(scenario())


def test_nobody_listening_is_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the client connects

    async def scenario() -> None:
        async with aclosing(FocusNfeBackend(provider_for(port), Config(), token=TOKEN)) as backend:
            result = await backend.send_issue(backend.prepare_issue(context()))
            assert result.outcome is Outcome.NOT_SENT
            assert await backend.probe() is Health.DOWN

    run(scenario())


# -- cancelling ---------------------------------------------------------------------------


def test_cancel_then_cancel_again_is_idempotent(sim: FocusNfeSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            issued = await backend.send_issue(backend.prepare_issue(context()))
            assert issued.note is not None
            target = CancelTarget(sale_id="sale0001", reference="sale0001", chave=issued.note.chave)
            with pytest.raises(CancelRefused):
                await backend.cancel(target, "curto")
            assert not sim.requests_to("DELETE", "/v2/nfce/")
            cancelled = await backend.cancel(target, "Cliente desistiu da compra")
            assert cancelled.outcome is CancelOutcome.CANCELLED
            assert cancelled.protocolo == sim.notes["sale0001"].cancel_protocolo is not None
            assert cancelled.xml is not None and b"<tpEvento>110111</tpEvento>" in cancelled.xml
            assert b"<xJust>Cliente desistiu da compra</xJust>" in cancelled.xml
            assert cancelled.cancelled_at is not None and cancelled.cancelled_at.tzinfo is not None
            deletes = sim.requests_to("DELETE", "/v2/nfce/sale0001")
            assert deletes[0].json() == {"justificativa": "Cliente desistiu da compra"}
            again = await backend.cancel(target, "Cliente desistiu da compra")
            assert again.outcome is CancelOutcome.CANCELLED
            assert again.protocolo == cancelled.protocolo

    run(scenario())


def test_cancel_held_back_by_a_429_says_when_to_try_again(sim: FocusNfeSimulator) -> None:
    """The router honours a cancel's ``retry_after_s`` like an issue's (one failure mapping)."""

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            issued = await backend.send_issue(backend.prepare_issue(context()))
            assert issued.note is not None
            sim.faults.rate_limit = True
            sim.faults.retry_after_s = 45
            target = CancelTarget(sale_id="sale0001", reference="sale0001", chave=issued.note.chave)
            limited = await backend.cancel(target, "Cliente desistiu da compra")
            assert limited.outcome is CancelOutcome.NOT_SENT
            assert limited.retry_after_s == 45

    run(scenario())
    assert sim.notes["sale0001"].status == "autorizado"


def test_cancel_after_the_window_is_refused_by_sefaz() -> None:
    base = time.time()
    offset = [0.0]
    with FocusNfeSimulator(token=TOKEN, clock=lambda: base + offset[0]) as sim:

        async def scenario() -> None:
            async with aclosing(backend_for(sim)) as backend:
                ctx = IssueContext(
                    sale=Sale.from_mapping(sale_mapping(), sale_id="late1"),
                    reference="late1",
                    emitted_at=datetime.fromtimestamp(base, UTC),
                )
                issued = await backend.send_issue(backend.prepare_issue(ctx))
                assert issued.note is not None
                offset[0] = 31 * 60
                target = CancelTarget(sale_id="late1", reference="late1", chave=issued.note.chave)
                refused = await backend.cancel(target, "Cliente desistiu da compra")
                assert refused.outcome is CancelOutcome.REFUSED
                assert "501" in refused.errors[0]

        run(scenario())


# -- the shared HTTP plumbing -----------------------------------------------------------------


def _server_that_stops_reading(ready: threading.Event, release: threading.Event, box: dict[str, int]) -> None:
    """Read the request head, then never read the body: the upload stalls."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        box["port"] = server.getsockname()[1]
        ready.set()
        conn, _ = server.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            release.wait(10)


def test_an_upload_cut_before_its_last_byte_is_not_sent() -> None:
    """The subtle write case: the body never fully left, so the server cannot have a
    complete request, and the sale may safely go elsewhere."""
    ready, release = threading.Event(), threading.Event()
    box: dict[str, int] = {}
    thread = threading.Thread(target=_server_that_stops_reading, args=(ready, release, box), daemon=True)
    thread.start()
    assert ready.wait(5)

    async def scenario() -> None:
        http = ProviderHttp(base_url=f"http://127.0.0.1:{box['port']}", timeout_s=0.5, token=None)
        async with aclosing(http):
            exchange = await http.request("POST", "/v2/nfce", body=b"x" * (32 * 1024 * 1024))
        assert exchange.failure is Outcome.NOT_SENT, exchange
        assert "WriteTimeout before the request was complete" in exchange.detail

    try:
        run(scenario())
    finally:
        release.set()
        thread.join(5)


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "7"}), now_epoch=now) == 7
    assert parse_retry_after(httpx.Headers({"Rate-Limit-Reset": "42"}), now_epoch=now) == 42
    assert parse_retry_after(httpx.Headers({"Rate-Limit-Reset": str(int(now) + 90)}), now_epoch=now) == 90
    date = "Tue, 14 Nov 2023 22:14:20 GMT"  # now + 60 s
    assert parse_retry_after(httpx.Headers({"Retry-After": date}), now_epoch=now) == pytest.approx(60)
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"}), now_epoch=now) is None
    assert parse_retry_after(httpx.Headers({}), now_epoch=now) is None


def test_read_nfeproc_on_the_vendor_sandbox_xml() -> None:
    xml = (FIXTURES / "nfce_authorized_df_homologacao.xml").read_bytes()
    facts = read_nfeproc(xml)
    assert facts is not None
    assert facts.chave == "53181022769530000131651110000002761101117841"
    assert (facts.numero, facts.serie, facts.protocolo, facts.c_stat) == (276, 111, "353180004134006", "100")
    assert facts.authorized_at == datetime(2018, 10, 9, 12, 53, 16, tzinfo=UTC)
    assert read_nfeproc(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>') is None
    assert read_nfeproc(b"not xml") is None


# -- secrets ------------------------------------------------------------------------------


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps passwords in memory (never the user's keyring)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring: KeyringBackend.__init__ is unannotated
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def test_token_from_environment_then_keyring(memory_keyring: MemoryKeyring) -> None:
    provider = ProviderConfig(
        name="focusnfe",
        base_url="http://127.0.0.1:9",
        token_env="POSAPP_TEST_FOCUS",
        keyring_service="posapp-t",
    )
    assert resolve_token(provider, environ={"POSAPP_TEST_FOCUS": " env-token-abcdefghijk "}).reveal() == (
        "env-token-abcdefghijk"
    )
    with pytest.raises(TokenNotFound) as missing:
        resolve_token(provider, environ={})
    assert "POSAPP_TEST_FOCUS" in missing.value.user_message
    keyring.set_password("posapp-t", "focusnfe", "keyring-token-0123456789")
    assert resolve_token(provider, environ={}).reveal() == "keyring-token-0123456789"


def test_backend_without_any_token_cannot_issue(memory_keyring: MemoryKeyring) -> None:
    provider = ProviderConfig(
        name="focusnfe", base_url="http://127.0.0.1:9", token_env="POSAPP_TEST_NOPE_XYZ"
    )
    backend = FocusNfeBackend(provider, Config())
    caps = backend.capabilities
    assert caps.issues_nfce is False and "Token do Focus NFe" in caps.reason

    async def scenario() -> None:
        async with aclosing(backend):
            prepared = backend.prepare_issue(context())
            assert (await backend.send_issue(prepared)).outcome is Outcome.NOT_SENT
            assert await backend.probe() is Health.DOWN

    run(scenario())


def test_tokens_are_masked_everywhere_they_could_leak() -> None:
    secret = SecretToken(TOKEN)
    assert TOKEN not in repr(secret) and TOKEN not in str(secret) and TOKEN not in f"{secret}"
    assert mask_token(TOKEN) == "focu…cdef"
    assert mask_token("short") == "********"
    assert mask_token(None) == "(nenhum)"
    assert redact(f"echo {TOKEN} back", secret) == f"echo {mask_token(TOKEN)} back"
    prepared = PreparedIssue("focusnfe", "r1", b"{}", {"ref": "r1"})
    assert_no_token(prepared)


def test_answers_echoing_the_token_are_redacted_before_the_journal_sees_them() -> None:
    class EchoSimulator(FocusNfeSimulator):
        def _route(self, request: Any) -> Any:
            response = super()._route(request)
            if request.method == "POST":
                body = json.loads(response.body)
                body["mensagem_sefaz"] = f"debug token={TOKEN}"
                return type(response)(response.status, json.dumps(body).encode(), accepted=True)
            return response

    with EchoSimulator(token=TOKEN) as sim:
        result = run(issue_once(backend_for(sim), context()))
        assert result.outcome is Outcome.AUTHORIZED
        assert result.raw_response is not None and mask_token(TOKEN) in result.raw_response
        assert_no_token(result.raw_response)


def test_misspelt_options_and_foreign_provider_entries_are_refused() -> None:
    with pytest.raises(TypeError, match="tokn"):
        FocusNfeBackend(provider_for(9), Config(), tokn=TOKEN)  # type: ignore[call-arg]
    with pytest.raises(BackendMisconfigured):
        FocusNfeBackend(
            ProviderConfig(name="integranotas", base_url="http://127.0.0.1:9"), Config(), token=TOKEN
        )


def test_prepare_needs_a_timezone() -> None:
    backend = FocusNfeBackend(provider_for(9), Config(), token=TOKEN)
    ctx = IssueContext(
        sale=Sale.from_mapping(sale_mapping()),
        reference="r1",
        emitted_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(0),
    )
    with pytest.raises(ProviderRequestError):
        backend.prepare_issue(ctx)


def test_a_broken_keyring_means_no_token_not_a_crash() -> None:
    class BrokenKeyring(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise keyring.errors.KeyringLocked("locked")

    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    try:
        provider = ProviderConfig(name="focusnfe", base_url="http://127.0.0.1:9")
        with pytest.raises(TokenNotFound):
            resolve_token(provider, environ={})
    finally:
        keyring.set_keyring(previous)


def test_tokens_never_reach_the_logs(sim: FocusNfeSimulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            issued = await backend.send_issue(backend.prepare_issue(context()))
            assert issued.outcome is Outcome.AUTHORIZED
            await issue_once(backend_for(sim, token="another-secret-token-987654321"), context("s2"))
            sim.faults.drop_after_accept = True
            await backend.send_issue(backend.prepare_issue(context("s3")))

    run(scenario())
    assert caplog.records, "the exchanges were logged"
    assert_no_token(caplog.text)
    assert "another-secret-token-987654321" not in caplog.text
