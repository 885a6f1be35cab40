"""No false verdicts from the Focus NFe adapter, against a Focus simulator as devious as the
real world (real sockets, the real httpx client): 5xx after issuing, refused queries,
garbage, a ref another sale holds, lies about the chave, and two cancels racing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import aclosing
from dataclasses import replace
from typing import Any

import pytest

from posapp.domain.documents import parse_chave
from posapp.domain.issuance import CancelOutcome, CancelTarget, Outcome
from posapp.domain.lifecycle import Happening, after_cancel
from posapp.domain.nfe_xml import read_nfe
from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.sim.http_sim import SimRequest, SimResponse
from posapp.sim.lies import LIE_MODES
from tests.fiscal.provider_helpers import issue_once, run
from tests.fiscal.test_focusnfe import TOKEN, backend_for, context

MOTIVO = "Cliente desistiu da compra"


@pytest.fixture
def sim() -> Iterator[FocusNfeSimulator]:
    with FocusNfeSimulator(token=TOKEN, processing_queries=0) as simulator:
        yield simulator


def only_note(sim: FocusNfeSimulator, *, foreign: bool = False) -> str:
    """The chave of the one note (of ours, or the foreign one) the simulator really issued."""
    (note,) = [n for n in sim.truth.notes if n.foreign is foreign]
    return note.chave


# -- 5xx after issuing ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_after_issuing_is_in_doubt_and_the_query_finds_the_note(
    sim: FocusNfeSimulator, status: int
) -> None:
    sim.faults.error_after_accept = status

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            prepared = backend.prepare_issue(context())
            sent = await backend.send_issue(prepared)
            assert sent.outcome is Outcome.IN_DOUBT and not sent.duplicate, sent
            assert f"HTTP {status}" in sent.detail
            sim.faults.clear()
            found = await backend.query_issue(prepared)
            assert found.outcome is Outcome.AUTHORIZED and found.note is not None
            assert found.note.chave == only_note(sim)

    run(scenario())


def test_5xx_on_a_query_is_in_doubt(sim: FocusNfeSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            prepared = backend.prepare_issue(context())
            sim.faults.status_5xx = 503
            assert (await backend.query_issue(prepared)).outcome is Outcome.IN_DOUBT

    run(scenario())


def test_5xx_after_a_cancel_is_in_doubt(sim: FocusNfeSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            issued = await backend.send_issue(backend.prepare_issue(context()))
            assert issued.note is not None
            sim.faults.error_after_accept = 500
            target = CancelTarget("sale0001", "sale0001", issued.note.chave)
            assert (await backend.cancel(target, MOTIVO)).outcome is CancelOutcome.IN_DOUBT

    run(scenario())
    assert len(sim.truth.events) == 1


# -- refused and unanswered queries ---------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_query_is_in_doubt_never_not_found(sim: FocusNfeSimulator, status: int) -> None:
    sim.faults.refuse_query = status

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            issued = await backend.send_issue(backend.prepare_issue(context("q1")))
            assert issued.outcome is Outcome.AUTHORIZED  # issuing works
            for ref in ("q1", "never-sent"):
                asked = await backend.query_issue(backend.prepare_issue(context(ref)))
                assert asked.outcome is Outcome.IN_DOUBT, asked
                assert asked.errors and f"HTTP {status}" in asked.errors[0]

    run(scenario())


def test_a_bare_404_page_on_a_query_is_in_doubt(sim: FocusNfeSimulator) -> None:
    """Focus's own 404 (JSON ``nao_encontrado``) means "never received"; an HTML 404 from
    whatever stands in front of it proves nothing."""
    sim.faults.garbage = "html"

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            asked = await backend.query_issue(backend.prepare_issue(context("never-sent")))
            assert asked.outcome is Outcome.IN_DOUBT
            sim.faults.clear()
            asked = await backend.query_issue(backend.prepare_issue(context("never-sent")))
            assert asked.outcome is Outcome.NOT_SENT

    run(scenario())


def test_a_query_rate_limited_is_in_doubt(sim: FocusNfeSimulator) -> None:
    sim.faults.rate_limit = True

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            asked = await backend.query_issue(backend.prepare_issue(context()))
            assert asked.outcome is Outcome.IN_DOUBT and asked.retry_after_s == 2

    run(scenario())


# -- garbage --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["html", "truncated", "huge_numbers"])
def test_garbage_after_issuing_is_in_doubt(sim: FocusNfeSimulator, mode: str) -> None:
    sim.faults.garbage = mode
    started = time.monotonic()
    result = run(issue_once(backend_for(sim), context()))
    assert time.monotonic() - started < 1.0  # 1e999999 is refused, never converted
    assert result.outcome is Outcome.IN_DOUBT and result.note is None, result
    assert len(sim.truth.notes) == 1


@pytest.mark.parametrize("mode", ["html", "truncated", "huge_numbers"])
def test_garbage_on_a_refusal_is_no_rejection(sim: FocusNfeSimulator, mode: str) -> None:
    """A 400/422 whose body we cannot read is not Focus's word that the sale is wrong."""
    sim.queue_outcome("erro_autorizacao")
    sim.faults.garbage = mode

    async def scenario() -> None:
        async with aclosing(backend_for(sim)) as backend:
            prepared = backend.prepare_issue(context())
            assert (await backend.send_issue(prepared)).outcome is Outcome.IN_DOUBT  # 201, unreadable
            broken = backend.prepare_issue(context("other"))
            bad = replace(broken, payload=b'{"items": []}')
            assert (await backend.send_issue(bad)).outcome is Outcome.IN_DOUBT  # 400, unreadable
            sim.faults.clear()
            assert (await backend.send_issue(bad)).outcome is Outcome.REJECTED  # 400, read

    run(scenario())


# -- a ref that already exists --------------------------------------------------------------


def test_a_ref_another_sale_holds_is_a_duplicate_with_that_note(sim: FocusNfeSimulator) -> None:
    sim.faults.duplicidade = "foreign"
    result = run(issue_once(backend_for(sim), context()))
    assert result.outcome is Outcome.IN_DOUBT and result.duplicate is True
    assert result.note is not None and result.note.chave == only_note(sim, foreign=True)
    assert result.note.xml is not None
    assert str(read_nfe(result.note.xml).total) == "34.93"  # the other sale's, not this one's 35.90
    assert "nfe_autorizada" in result.detail


def test_two_tills_with_one_ref_the_second_gets_a_duplicate_not_the_first_tills_note(
    sim: FocusNfeSimulator,
) -> None:
    first = run(issue_once(backend_for(sim), context("venda1")))
    assert first.outcome is Outcome.AUTHORIZED and first.note is not None
    other_till = context("venda1", payments=[{"method": "pix", "amount": "35.90"}])
    second = run(issue_once(backend_for(sim), other_till))
    assert second.outcome is Outcome.IN_DOUBT and second.duplicate is True
    assert second.note is not None and second.note.chave == first.note.chave
    assert len(sim.truth.notes) == 1


def test_own_duplicidade_carries_this_sales_note(sim: FocusNfeSimulator) -> None:
    sim.faults.duplicidade = "own"
    result = run(issue_once(backend_for(sim), context()))
    assert result.outcome is Outcome.IN_DOUBT and result.duplicate is True
    assert result.note is not None and result.note.chave == only_note(sim)


def test_a_duplicate_whose_note_cannot_be_asked_has_no_note(sim: FocusNfeSimulator) -> None:
    sim.faults.duplicidade = "foreign"
    sim.faults.refuse_query = 403
    result = run(issue_once(backend_for(sim), context()))
    assert result.outcome is Outcome.IN_DOUBT and result.duplicate is True and result.note is None


# -- lies about the chave: passed on as told (the services verify) ---------------------------


@pytest.mark.parametrize("mode", [m for m in LIE_MODES if m != "bad_check_digit"])
def test_a_lying_chave_is_passed_on_as_told(sim: FocusNfeSimulator, mode: str) -> None:
    sim.faults.lying_chave = mode
    result = run(issue_once(backend_for(sim), context()))
    (truth,) = sim.truth.notes
    assert result.outcome is Outcome.AUTHORIZED and result.note is not None
    note = result.note
    assert note.chave == truth.told_chave != truth.chave
    key = parse_chave(note.chave)
    assert (note.serie, note.numero) == (key.series, key.number)  # as Focus said them
    assert note.xml is not None and read_nfe(note.xml).chave == note.chave


def test_a_chave_with_a_bad_check_digit_is_no_note(sim: FocusNfeSimulator) -> None:
    sim.faults.lying_chave = "bad_check_digit"
    result = run(issue_once(backend_for(sim), context()))
    assert result.outcome is Outcome.IN_DOUBT and result.note is None
    assert result.errors and "chave de acesso inválida" in result.errors[0]


def test_an_answer_whose_xml_is_of_another_chave_is_in_doubt() -> None:
    class MixedUp(FocusNfeSimulator):
        """Serves the XML of the other ref's note for every note."""

        def _route(self, request: SimRequest) -> SimResponse:
            if request.path.startswith("/arquivos/") and "other" in self.notes:
                xml = self.notes["other"].xml
                assert xml is not None
                return SimResponse(200, xml, content_type="application/xml")
            return super()._route(request)

    with MixedUp(token=TOKEN) as sim:
        run(issue_once(backend_for(sim), context("other")))
        result = run(issue_once(backend_for(sim), context("mine")))
        assert result.outcome is Outcome.IN_DOUBT and result.note is None
        assert result.errors and "XML devolvido é da chave" in result.errors[0]


# -- two cancels racing ---------------------------------------------------------------------


@pytest.mark.parametrize("code", ["573", "218"])
def test_two_concurrent_cancels_both_end_cancelled(sim: FocusNfeSimulator, code: str) -> None:
    async def scenario() -> list[Any]:
        async with aclosing(backend_for(sim)) as backend:
            issued = await backend.send_issue(backend.prepare_issue(context()))
            assert issued.note is not None
            target = CancelTarget("sale0001", "sale0001", issued.note.chave)
            sim.faults.cancel_race = code
            async with aclosing(backend_for(sim)) as a, aclosing(backend_for(sim)) as b:
                first = asyncio.create_task(a.cancel(target, MOTIVO))
                await asyncio.sleep(0.05)
                return [await b.cancel(target, MOTIVO), await first]

    loser, winner = run(scenario())
    assert winner.outcome is CancelOutcome.CANCELLED
    # The loser's 573/218 is read for what it is: the note is cancelled (the protocol fetched).
    assert loser.outcome is CancelOutcome.CANCELLED and loser.protocolo == winner.protocolo
    assert {after_cancel(r.outcome, r.errors) for r in (loser, winner)} == {Happening.CANCEL_CONFIRMED}
    assert len(sim.truth.events) == 1


def test_a_race_loser_whose_query_fails_is_still_read_as_already_cancelled(sim: FocusNfeSimulator) -> None:
    async def scenario() -> Any:
        async with aclosing(backend_for(sim)) as backend:
            issued = await backend.send_issue(backend.prepare_issue(context()))
            assert issued.note is not None
            target = CancelTarget("sale0001", "sale0001", issued.note.chave)
            assert (await backend.cancel(target, MOTIVO)).outcome is CancelOutcome.CANCELLED
            sim.faults.cancel_race = "573"
            sim.faults.refuse_query = 403
            return await backend.cancel(target, MOTIVO)

    late = run(scenario())
    assert late.outcome is CancelOutcome.REFUSED and "573" in late.errors[0]
    assert after_cancel(late.outcome, late.errors) is Happening.CANCEL_ALREADY_DONE


def test_a_refusal_that_names_an_authorized_note_is_a_duplicate() -> None:
    """A 422 whose body is the note the ref holds (not only a ``codigo``) is still "this ref
    exists": a duplicate with that note, never a rejection nor an authorization."""

    class Verbose(FocusNfeSimulator):
        def _route(self, request: SimRequest) -> SimResponse:
            ref = request.query.get("ref", "")
            held = self.notes.get(ref)
            if request.method == "POST" and held is not None and held.status == "autorizado":
                return SimResponse.json(422, self._body(held))
            return super()._route(request)

    with Verbose(token=TOKEN) as sim:
        first = run(issue_once(backend_for(sim), context("v1")))
        again = run(issue_once(backend_for(sim), context("v1")))
        assert first.outcome is Outcome.AUTHORIZED and first.note is not None
        assert again.outcome is Outcome.IN_DOUBT and again.duplicate is True
        assert again.note is not None and again.note.chave == first.note.chave
