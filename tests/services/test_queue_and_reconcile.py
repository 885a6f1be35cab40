"""The durable queue and reconciliation, end to end over loopback.

* Everything down: sales are QUEUED (nothing sent) and the :class:`QueueDrainer` issues
  them, oldest first, once any issuer returns.
* A provider that accepts the request and then drops the connection: the sale is IN_DOUBT,
  stays with that provider (never resent, never failed over) and is reconciled by a query
  with the same identity (Focus ``ref``; Integra series/number), with no second POST.
* A provider that never processed the request (it hung) is found out by the same query
  and the sale goes back to the queue; the resend then issues exactly one note.
* Emites-Client cannot be queried: its in-doubt sales stay IN_DOUBT, visible, until a
  manager resolves them; that is by design.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from posapp.config import Config
from posapp.domain.lifecycle import SaleState
from posapp.journal.store import Journal
from posapp.services.core import Authorization
from posapp.services.drainer import QueueDrainer
from posapp.services.errors import NothingToDo
from posapp.services.pos import PosService
from tests.support.issuers import Issuers
from tests.support.sales import make_sale, reference_of, sale_id_of, tagged_for
from tests.support.service import service_for, wait_until

SERIE = Config().nfce.serie  # the series the journal numbers Integra notes in


async def state_of(service: PosService, sale_id: str) -> SaleState:
    summary, _sale = await service.get_sale(sale_id)
    return summary.state


def event_kinds(data_dir: Path, sale_id: str) -> list[str]:
    journal = Journal.in_dir(data_dir)
    try:
        return [e.kind for e in journal.events(sale_id)]
    finally:
        journal.close()


# -- everything down, then back ------------------------------------------------------------


@pytest.mark.parametrize("returning", ["emites", "focusnfe", "integranotas"])
def test_everything_down_queues_and_the_drainer_issues_when_an_issuer_returns(
    issuers: Issuers, tmp_path: Path, returning: str
) -> None:
    issuers.set_up(emites=False, focus=False, integra=False)
    count = 6

    async def scenario() -> None:
        service = service_for(issuers, tmp_path)
        drainer = QueueDrainer(service, interval_s=0.05, max_interval_s=0.1)
        try:
            for index in range(count):
                report = await service.issue(make_sale(index), print_receipt=True)
                assert report.state is SaleState.QUEUED and report.backend is None
                assert "fila" in report.message  # the cashier is told the sale is safe
            drainer.start()
            await asyncio.sleep(0.4)  # rounds while everything is still down: nothing moves
            status = await service.queue_status()
            assert (status.queued, status.in_doubt) == (count, 0)
            assert status.oldest_queued_at is not None

            issuers.set_up(
                emites=returning == "emites",
                focus=returning == "focusnfe",
                integra=returning == "integranotas",
            )

            async def all_authorized() -> bool:
                counts = await asyncio.to_thread(service.journal.count_by_state)
                return counts.get(SaleState.AUTHORIZED, 0) == count

            await wait_until(all_authorized, timeout_s=20)
            assert (await service.queue_status()).queued == 0
            for index in range(count):
                assert await state_of(service, sale_id_of(index)) is SaleState.AUTHORIZED
        finally:
            await drainer.stop()
            await service.aclose()

    asyncio.run(scenario())
    by_sale = issuers.notes_by_sale()
    assert sorted(by_sale) == list(range(count))
    assert {len(notes) for notes in by_sale.values()} == {1}
    assert {notes[0].issuer for notes in by_sale.values()} == {returning}
    # Oldest first: the issuer numbered the notes in the order the sales were made.
    numbers = [int(by_sale[i][0].chave[25:34]) for i in range(count)]
    assert numbers == sorted(numbers)
    assert issuers.issue_posts()[returning] == count


# -- accepted, then the connection dropped ------------------------------------------------


def test_focus_drops_after_accepting_in_doubt_then_reconciled_by_ref_without_a_second_post(
    issuers: Issuers, tmp_path: Path
) -> None:
    issuers.set_up(emites=False, focus=True, integra=True)
    issuers.focus.faults.drop_after_accept = True
    sale_id = sale_id_of(1)

    async def scenario() -> None:
        service = service_for(issuers, tmp_path)
        try:
            report = await service.issue(make_sale(1), print_receipt=False)
            assert (report.state, report.backend) == (SaleState.IN_DOUBT, "focusnfe")
            # Not resendable, not drained, not failed over to Integra (which is up).
            with pytest.raises(NothingToDo):
                await service.resend(sale_id)
            drained = await service.drain()
            assert drained.attempted == 0
            assert (await service.queue_status()).in_doubt == 1

            issuers.focus.faults.clear()
            [reconciled] = await service.reconcile()
            assert (reconciled.state, reconciled.backend) == (SaleState.AUTHORIZED, "focusnfe")
            assert reconciled.note is not None
            [note] = issuers.focus.issued()
            assert note.note is not None and reconciled.note.chave == note.note.chave
            xml, _pdf = await service.documents(sale_id)
            assert xml == note.xml  # fetched during the reconciliation
            assert await service.reconcile() == []  # nothing left in doubt
        finally:
            await service.aclose()

    asyncio.run(scenario())
    posts = issuers.focus.requests_to("POST", "/v2/nfce")
    ref = reference_of(tmp_path, sale_id)
    assert [p.query["ref"] for p in posts] == [ref]  # one POST, ever
    assert [r.path for r in issuers.focus.requests_to("GET", "/v2/nfce/")] == [f"/v2/nfce/{ref}"]
    assert issuers.integra.requests == []
    assert "in_doubt" in event_kinds(tmp_path, sale_id)
    assert event_kinds(tmp_path, sale_id)[-1] == "reconciled_authorized"


def test_integra_drops_after_accepting_and_the_drainer_reconciles_it_by_number(
    issuers: Issuers, tmp_path: Path
) -> None:
    issuers.set_up(emites=False, focus=False, integra=True)
    issuers.integra.faults.drop_after_accept = True
    sale_id = sale_id_of(7)

    async def scenario() -> None:
        service = service_for(issuers, tmp_path)
        drainer = QueueDrainer(service, interval_s=0.05, max_interval_s=0.1)
        try:
            report = await service.issue(make_sale(7), print_receipt=False)
            assert (report.state, report.backend) == (SaleState.IN_DOUBT, "integranotas")
            # Focus comes back: an in-doubt sale must still not go there.
            issuers.set_up(emites=False, focus=True, integra=True)
            issuers.integra.faults.clear()
            drainer.start()

            async def settled() -> bool:
                return await state_of(service, sale_id) is SaleState.AUTHORIZED

            await wait_until(settled, timeout_s=15)
        finally:
            await drainer.stop()
            await service.aclose()

    asyncio.run(scenario())
    assert len(issuers.integra.requests_to("POST", "/v1/nfce")) == 1
    assert len(issuers.integra.requests_to("POST", "/v1/nfce/busca")) >= 1  # found by series/number
    assert list(issuers.integra.documents) == [(SERIE, 1)]
    assert issuers.focus.requests_to("POST", "/v2/nfce") == []
    [record] = issuers.notes_by_sale()[7]
    journal = Journal.in_dir(tmp_path)
    try:
        row = journal.get_sale(sale_id)
    finally:
        journal.close()
    assert (row.chave, row.serie, row.numero) == (record.chave, SERIE, 1)


def test_focus_hangs_in_doubt_then_not_found_goes_back_to_the_queue_and_issues_once(
    issuers: Issuers, tmp_path: Path
) -> None:
    """A request the provider never acted on: the query says "no such ref", the sale is
    safe to send again, and the resend issues the one and only note."""
    issuers.set_up(emites=False, focus=True, integra=True)
    issuers.focus.faults.hang = True
    sale_id = sale_id_of(3)

    async def scenario() -> None:
        service = service_for(issuers, tmp_path, provider_timeout_s=0.5)
        try:
            report = await service.issue(make_sale(3), print_receipt=False)
            assert (report.state, report.backend) == (SaleState.IN_DOUBT, "focusnfe")
            issuers.focus.faults.clear()
            [reconciled] = await service.reconcile()
            assert reconciled.state is SaleState.QUEUED
            drained = await service.drain()
            assert (drained.attempted, drained.authorized, drained.still_queued) == (1, 1, 0)
        finally:
            await service.aclose()

    asyncio.run(scenario())
    posts = issuers.focus.requests_to("POST", "/v2/nfce")
    ref = reference_of(tmp_path, sale_id)
    assert [p.query["ref"] for p in posts] == [ref, ref]  # same ref both times
    assert len(issuers.focus.issued()) == 1
    assert issuers.integra.requests == []
    kinds = event_kinds(tmp_path, sale_id)
    assert kinds.index("in_doubt") < kinds.index("reconciled_not_found")


# -- Emites-Client cannot be asked ---------------------------------------------------------


def test_emites_in_doubt_stays_in_doubt_until_a_manager_resolves_it(issuers: Issuers, tmp_path: Path) -> None:
    issuers.emites.faults.close_mid_answer = True  # the note is issued, half an answer comes back
    sale_id = sale_id_of(5)

    async def scenario() -> None:
        service = service_for(issuers, tmp_path)
        drainer = QueueDrainer(service, interval_s=0.05, max_interval_s=0.1)
        try:
            report = await service.issue(make_sale(5), print_receipt=False)
            assert (report.state, report.backend) == (SaleState.IN_DOUBT, "emites")
            issuers.emites.faults.reset()
            [still] = await service.reconcile()
            assert still.state is SaleState.IN_DOUBT
            drainer.start()
            await asyncio.sleep(0.4)  # several rounds: reconcile and drain leave it alone
            assert await state_of(service, sale_id) is SaleState.IN_DOUBT
            assert (await service.queue_status()).in_doubt == 1  # visible to the manager
            await drainer.stop()

            # The manager finds the note in Emites-Client by the sale's PDV-REF tag.
            [found] = [n for n in issuers.emites.notes() if tagged_for(n.note.inf_cpl, sale_id)]
            resolved = await service.resolve_in_doubt(
                sale_id, issued_chave=found.note.chave, by=Authorization("gerente")
            )
            assert resolved.state is SaleState.AUTHORIZED
            summary, _ = await service.get_sale(sale_id)
            assert (summary.chave, summary.numero) == (found.note.chave, found.note.numero)
        finally:
            await drainer.stop()
            await service.aclose()

    asyncio.run(scenario())
    creates = [r for r in issuers.emites.requests() if r.identifier == "CREATE_NFCE"]
    assert len(creates) == 1 and len(issuers.emites.notes()) == 1
    assert issuers.focus.requests == [] and issuers.integra.requests == []  # never failed over
    kinds = event_kinds(tmp_path, sale_id)
    assert kinds[-1] == "resolved_authorized"
    # Who resolved it is in the audit row committed with that event.
    journal = Journal.in_dir(tmp_path)
    try:
        [row] = [r for r in journal.audit_entries() if r.sale_id == sale_id]
        assert (row.action, row.operator) == ("resolve", "gerente")
    finally:
        journal.close()


def test_emites_in_doubt_without_a_note_goes_back_to_the_queue_on_the_managers_word(
    issuers: Issuers, tmp_path: Path
) -> None:
    issuers.emites.faults.status_override = "processando"  # answered, nothing issued
    sale_id = sale_id_of(6)

    async def scenario() -> None:
        service = service_for(issuers, tmp_path)
        try:
            report = await service.issue(make_sale(6), print_receipt=False)
            assert (report.state, report.backend) == (SaleState.IN_DOUBT, "emites")
            issuers.emites.faults.reset()
            assert [n for n in issuers.emites.notes() if tagged_for(n.note.inf_cpl, sale_id)] == []
            back = await service.resolve_in_doubt(sale_id, issued_chave=None, by=Authorization("gerente"))
            assert back.state is SaleState.QUEUED
            drained = await service.drain()
            assert drained.authorized == 1
        finally:
            await service.aclose()

    asyncio.run(scenario())
    assert len([r for r in issuers.emites.requests() if r.identifier == "CREATE_NFCE"]) == 2
    [[record]] = issuers.notes_by_sale().values()
    assert (record.issuer, record.reference) == ("emites", reference_of(tmp_path, sale_id))
