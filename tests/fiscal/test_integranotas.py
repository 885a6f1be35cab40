"""Integra Notas adapter against the loopback Integra simulator (real sockets, real httpx)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import aclosing
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from posapp.config import Config, ProviderConfig
from posapp.domain.documents import parse_chave
from posapp.domain.errors import CancelRefused
from posapp.domain.issuance import CancelOutcome, CancelTarget, Health, IssueContext, Outcome, PreparedIssue
from posapp.domain.sale import Sale
from posapp.fiscal import integranotas
from posapp.fiscal.focusnfe import build_focus_body
from posapp.fiscal.http_base import ProviderRequestError, read_nfeproc
from posapp.fiscal.integranotas import IntegraNotasBackend, build_integra_body, chave_prefix
from posapp.sim.integranotas import IntegraNotasSimulator
from tests.conftest import sale_mapping
from tests.fiscal.provider_helpers import FakeClock, issue_once, run

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.integra-test"


@pytest.fixture
def sim() -> Iterator[IntegraNotasSimulator]:
    with IntegraNotasSimulator(token=TOKEN, processing_queries=0) as simulator:
        yield simulator


def backend_for(sim: IntegraNotasSimulator, **kwargs: Any) -> IntegraNotasBackend:
    provider = ProviderConfig(name="integranotas", base_url=sim.url, timeout_s=kwargs.pop("timeout_s", 3.0))
    return IntegraNotasBackend(
        provider, Config(), token=kwargs.pop("token", TOKEN), enforce_min_timeout=False, **kwargs
    )


def context(
    numero: int = 101, *, sale_id: str = "sale0001", serie: int = 2, **overrides: Any
) -> IssueContext:
    sale = Sale.from_mapping(sale_mapping(**overrides), sale_id=sale_id)
    return IssueContext(
        sale=sale, reference=sale_id, serie=serie, numero=numero, emitted_at=datetime.now(UTC)
    )


def test_prepared_body_carries_the_reserved_number_and_exact_values() -> None:
    provider = ProviderConfig(name="integranotas", base_url="http://127.0.0.1:9/v1")
    backend = IntegraNotasBackend(provider, Config(), token=TOKEN)
    assert backend.capabilities.needs_client_numbering is True
    ctx = context(101008)
    prepared = backend.prepare_issue(ctx)
    body = json.loads(prepared.payload, parse_float=Decimal)
    assert (body["serie"], body["numero"]) == ("2", "101008")
    assert prepared.meta["serie"] == 2 and prepared.meta["numero"] == 101008
    assert ctx.emitted_at is not None
    assert prepared.meta["chave_prefix"] == chave_prefix(Config(), ctx.emitted_at, 2, 101008)
    assert str(prepared.meta["chave_prefix"]).endswith("65002000101008")
    beer = body["itens"][0]
    assert (beer["quantidade_comercial"], beer["valor_unitario_comercial"], beer["valor_bruto"]) == (
        "6.00",
        "4.99",
        "29.94",
    )
    assert beer["imposto"]["icms"] == {"situacao_tributaria": "102"}
    assert body["pagamento"] == {
        "formas_pagamento": [{"meio_pagamento": "01", "valor": "50.00"}],
        "troco": "14.10",
    }
    assert body["destinatario"] == {"cpf": "52998224725"}
    assert body["informacoes_adicionais_contribuinte"] == "PDV-REF:sale0001"  # as in the Emites request
    assert TOKEN not in prepared.payload.decode() and TOKEN not in repr(prepared.meta)
    with pytest.raises(ProviderRequestError):
        backend.prepare_issue(IssueContext(sale=ctx.sale, reference="x"))


def test_items_and_cards_carry_the_same_nfe_fields_as_focus() -> None:
    """Both dialects name the NF-e product and card fields alike: one builder serves both, so
    discounts, CEST, exact quantities and card details cannot drift apart between them."""
    beer, bread = sale_mapping()["items"]
    card = {"integration": 1, "acquirer_cnpj": "22769530000131", "brand": "01", "authorization": "AUT123"}
    sale = Sale.from_mapping(
        sale_mapping(
            items=[{**beer, "discount": "1.00", "cest": "0302100"}, bread],
            payments=[{"method": "debito", "amount": "34.90", "card": card}],
        )
    )
    emitted_at = datetime.now(UTC)
    integra = build_integra_body(sale, Config(), serie=2, numero=7, emitted_at=emitted_at)
    focus = build_focus_body(sale, Config(), emitted_at=emitted_at)
    first, second = integra["itens"]
    assert (first["valor_bruto"], first["valor_desconto"], first["cest"]) == ("29.94", "1.00", "0302100")
    assert first["quantidade_tributavel"] == first["quantidade_comercial"] == "6.00"
    assert second["quantidade_comercial"] == "0.375" and "valor_desconto" not in second
    assert first["imposto"]["pis"] == {"situacao_tributaria": "49"} and first["origem"] == "0"
    for mine, theirs in zip(integra["itens"], focus["items"], strict=True):
        shared = set(mine) & set(theirs)
        assert len(shared) >= 14  # numero_item .. valor_unitario_tributavel, desconto, cest
        assert {k: mine[k] for k in shared} == {k: theirs[k] for k in shared}
    assert integra["pagamento"]["formas_pagamento"] == [
        {
            "meio_pagamento": "04",
            "valor": "34.90",
            "tipo_integracao": "1",
            "cnpj_credenciadora": "22769530000131",
            "bandeira": "01",
            "autorizacao": "AUT123",
        }
    ]
    focus_card = focus["formas_pagamento"][0]
    assert (focus_card["forma_pagamento"], focus_card["bandeira_operadora"]) == ("04", "01")
    assert (focus_card["numero_autorizacao"], focus_card["tipo_integracao"]) == ("AUT123", "1")


def test_minimum_timeout_of_sixty_seconds_is_enforced() -> None:
    provider = ProviderConfig(name="integranotas", base_url="http://127.0.0.1:9/v1", timeout_s=5)
    backend = IntegraNotasBackend(provider, Config(), token=TOKEN)
    assert backend._http.deadline_s >= 60
    run(backend.aclose())


def test_authorized_with_xml_and_real_pdf(sim: IntegraNotasSimulator) -> None:
    result = run(issue_once(backend_for(sim), context(101)))
    assert result.outcome is Outcome.AUTHORIZED, result
    note = result.note
    assert note is not None
    assert (note.serie, note.numero, note.contingency) == (2, 101, False)
    assert note.chave.startswith(chave_prefix(Config(), datetime.now(UTC), 2, 101)[:20])
    assert parse_chave(note.chave).number == 101
    assert note.danfe_pdf is not None and note.danfe_pdf.startswith(b"%PDF-")
    assert note.xml is not None
    facts = read_nfeproc(note.xml)
    assert facts is not None and (facts.chave, facts.protocolo) == (note.chave, note.protocolo)
    assert facts.serie == 2 and facts.numero == 101
    assert b"<vTroco>14.10</vTroco>" in note.xml
    posts = sim.requests_to("POST", "/v1/nfce")
    assert len(posts) == 1 and posts[0].headers["authorization"] == TOKEN  # raw token, no "Bearer"
    assert result.raw_response is not None and TOKEN not in result.raw_response


def test_xml_missing_from_the_answer_is_fetched_and_html_is_no_pdf() -> None:
    with IntegraNotasSimulator(token=TOKEN, xml_in_issue_answer=False, pdf_mode="html") as sim:
        result = run(issue_once(backend_for(sim), context(7)))
        assert result.outcome is Outcome.AUTHORIZED and result.note is not None
        assert result.note.xml is not None
        assert result.note.danfe_pdf is None
        chave = result.note.chave
        assert len(sim.requests_to("GET", f"/v1/nfce/{chave}")) == 1


def test_offline_codigo_2_is_an_authorized_contingency_note(sim: IntegraNotasSimulator) -> None:
    sim.queue_outcome("offline")

    result = run(issue_once(backend_for(sim), context(5)))
    assert result.outcome is Outcome.AUTHORIZED and result.note is not None
    assert result.note.contingency is True and result.note.protocolo is None
    assert parse_chave(result.note.chave).emission_type == 9
    assert result.note.xml is not None and b"<tpEmis>9</tpEmis>" in result.note.xml


@pytest.mark.parametrize("outcome", ["validacao", "rejeitado"])
def test_rejection_is_fixed_and_resent_with_the_same_number(sim: IntegraNotasSimulator, outcome: str) -> None:
    sim.queue_outcome(outcome)

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            rejected = await backend.send_issue(backend.prepare_issue(context(300)))
            assert rejected.outcome is Outcome.REJECTED
            assert rejected.errors and ("5002" in rejected.errors[0] or "778" in rejected.errors[0])
            assert sim.documents == {}  # deleted on their side, as documented
            again = await backend.send_issue(backend.prepare_issue(context(300)))
            assert again.outcome is Outcome.AUTHORIZED and again.note is not None
            assert again.note.numero == 300

    run(scenario())


def test_sefaz_trouble_means_query_first(sim: IntegraNotasSimulator) -> None:
    sim.queue_outcome("sefaz_erro")

    result = run(issue_once(backend_for(sim), context(11)))
    assert result.outcome is Outcome.AUTHORIZED and result.note is not None
    assert len(sim.requests_to("GET", f"/v1/nfce/{result.note.chave}")) == 1


def test_still_processing_stays_in_doubt_then_reconciles() -> None:
    clock = FakeClock()
    with IntegraNotasSimulator(token=TOKEN, processing_queries=1) as sim:
        sim.queue_outcome("erro_comunicacao")

        async def scenario() -> None:
            async with aclosing(backend_for(sim, clock=clock)) as backend:
                prepared = backend.prepare_issue(context(12))
                first = await backend.send_issue(prepared)
                assert first.outcome is Outcome.IN_DOUBT and "7001" in first.detail
                later = await backend.query_issue(prepared)
                assert later.outcome is Outcome.AUTHORIZED and later.note is not None
                assert later.note.numero == 12

        run(scenario())
        assert not [r for r in sim.requests if r.path.endswith("/status")]
        assert len(sim.documents) == 1


def test_answer_lost_after_accept_is_in_doubt_and_found_by_number(sim: IntegraNotasSimulator) -> None:
    sim.faults.drop_after_accept = True

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            prepared = backend.prepare_issue(context(42))
            lost = await backend.send_issue(prepared)
            assert lost.outcome is Outcome.IN_DOUBT, lost
            sim.faults.clear()
            async with aclosing(backend_for(sim)) as fresh:  # as after a restart: nothing in memory
                found = await fresh.query_issue(prepared)
            assert found.outcome is Outcome.AUTHORIZED and found.note is not None
            assert found.note.chave == sim.documents[(2, 42)].note.chave
            # A blind resend of the same number is a duplicate at SEFAZ (204, the same chave):
            # no second note, and no verdict either. It is reported as a duplicate, in doubt,
            # with the existing note (named by the answer) for the services to judge.
            resent = await backend.send_issue(prepared)
            assert resent.outcome is Outcome.IN_DOUBT and resent.duplicate is True
            assert resent.errors and "204" in resent.errors[0]
            assert resent.note is not None and resent.note.chave == found.note.chave

    run(scenario())
    assert len(sim.documents) == 1
    assert len(sim.requests_to("POST", "/v1/nfce")) == 2  # the lost send, and the blind resend
    # The fresh client searched by number; the duplicidade answer names the chave, so the
    # first client asks for it directly.
    assert len(sim.requests_to("POST", "/v1/nfce/busca")) == 1


def test_query_of_a_number_integra_never_got_is_not_sent(sim: IntegraNotasSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            result = await backend.query_issue(backend.prepare_issue(context(999)))
        assert result.outcome is Outcome.NOT_SENT

    run(scenario())


def test_two_queries_a_minute_per_chave_are_respected_locally() -> None:
    clock = FakeClock(datetime.now(UTC).timestamp())
    with IntegraNotasSimulator(token=TOKEN, processing_queries=5, clock=clock) as sim:
        sim.queue_outcome("processando")

        async def scenario() -> None:
            async with aclosing(backend_for(sim, clock=clock, fetch_pdf=False)) as backend:
                prepared = backend.prepare_issue(context(13))
                assert (await backend.send_issue(prepared)).outcome is Outcome.IN_DOUBT
                chave = next(iter(sim.documents.values())).note.chave
                outcomes = [(await backend.query_issue(prepared)) for _ in range(3)]
                assert [o.outcome for o in outcomes] == [Outcome.IN_DOUBT] * 3
                assert outcomes[2].retry_after_s is not None and outcomes[2].retry_after_s > 0
                assert len(sim.requests_to("GET", f"/v1/nfce/{chave}")) == 2  # the third held back
                clock.advance(61)
                fourth = await backend.query_issue(prepared)
                assert fourth.outcome is Outcome.IN_DOUBT and "5023" in fourth.detail  # asked, not blocked
                assert len(sim.requests_to("GET", f"/v1/nfce/{chave}")) == 3

        run(scenario())


def test_429_blocks_for_the_announced_time(sim: IntegraNotasSimulator) -> None:
    clock = FakeClock()
    sim.faults.rate_limit = True
    sim.faults.retry_after_s = 300

    async def scenario() -> None:
        async with aclosing(backend_for(sim, clock=clock)) as backend:
            prepared = backend.prepare_issue(context(20))
            limited = await backend.send_issue(prepared)
            assert limited.outcome is Outcome.NOT_SENT and limited.retry_after_s == 300
            seen = len(sim.requests)
            assert (await backend.send_issue(prepared)).outcome is Outcome.NOT_SENT
            assert len(sim.requests) == seen
            sim.faults.clear()
            clock.advance(301)
            assert (await backend.send_issue(prepared)).outcome is Outcome.AUTHORIZED

    run(scenario())


def test_body_over_two_megabytes(sim: IntegraNotasSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            huge = PreparedIssue(
                "integranotas", "big", b'{"x":"' + b"a" * (2 * 1024 * 1024) + b'"}', {"serie": 2, "numero": 1}
            )
            result = await backend.send_issue(huge)
            assert result.outcome is Outcome.REJECTED and "2 MB" in result.errors[0]

    run(scenario())
    assert sim.documents == {}
    monkeypatch.setattr(integranotas, "MAX_BODY_BYTES", 100)
    provider = ProviderConfig(name="integranotas", base_url=sim.url)
    with pytest.raises(ProviderRequestError) as refused:
        IntegraNotasBackend(provider, Config(), token=TOKEN).prepare_issue(context(1))
    assert "2 MB" in refused.value.user_message


def test_bad_token_is_not_sent(sim: IntegraNotasSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim, token="Bearer " + TOKEN)) as backend:
            result = await backend.send_issue(backend.prepare_issue(context(1)))
            assert result.outcome is Outcome.NOT_SENT
            assert await backend.probe() is Health.DOWN

    run(scenario())
    assert sim.documents == {}


def test_probe_reports_sefaz_trouble_as_contingency(sim: IntegraNotasSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            assert await backend.probe() is Health.UP
            sim.sefaz_online = False
            assert await backend.probe() is Health.CONTINGENCY

    run(scenario())


def test_cancel_and_the_window(sim: IntegraNotasSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            issued = await backend.send_issue(backend.prepare_issue(context(50)))
            assert issued.note is not None
            target = CancelTarget("sale0001", "sale0001", issued.note.chave, 50, 2)
            with pytest.raises(CancelRefused):
                await backend.cancel(target, "curto")
            cancelled = await backend.cancel(target, "Cliente desistiu da compra")
            assert cancelled.outcome is CancelOutcome.CANCELLED
            assert cancelled.protocolo and cancelled.xml and b"110111" in cancelled.xml
            body = sim.requests_to("POST", "/v1/nfce/cancela")[0].json()
            assert body == {"chave": issued.note.chave, "justificativa": "Cliente desistiu da compra"}
            again = await backend.cancel(target, "Cliente desistiu da compra")
            assert again.outcome is CancelOutcome.REFUSED  # 218: already cancelled at SEFAZ

    run(scenario())


def test_cancel_past_thirty_minutes_is_refused() -> None:
    base = datetime.now(UTC).timestamp()
    offset = [0.0]
    with IntegraNotasSimulator(token=TOKEN, clock=lambda: base + offset[0]) as sim:

        async def scenario() -> None:
            async with aclosing(backend_for(sim)) as backend:
                issued = await backend.send_issue(backend.prepare_issue(context(60)))
                assert issued.note is not None
                offset[0] = 31 * 60
                refused = await backend.cancel(
                    CancelTarget("s", "s", issued.note.chave), "Cliente desistiu da compra"
                )
                assert refused.outcome is CancelOutcome.REFUSED and "501" in refused.errors[0]

        run(scenario())


def test_hang_is_in_doubt_not_resent(sim: IntegraNotasSimulator) -> None:
    sim.faults.hang = True

    result = run(issue_once(backend_for(sim, timeout_s=0.5), context(70)))
    assert result.outcome is Outcome.IN_DOUBT
    assert len(sim.requests_to("POST", "/v1/nfce")) == 1
