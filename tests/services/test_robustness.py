"""What the reviewers broke on purpose: concurrent processes, unexpected failures after a
send, corrected sales with no issuer, repeated cancels. Real simulator, real journal."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from posapp.app import build_service
from posapp.config import Config
from posapp.domain.issuance import IssueContext, IssueResult, Outcome, PreparedIssue
from posapp.domain.lifecycle import SaleState, says_already_cancelled
from posapp.domain.sale import Sale
from posapp.fiscal.emites import EmitesBackend
from posapp.fiscal.router import FailoverRouter
from posapp.journal.store import Journal
from posapp.services.pos import PosService
from tests.conftest import sale_mapping
from tests.support.emites_thread import EmitesInThread
from tests.support.service import wait_until


async def _async_true(value: bool) -> bool:
    return value


def service(data: Path, sim: EmitesInThread, **config_overrides: Any) -> PosService:
    config = Config.model_validate(
        {"emites": {"response_timeout_s": 2, "connect_timeout_s": 1}, **config_overrides}
    )
    return build_service(config, data, emites_address=("127.0.0.1", sim.port), with_printer=False)


def failover(pos: PosService) -> FailoverRouter:
    """The router ``build_service`` composes, whose circuit breakers these tests reset."""
    assert isinstance(pos.router, FailoverRouter)
    return pos.router


def creates(sim: EmitesInThread) -> int:
    return sum(1 for r in sim.requests() if r.identifier == "CREATE_NFCE")


def test_only_the_process_owning_the_data_folder_recovers(tmp_path: Path, emites: EmitesInThread) -> None:
    async def scenario() -> None:
        till = service(tmp_path, emites)
        assert await till.start() == []  # the till owns the folder
        sale = Sale.from_mapping(sale_mapping())
        # The till is sending this sale right now (ISSUING, request committed).
        prepared = till.router.get("emites").prepare_issue(IssueContext(sale, sale.sale_id))
        till.journal.begin_issue(sale, prepared, till.now(), new_sale=True)

        support = service(tmp_path, emites)  # e.g. `posapp nfce list` run meanwhile
        assert await support.start() == []
        assert (await support.state_of(sale.sale_id)) is SaleState.ISSUING  # left alone
        await support.aclose()

        await till.aclose()  # the till goes away: the lock is free
        after = service(tmp_path, emites)
        assert await after.start() == [sale.sale_id]
        assert (await after.state_of(sale.sale_id)) is SaleState.IN_DOUBT
        await after.aclose()

    asyncio.run(scenario())


class ExplodesAfterSending(EmitesBackend):
    """The real client, then a failure the adapter did not foresee (a bug, a decode error)."""

    async def send_issue(self, prepared: PreparedIssue) -> IssueResult:
        await super().send_issue(prepared)
        raise RuntimeError("boom after the request left")


def test_an_unexpected_failure_after_sending_leaves_the_sale_in_doubt_not_issuing(
    tmp_path: Path, emites: EmitesInThread
) -> None:
    async def scenario() -> None:
        config = Config.model_validate({"emites": {"port": emites.port}})
        journal = Journal.in_dir(tmp_path)
        pos = PosService(
            config=config, journal=journal, router=FailoverRouter([ExplodesAfterSending(config)])
        )
        sale = Sale.from_mapping(sale_mapping())
        with pytest.raises(RuntimeError):
            await pos.issue(sale)
        assert (await pos.state_of(sale.sale_id)) is SaleState.IN_DOUBT
        assert (await pos.drain()).attempted == 0  # never resent blindly
        await pos.aclose()

    asyncio.run(scenario())
    assert creates(emites) == 1


def test_a_corrected_rejected_sale_with_no_issuer_keeps_the_correction(
    tmp_path: Path, emites: EmitesInThread
) -> None:
    async def scenario() -> None:
        pos = service(tmp_path, emites)
        await pos.start()
        emites.faults.reject_next = "778 - Rejeição: NCM inexistente"
        sale = Sale.from_mapping(sale_mapping())
        assert (await pos.issue(sale, print_receipt=False)).state is SaleState.REJECTED
        fixed_items = [dict(item) for item in sale_mapping()["items"]]
        fixed_items[1]["ncm"] = "19052090"
        fixed = Sale.from_mapping(sale_mapping(items=fixed_items), sale_id=sale.sale_id)
        for _ in range(3):  # the issuer keeps failing: its circuit opens
            pos.router.record("emites", Outcome.IN_DOUBT)
        report = await pos.resend(sale.sale_id, fixed, print_receipt=False)
        assert report.state is SaleState.QUEUED
        _, stored = await pos.get_sale(sale.sale_id)
        assert stored.items[1].ncm == "19052090"  # the drainer will send the corrected sale
        failover(pos).breaker("emites").reset()
        drained = await pos.drain()
        assert drained.authorized == 1
        await pos.aclose()

    asyncio.run(scenario())
    assert creates(emites) == 2  # the rejected one and the corrected one


def test_sefaz_saying_already_cancelled_is_read_as_cancelled() -> None:
    assert says_already_cancelled(("573 - Rejeição: Duplicidade de evento",))
    assert says_already_cancelled(("218 - Rejeição: NF-e já está cancelada na base de dados da SEFAZ",))
    assert not says_already_cancelled(("501 - Rejeição: Prazo de Cancelamento Superior ao Previsto",))


def test_stopping_the_drainer_lets_the_sale_in_flight_finish(tmp_path: Path, emites: EmitesInThread) -> None:
    from posapp.services.drainer import QueueDrainer

    async def scenario() -> None:
        pos = service(tmp_path, emites)
        await pos.start()
        emites.stop()
        sales = [Sale.from_mapping(sale_mapping()) for _ in range(5)]
        for sale in sales:
            assert (await pos.issue(sale, print_receipt=False)).state is SaleState.QUEUED
        emites.start()
        failover(pos).breaker("emites").reset()
        emites.faults.delay_s = 0.3  # each note takes a while: the stop lands mid-send
        drainer = QueueDrainer(pos, interval_s=0.05)
        drainer.start()
        await wait_until(lambda: _async_true(creates(emites) > 0))
        await drainer.stop()
        states = [await pos.state_of(s.sale_id) for s in sales]
        # Nothing was cut off in the middle: each sale is authorized or still safely queued.
        assert set(states) <= {SaleState.AUTHORIZED, SaleState.QUEUED}
        assert states.count(SaleState.AUTHORIZED) == creates(emites) >= 1
        assert SaleState.QUEUED in states  # it did stop early
        await pos.aclose()

    asyncio.run(scenario())


def test_an_unknown_code_page_is_refused_when_the_configuration_loads(tmp_path: Path) -> None:
    from posapp.config import ConfigError, load_config

    path = tmp_path / "posapp.toml"
    path.write_text('[printer]\ncodepage = "cp852"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "cp852" in info.value.user_message and "cp860" in info.value.user_message
    path.write_text('[printer]\ncodepage = "PC858"\ncodepage_table = 19\n', encoding="utf-8")
    assert load_config(path).printer.codepage == "PC858"


def test_a_queued_cash_sale_issued_later_does_not_kick_the_drawer(
    tmp_path: Path, emites: EmitesInThread
) -> None:
    from posapp.printing import decode_escpos

    async def scenario() -> tuple[bytes, bytes]:
        config = Config.model_validate(
            {
                "emites": {"port": emites.port, "connect_timeout_s": 1},
                "printer": {"uri": f"file:{tmp_path / 'out'}"},
            }
        )
        pos = build_service(config, tmp_path / "data")
        await pos.start()
        emites.stop()
        later, counter = Sale.from_mapping(sale_mapping()), Sale.from_mapping(sale_mapping())
        for sale in (later, counter):
            assert (await pos.issue(sale)).state is SaleState.QUEUED  # cash sales, nothing printed yet
        emites.start()
        failover(pos).breaker("emites").reset()
        by_manager = await pos.resend(later.sale_id)  # from the history, hours later
        at_counter = await pos.resend(counter.sale_id, at_counter=True)  # the customer is there
        await pos.aclose()
        assert by_manager.printed and at_counter.printed
        assert by_manager.receipt is not None and at_counter.receipt is not None
        return by_manager.receipt, at_counter.receipt

    late, counter = asyncio.run(scenario())
    assert decode_escpos(late).drawer_pulses == []
    assert len(decode_escpos(counter).drawer_pulses) == 1


def test_the_receipt_printer_reports_instead_of_raising(tmp_path: Path) -> None:
    from posapp.config import PrinterConfig
    from posapp.services.receipt_printer import SpoolReceiptPrinter

    async def scenario() -> None:
        journal = Journal.in_dir(tmp_path)
        printer = SpoolReceiptPrinter(PrinterConfig(uri=f"file:{tmp_path / 'out'}"), journal)
        await printer.aclose()  # a closed spool refuses jobs: the caller still gets a result
        result = await printer.print_bytes(b"\x1b@hello", kind="report")
        assert result.ok is False and result.error
        nothing = await printer.print_danfe("s1", xml=None, pdf=None, had_cash=False)
        assert nothing.ok is False and nothing.error
        journal.close()

    asyncio.run(scenario())


def test_an_answer_beats_another_process_recovery_guess(tmp_path: Path) -> None:
    from posapp.domain.issuance import AuthorizedNote
    from posapp.domain.lifecycle import Happening

    journal = Journal.in_dir(tmp_path)
    sale = Sale.from_mapping(sale_mapping())
    prepared = PreparedIssue("emites", sale.sale_id, b"frame")
    now = datetime.now(UTC)
    attempt_id = journal.begin_issue(sale, prepared, now, new_sale=True)
    journal.recover_interrupted(now)  # a process that thought this one was dead
    note = AuthorizedNote("53261122769530000131650010000000011956318890", 1, 1, now, "1", b"<x/>")
    journal.record_authorized(
        sale.sale_id, note, now, Happening.ISSUE_AUTHORIZED, attempt=(attempt_id, "authorized", "{}")
    )
    row = journal.get_sale(sale.sale_id)
    assert (row.state, row.chave) == (SaleState.AUTHORIZED, note.chave)
    journal.close()


def test_a_queued_sale_no_issuer_can_prepare_does_not_block_the_queue(
    tmp_path: Path, emites: EmitesInThread
) -> None:
    async def scenario() -> None:
        pos = service(tmp_path, emites)
        await pos.start()
        for _ in range(3):  # Emites' circuit is open: sales are queued without being prepared
            pos.router.record("emites", Outcome.IN_DOUBT)
        bad_items = [dict(item) for item in sale_mapping()["items"]]
        bad_items[1]["description"] = "\u200b"  # invisible: the Latin-1 policy leaves nothing
        bad = Sale.from_mapping(sale_mapping(items=bad_items))
        good = Sale.from_mapping(sale_mapping())
        for sale in (bad, good):
            assert (await pos.issue(sale, print_receipt=False)).state is SaleState.QUEUED
        failover(pos).breaker("emites").reset()
        for _ in range(2):  # every round, the good sale behind the bad one goes through
            await pos.drain()
        assert (await pos.state_of(good.sale_id)) is SaleState.AUTHORIZED
        assert (await pos.state_of(bad.sale_id)) is SaleState.QUEUED
        summary, _ = await pos.get_sale(bad.sale_id)
        assert summary.last_error  # visible to the manager
        await pos.aclose()

    asyncio.run(scenario())
