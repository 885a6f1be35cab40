"""Catching up is fair to every in-doubt sale (issue 12, found by the 10,000-sale soak: sales held
for a manager, asked about first on every round, spent Focus's 100-a-minute budget and starved
the newer in-doubt sales a query could still settle). Real Focus simulator over loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from posapp.domain.lifecycle import SaleState
from posapp.services.catching_up import HELD_REQUERY_S
from posapp.services.pos import PosService
from tests.support.issuers import Issuers
from tests.support.sales import make_sale, reference_of
from tests.support.service import service_for


def _focus(issuers: Issuers, data_dir: Path) -> PosService:
    return service_for(issuers, data_dir, emites=False, providers=("focusnfe",))


def _queries_of(issuers: Issuers, ref: str) -> int:
    return len(issuers.focus.requests_to("GET", f"/v2/nfce/{ref}"))


def test_held_sales_are_asked_last_and_not_again_until_their_time(issuers: Issuers, tmp_path: Path) -> None:
    held, plain = make_sale(30), make_sale(31)

    async def scenario() -> None:
        service = _focus(issuers, tmp_path)
        await service.start()
        try:
            issuers.focus.faults.lying_chave = "other_cnpj"  # its note will never be provably ours
            assert (await service.issue(held, print_receipt=False)).state is SaleState.IN_DOUBT
            issuers.focus.faults.clear()
            issuers.focus.faults.drop_after_accept = True  # issued, the answer lost
            assert (await service.issue(plain, print_receipt=False)).state is SaleState.IN_DOUBT
            issuers.focus.faults.clear()

            clock = [1000.0]
            service.catching_up._clock = lambda: clock[0]
            await service.catch_up()
            gets = [r.path for r in issuers.focus.requests if r.method == "GET" and "/v2/nfce/" in r.path]
            held_ref, plain_ref = (reference_of(tmp_path, s.sale_id) for s in (held, plain))
            assert gets == [f"/v2/nfce/{plain_ref}", f"/v2/nfce/{held_ref}"]  # the held one last
            assert await service.state_of(plain.sale_id) is SaleState.AUTHORIZED
            assert await service.state_of(held.sale_id) is SaleState.IN_DOUBT

            clock[0] += HELD_REQUERY_S - 1
            await service.catch_up()
            assert _queries_of(issuers, held_ref) == 1  # asked lately: not again yet
            clock[0] += 2
            await service.catch_up()
            assert _queries_of(issuers, held_ref) == 2
            assert await service.state_of(held.sale_id) is SaleState.IN_DOUBT  # still a manager's
        finally:
            await service.aclose()

    asyncio.run(scenario())


def test_an_issuer_that_asked_us_to_wait_is_not_asked_again_this_round(
    issuers: Issuers, tmp_path: Path
) -> None:
    """One 429 stops the round for that issuer (the HTTP client's block and the catch-up's own
    check both hold it; this pins the behaviour, whichever does)."""
    sales = [make_sale(40 + n) for n in range(3)]

    async def scenario() -> None:
        service = _focus(issuers, tmp_path)
        await service.start()
        try:
            issuers.focus.faults.drop_after_accept = True
            for sale in sales:
                assert (await service.issue(sale, print_receipt=False)).state is SaleState.IN_DOUBT
            issuers.focus.faults.clear()
            issuers.focus.faults.rate_limit = True
            issuers.focus.faults.retry_after_s = 60
            before = len(issuers.focus.requests)
            await service.catch_up()
            assert len(issuers.focus.requests) - before == 1  # the 429, then nobody else asked
            for sale in sales:
                assert await service.state_of(sale.sale_id) is SaleState.IN_DOUBT
        finally:
            await service.aclose()

    asyncio.run(scenario())
