"""No false verdicts from the Integra Notas adapter, against an Integra simulator as devious
as the real world (real sockets, the real httpx client): a 500 with Integra's own
``sucesso: false`` after issuing, refused queries and searches, garbage, SEFAZ's duplicidade
(our own note, or another till's at the same number), lies about the chave, and two cancels
racing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import aclosing
from typing import Any

import pytest

from posapp.domain.documents import parse_chave
from posapp.domain.issuance import CancelOutcome, CancelTarget, Outcome
from posapp.domain.lifecycle import Happening, after_cancel
from posapp.domain.nfe_xml import read_nfe
from posapp.sim.integranotas import IntegraNotasSimulator
from posapp.sim.lies import LIE_MODES
from tests.fiscal.provider_helpers import issue_once, run
from tests.fiscal.test_integranotas import TOKEN, backend_for, context

MOTIVO = "Cliente desistiu da compra"


@pytest.fixture
def sim() -> Iterator[IntegraNotasSimulator]:
    with IntegraNotasSimulator(token=TOKEN, processing_queries=0, enforce_rate_limits=False) as simulator:
        yield simulator


def only_note(sim: IntegraNotasSimulator, *, foreign: bool = False) -> str:
    (note,) = [n for n in sim.truth.notes if n.foreign is foreign]
    return note.chave


# -- 5xx ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_after_issuing_is_in_doubt_not_rejected(sim: IntegraNotasSimulator, status: int) -> None:
    """Integra answers JSON even on a 5xx (``sucesso: false``); it used to read as a
    rejection, which invites a resend: a duplicate waiting to happen."""
    sim.faults.error_after_accept = status

    async def scenario() -> None:
        async with aclosing(backend_for(sim, fetch_pdf=False)) as backend:
            prepared = backend.prepare_issue(context(101))
            sent = await backend.send_issue(prepared)
            assert sent.outcome is Outcome.IN_DOUBT and not sent.duplicate, sent
            assert not sent.errors and f"HTTP {status}" in sent.detail
            sim.faults.clear()
            found = await backend.query_issue(prepared)
            assert found.outcome is Outcome.AUTHORIZED and found.note is not None
            assert found.note.chave == only_note(sim)

    run(scenario())


def test_5xx_before_processing_is_in_doubt_too(sim: IntegraNotasSimulator) -> None:
    sim.faults.status_5xx = 500
    result = run(issue_once(backend_for(sim), context(102)))
    assert result.outcome is Outcome.IN_DOUBT
    assert sim.documents == {}


def test_5xx_on_a_cancel_is_in_doubt_not_refused(sim: IntegraNotasSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim, fetch_pdf=False)) as backend:
            issued = await backend.send_issue(backend.prepare_issue(context(103)))
            assert issued.note is not None
            sim.faults.error_after_accept = 500
            target = CancelTarget("s", "s", issued.note.chave)
            assert (await backend.cancel(target, MOTIVO)).outcome is CancelOutcome.IN_DOUBT

    run(scenario())
    assert len(sim.truth.events) == 1


# -- refused and unanswered queries ---------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_query_is_in_doubt_never_rejected_nor_not_found(
    sim: IntegraNotasSimulator, status: int
) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim, fetch_pdf=False)) as backend:
            sim.faults.drop_after_accept = True
            prepared = backend.prepare_issue(context(110))
            assert (await backend.send_issue(prepared)).outcome is Outcome.IN_DOUBT
            sim.faults.clear()
            sim.faults.refuse_query = status
            for ask in (prepared, backend.prepare_issue(context(111))):  # issued / never sent
                async with aclosing(backend_for(sim)) as fresh:  # searches by number
                    asked = await fresh.query_issue(ask)
                assert asked.outcome is Outcome.IN_DOUBT, asked
                assert asked.errors and f"HTTP {status}" in asked.errors[0]
            # The chave learned from an answer is asked for directly: refused, still in doubt.
            sim.faults.clear()
            learned = await backend.send_issue(backend.prepare_issue(context(112)))
            assert learned.outcome is Outcome.AUTHORIZED
            sim.faults.refuse_query = status
            assert (
                await backend.query_issue(backend.prepare_issue(context(112)))
            ).outcome is Outcome.IN_DOUBT

    run(scenario())


def test_not_found_only_from_integras_own_answers(sim: IntegraNotasSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(sim, fetch_pdf=False)) as backend:
            never = backend.prepare_issue(context(120))
            assert (await backend.query_issue(never)).outcome is Outcome.NOT_SENT  # an empty search
            for mode in ("html", "truncated", "huge_numbers"):
                sim.faults.garbage = mode
                assert (await backend.query_issue(never)).outcome is Outcome.IN_DOUBT, mode

    run(scenario())


def test_a_chave_integra_no_longer_knows_is_looked_up_by_number(sim: IntegraNotasSimulator) -> None:
    """A chave learned from an answer (SEFAZ trouble) that Integra then deletes (rejected):
    the "not found" for it is confirmed by a search by number before it counts."""
    sim.queue_outcome("sefaz_erro")

    async def scenario() -> None:
        async with aclosing(backend_for(sim, fetch_pdf=False)) as backend:
            prepared = backend.prepare_issue(context(121))
            sim.faults.refuse_query = 403  # the query the vendor asks for fails
            assert (await backend.send_issue(prepared)).outcome is Outcome.IN_DOUBT
            sim.faults.clear()
            sim.documents.clear()  # rejected by SEFAZ afterwards, and deleted
            searches = len(sim.requests_to("POST", "/v1/nfce/busca"))
            assert (await backend.query_issue(prepared)).outcome is Outcome.NOT_SENT
            assert len(sim.requests_to("POST", "/v1/nfce/busca")) == searches + 1

    run(scenario())


# -- garbage --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["html", "truncated", "huge_numbers"])
def test_garbage_after_issuing_is_in_doubt(sim: IntegraNotasSimulator, mode: str) -> None:
    sim.faults.garbage = mode
    started = time.monotonic()
    result = run(issue_once(backend_for(sim), context(130)))
    assert time.monotonic() - started < 1.0  # 1e999999 is refused, never converted
    assert result.outcome is Outcome.IN_DOUBT and result.note is None, result
    assert len(sim.truth.notes) == 1


@pytest.mark.parametrize("mode", ["html", "huge_numbers"])
def test_garbage_on_a_rejection_is_no_rejection(sim: IntegraNotasSimulator, mode: str) -> None:
    sim.queue_outcome("rejeitado")
    sim.faults.garbage = mode
    assert run(issue_once(backend_for(sim), context(131))).outcome is Outcome.IN_DOUBT


# -- duplicidade ----------------------------------------------------------------------------


@pytest.mark.parametrize("detail", ["chave", "full", "none"])
def test_another_tills_note_at_our_number_is_a_duplicate_never_ours(
    sim: IntegraNotasSimulator, detail: str
) -> None:
    sim.faults.duplicidade = "foreign"
    sim.faults.duplicate_detail = detail
    result = run(issue_once(backend_for(sim), context(140)))
    assert result.outcome is Outcome.IN_DOUBT and result.duplicate is True, result
    assert result.errors and "539" in result.errors[0]
    note = result.note
    assert note is not None and note.chave == only_note(sim, foreign=True)
    assert note.xml is not None and str(read_nfe(note.xml).total) == "34.93"  # not this sale's 35.90
    gets = sim.requests_to("GET", "/v1/nfce/")
    searches = sim.requests_to("POST", "/v1/nfce/busca")
    # The answer's XML is enough; its chave needs one GET; without either, a search by number.
    assert (len(gets), len(searches)) == {"full": (0, 0), "chave": (1, 0), "none": (1, 1)}[detail]


def test_our_own_note_at_our_number_is_a_duplicate_too(sim: IntegraNotasSimulator) -> None:
    """An answer that says 204 about this very sale's note: the services adopt it only once
    it is proved this sale's; the adapter reports it, with the note."""
    sim.faults.duplicidade = "own"
    result = run(issue_once(backend_for(sim), context(141)))
    assert result.outcome is Outcome.IN_DOUBT and result.duplicate is True
    assert result.errors and "204" in result.errors[0]
    assert result.note is not None and result.note.chave == only_note(sim)


def test_two_tills_one_number_the_second_never_records_the_first_tills_note(
    sim: IntegraNotasSimulator,
) -> None:
    first = run(issue_once(backend_for(sim), context(142, sale_id="tillA")))
    assert first.outcome is Outcome.AUTHORIZED and first.note is not None
    other_sale = context(142, sale_id="tillB", payments=[{"method": "pix", "amount": "35.90"}])
    second = run(issue_once(backend_for(sim), other_sale))
    assert second.outcome is Outcome.IN_DOUBT and second.duplicate is True
    assert second.errors and "539" in second.errors[0]
    assert second.note is not None and second.note.chave == first.note.chave
    assert [n.reference for n in sim.truth.notes] == ["tillA"]  # the PDV-REF the request carried


def test_a_duplicate_whose_note_cannot_be_asked_has_no_note(sim: IntegraNotasSimulator) -> None:
    sim.faults.duplicidade = "foreign"
    sim.faults.refuse_query = 401
    result = run(issue_once(backend_for(sim), context(143)))
    assert result.outcome is Outcome.IN_DOUBT and result.duplicate is True and result.note is None


# -- lies about the chave: passed on as told (the services verify) ---------------------------


@pytest.mark.parametrize("mode", [m for m in LIE_MODES if m != "bad_check_digit"])
def test_a_lying_chave_is_passed_on_as_told(sim: IntegraNotasSimulator, mode: str) -> None:
    sim.faults.lying_chave = mode
    result = run(issue_once(backend_for(sim), context(150)))
    (truth,) = sim.truth.notes
    assert result.outcome is Outcome.AUTHORIZED and result.note is not None
    note = result.note
    assert note.chave == truth.told_chave != truth.chave
    key = parse_chave(note.chave)
    # As Integra said them, not as we reserved them (150 in série 2).
    assert (note.serie, note.numero) == (key.series, key.number)
    assert ((note.serie, note.numero) != (2, 150)) is (mode in ("other_serie", "other_numero"))
    assert note.xml is not None and read_nfe(note.xml).chave == note.chave


def test_a_chave_with_a_bad_check_digit_is_no_note(sim: IntegraNotasSimulator) -> None:
    sim.faults.lying_chave = "bad_check_digit"
    result = run(issue_once(backend_for(sim), context(151)))
    assert result.outcome is Outcome.IN_DOUBT and result.note is None
    assert result.errors and "chave de acesso inválida" in result.errors[0]


@pytest.mark.parametrize("mode", ["other_cnpj", "other_numero"])
def test_a_liar_found_by_number_is_passed_on_as_told(sim: IntegraNotasSimulator, mode: str) -> None:
    """Reconciling by number: a search that lists a note at our número is followed to that
    note, whatever its chave says; one that lists it elsewhere finds nothing here."""
    sim.faults.lying_chave = mode
    sim.faults.drop_after_accept = True

    async def scenario() -> Any:
        async with aclosing(backend_for(sim, fetch_pdf=False)) as backend:
            prepared = backend.prepare_issue(context(152))
            assert (await backend.send_issue(prepared)).outcome is Outcome.IN_DOUBT
            sim.faults.clear()
            async with aclosing(backend_for(sim)) as fresh:
                return await fresh.query_issue(prepared)

    found = run(scenario())
    (truth,) = sim.truth.notes
    if mode == "other_cnpj":
        assert found.outcome is Outcome.AUTHORIZED and found.note is not None
        assert found.note.chave == truth.told_chave
    else:  # told as another número: nothing at 152 (a resend would meet SEFAZ's 204)
        assert found.outcome is Outcome.NOT_SENT


# -- two cancels racing ---------------------------------------------------------------------


@pytest.mark.parametrize("code", ["573", "218"])
def test_two_concurrent_cancels_both_end_cancelled(sim: IntegraNotasSimulator, code: str) -> None:
    async def scenario() -> list[Any]:
        async with aclosing(backend_for(sim, fetch_pdf=False)) as backend:
            issued = await backend.send_issue(backend.prepare_issue(context(160)))
            assert issued.note is not None
            target = CancelTarget("s", "s", issued.note.chave)
            sim.faults.cancel_race = code
            async with aclosing(backend_for(sim)) as a, aclosing(backend_for(sim)) as b:
                first = asyncio.create_task(a.cancel(target, MOTIVO))
                await asyncio.sleep(0.05)
                return [await b.cancel(target, MOTIVO), await first]

    loser, winner = run(scenario())
    assert winner.outcome is CancelOutcome.CANCELLED
    assert loser.outcome is CancelOutcome.REFUSED and loser.errors[0].startswith(code)
    assert after_cancel(loser.outcome, loser.errors) is Happening.CANCEL_ALREADY_DONE
    assert after_cancel(winner.outcome, winner.errors) is Happening.CANCEL_CONFIRMED
    assert len(sim.truth.events) == 1
