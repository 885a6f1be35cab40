"""The two promises where a stricter world pushes (issue 12): a disk that fills after the
send, an issuer that answers with another sale's note, two tills with the same sale id,
two cancels of one note at once. Real simulators over loopback, real SQLite journals."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from posapp.domain.documents import build_chave, parse_chave
from posapp.domain.issuance import IssueResult, Outcome, PreparedIssue
from posapp.domain.lifecycle import SaleState
from posapp.fiscal.emites import EmitesBackend
from posapp.fiscal.port import FiscalBackend
from posapp.fiscal.router import FailoverRouter
from posapp.journal.store import Journal
from posapp.services import pending_answers
from posapp.services.core import Authorization
from posapp.services.errors import AnswerNotRecorded
from posapp.services.issuing import MAX_NUMBER_TRIES
from posapp.services.pos import PosService
from tests.support.issuers import Issuers
from tests.support.sales import make_sale, reference_of, sale_id_of, sale_mapping
from tests.support.service import service_for

MOTIVO = "Desistencia do comprador"


AfterAnswer = Callable[[IssueResult], IssueResult | None]


class Wrapped:
    """The real Emites-Client adapter with something done to its answer (a test seam on the
    answer only: the request really goes to the simulator, which really issues)."""

    def __init__(self, inner: EmitesBackend, after: AfterAnswer) -> None:
        self._inner = inner
        self._after = after
        self.name = inner.name

    def __getattr__(self, attribute: str) -> object:
        return getattr(self._inner, attribute)

    async def send_issue(self, prepared: PreparedIssue) -> IssueResult:
        result = await self._inner.send_issue(prepared)
        changed = self._after(result)
        return result if changed is None else changed


def service_with(issuers: Issuers, data_dir: Path, after: AfterAnswer) -> tuple[PosService, Journal]:
    config = issuers.config(providers=())
    journal = Journal.in_dir(data_dir)
    backend: FiscalBackend = Wrapped(EmitesBackend(config), after)  # type: ignore[assignment]
    return PosService(config=config, journal=journal, router=FailoverRouter([backend])), journal


def test_a_disk_full_after_the_send_is_in_doubt_and_recorded_once_when_fixed(
    issuers: Issuers, tmp_path: Path
) -> None:
    sale = make_sale(1)

    def fill_the_disk(_result: IssueResult) -> None:
        # The disk fills while the issuer answers: SQLite's own "database or disk is full".
        pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
        journal._db.execute(f"PRAGMA max_page_count = {pages}")

    service, journal = service_with(issuers, tmp_path, fill_the_disk)

    async def scenario() -> None:
        await service.start()
        try:
            with pytest.raises(AnswerNotRecorded) as failed:
                await service.issue(sale, print_receipt=False)
            message = failed.value.user_message
            assert "pode ter sido emitida" in message and "NÃO emita" in message
            assert "Nada foi enviado" not in message
            assert [p.sale_id for p in pending_answers.pending(tmp_path)] == [sale.sale_id]
            assert await service.state_of(sale.sale_id) in (SaleState.ISSUING, SaleState.IN_DOUBT)
            # The fault is fixed; catching up records the kept answer, not a second note.
            journal._db.execute("PRAGMA max_page_count = 1073741823")
            await service.catch_up()
            assert await service.state_of(sale.sale_id) is SaleState.AUTHORIZED
            assert pending_answers.pending(tmp_path) == []
            await service.catch_up()  # and again: nothing more happens
        finally:
            await service.aclose()

    asyncio.run(scenario())
    creates = [r for r in issuers.emites.requests() if r.identifier == "CREATE_NFCE"]
    assert len(creates) == 1 and len(issuers.emites.notes()) == 1
    journal = Journal.in_dir(tmp_path)
    try:
        row = journal.get_sale(sale.sale_id)
        assert row.chave == issuers.emites.notes()[0].note.chave
    finally:
        journal.close()


@pytest.mark.parametrize(
    "lie",
    ["another_cnpj", "another_uf", "model_55", "bad_check_digit"],
)
def test_an_authorized_answer_with_a_note_that_is_not_this_sales_is_never_trusted(
    issuers: Issuers, tmp_path: Path, lie: str
) -> None:
    def lying(result: IssueResult) -> IssueResult:
        assert result.outcome is Outcome.AUTHORIZED and result.note is not None
        key = parse_chave(result.note.chave)
        parts = {
            "uf": key.uf,
            "year_month": key.year_month,
            "cnpj": key.cnpj,
            "model": key.model,
            "series": key.series,
            "number": key.number,
            "emission_type": key.emission_type,
            "code": key.code,
        }
        if lie == "bad_check_digit":
            chave = key.digits[:-1] + str((int(key.digits[-1]) + 1) % 10)
        else:
            changed = {
                "another_cnpj": ("cnpj", "11222333000181"),
                "another_uf": ("uf", "SP"),
                "model_55": ("model", "55"),
            }
            name, value = changed[lie]
            chave = build_chave(
                uf=str(value if name == "uf" else parts["uf"]),
                year_month=key.year_month,
                cnpj=str(value if name == "cnpj" else parts["cnpj"]),
                model=str(value if name == "model" else parts["model"]),
                series=key.series,
                number=key.number,
                emission_type=key.emission_type,
                code=key.code,
            ).digits
        return replace(result, note=replace(result.note, chave=chave, xml=None))

    service, _journal = service_with(issuers, tmp_path, lying)
    sale = make_sale(2)

    async def scenario() -> None:
        await service.start()
        try:
            report = await service.issue(sale, print_receipt=False)
            assert report.state is SaleState.IN_DOUBT
            assert report.errors and "NÃO foi dada como autorizada" in report.message
            summary, _ = await service.get_sale(sale.sale_id)
            assert summary.chave is None and summary.last_error and "não confere" in summary.last_error
            drained = await service.drain()  # never resent automatically
            assert drained.attempted == 0
        finally:
            await service.aclose()

    asyncio.run(scenario())
    assert len([r for r in issuers.emites.requests() if r.identifier == "CREATE_NFCE"]) == 1


def test_two_tills_with_the_same_sale_id_through_one_focus_account_each_get_their_own_note(
    issuers: Issuers, tmp_path: Path
) -> None:
    sale = make_sale(3)  # the same SALE.json, sale_id and all, on two tills
    tills = [tmp_path / "till-a", tmp_path / "till-b"]

    async def scenario() -> list[str]:
        chaves = []
        for data_dir in tills:
            service = service_for(issuers, data_dir, emites=False, providers=("focusnfe",))
            await service.start()
            try:
                report = await service.issue(sale, print_receipt=False)
                assert report.state is SaleState.AUTHORIZED and report.note is not None
                chaves.append(report.note.chave)
            finally:
                await service.aclose()
        return chaves

    chaves = asyncio.run(scenario())
    refs = [reference_of(data_dir, sale.sale_id) for data_dir in tills]
    assert refs[0] != refs[1] and all(ref.endswith(sale.sale_id) for ref in refs)
    assert sorted(n.ref for n in issuers.focus.issued()) == sorted(refs)
    assert chaves[0] != chaves[1]  # till B did not record till A's note as its own


def test_a_cancel_while_another_process_cancel_is_in_flight_sends_nothing(
    issuers: Issuers, tmp_path: Path
) -> None:
    sale_id = sale_id_of(4)

    async def scenario() -> None:
        first = service_for(issuers, tmp_path, providers=())
        second = service_for(issuers, tmp_path, providers=())
        await first.start()
        await second.start()
        try:
            report = await first.issue(make_sale(4), print_receipt=False)
            assert report.state is SaleState.AUTHORIZED
            issuers.emites.simulator.engine.faults.delay_s = 0.5  # the first cancel's answer is slow
            cancelling = asyncio.ensure_future(first.cancel(sale_id, MOTIVO, by=Authorization("gerente")))
            await asyncio.sleep(0.2)  # the first cancel has left
            other = await second.cancel(sale_id, MOTIVO, by=Authorization("caixa2"))
            assert (other.state, other.outcome.value) == (SaleState.CANCELLING, "in_doubt")
            assert "já está sendo cancelada" in other.message
            done = await cancelling
            assert done.state is SaleState.CANCELLED
            assert await second.state_of(sale_id) is SaleState.CANCELLED
        finally:
            issuers.emites.simulator.engine.faults.delay_s = 0.0
            await first.aclose()
            await second.aclose()

    asyncio.run(scenario())
    assert len([r for r in issuers.emites.requests() if r.identifier == "CANCEL_NFCE"]) == 1


@pytest.mark.slow
def test_two_processes_emitting_one_sale_file_issue_it_once_and_the_loser_says_so(
    issuers: Issuers, tmp_path: Path
) -> None:
    sale = tmp_path / "sale.json"
    sale.write_text(json.dumps(sale_mapping(5)), encoding="utf-8")
    issuers.emites.simulator.engine.faults.delay_s = 0.5  # both start before either is answered
    root = Path(__file__).resolve().parents[2]
    command = [
        sys.executable,
        "-m",
        "posapp",
        "nfce",
        "emit",
        str(sale),
        "--emites",
        f"127.0.0.1:{issuers.emites.port}",
    ]
    command += ["--data-dir", str(tmp_path / "data"), "--json"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    children = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        outcomes.append((child.returncode, json.loads(out.strip().splitlines()[-1])))
    outcomes.sort(key=lambda o: o[0])
    (won, winner), (lost, loser) = outcomes
    assert (won, winner["status"]) == (0, "authorized")
    assert lost != 0 and "já está registrada" in loser["errors"][0] and "UNIQUE" not in loser["errors"][0]
    assert "Nada foi enviado" not in loser["errors"][0]
    assert len([r for r in issuers.emites.requests() if r.identifier == "CREATE_NFCE"]) == 1


# -- against the providers' simulators, as devious as the real world ---------------------------


def only(issuers: Issuers, tmp_path: Path, provider: str) -> PosService:
    return service_for(issuers, tmp_path, emites=False, providers=(provider,))


def ours(issuers: Issuers, provider: str) -> list[object]:
    sim = issuers.focus if provider == "focusnfe" else issuers.integra
    return [n for n in sim.truth.notes if not n.foreign]


# Where the provider numbers (Focus), another série/número of this store cannot be told from a
# real one: only where we number (Integra) are they lies we can prove.
LIES = [
    *[("focusnfe", lie) for lie in ("other_cnpj", "other_uf", "model_55", "bad_check_digit")],
    *[
        ("integranotas", lie)
        for lie in ("other_cnpj", "other_uf", "model_55", "other_serie", "other_numero", "bad_check_digit")
    ],
]


@pytest.mark.parametrize(("provider", "lie"), LIES)
def test_a_provider_lying_about_the_chave_never_authorizes_the_sale(
    issuers: Issuers, tmp_path: Path, provider: str, lie: str
) -> None:
    sim = issuers.focus if provider == "focusnfe" else issuers.integra
    sim.faults.lying_chave = lie
    sale = make_sale(10)

    async def scenario() -> None:
        service = only(issuers, tmp_path, provider)
        await service.start()
        try:
            report = await service.issue(sale, print_receipt=False)
            assert report.state is SaleState.IN_DOUBT, (lie, report)
            for _ in range(2):  # catching up asks again: the lie persists, the sale stays in doubt
                await service.catch_up()
            summary, _ = await service.get_sale(sale.sale_id)
            assert summary.chave is None and summary.state in (SaleState.IN_DOUBT, SaleState.QUEUED)
        finally:
            await service.aclose()

    asyncio.run(scenario())
    assert len(ours(issuers, provider)) == 1  # the one real note; never a second


def test_integra_duplicidade_of_another_tills_note_takes_the_next_numero(
    issuers: Issuers, tmp_path: Path
) -> None:
    # Another till numbers the same série, always one step ahead while the knob is on.
    issuers.integra.faults.duplicidade = "foreign"
    issuers.integra.faults.duplicate_detail = "full"
    sale = make_sale(11)

    async def scenario() -> None:
        service = only(issuers, tmp_path, "integranotas")
        await service.start()
        try:
            report = await service.issue(sale, print_receipt=False)
            # A few números found taken, then the sale waits in the queue (never adopted).
            assert report.state is SaleState.QUEUED
            taken = [n for n in issuers.integra.truth.notes if n.foreign]
            assert len(taken) == MAX_NUMBER_TRIES and ours(issuers, "integranotas") == []
            issuers.integra.faults.clear()
            await service.drain()
            summary, _ = await service.get_sale(sale.sale_id)
            assert summary.state is SaleState.AUTHORIZED
            assert summary.numero == max(n.numero for n in taken) + 1  # past what the issuer holds
        finally:
            await service.aclose()

    asyncio.run(scenario())
    assert len(ours(issuers, "integranotas")) == 1


def test_integra_duplicidade_of_our_own_note_is_adopted_only_with_proof(
    issuers: Issuers, tmp_path: Path
) -> None:
    issuers.integra.faults.duplicidade = "own"
    issuers.integra.faults.duplicate_detail = "full"
    sale = make_sale(12)

    async def scenario() -> None:
        service = only(issuers, tmp_path, "integranotas")
        await service.start()
        try:
            report = await service.issue(sale, print_receipt=False)
            assert report.state is SaleState.AUTHORIZED  # chave, total and items are this sale's
        finally:
            await service.aclose()

    asyncio.run(scenario())
    assert len(ours(issuers, "integranotas")) == 1


def test_integra_duplicidade_without_proof_stays_in_doubt_and_is_never_issued_twice(
    issuers: Issuers, tmp_path: Path
) -> None:
    issuers.integra.faults.duplicidade = "own"  # our earlier request did issue it
    issuers.integra.faults.duplicate_detail = "none"
    issuers.integra.faults.refuse_query = 401  # and the issuer cannot be asked
    sale = make_sale(13)

    async def scenario() -> None:
        service = only(issuers, tmp_path, "integranotas")
        await service.start()
        try:
            report = await service.issue(sale, print_receipt=False)
            assert report.state is SaleState.IN_DOUBT
            await service.catch_up()  # a refused query is no verdict: still in doubt
            assert await service.state_of(sale.sale_id) is SaleState.IN_DOUBT
            issuers.integra.faults.clear()
            await service.catch_up()  # the issuer answers again: its note is ours
            assert await service.state_of(sale.sale_id) is SaleState.AUTHORIZED
        finally:
            await service.aclose()

    asyncio.run(scenario())
    assert len(ours(issuers, "integranotas")) == 1


@pytest.mark.parametrize("provider", ["focusnfe", "integranotas"])
def test_a_5xx_after_issuing_is_in_doubt_and_reconciled_to_the_one_note(
    issuers: Issuers, tmp_path: Path, provider: str
) -> None:
    sim = issuers.focus if provider == "focusnfe" else issuers.integra
    sim.faults.error_after_accept = 500
    sale = make_sale(14)

    async def scenario() -> None:
        service = only(issuers, tmp_path, provider)
        await service.start()
        try:
            report = await service.issue(sale, print_receipt=False)
            assert report.state is SaleState.IN_DOUBT  # never "rejected": that would be resent
            sim.faults.clear()
            await service.catch_up()
            assert await service.state_of(sale.sale_id) is SaleState.AUTHORIZED
        finally:
            await service.aclose()

    asyncio.run(scenario())
    assert len(ours(issuers, provider)) == 1


@pytest.mark.parametrize("lie", ["other_numero", "other_serie"])
def test_a_lie_then_not_found_from_another_process_is_never_resent(
    issuers: Issuers, tmp_path: Path, lie: str
) -> None:
    """Found by the soak: Integra lies about the número, a fresh process's query searches for the
    lie and finds nothing; that "not found" must not requeue the sale (its note exists)."""
    issuers.integra.faults.lying_chave = lie
    sale = make_sale(20)

    async def scenario() -> None:
        first = only(issuers, tmp_path, "integranotas")
        await first.start()
        try:
            assert (await first.issue(sale, print_receipt=False)).state is SaleState.IN_DOUBT
        finally:
            await first.aclose()
        issuers.integra.faults.clear()
        second = only(issuers, tmp_path, "integranotas")
        await second.start()
        try:
            for _ in range(2):
                await second.catch_up()
            assert await second.state_of(sale.sale_id) is SaleState.IN_DOUBT  # held for a manager
        finally:
            await second.aclose()

    asyncio.run(scenario())
    assert len(ours(issuers, "integranotas")) == 1


def test_another_tills_focus_note_without_its_xml_is_never_adopted(issuers: Issuers, tmp_path: Path) -> None:
    """Found by the soak: Focus answers "already authorized" about another till's note under our
    ref, and its XML file cannot be downloaded. A later query finds that note authorized under
    the ref; with no XML nothing shows it is this sale's (total, items), so it is never adopted,
    not even by a fresh process that did not see the first answer."""
    issuers.focus.faults.duplicidade = "foreign"
    issuers.focus.faults.missing_files = True
    sale = make_sale(21)

    async def scenario() -> None:
        first = only(issuers, tmp_path, "focusnfe")
        await first.start()
        try:
            assert (await first.issue(sale, print_receipt=False)).state is SaleState.IN_DOUBT
        finally:
            await first.aclose()
        issuers.focus.faults.duplicidade = None  # the files are still missing
        second = only(issuers, tmp_path, "focusnfe")
        await second.start()
        try:
            for _ in range(2):
                await second.catch_up()
            assert await second.state_of(sale.sale_id) is SaleState.IN_DOUBT  # held for a manager
            issuers.focus.faults.missing_files = False  # now the XML shows whose note it is
            await second.catch_up()
            assert await second.state_of(sale.sale_id) is SaleState.IN_DOUBT
        finally:
            await second.aclose()

    asyncio.run(scenario())
    assert ours(issuers, "focusnfe") == []  # the only note under the ref is the other till's
    assert [n.foreign for n in issuers.focus.truth.notes] == [True]


def test_a_duplicidade_shown_with_a_note_at_another_number_is_no_proof_the_number_is_taken(
    issuers: Issuers, tmp_path: Path
) -> None:
    """Found by the 10,000-sale soak (2 sales issued twice): Integra issued the sale but tells
    another série in every answer; the answer was lost, its search for our série/número finds
    nothing (it searches the lie), the sale is sent again with the same número, and the
    duplicidade answer shows a note at série 3. A note that is not at our série/número cannot
    be what holds it: no next número, the sale stays in doubt for a manager."""
    integra = issuers.integra
    integra.faults.lying_chave = "other_serie"
    integra.faults.drop_after_accept = True
    sale = make_sale(22)

    async def scenario() -> None:
        service = only(issuers, tmp_path, "integranotas")
        await service.start()
        try:
            assert (await service.issue(sale, print_receipt=False)).state is SaleState.IN_DOUBT
            integra.faults.drop_after_accept = False  # it still lies about the série
            for _ in range(3):
                await service.catch_up()
            assert await service.state_of(sale.sale_id) is SaleState.IN_DOUBT
        finally:
            await service.aclose()

    asyncio.run(scenario())
    assert len(ours(issuers, "integranotas")) == 1


def test_a_sale_the_stores_state_refuses_takes_no_numero(issuers: Issuers, tmp_path: Path) -> None:
    """A card sale without its details in RJ is refused before anything is stored: where we
    number (Integra), no série/número is reserved for it, so it leaves no gap to inutilize."""
    from posapp.app import build_service
    from posapp.domain.errors import InvalidSale
    from posapp.domain.sale import Sale

    config = issuers.config(emites=False, providers=("integranotas",))
    config = config.model_copy(update={"store": config.store.model_copy(update={"uf": "RJ"})})
    mapping = sale_mapping(23)
    total = str(Sale.from_mapping(mapping).total)
    mapping["payments"] = [{"method": "credito", "amount": total}]
    sale = Sale.from_mapping(mapping)

    async def scenario() -> None:
        service = build_service(config, tmp_path)
        await service.start()
        try:
            with pytest.raises(InvalidSale) as refused:
                await service.issue(sale, print_receipt=False)
            assert "em RJ o cartão exige CNPJ da credenciadora" in (refused.value.user_message or "")
        finally:
            await service.aclose()

    asyncio.run(scenario())
    assert issuers.integra.requests == []
    journal = Journal.in_dir(tmp_path)
    try:
        assert not journal.exists(sale.sale_id)
    finally:
        journal.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "journal.sqlite3")) as db:
        assert db.execute("SELECT count(*) FROM number_reservations").fetchone() == (0,)
