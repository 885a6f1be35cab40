"""Number gaps and inutilização (issue 15 item 2) against the Focus NFe and Integra Notas
simulators: what is refused locally (nothing sent), what the simulators refuse as SEFAZ
would, and the never-twice discipline: journaled before sending, a lost answer in doubt
until the issuer is asked, a crash mid-send settled by a query."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from posapp.config import Config
from posapp.domain.inutilizacao import InutState, InvalidInutilizacao
from posapp.journal.inutilizacoes import InutilizacaoBook, RangeTaken
from posapp.journal.store import Journal
from posapp.services.core import Authorization
from posapp.services.inutilizacao import Inutilizacoes, InutReport
from posapp.services.number_gaps import SerieGaps
from tests.support.issuers import FOCUS_TOKEN, INTEGRA_TOKEN, Issuers
from tests.support.sales import make_sale
from tests.support.service import service_for

SERIE = Config().nfce.serie  # the série the journal numbers Integra notes in
T = TypeVar("T")
WHY = "Numero reservado e nunca enviado ao emissor"
BY = Authorization("caixa1", "gerente")


@pytest.fixture
def issuers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Issuers]:
    for key, value in Issuers.token_env().items():
        monkeypatch.setenv(key, value)
    bundle = Issuers()
    yield bundle
    bundle.close()


def _ghost_reservation(data_dir: Path, sale_id: str = "never-sent") -> int:
    """A número handed out for a sale that never got sent (the process died before the
    journal wrote it, say): the gap the journal must report."""
    journal = Journal.in_dir(data_dir)
    try:
        return journal.reserve_number("integranotas", SERIE, sale_id, datetime.now(UTC))
    finally:
        journal.close()


def _sell_through_integra(issuers: Issuers, data_dir: Path, indexes: range, *, ghost_after: int) -> int:
    """Sales issued by Integra (we number série 2), with a ghost reservation after the
    ``ghost_after``-th: returns the ghost número."""
    issuers.set_up(emites=False, focus=False, integra=True)
    ghost = 0

    async def scenario() -> None:
        nonlocal ghost
        for position, index in enumerate(indexes, start=1):
            service = service_for(issuers, data_dir)
            try:
                await service.start()
                report = await service.issue(make_sale(index), print_receipt=False)
                assert report.note is not None and report.note.serie == SERIE
            finally:
                await service.aclose()
            if position == ghost_after:
                ghost = _ghost_reservation(data_dir)

    asyncio.run(scenario())
    return ghost


def _with_inut(issuers: Issuers, data_dir: Path, work: Callable[[Inutilizacoes], Awaitable[T]]) -> T:
    async def scenario() -> T:
        service = service_for(issuers, data_dir)
        inut = Inutilizacoes(service.core)
        try:
            await service.start()
            return await work(inut)
        finally:
            await inut.aclose()
            await service.aclose()

    return asyncio.run(scenario())


def _gaps(issuers: Issuers, data_dir: Path) -> list[SerieGaps]:
    async def work(inut: Inutilizacoes) -> list[SerieGaps]:
        return await inut.gaps()

    return _with_inut(issuers, data_dir, work)


def _request(
    issuers: Issuers, data_dir: Path, first: int, last: int, *, via: str | None = None
) -> InutReport:
    async def work(inut: Inutilizacoes) -> InutReport:
        return await inut.request(SERIE, first, last, WHY, by=BY, via=via)

    return _with_inut(issuers, data_dir, work)


def _rows(data_dir: Path) -> list[tuple[int, InutState, str | None]]:
    journal = Journal.in_dir(data_dir)
    book = InutilizacaoBook(journal.path)
    try:
        return [(r.inut_id, r.state, r.protocolo) for r in book.rows()]
    finally:
        book.close()
        journal.close()


def _inut_posts(issuers: Issuers) -> dict[str, int]:
    return {
        "focusnfe": len(issuers.focus.requests_to("POST", "/v2/nfce/inutilizacao")),
        "integranotas": len(issuers.integra.requests_to("POST", "/v1/nfce/inutiliza")),
    }


def test_a_reserved_and_never_sent_number_is_a_gap_and_is_inutilized_through_integra(
    issuers: Issuers, tmp_path: Path
) -> None:
    ghost = _sell_through_integra(issuers, tmp_path, range(1, 4), ghost_after=2)
    assert ghost == 3  # notes 1, 2, then the ghost, then note 4
    [serie] = _gaps(issuers, tmp_path)
    assert (serie.serie, serie.numbered_by_us, serie.highest, serie.gaps) == (SERIE, True, 4, ((3, 3),))

    report = _request(issuers, tmp_path, 3, 3)

    assert report.state is InutState.DONE and report.backend == "integranotas"
    [record] = issuers.integra.inutilizacoes.records
    assert (record.serie, record.first, record.last, record.justificativa) == (SERIE, 3, 3, WHY)
    assert report.protocolo == record.protocolo
    assert _rows(tmp_path) == [(report.inut_id, InutState.DONE, record.protocolo)]
    [after] = _gaps(issuers, tmp_path)
    assert after.gaps == () and [r.range.first for r in after.inutilizadas] == [3]
    # SEFAZ now refuses that número for a note (206): the simulator says so. The last sale's
    # own request, sent again with the inutilized número:
    last_issue = issuers.integra.requests_to("POST", "/v1/nfce")[-1].json()
    answer = httpx.post(
        f"{issuers.integra.url}/nfce",
        json={**last_issue, "numero": "3"},
        headers={"Authorization": INTEGRA_TOKEN},
    ).json()
    assert (answer["sucesso"], answer["codigo"]) == (False, 206)


def test_numbers_used_or_still_pending_are_refused_locally_and_nothing_is_sent(
    issuers: Issuers, tmp_path: Path
) -> None:
    _sell_through_integra(issuers, tmp_path, range(1, 4), ghost_after=2)
    for first, last, words in (
        (2, 3, "nota emitida"),  # 2 holds a note
        (3, 9, "maior número usado"),  # beyond the highest: future sales will use them
    ):
        with pytest.raises(InvalidInutilizacao) as caught:
            _request(issuers, tmp_path, first, last)
        assert words in caught.value.user_message
    # A sale queued with a reserved número (Integra took it and never answered... here: a
    # REJECTED sale keeps its número to be resent with it) is pending, not a gap.
    assert _inut_posts(issuers) == {"focusnfe": 0, "integranotas": 0}
    assert _rows(tmp_path) == []


def test_a_range_overlapping_one_already_inutilized_is_refused_locally_and_by_the_simulator(
    issuers: Issuers, tmp_path: Path
) -> None:
    _sell_through_integra(issuers, tmp_path, range(1, 4), ghost_after=1)  # ghost = 2
    assert _request(issuers, tmp_path, 2, 2).state is InutState.DONE
    with pytest.raises(RangeTaken):
        _request(issuers, tmp_path, 2, 2)
    assert _inut_posts(issuers)["integranotas"] == 1

    # Outside this journal (another till, the SEFAZ portal) the provider refuses the overlap.
    answer = httpx.post(
        f"{issuers.integra.url}/nfce/inutiliza",
        json={"serie": SERIE, "numero_inicial": 1, "numero_final": 2, "justificativa": WHY},
        headers={"Authorization": INTEGRA_TOKEN},
    ).json()
    assert (answer["sucesso"], answer["codigo"]) == (False, 256)


def test_the_provider_refusing_a_range_already_inutilized_elsewhere_is_recorded_refused(
    issuers: Issuers, tmp_path: Path
) -> None:
    ghost = _sell_through_integra(issuers, tmp_path, range(1, 2), ghost_after=1)
    assert _ghost_reservation(tmp_path, "never-sent-2") == ghost + 1  # two números skipped, then note 4
    _sell_through_integra(issuers, tmp_path, range(2, 3), ghost_after=0)
    # Another till of the store inutilized an overlapping range first (same CNPJ, série).
    other = httpx.post(
        f"{issuers.integra.url}/nfce/inutiliza",
        json={"serie": SERIE, "numero_inicial": ghost, "numero_final": ghost + 1, "justificativa": WHY},
        headers={"Authorization": INTEGRA_TOKEN},
    ).json()
    assert other["sucesso"] is True

    report = _request(issuers, tmp_path, ghost, ghost)

    assert report.state is InutState.REFUSED and "256" in report.errors[0]
    assert _rows(tmp_path) == [(report.inut_id, InutState.REFUSED, None)]


def test_a_lost_answer_at_focus_stays_in_doubt_until_the_listing_settles_it_with_its_protocol(
    issuers: Issuers, tmp_path: Path
) -> None:
    _sell_through_integra(issuers, tmp_path, range(1, 3), ghost_after=1)  # ghost = 2
    issuers.set_up(emites=False, focus=True, integra=True)
    issuers.focus.faults.drop_after_accept = True  # homologated, the answer lost

    report = _request(issuers, tmp_path, 2, 2, via="focusnfe")

    assert report.state is InutState.IN_DOUBT
    [record] = issuers.focus.inutilizacoes.records  # it did happen
    assert _rows(tmp_path) == [(report.inut_id, InutState.IN_DOUBT, None)]
    [serie] = _gaps(issuers, tmp_path)
    assert serie.gaps == () and [r.inut_id for r in serie.in_flight] == [report.inut_id]
    with pytest.raises(RangeTaken):  # never sent again while in doubt
        _request(issuers, tmp_path, 2, 2, via="focusnfe")
    issuers.focus.faults.drop_after_accept = False

    async def settle(inut: Inutilizacoes) -> list[InutReport]:
        return await inut.settle()

    [settled] = _with_inut(issuers, tmp_path, settle)

    assert settled.state is InutState.DONE and settled.protocolo == record.protocolo
    assert _inut_posts(issuers)["focusnfe"] == 1  # asked, not sent again
    journal = Journal.in_dir(tmp_path)
    book = InutilizacaoBook(journal.path)
    try:
        [row] = book.rows()
        assert row.xml == record.xml  # the procInutNFe Focus keeps, byte for byte
    finally:
        book.close()
        journal.close()


def test_a_lost_answer_at_integra_is_settled_by_the_identical_request_which_sefaz_never_applies_twice(
    issuers: Issuers, tmp_path: Path
) -> None:
    _sell_through_integra(issuers, tmp_path, range(1, 3), ghost_after=1)
    issuers.integra.faults.drop_after_accept = True
    assert _request(issuers, tmp_path, 2, 2).state is InutState.IN_DOUBT
    issuers.integra.faults.drop_after_accept = False

    async def settle(inut: Inutilizacoes) -> list[InutReport]:
        return await inut.settle()

    [settled] = _with_inut(issuers, tmp_path, settle)

    assert settled.state is InutState.DONE
    assert len(issuers.integra.inutilizacoes.records) == 1  # 563 the second time
    posts = issuers.integra.requests_to("POST", "/v1/nfce/inutiliza")
    assert len(posts) == 2 and posts[0].body == posts[1].body  # the same bytes


def _cli(
    data_dir: Path, config: Path, *args: str, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **Issuers.token_env(), "POSAPP_LOG_DIR": str(data_dir / "log")}
    env.pop("POSAPP_CRASH_AT", None)
    if crash_at:
        env["POSAPP_CRASH_AT"] = crash_at
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "posapp",
            "--data-dir",
            str(data_dir),
            "--config",
            str(config),
            "fiscal",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("crash_at", ["inut_after_journal", "inut_after_send"])
def test_a_crash_mid_send_leaves_it_in_doubt_and_a_query_settles_it_once(
    issuers: Issuers, tmp_path: Path, crash_at: str
) -> None:
    _sell_through_integra(issuers, tmp_path, range(1, 3), ghost_after=1)
    issuers.set_up(emites=False, focus=True, integra=True)
    config = tmp_path / "posapp.toml"
    config.write_text(issuers.config_toml(), encoding="utf-8")
    inutilizar = ("inutilizar", "--serie", str(SERIE), "--inicio", "2", "--justificativa", WHY)

    data_dir = tmp_path
    killed = _cli(
        data_dir, config, *inutilizar, "--via", "focusnfe", "--operator", "gerente", crash_at=crash_at
    )
    assert killed.returncode == -9, killed.stderr
    [(inut_id, state, _)] = _rows(data_dir)
    assert state is InutState.SENDING
    sent_before = len(issuers.focus.inutilizacoes.records)
    assert sent_before == (1 if crash_at == "inut_after_send" else 0)

    settled = _cli(data_dir, config, "inutilizacoes", "--consultar", "--json")

    assert settled.returncode == 0, settled.stderr
    out = json.loads(settled.stdout)
    [row] = out["inutilizacoes"]
    [record] = issuers.focus.inutilizacoes.records  # exactly one, whatever the crash
    assert (row["inutilizacao"], row["status"], row["protocolo"]) == (inut_id, "done", record.protocolo)
    assert _inut_posts(issuers)["focusnfe"] == 1


def test_justificativa_and_range_are_checked_before_anything(issuers: Issuers, tmp_path: Path) -> None:
    _sell_through_integra(issuers, tmp_path, range(1, 3), ghost_after=1)

    async def short(inut: Inutilizacoes) -> InutReport:
        return await inut.request(SERIE, 2, 2, "curta demais", by=BY)

    with pytest.raises(InvalidInutilizacao) as caught:
        _with_inut(issuers, tmp_path, short)
    assert "de 15 a 255 caracteres" in caught.value.user_message
    with pytest.raises(InvalidInutilizacao):
        _request(issuers, tmp_path, 3, 2)
    assert _inut_posts(issuers) == {"focusnfe": 0, "integranotas": 0}


def test_focus_numbers_seen_leave_gaps_that_may_be_another_tills(issuers: Issuers, tmp_path: Path) -> None:
    issuers.set_up(emites=False, focus=True, integra=False)

    async def scenario() -> None:
        for index in (1, 2, 3):
            if index == 2:  # another till of the store takes número 2 at Focus
                other = service_for(issuers, tmp_path / "other")
                try:
                    await other.start()
                    await other.issue(make_sale(100), print_receipt=False)
                finally:
                    await other.aclose()
            service = service_for(issuers, tmp_path)
            try:
                await service.start()
                await service.issue(make_sale(index), print_receipt=False)
            finally:
                await service.aclose()

    asyncio.run(scenario())
    [serie] = _gaps(issuers, tmp_path)
    assert (serie.serie, serie.numbered_by_us, serie.backends) == (1, False, ("focusnfe",))
    assert serie.gaps == ((2, 2),)  # this till: 1, 3, 4; Focus gave 2 to the other till
    assert "outro caixa" in serie.note()
    # Inutilizing it is refused by the simulator as SEFAZ would: número 2 was used (241).
    report = _request_serie(issuers, tmp_path, 1, 2)
    assert report.state is InutState.REFUSED and "241" in report.errors[0]
    assert FOCUS_TOKEN  # the fixture's token reached Focus (the request was authenticated)


def _request_serie(issuers: Issuers, data_dir: Path, serie: int, numero: int) -> InutReport:
    async def work(inut: Inutilizacoes) -> InutReport:
        return await inut.request(serie, numero, numero, WHY, by=BY)

    return _with_inut(issuers, data_dir, work)


def test_cli_exit_codes_for_inutilizar(
    issuers: Issuers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0 homologated, 2 refused locally, 3 refused by the issuer, 4 issuer unreachable (and
    the range free to try again), as the other commands say them."""
    from posapp.cli import main

    _sell_through_integra(issuers, tmp_path, range(1, 2), ghost_after=1)  # ghost 2
    assert _ghost_reservation(tmp_path, "never-sent-2") == 3
    _sell_through_integra(issuers, tmp_path, range(2, 3), ghost_after=0)  # note 4
    config = tmp_path / "posapp.toml"
    config.write_text(issuers.config_toml(), encoding="utf-8")

    def inutilizar(first: int, last: int) -> tuple[int, dict[str, object]]:
        code = main(
            [
                "fiscal",
                "inutilizar",
                "--data-dir",
                str(tmp_path),
                "--config",
                str(config),
                "--serie",
                str(SERIE),
                "--inicio",
                str(first),
                "--fim",
                str(last),
                "--justificativa",
                WHY,
                "--operator",
                "gerente",
                "--json",
            ]
        )
        out: dict[str, object] = json.loads(capsys.readouterr().out)
        return code, out

    code, out = inutilizar(1, 2)  # número 1 holds a note
    assert (code, out["status"]) == (2, "invalid") and "nota emitida" in str(out["errors"])
    issuers.set_up(emites=False, focus=False, integra=False)
    code, out = inutilizar(2, 2)
    assert (code, out["status"]) == (4, "not_sent") and "Não enviada" in str(out["errors"])
    issuers.set_up(emites=False, focus=False, integra=True)
    httpx.post(  # another till inutilized número 3 already: an overlap for 2-3
        f"{issuers.integra.url}/nfce/inutiliza",
        json={"serie": SERIE, "numero_inicial": 3, "numero_final": 3, "justificativa": WHY},
        headers={"Authorization": INTEGRA_TOKEN},
    )
    code, out = inutilizar(2, 3)
    assert (code, out["status"]) == (3, "refused") and "256" in str(out["errors"])
    code, out = inutilizar(2, 2)  # the refused and the unsent ones do not hold the range
    assert (code, out["status"]) == (0, "done") and out["protocolo"]
