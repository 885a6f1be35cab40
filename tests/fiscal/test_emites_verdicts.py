"""The real :class:`EmitesBackend` against the Emites simulator's stricter-world knobs over
loopback: a lying chave is passed on as told (the services verify it), an ``erro`` after
issuing and absurd numbers are in doubt, and two racing cancels both end cancelled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from posapp.domain.documents import parse_chave
from posapp.domain.issuance import CancelOutcome, CancelTarget, Outcome
from posapp.domain.lifecycle import Happening, after_cancel
from posapp.fiscal.emites import EmitesBackend
from posapp.sim.emites import EmitesSimulator
from posapp.sim.lies import LIE_MODES
from tests.protocol.emites_samples import config, context

T = TypeVar("T")
MOTIVO = "Cliente desistiu da compra"


def with_backend(scenario: Callable[[EmitesSimulator, EmitesBackend], Awaitable[T]]) -> T:
    async def main() -> T:
        async with EmitesSimulator(seed=3) as sim:
            backend = EmitesBackend(config(port=sim.port, response_timeout_s=2.0))
            try:
                return await scenario(sim, backend)
            finally:
                await backend.aclose()

    return asyncio.run(main())


@pytest.mark.parametrize("mode", [m for m in LIE_MODES if m != "bad_check_digit"])
def test_a_lying_chave_is_passed_on_as_told(mode: str) -> None:
    async def scenario(sim: EmitesSimulator, backend: EmitesBackend) -> Any:
        sim.faults.lying_chave = mode
        result = await backend.send_issue(backend.prepare_issue(context("venda1")))
        return result, sim.truth.notes

    result, (truth,) = with_backend(scenario)
    assert result.outcome is Outcome.AUTHORIZED and result.note is not None
    assert result.note.chave == truth.told_chave != truth.chave
    assert truth.reference == "venda1"
    key = parse_chave(result.note.chave)
    assert (result.note.serie, result.note.numero) == (key.series, key.number)
    assert result.note.xml is not None  # the lie's own XML, consistent with it


def test_a_chave_with_a_bad_check_digit_is_no_note() -> None:
    async def scenario(sim: EmitesSimulator, backend: EmitesBackend) -> Any:
        sim.faults.lying_chave = "bad_check_digit"
        return await backend.send_issue(backend.prepare_issue(context()))

    result = with_backend(scenario)
    assert result.outcome is Outcome.IN_DOUBT and result.note is None


@pytest.mark.parametrize("status", ["erro", "processando"])
def test_an_answer_that_denies_what_was_issued_is_in_doubt(status: str) -> None:
    async def scenario(sim: EmitesSimulator, backend: EmitesBackend) -> Any:
        sim.faults.status_after_issue = status
        return await backend.send_issue(backend.prepare_issue(context())), len(sim.truth.notes)

    result, issued = with_backend(scenario)
    assert result.outcome is Outcome.IN_DOUBT and issued == 1


def test_absurd_numbers_are_in_doubt_at_once() -> None:
    async def scenario(sim: EmitesSimulator, backend: EmitesBackend) -> Any:
        sim.faults.huge_numbers = True
        started = time.monotonic()
        result = await backend.send_issue(backend.prepare_issue(context()))
        return result, time.monotonic() - started

    result, elapsed = with_backend(scenario)
    assert result.outcome is Outcome.IN_DOUBT and elapsed < 1.5  # not 23 s of CPU


@pytest.mark.parametrize("code", ["573", "218"])
def test_two_concurrent_cancels_both_end_cancelled(code: str) -> None:
    async def scenario(sim: EmitesSimulator, backend: EmitesBackend) -> Any:
        issued = await backend.send_issue(backend.prepare_issue(context()))
        assert issued.note is not None
        target = CancelTarget("sale0001", "sale0001", issued.note.chave)
        sim.faults.cancel_race = code
        other = EmitesBackend(config(port=sim.port, response_timeout_s=5.0))
        try:
            first = asyncio.create_task(backend.cancel(target, MOTIVO))
            await asyncio.sleep(0.1)
            loser = await other.cancel(target, MOTIVO)
            return loser, await first, len(sim.truth.events)
        finally:
            await other.aclose()

    loser, winner, events = with_backend(scenario)
    assert winner.outcome is CancelOutcome.CANCELLED
    assert loser.outcome is CancelOutcome.REFUSED and f"{code} - Rejeição" in loser.errors[0]
    assert after_cancel(loser.outcome, loser.errors) is Happening.CANCEL_ALREADY_DONE
    assert events == 1
