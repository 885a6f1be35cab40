"""The print spool against real TCP printers on loopback: faults give a clear message and
a queued reprint, every job and outcome is recorded, one job at a time per printer."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from posapp.printing import ReceiptOptions, decode_escpos, render_danfe
from posapp.printing.connections import PreviewSink, open_connection
from posapp.printing.spool import MemoryRecorder, PrintJob, PrintSpool, print_danfe
from tests.printing import notes
from tests.printing.fake_printer import OK_BYTE, PAPER_OUT_BYTE, FakeTcpPrinter, refused_uri

T = TypeVar("T")
OPTIONS = ReceiptOptions(paper_mm=80, open_drawer=True)
DANFE = render_danfe(xml=notes.authorized_xml(), options=OPTIONS)


def run(make: Callable[[PrintSpool, MemoryRecorder], Awaitable[T]], **spool_args: float) -> T:
    async def main() -> T:
        recorder = MemoryRecorder()
        spool = PrintSpool(
            open_connection, recorder, retries=int(spool_args.pop("retries", 2)), backoff_s=0.01, **spool_args
        )
        try:
            return await make(spool, recorder)
        finally:
            await spool.aclose()

    return asyncio.run(main())


@pytest.fixture
def printer():
    fake = FakeTcpPrinter()
    yield fake
    fake.close()


def test_job_printed_and_recorded(printer: FakeTcpPrinter) -> None:
    async def scenario(spool: PrintSpool, recorder: MemoryRecorder):
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

    async def scenario(spool: PrintSpool, recorder: MemoryRecorder):
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

        async def scenario(spool: PrintSpool, recorder: MemoryRecorder):
            return await spool.submit(PrintJob(fake.uri, raster, sale_id="S3")), recorder

        outcome, recorder = run(scenario, retries=1)
    finally:
        fake.close()
    assert not outcome.ok and outcome.attempts == 2 and outcome.reprint_pending
    assert outcome.user_message is not None and "desconectou durante a impressão" in outcome.user_message
    assert recorder.jobs[outcome.job_id].ok is False
    assert all(len(job) < len(raster) for job in fake.jobs())  # it really was cut short


def test_out_of_paper_before_the_job_sends_nothing() -> None:
    fake = FakeTcpPrinter(answer=lambda n, _: PAPER_OUT_BYTE if n == 4 else OK_BYTE | 0x08)
    try:

        async def scenario(spool: PrintSpool, recorder: MemoryRecorder):
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

        async def scenario(spool: PrintSpool, recorder: MemoryRecorder):
            return await spool.submit(PrintJob(fake.uri, DANFE)), recorder

        outcome, _ = run(scenario, retries=0)
    finally:
        fake.close()
    assert not outcome.ok and outcome.attempts == 1
    assert outcome.user_message is not None and "acabou durante a impressão" in outcome.user_message


def test_bad_uri_is_not_retried() -> None:
    async def scenario(spool: PrintSpool, recorder: MemoryRecorder):
        return await spool.submit(PrintJob("tcp:host:notaport", DANFE)), recorder

    outcome, _ = run(scenario, retries=3)
    assert not outcome.ok and outcome.attempts == 1
    assert outcome.user_message is not None and "Endereço de impressora inválido" in outcome.user_message


def test_one_job_at_a_time_per_printer(printer: FakeTcpPrinter) -> None:
    async def scenario(spool: PrintSpool, recorder: MemoryRecorder):
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

    async def main():
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

        async def scenario(spool: PrintSpool, recorder: MemoryRecorder):
            return await spool.status(fake.uri), await spool.status(gone), await spool.status("preview")

        out_of_paper, unreachable, preview = run(scenario)
    finally:
        fake.close()
    assert (out_of_paper.online, out_of_paper.paper, out_of_paper.ready) == (True, "out", False)
    assert unreachable.online is False and "recusou a conexão" in unreachable.detail
    assert preview.ready
