"""A refused printer does not hold up a sale's outcome (issue 12, item 11: "a refused printer adds
3.8 s before the sale's outcome shows"). The cause was the spool's backoff (0.5 + 1 + 2 s) on the
first print after issuing, awaited by the sale. Now the receipt of a sale answers after its first
attempt; the retries go on in the spool and their final outcome is still recorded. Real TCP
printers on loopback (a refused port, then a fake printer appearing on it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from posapp.config import PrinterConfig
from posapp.journal.store import Journal
from posapp.printing import MemoryRecorder, PrintJob, PrintSpool, ReceiptOptions, render_danfe
from posapp.services.receipt_printer import SpoolReceiptPrinter
from tests.printing import notes
from tests.printing.fake_printer import FakeTcpPrinter, refused_uri

DANFE = render_danfe(xml=notes.authorized_xml(), options=ReceiptOptions(paper_mm=80))
BACKOFF_S = 0.5  # the spool's default: 0.5 + 1 + 2 s of waiting over 3 retries


def _port(uri: str) -> int:
    return int(uri.split(":")[2].split("?", maxsplit=1)[0])


def test_the_first_attempt_answers_and_the_retries_go_on() -> None:
    uri = refused_uri()

    async def scenario() -> tuple[float, bool, float, MemoryRecorder, int]:
        recorder = MemoryRecorder()
        spool = PrintSpool(recorder=recorder, backoff_s=BACKOFF_S)
        started = time.perf_counter()
        first = await spool.submit(PrintJob(uri, DANFE, sale_id="S1"), first_attempt_only=True)
        answered = time.perf_counter() - started
        assert not first.ok and first.retrying
        assert first.user_message is not None and "Tentando imprimir de novo" in first.user_message
        await spool.aclose(grace_s=10)  # let the retries finish
        return answered, first.retrying, time.perf_counter() - started, recorder, first.job_id

    answered, retrying, total, recorder, job_id = asyncio.run(scenario())
    assert retrying
    assert answered < 0.4, answered  # before: 3.5 s of backoff first
    assert total >= 3.4  # the spool still tried 4 times over 3.5 s
    job = recorder.jobs[job_id]
    assert (job.ok, job.attempts) == (False, 4)  # the final outcome is recorded as before


def test_a_printer_that_comes_back_prints_the_receipt_after_the_answer() -> None:
    uri = refused_uri()

    async def scenario() -> tuple[MemoryRecorder, int, list[bytes]]:
        recorder = MemoryRecorder()
        spool = PrintSpool(recorder=recorder, backoff_s=BACKOFF_S)
        first = await spool.submit(PrintJob(uri, DANFE, sale_id="S1"), first_attempt_only=True)
        assert first.retrying
        fake = FakeTcpPrinter(port=_port(uri))  # switched on during the backoff
        try:
            await spool.aclose(grace_s=10)
            return recorder, first.job_id, fake.jobs()
        finally:
            fake.close()

    recorder, job_id, printed = asyncio.run(scenario())
    assert recorder.jobs[job_id].ok is True and recorder.jobs[job_id].attempts == 2
    assert printed == [DANFE]


def test_the_next_sale_does_not_wait_behind_a_retrying_receipt() -> None:
    uri = refused_uri()

    async def scenario() -> list[float]:
        spool = PrintSpool(recorder=MemoryRecorder(), backoff_s=BACKOFF_S)
        times = []
        for n in range(3):
            started = time.perf_counter()
            outcome = await spool.submit(PrintJob(uri, DANFE, sale_id=f"S{n}"), first_attempt_only=True)
            times.append(time.perf_counter() - started)
            assert outcome.retrying
        await spool.aclose()
        return times

    times = asyncio.run(scenario())
    assert max(times) < 0.4, times  # before: 3.5 s each, the 2nd and 3rd behind the 1st


def test_closing_records_a_job_it_cancels() -> None:
    uri = refused_uri()

    async def scenario() -> tuple[MemoryRecorder, int]:
        recorder = MemoryRecorder()
        spool = PrintSpool(recorder=recorder, backoff_s=BACKOFF_S)
        first = await spool.submit(PrintJob(uri, DANFE, sale_id="S1"), first_attempt_only=True)
        await spool.aclose(grace_s=0.1)
        return recorder, first.job_id

    recorder, job_id = asyncio.run(scenario())
    job = recorder.jobs[job_id]
    assert job.ok is False and job.error is not None and "closed" in job.error


def test_a_full_wait_is_still_the_default() -> None:
    uri = refused_uri()

    async def scenario() -> tuple[bool, int]:
        spool = PrintSpool(recorder=MemoryRecorder(), retries=2, backoff_s=0.01)
        outcome = await spool.submit(PrintJob(uri, DANFE, sale_id="S1"))
        await spool.aclose()
        return outcome.retrying, outcome.attempts

    assert asyncio.run(scenario()) == (False, 3)


# --- through the application's receipt printer ------------------------------------------------------


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    journal = Journal.in_dir(tmp_path / "data")
    yield journal
    journal.close()


def _time_print(printer: SpoolReceiptPrinter, kind: str) -> tuple[float, bool, str | None]:
    async def scenario() -> tuple[float, bool, str | None]:
        started = time.perf_counter()
        result = await printer.print_danfe(
            "S1", xml=notes.authorized_xml(), pdf=None, had_cash=True, kind=kind
        )
        elapsed = time.perf_counter() - started
        await printer.aclose()
        return elapsed, result.ok, result.error

    return asyncio.run(scenario())


def test_a_sale_receipt_answers_at_once_with_a_refused_printer(journal: Journal) -> None:
    printer = SpoolReceiptPrinter(PrinterConfig(uri=refused_uri()), journal, close_grace_s=0)
    elapsed, ok, error = _time_print(printer, "danfe")
    assert not ok and error is not None and "recusou a conexão" in error
    assert "Tentando imprimir de novo" in error
    assert elapsed < 0.5, elapsed


def test_a_reprint_still_waits_for_the_retries(journal: Journal) -> None:
    """A person asked for that print and waits to see whether it came out."""
    printer = SpoolReceiptPrinter(
        PrinterConfig(uri=refused_uri()),
        journal,
        spool=PrintSpool(recorder=journal, retries=2, backoff_s=0.2),
        close_grace_s=0,
    )
    elapsed, ok, error = _time_print(printer, "reprint")
    assert not ok and error is not None and "Tentando" not in error
    assert elapsed >= 0.6  # 0.2 + 0.4 s of backoff
    (job,) = journal.print_jobs("S1")
    assert job["ok"] == 0 and job["attempts"] == 3
