"""kill -9 at every step of an issue, across 120 sales and three issuers: nothing lost,
nothing issued twice.

A worker process (:mod:`tests.support.crash_worker`) is the till: it restarts, recovers,
reconciles, drains and sells until it is killed. It is killed

* after the journal write (``POSAPP_CRASH_AT=after_journal:n``),
* after the request was sent: the simulator has acted on it (the note exists) and holds
  its answer until the test has SIGKILLed the worker from outside,
* after the answer arrived, before it was recorded (``after_answer:n``),
* before printing (``before_print:n``),

while Emites-Client, Focus NFe and Integra Notas take turns being the first issuer up
(Emites down, then Focus down too), once with everything down (the queue fills), and once
in the middle of draining that queue. A last clean run sells the rest with everything up.

The oracle is the simulators' own records, mapped to sales by a marker product code: every
sale reached exactly one issuer exactly once, and holds exactly one note. Emites-Client has
no query, so its in-doubt sales stay IN_DOUBT (visible) until the manager resolves them,
which the test then does, as a manager would, by looking the sale up in Emites-Client.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from posapp.app import build_service
from posapp.config import load_config
from posapp.domain.lifecycle import SaleState
from posapp.journal.store import Journal
from posapp.printing import decode_escpos
from posapp.services.core import Authorization
from tests.support.issuers import Issuers
from tests.support.sales import index_of_code, sale_id_of, sale_mapping, tagged_for

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SALES = 120
VISIBLE = {SaleState.AUTHORIZED, SaleState.IN_DOUBT, SaleState.QUEUED, SaleState.REJECTED}
PHASES = {  # which issuers are up: (emites, focus, integra)
    "emites": (True, True, True),
    "focusnfe": (False, True, True),
    "integranotas": (False, False, True),
    "down": (False, False, False),
}


@dataclass(frozen=True)
class Run:
    phase: str
    point: str | None  # a crash point, "after_request" (killed from outside), or None: no crash
    nth: int = 0
    max_sales: int = 12


SCHEDULE = [
    Run("emites", "after_journal", 3),
    Run("emites", "after_request", 2),
    Run("emites", "after_answer", 4),
    Run("emites", "before_print", 3),
    Run("focusnfe", "after_journal", 4),  # passes: Emites (refused), Focus, per sale
    Run("focusnfe", "after_request", 3),
    Run("focusnfe", "after_answer", 4),
    Run("focusnfe", "before_print", 2),
    Run("integranotas", "after_journal", 6),  # three passes per sale until breakers open
    Run("integranotas", "after_request", 4),
    Run("integranotas", "after_answer", 6),
    Run("integranotas", "before_print", 3),
    Run("down", None, max_sales=8),  # fills the queue
    Run("emites", "after_answer", 3),  # dies while draining it
    Run("emites", None, max_sales=SALES),  # sells the rest, everything up
]


@dataclass
class Finished:
    run: Run
    returncode: int
    lines: list[str]
    stderr: str

    def __str__(self) -> str:
        return f"rc={self.returncode}\nstdout: {self.lines}\nstderr (tail): {self.stderr[-3000:]}"

    def last(self, word: str) -> str | None:
        found = [line.split()[1] for line in self.lines if line.startswith(word + " ")]
        return found[-1] if found else None


def worker(issuers: Issuers, tmp_path: Path, number: int, run: Run) -> Finished:
    env = {**os.environ, **Issuers.token_env(), "PYTHONPATH": str(REPO)}
    env.pop("POSAPP_CRASH_AT", None)
    if run.point is not None and run.point != "after_request":
        env["POSAPP_CRASH_AT"] = f"{run.point}:{run.nth}"
    if run.point == "after_request":
        issuers.trap.arm(run.nth)
    out_path, err_path = tmp_path / f"run{number:02d}.out", tmp_path / f"run{number:02d}.err"
    command = [
        sys.executable, "-m", "tests.support.crash_worker",
        str(tmp_path / "data"), str(tmp_path / "posapp.toml"), str(tmp_path / "sales.json"),
        "--max-sales", str(run.max_sales),
    ]  # fmt: skip
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=err)
        try:
            if run.point == "after_request":
                deadline = time.monotonic() + 30
                while not issuers.trap.caught.wait(0.02):
                    if process.poll() is not None or time.monotonic() > deadline:
                        break
                if issuers.trap.caught.is_set():
                    os.kill(process.pid, signal.SIGKILL)  # the issuer has the request; no answer yet
            returncode = process.wait(timeout=60)
        finally:
            issuers.trap.release()
            if process.poll() is None:
                process.kill()
                process.wait()
    lines = out_path.read_text(encoding="utf-8").splitlines()
    return Finished(run, returncode, lines, err_path.read_text(encoding="utf-8", errors="replace"))


def check_the_crash(finished: Finished, data_dir: Path, issuers: Issuers, receipts: Path) -> None:
    """Right after the kill, before any restart: the journal is where the crash point says."""
    run = finished.run
    assert finished.returncode == -signal.SIGKILL, f"{run} was meant to die by SIGKILL\n{finished}"
    journal = Journal.in_dir(data_dir)
    try:
        issuing = journal.list_sales(states=[SaleState.ISSUING])
        if run.point == "before_print":
            assert issuing == []
            victim = finished.last("issuing")
            assert victim is not None and finished.last("issued") != victim
            row = journal.get_sale(victim)
            assert (row.state, row.backend) == (SaleState.AUTHORIZED, run.phase) and row.chave is not None
            # It died before its receipt came out: no print job, no receipt on the printer.
            assert journal.print_jobs(victim) == []
            assert row.chave not in printed_digits(receipts)
        else:
            # Killed inside an issue: that one sale is ISSUING, its exact request committed.
            assert len(issuing) == 1, f"{run}: ISSUING = {[r.sale_id for r in issuing]}"
            [row] = issuing
            assert row.attempt_id is not None and journal.attempt(row.attempt_id).request
            assert row.backend == run.phase, f"{run}: killed in an attempt on {row.backend}"
            if run.point == "after_request":
                assert issuers.trap.last is not None and issuers.trap.last.issuer == run.phase
    finally:
        journal.close()


def printed_digits(receipts: Path) -> str:
    """The text of every receipt printed so far, spaces and line breaks removed."""
    if not receipts.exists():
        return ""
    return decode_escpos(receipts.read_bytes()).text.replace(" ", "").replace("\n", "")


def issue_requests_by_sale(issuers: Issuers) -> Counter[int]:
    """Issue requests each issuer *received*, per sale (from the simulators' request logs)."""
    received: Counter[int] = Counter()
    for request in issuers.emites.requests():
        if request.identifier == "CREATE_NFCE":
            payload = json.loads(request.payload.decode("latin-1"))
            received[_marked(p["codigo_produto"] for p in payload["produtos"])] += 1
    for post in issuers.focus.requests_to("POST", "/v2/nfce"):
        received[_marked(i["codigo_produto"] for i in post.json()["items"])] += 1
    for post in issuers.integra.requests_to("POST", "/v1/nfce"):
        received[_marked(i["codigo_produto"] for i in post.json()["itens"])] += 1
    return received


def _marked(codes: Iterator[object]) -> int:
    for code in codes:
        index = index_of_code(str(code))
        if index is not None:
            return index
    raise AssertionError("an issue request without a marked sale")


async def manager_resolves_and_drains(
    issuers: Issuers, config_path: Path, data_dir: Path, reprint: list[str], reprints: Path
) -> dict[str, SaleState]:
    """What the manager does next morning: settle the in-doubt Emites sales by looking them
    up in Emites-Client, let the queue drain, reprint the receipts that never came out."""
    service = build_service(load_config(config_path), data_dir, printer_uri=f"file:{reprints}")
    try:
        assert await service.start() == []
        notes = issuers.emites.notes()
        for summary in await service.list_sales(limit=10_000):
            if summary.state is not SaleState.IN_DOUBT:
                continue
            found = [n.note.chave for n in notes if tagged_for(n.note.inf_cpl, summary.sale_id)]
            assert len(found) <= 1
            await service.resolve_in_doubt(
                summary.sale_id, issued_chave=found[0] if found else None, by=Authorization("gerente")
            )
        await service.drain()
        for sale_id in reprint:
            report = await service.reprint(sale_id)
            assert report.printed, report
        return {s.sale_id: s.state for s in await service.list_sales(limit=10_000)}
    finally:
        await service.aclose()
        service.journal.close()


def test_kill_9_at_every_step_of_an_issue_loses_nothing_and_issues_nothing_twice(
    issuers: Issuers, tmp_path: Path
) -> None:
    data_dir, receipts, reprints = tmp_path / "data", tmp_path / "receipts.bin", tmp_path / "reprints.bin"
    config_path = tmp_path / "posapp.toml"
    config_path.write_text(
        issuers.config_toml(response_timeout_s=10, provider_timeout_s=10, printer_uri=f"file:{receipts}"),
        encoding="utf-8",
    )
    (tmp_path / "sales.json").write_text(
        json.dumps([sale_mapping(i) for i in range(SALES)]), encoding="utf-8"
    )

    killed_before_print: list[str] = []
    for number, run in enumerate(SCHEDULE):
        emites, focus, integra = PHASES[run.phase]
        issuers.set_up(emites=emites, focus=focus, integra=integra)
        finished = worker(issuers, tmp_path, number, run)
        if run.point is None:
            assert finished.returncode == 0, f"{run}\n{finished}"
            continue
        check_the_crash(finished, data_dir, issuers, receipts)
        if run.point == "before_print":
            killed_before_print.append(finished.last("issuing") or "")

    # After the last clean run: every sale is in the journal, each in a state a person sees.
    journal = Journal.in_dir(data_dir)
    try:
        rows = {r.sale_id: r for r in journal.list_sales(limit=10_000)}
    finally:
        journal.close()
    assert sorted(rows) == [sale_id_of(i) for i in range(SALES)], "a sale is missing from the journal"
    states = Counter(r.state for r in rows.values())
    assert set(states) <= VISIBLE, states
    # Providers reconciled theirs; only Emites-Client's in-doubt sales wait for the manager.
    in_doubt = [r for r in rows.values() if r.state is SaleState.IN_DOUBT]
    assert in_doubt, "the schedule always leaves Emites sales in doubt"
    assert {r.backend for r in in_doubt} == {"emites"}

    final = asyncio.run(
        manager_resolves_and_drains(issuers, config_path, data_dir, killed_before_print, reprints)
    )
    assert Counter(final.values()) == Counter({SaleState.AUTHORIZED: SALES})

    # The second promise, on the issuers' side: one request received, one note, per sale.
    received = issue_requests_by_sale(issuers)
    assert sorted(received) == list(range(SALES))
    assert {n for n in received.values()} == {1}, {i: n for i, n in received.items() if n != 1}
    by_sale = issuers.notes_by_sale()
    assert sorted(by_sale) == list(range(SALES))
    duplicates = {i: notes for i, notes in by_sale.items() if len(notes) != 1}
    assert duplicates == {}
    journal = Journal.in_dir(data_dir)
    try:
        for index, [note] in by_sale.items():
            row = journal.get_sale(sale_id_of(index))
            assert (row.chave, row.backend) == (note.chave, note.issuer), index
    finally:
        journal.close()
    assert {n[0].issuer for n in by_sale.values()} == {"emites", "focusnfe", "integranotas"}

    # The receipts that never came out are reprinted from the journal.
    reprinted = printed_digits(reprints)
    for sale_id in killed_before_print:
        chave = rows[sale_id].chave
        assert chave is not None and chave in reprinted
