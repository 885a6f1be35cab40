"""The print spool against real TCP printers on loopback: faults give a clear message and
a queued reprint, every job and outcome is recorded, one job at a time per printer."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from posapp.printing import ReceiptOptions, decode_escpos, render_danfe
from posapp.printing.connections import PreviewSink, open_connection
from posapp.printing.spool import MemoryRecorder, PrintJob, PrintOutcome, PrintSpool, print_danfe
from posapp.printing.status import PrinterStatus
from tests.printing import notes
from tests.printing.fake_printer import OK_BYTE, PAPER_OUT_BYTE, FakeTcpPrinter, refused_uri

T = TypeVar("T")
OPTIONS = ReceiptOptions(paper_mm=80, open_drawer=True)
DANFE = render_danfe(xml=notes.authorized_xml(), options=OPTIONS)
Submitted = tuple[PrintOutcome, MemoryRecorder]  # what most scenarios hand back


def run(make: Callable[[PrintSpool, MemoryRecorder], Awaitable[T]], **spool_args: float) -> T:
    async def main() -> T:
        recorder = MemoryRecorder()
        spool = PrintSpool(
            open_connection,
            recorder,
            retries=int(spool_args.pop("retries", 2)),
            backoff_s=0.01,
            line_rate_bps=int(spool_args.pop("line_rate_bps", 9600)),
            **spool_args,
        )
        try:
            return await make(spool, recorder)
        finally:
            await spool.aclose()

    return asyncio.run(main())


@pytest.fixture
def printer() -> Iterator[FakeTcpPrinter]:
    fake = FakeTcpPrinter()
    yield fake
    fake.close()


def test_job_printed_and_recorded(printer: FakeTcpPrinter) -> None:
    async def scenario(spool: PrintSpool, recorder: MemoryRecorder) -> Submitted:
        return await spool.submit(PrintJob(printer.uri, DANFE, kind="danfe", sale_id="S1")), recorder

    outcome, recorder = run(scenario)
    assert outcome.ok and outcome.attempts == 1 and not outcome.reprint_pending
    assert outcome.status is not None and outcome.status.paper == "ok"
    job = recorder.jobs[outcome.job_id]
    assert (job.sale_id, job.kind, job.printer_uri, job.ok, job.attempts) == (
        "S1",
        "danfe",
        printer.uri,
        True,
        1,
    )
    (received,) = printer.jobs()
    assert received == DANFE
    assert decode_escpos(received, tables=OPTIONS.table_map()).qr_codes


def test_printer_off_then_back_on_reprints_the_queued_job() -> None:
    uri = refused_uri()

    async def scenario(
        spool: PrintSpool, recorder: MemoryRecorder
    ) -> tuple[PrintOutcome, dict[int, PrintJob], PrintOutcome, MemoryRecorder, FakeTcpPrinter]:
        failed = await spool.submit(PrintJob(uri, DANFE, sale_id="S2"))
        pending = spool.failed_jobs()
        # The printer is switched on (a server appears on that very port) and the cashier reprints.
        port = int(uri.split(":")[2].split("?")[0])
        fake = FakeTcpPrinter(port=port)
        try:
            retried = await spool.retry(failed.job_id)
        finally:
            fake.close()
        return failed, pending, retried, recorder, fake

    failed, pending, retried, recorder, fake = run(scenario)
    assert not failed.ok and failed.attempts == 3 and failed.reprint_pending
    assert failed.user_message is not None
    assert "recusou a conexão" in failed.user_message and "A venda continua válida" in failed.user_message
    assert list(pending) == [failed.job_id]
    first = recorder.jobs[failed.job_id]
    assert (first.ok, first.attempts, first.sale_id) == (False, 3, "S2")
    assert first.error is not None and "PrinterOffline" in first.error
    assert retried.ok
    assert recorder.jobs[retried.job_id].kind == "reprint"
    assert fake.jobs() == [DANFE]


def test_unplugged_mid_job() -> None:
    raster_options = ReceiptOptions(paper_mm=80, mode="raster")
    raster = render_danfe(pdf=notes.danfe_pdf(), options=raster_options)
    fake = FakeTcpPrinter(reset_after=2000)
    try:

        async def scenario(spool: PrintSpool, recorder: MemoryRecorder) -> Submitted:
            return await spool.submit(PrintJob(fake.uri, raster, sale_id="S3")), recorder

        outcome, recorder = run(scenario, retries=1)
    finally:
        fake.close()
    # Bytes had gone out: not resent by the spool (a second partial receipt), left to F5.
    assert not outcome.ok and outcome.attempts == 1 and outcome.reprint_pending
    assert outcome.user_message is not None and "desconectou durante a impressão" in outcome.user_message
    assert "F5" in outcome.user_message
    assert recorder.jobs[outcome.job_id].ok is False
    assert len(fake.jobs()) == 1 and len(fake.jobs()[0]) < len(raster)  # cut short, sent once


def test_out_of_paper_before_the_job_sends_nothing() -> None:
    fake = FakeTcpPrinter(answer=lambda n, _: PAPER_OUT_BYTE if n == 4 else OK_BYTE | 0x08)
    try:

        async def scenario(spool: PrintSpool, recorder: MemoryRecorder) -> Submitted:
            return await spool.submit(PrintJob(fake.uri, DANFE)), recorder

        outcome, _ = run(scenario, retries=1)
    finally:
        fake.close()
    assert not outcome.ok and outcome.reprint_pending
    assert outcome.user_message is not None and "sem papel" in outcome.user_message.lower()
    assert fake.jobs() == []  # no paper wasted on a half receipt
    assert all(s.queries == [1, 4] for s in fake.sessions)


def test_paper_runs_out_during_the_job() -> None:
    fake = FakeTcpPrinter(answer=lambda n, received: PAPER_OUT_BYTE if (n == 4 and received) else OK_BYTE)
    try:

        async def scenario(spool: PrintSpool, recorder: MemoryRecorder) -> Submitted:
            return await spool.submit(PrintJob(fake.uri, DANFE)), recorder

        outcome, _ = run(scenario, retries=0)
    finally:
        fake.close()
    assert not outcome.ok and outcome.attempts == 1
    assert outcome.user_message is not None and "acabou durante a impressão" in outcome.user_message


def test_bad_uri_is_not_retried() -> None:
    async def scenario(spool: PrintSpool, recorder: MemoryRecorder) -> Submitted:
        return await spool.submit(PrintJob("tcp:host:notaport", DANFE)), recorder

    outcome, _ = run(scenario, retries=3)
    assert not outcome.ok and outcome.attempts == 1
    assert outcome.user_message is not None and "Endereço de impressora inválido" in outcome.user_message


def test_one_job_at_a_time_per_printer(printer: FakeTcpPrinter) -> None:
    async def scenario(spool: PrintSpool, recorder: MemoryRecorder) -> list[PrintOutcome]:
        jobs = [PrintJob(printer.uri, DANFE + bytes([0x0A]) * i, sale_id=f"S{i}") for i in range(4)]
        return await asyncio.gather(*(spool.submit(job) for job in jobs))

    outcomes = run(scenario)
    assert all(o.ok for o in outcomes)
    sessions = sorted(printer.sessions, key=lambda s: s.first_bytes or 0.0)
    assert len(sessions) == 4
    for earlier, later in itertools.pairwise(sessions):
        # The next job's first byte comes only after the previous job's last status answer.
        assert earlier.last_reply is not None and later.first_bytes is not None
        assert earlier.last_reply < later.first_bytes
    assert sorted(len(job) for job in printer.jobs()) == [len(DANFE) + i for i in range(4)]


def test_print_danfe_renders_off_loop_and_prints_to_preview() -> None:
    sink = PreviewSink()

    async def main() -> tuple[bytes, PrintOutcome]:
        spool = PrintSpool(lambda uri: open_connection(uri, preview_sink=sink), MemoryRecorder())
        try:
            return await print_danfe(
                spool,
                printer_uri="preview",
                options=OPTIONS,
                xml=notes.authorized_xml(),
                pdf=None,
                sale_id="S9",
            )
        finally:
            await spool.aclose()

    data, outcome = asyncio.run(main())
    assert outcome.ok
    assert sink.jobs() == [data] == [DANFE]


def test_status_through_the_spool() -> None:
    fake = FakeTcpPrinter(answer=lambda n, _: PAPER_OUT_BYTE if n == 4 else OK_BYTE)
    gone = refused_uri()
    try:

        async def scenario(
            spool: PrintSpool, recorder: MemoryRecorder
        ) -> tuple[PrinterStatus, PrinterStatus, PrinterStatus]:
            return await spool.status(fake.uri), await spool.status(gone), await spool.status("preview")

        out_of_paper, unreachable, preview = run(scenario)
    finally:
        fake.close()
    assert (out_of_paper.online, out_of_paper.paper, out_of_paper.ready) == (True, "out", False)
    assert unreachable.online is False and "recusou a conexão" in unreachable.detail
    assert preview.ready


def test_reprint_after_an_interrupted_job_does_not_kick_the_drawer_again() -> None:
    cut_short = FakeTcpPrinter(reset_after=300)
    try:

        async def scenario(
            spool: PrintSpool, recorder: MemoryRecorder
        ) -> tuple[PrintOutcome, PrintOutcome, FakeTcpPrinter]:
            failed = await spool.submit(PrintJob(cut_short.uri, DANFE, sale_id="S4"))
            port = int(cut_short.uri.split(":")[2].split("?")[0])
            cut_short.close()  # the cashier fixes the printer: same address, now healthy
            healthy = FakeTcpPrinter(port=port)
            try:
                retried = await spool.retry(failed.job_id)
            finally:
                healthy.close()
            return failed, retried, healthy

        failed, retried, healthy = run(scenario, retries=3)
    finally:
        cut_short.close()
    assert not failed.ok and failed.attempts == 1
    (partial,) = cut_short.jobs()
    assert partial.startswith(DANFE[:10]) and b"\x1bp" in partial[:12]  # the drawer did open once
    assert retried.ok
    (reprint,) = healthy.jobs()
    original = decode_escpos(DANFE, tables=OPTIONS.table_map())
    again = decode_escpos(reprint, tables=OPTIONS.table_map())
    assert len(original.drawer_pulses) == 1 and again.drawer_pulses == []
    assert again.text == original.text and again.qr_codes == original.qr_codes


def test_failure_before_the_first_byte_keeps_the_drawer_kick() -> None:
    """Printer off: nothing printed, the drawer never opened; the reprint still opens it."""
    uri = refused_uri()

    async def scenario(spool: PrintSpool, recorder: MemoryRecorder) -> PrintJob:
        failed = await spool.submit(PrintJob(uri, DANFE))
        return spool.failed_jobs()[failed.job_id]

    kept = run(scenario, retries=0)
    assert kept.data == DANFE


def test_silent_network_printer_is_not_confirmed() -> None:
    fake = FakeTcpPrinter(answer=lambda n, _: None)
    try:

        async def scenario(spool: PrintSpool, recorder: MemoryRecorder) -> Submitted:
            return await spool.submit(PrintJob(fake.uri.replace("0.3", "0.1"), DANFE)), recorder

        outcome, recorder = run(scenario, retries=2)
    finally:
        fake.close()
    assert not outcome.ok and outcome.attempts == 1 and outcome.reprint_pending
    assert outcome.user_message is not None
    assert "não confirmada" in outcome.user_message and "F5" in outcome.user_message
    assert outcome.error is not None and outcome.error.startswith("PrintUnconfirmed")
    assert recorder.jobs[outcome.job_id].ok is False
    assert fake.jobs() == [DANFE]  # sent exactly once


def test_link_that_cannot_answer_counts_as_printed(tmp_path: Path) -> None:
    target = tmp_path / "lp0"

    async def scenario(spool: PrintSpool, recorder: MemoryRecorder) -> PrintOutcome:
        return await spool.submit(PrintJob(f"file:{target}", DANFE))

    outcome = run(scenario)
    assert outcome.ok and outcome.status is not None and not outcome.status.known
    assert target.read_bytes() == DANFE


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_a_stuck_write_releases_the_printer(tmp_path: Path) -> None:
    """A write that outlives its own timeout (here 60 s, a jammed usblp) is abandoned at
    the spool's deadline: the outcome comes back and the printer's lock is free again."""
    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # never reads
    uri = f"file:{fifo}?write_timeout=60"
    big = bytes(1024 * 1024)

    async def scenario(
        spool: PrintSpool, recorder: MemoryRecorder
    ) -> tuple[PrintOutcome, float, PrinterStatus]:
        started = asyncio.get_running_loop().time()
        outcome = await spool.submit(PrintJob(uri, big))
        elapsed = asyncio.get_running_loop().time() - started
        status = await asyncio.wait_for(spool.status(uri), timeout=5)  # the lock was released
        os.close(reader)  # the abandoned thread's write now fails (EPIPE) and it ends
        return outcome, elapsed, status

    outcome, elapsed, status = run(scenario, retries=3, job_timeout_s=0.5, line_rate_bps=10**12)
    assert not outcome.ok and outcome.attempts == 1
    assert 0.4 < elapsed < 5
    assert outcome.user_message is not None and "travou" in outcome.user_message
    assert status.online is None
