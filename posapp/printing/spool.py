"""The print spool: one job at a time per printer, retries with backoff, every job and
its outcome recorded.

Only failures *before the first byte* are retried (refused, unreachable, offline or out
of paper at the pre-check). Once a job began to go out, a resend would print a second
partial receipt and kick the drawer again, so such a job waits for the cashier's F5.

A print is the *last* step of a sale and never part of its fiscal state: whatever
happens here (printer off, unplugged mid-job, out of paper) the note stays authorized.
The spool only reports — a :class:`PrintOutcome` with a Portuguese message for the
cashier — and keeps the failed job so it can be printed again (:meth:`PrintSpool.retry`);
any sale can also be reprinted from the journal's documents (:func:`print_danfe`).

Threads: device I/O blocks, so each attempt runs in the loop's default executor; the
recorder (the SQLite journal) is called from one dedicated thread owned by the spool,
never on the event loop.

The receipt printed right after a sale must not hold up the sale's outcome: with the default
backoff (0.5 + 1 + 2 s) a printer that refuses the connection kept the cashier waiting about
3.5 s before the outcome showed. ``submit(job, first_attempt_only=True)`` answers as soon as
the first attempt is decided: printed, failed for good, or failed and *retrying* (a
:class:`PrintOutcome` with ``retrying=True``), while the retries go on in the spool and the
final outcome is recorded as always. :meth:`PrintSpool.aclose` gives such jobs a grace period
before it cancels them, and records a cancelled job as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from posapp.printing.connections import PrinterConnection, open_connection, serial_write_timeout
from posapp.printing.errors import (
    InvalidPrinterUri,
    PaperOut,
    PrinterError,
    PrinterOffline,
    PrintingError,
    PrintUnconfirmed,
)
from posapp.printing.native import strip_drawer_kick
from posapp.printing.options import ReceiptOptions
from posapp.printing.render import render_danfe
from posapp.printing.status import PrinterStatus

log = logging.getLogger("posapp.printing")

T = TypeVar("T")
# One attempt's fixed allowance (connect 3 s, four status reads, a 30 s write, margin);
# PrintSpool.job_deadline adds the job's own transfer time.
JOB_TIMEOUT_S = 60.0
ConnectionFactory = Callable[[str], PrinterConnection]


class PrintRecorder(Protocol):
    """Where jobs are written down (the lead's journal implements it on SQLite)."""

    def record_job(self, sale_id: str | None, kind: str, printer_uri: str) -> int: ...

    def record_outcome(self, job_id: int, ok: bool, error: str | None, attempts: int) -> None: ...


@dataclass
class RecordedJob:
    job_id: int
    sale_id: str | None
    kind: str
    printer_uri: str
    ok: bool | None = None
    error: str | None = None
    attempts: int = 0


class MemoryRecorder:
    """In-memory :class:`PrintRecorder` for tests and the demo."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.jobs: dict[int, RecordedJob] = {}

    def record_job(self, sale_id: str | None, kind: str, printer_uri: str) -> int:
        with self._lock:
            job_id = len(self.jobs) + 1
            self.jobs[job_id] = RecordedJob(job_id, sale_id, kind, printer_uri)
            return job_id

    def record_outcome(self, job_id: int, ok: bool, error: str | None, attempts: int) -> None:
        with self._lock:
            job = self.jobs[job_id]
            job.ok, job.error, job.attempts = ok, error, attempts


@dataclass(frozen=True, slots=True)
class PrintJob:
    printer_uri: str
    data: bytes
    kind: str = "danfe"  # danfe, reprint, test, report...
    sale_id: str | None = None


@dataclass(frozen=True, slots=True)
class PrintOutcome:
    job_id: int
    ok: bool
    attempts: int
    error: str | None = None  # technical, for the journal and logs
    user_message: str | None = None  # Portuguese, for the cashier
    reprint_pending: bool = False  # failed: kept by the spool, see PrintSpool.retry()
    status: PrinterStatus | None = None  # what the printer said after the job, if anything
    retrying: bool = False  # not yet printed; the spool is still trying (first_attempt_only)


def deliver(connection_factory: ConnectionFactory, uri: str, data: bytes) -> PrinterStatus:
    """One blocking attempt: open, check, write, check again, close.

    The check *after* the write is what catches a printer that died mid-job: a TCP
    peer that closed shows up as :class:`PrinterOffline`, an empty roll as
    :class:`PaperOut`. On a link that carries status answers (TCP, serial) silence after
    the job is :class:`PrintUnconfirmed`; links that cannot answer (file, USB, spoolers)
    report "unknown" and the job counts as printed (there is nothing better to know).

    Every :class:`PrinterError` raised once the write began has ``started = True``:
    bytes may be on paper and the drawer may have opened, so it must not be resent blindly.
    """
    connection = connection_factory(uri)
    try:
        before = connection.status()
        if before.paper == "out":
            raise PaperOut(
                f"{uri}: paper out", user_message="Impressora sem papel (ou tampa aberta). Troque a bobina."
            )
        if before.online is False:
            raise PrinterOffline(
                f"{uri}: printer offline",
                user_message="Impressora offline: confira tampa, papel e luzes de erro.",
            )
        try:
            connection.write(data)
            after = connection.status()
            if after.paper == "out":
                raise PaperOut(
                    f"{uri}: paper ran out during the job",
                    user_message="O papel acabou durante a impressão. Troque a bobina e reimprima.",
                )
            if getattr(connection, "answers_status", False) and not after.known:
                raise PrintUnconfirmed(
                    f"{uri}: no status answer after the job",
                    user_message="Impressão não confirmada: a impressora não respondeu depois do cupom.",
                )
        except PrinterError as exc:
            exc.started = True
            raise
        return after
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def read_status(connection_factory: ConnectionFactory, uri: str) -> PrinterStatus:
    """Open, read the status, close. Blocking."""
    connection = connection_factory(uri)
    try:
        return connection.status()
    finally:
        with contextlib.suppress(Exception):
            connection.close()


@dataclass
class _Queued:
    job: PrintJob
    job_id: int
    future: asyncio.Future[PrintOutcome]  # the final outcome
    first: asyncio.Future[PrintOutcome]  # the first attempt's (provisional when retrying)
    attempts: int = 0

    def answer_first(self, outcome: PrintOutcome) -> None:
        if not self.first.done():
            self.first.set_result(outcome)

    def answer(self, outcome: PrintOutcome) -> None:
        self.answer_first(outcome)
        if not self.future.done():
            self.future.set_result(outcome)


class PrintSpool:
    """Asyncio print queue; one worker task per printer URI."""

    def __init__(
        self,
        connection_factory: ConnectionFactory = open_connection,
        recorder: PrintRecorder | None = None,
        *,
        retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        job_timeout_s: float = JOB_TIMEOUT_S,
        line_rate_bps: int = 9600,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self._factory = connection_factory
        self._recorder: PrintRecorder = recorder if recorder is not None else MemoryRecorder()
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.job_timeout_s = job_timeout_s
        self.line_rate_bps = line_rate_bps  # the slowest link a job is allowed time for
        self._queues: dict[str, asyncio.Queue[_Queued]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._busy: dict[str, asyncio.Lock] = {}  # held while a job or a status read uses the printer
        self._failed: dict[int, PrintJob] = {}
        self._retrying: dict[str, BaseException] = {}  # printer URI -> why its job is retrying
        self._waiting: dict[str, list[_Queued]] = {}  # printer URI -> jobs queued, not started
        self._journal_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="print-journal")
        self._closed = False

    # -- public ---------------------------------------------------------------------------

    async def submit(self, job: PrintJob, *, first_attempt_only: bool = False) -> PrintOutcome:
        """Queue ``job`` behind the printer's other jobs; return when it printed or gave up.
        Never raises for printer trouble.

        ``first_attempt_only``: return once the first attempt is decided. If it failed and a
        retry follows, the answer has ``retrying=True`` and the job goes on in the spool (its
        final outcome is recorded; a job that finally fails waits for :meth:`retry`)."""
        if self._closed:
            raise PrintingError("spool closed", user_message="A fila de impressão foi encerrada.")
        job_id = await self._record_job(job)
        loop = asyncio.get_running_loop()
        item = _Queued(job, job_id, loop.create_future(), loop.create_future())
        self._queue_for(job.printer_uri).put_nowait(item)
        self._waiting.setdefault(job.printer_uri, []).append(item)
        if not first_attempt_only:
            return await item.future
        failing = self._retrying.get(job.printer_uri)
        if failing is not None:  # behind a job that waits for this printer: do not wait too
            item.answer_first(_retrying(item, failing))
        # The caller stops waiting; the final future is then nobody's to await.
        item.future.add_done_callback(_consume)
        return await item.first

    async def status(self, uri: str) -> PrinterStatus:
        """The printer's status, read off the loop and never during one of its jobs (a
        network printer often takes one connection at a time). A printer that cannot be
        reached is ``online=False`` with the reason in ``detail``; never raises for it."""
        async with self._lock_for(uri):
            try:
                return await asyncio.get_running_loop().run_in_executor(None, read_status, self._factory, uri)
            except PrinterError as exc:
                return PrinterStatus(online=False, paper="unknown", detail=exc.user_message)

    def failed_jobs(self) -> dict[int, PrintJob]:
        """Jobs that gave up, by job id: each is a reprint waiting for the cashier."""
        return dict(self._failed)

    async def retry(self, job_id: int) -> PrintOutcome:
        """Print a failed job again (recorded as a new ``reprint`` job)."""
        job = self._failed.pop(job_id, None)
        if job is None:
            raise PrintingError(f"no failed job {job_id}", user_message="Impressão pendente não encontrada.")
        return await self.submit(replace(job, kind="reprint"))

    async def aclose(self, *, grace_s: float = 0.0) -> None:
        """Stop the workers and the journal thread. Jobs still running or queued get up to
        ``grace_s`` seconds to finish (a receipt retrying after a sale); then they are
        cancelled and recorded as failed."""
        self._closed = True
        if grace_s > 0:
            await self._settle(grace_s)
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for queue in self._queues.values():
            while not queue.empty():
                item = queue.get_nowait()
                await self._record_outcome(_abandoned(item))
                item.future.cancel()
                item.first.cancel()
        self._workers.clear()
        await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(self._journal_thread.shutdown, wait=True)
        )

    # -- internals --------------------------------------------------------------------------

    async def _settle(self, grace_s: float) -> None:
        """Wait until every queue is empty and idle, for at most ``grace_s`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while loop.time() < deadline:
            busy = any(not q.empty() for q in self._queues.values()) or any(
                lock.locked() for lock in self._busy.values()
            )
            if not busy:
                return
            await asyncio.sleep(0.05)

    async def _in_journal_thread(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._journal_thread, fn)

    async def _record_job(self, job: PrintJob) -> int:
        try:
            return await self._in_journal_thread(
                lambda: self._recorder.record_job(job.sale_id, job.kind, job.printer_uri)
            )
        except Exception:  # a print is harmless: a broken journal must not stop the receipt
            log.exception("could not record print job for sale %s", job.sale_id)
            return 0

    async def _record_outcome(self, outcome: PrintOutcome) -> None:
        if outcome.job_id == 0:
            return
        try:
            await self._in_journal_thread(
                lambda: self._recorder.record_outcome(
                    outcome.job_id, outcome.ok, outcome.error, outcome.attempts
                )
            )
        except Exception:
            log.exception("could not record outcome of print job %s", outcome.job_id)

    def _lock_for(self, uri: str) -> asyncio.Lock:
        lock = self._busy.get(uri)
        if lock is None:
            lock = self._busy[uri] = asyncio.Lock()
        return lock

    def _queue_for(self, uri: str) -> asyncio.Queue[_Queued]:
        queue = self._queues.get(uri)
        if queue is None:
            queue = self._queues[uri] = asyncio.Queue()
        worker = self._workers.get(uri)
        if worker is None or worker.done():
            self._workers[uri] = asyncio.create_task(self._work(uri, queue), name=f"print-spool {uri}")
        return queue

    async def _work(self, uri: str, queue: asyncio.Queue[_Queued]) -> None:
        while True:
            item = await queue.get()
            waiting = self._waiting.get(uri, [])
            if item in waiting:
                waiting.remove(item)
            try:
                async with self._lock_for(uri):
                    outcome = await self._run(item)
                    # Recorded while still busy, so a closing spool's grace waits for it.
                    await self._record_outcome(outcome)
            except asyncio.CancelledError:
                # Closed while this job was still being tried (after a sale, its caller has
                # gone on): the journal must not keep it as a job without an outcome.
                await self._record_outcome(_abandoned(item))
                item.future.cancel()
                item.first.cancel()
                raise
            item.answer(outcome)

    def job_deadline(self, job: PrintJob) -> float:
        """Seconds one attempt may take before the spool stops waiting for it: the fixed
        part (connect, status reads, a slow write) plus the job's time on the slowest line
        (9600 baud unless told otherwise). A backstop: each link has its own timeouts."""
        return self.job_timeout_s + serial_write_timeout(len(job.data), self.line_rate_bps, floor=0.0)

    async def _attempt(self, job: PrintJob) -> PrinterStatus:
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(None, deliver, self._factory, job.printer_uri, job.data)
        deadline = self.job_deadline(job)
        try:
            return await asyncio.wait_for(call, timeout=deadline)
        except TimeoutError:
            # The executor thread is still inside a device call that ignored its own
            # timeout; a thread cannot be killed, so it is abandoned (it ends when the OS
            # call finally returns or fails). Giving up here is what releases the
            # printer's lock so the queue moves on. Bytes may have gone out: no resend.
            error = PrinterOffline(
                f"{job.printer_uri}: no result after {deadline:.0f} s",
                user_message="A impressora travou durante a impressão e não respondeu.",
            )
            error.started = True
            raise error from None

    def _mark_failing(self, item: _Queued, error: BaseException) -> None:
        """``item`` failed and will be retried: its caller, and the callers of the jobs queued
        behind it that do not wait for retries, hear now that the printer is failing."""
        uri = item.job.printer_uri
        self._retrying[uri] = error
        item.answer_first(_retrying(item, error))
        for behind in self._waiting.get(uri, []):
            behind.answer_first(_retrying(behind, error))

    async def _run(self, item: _Queued) -> PrintOutcome:
        try:
            return await self._attempts(item)
        finally:
            self._retrying.pop(item.job.printer_uri, None)  # the next job finds out for itself

    async def _attempts(self, item: _Queued) -> PrintOutcome:
        job = item.job
        error: BaseException | None = None
        attempt = 0
        for attempt in range(1, self.retries + 2):
            try:
                status = await self._attempt(job)
            except InvalidPrinterUri as exc:
                error = exc
                break  # configuration: retrying cannot help
            except PrinterError as exc:
                error = exc
                log.warning("print job %s attempt %d failed: %s", item.job_id, attempt, exc)
                if exc.started:
                    break  # part of it may be on paper: the cashier decides (F5), never us
            except Exception as exc:  # a bug in a connection class: report, keep the spool alive
                log.exception("print job %s crashed", item.job_id)
                error = exc
                break
            else:
                return PrintOutcome(item.job_id, ok=True, attempts=attempt, status=status)
            item.attempts = attempt
            if attempt <= self.retries:
                self._mark_failing(item, error)
                await asyncio.sleep(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))
        assert error is not None
        started = isinstance(error, PrinterError) and error.started
        # A reprint of a job that went out must not open the drawer a second time.
        self._failed[item.job_id] = replace(job, data=strip_drawer_kick(job.data)) if started else job
        user = getattr(error, "user_message", None) or "Falha inesperada na impressão."
        advice = (
            " Confira o cupom: se não saiu ou saiu incompleto, reimprima (F5). A venda continua válida."
            if started
            else " A venda continua válida; reimprima quando a impressora voltar."
        )
        return PrintOutcome(
            item.job_id,
            ok=False,
            attempts=attempt,
            error=f"{type(error).__name__}: {error}",
            user_message=f"{user}{advice}",
            reprint_pending=True,
        )


def _consume(future: asyncio.Future[PrintOutcome]) -> None:
    """Retrieve a future's result or exception that nobody else will await."""
    if not future.cancelled():
        future.exception()


def _retrying(item: _Queued, error: BaseException) -> PrintOutcome:
    """The answer to a caller that does not wait for the retries: not printed yet, still trying."""
    user = getattr(error, "user_message", None) or "A impressora não respondeu."
    return PrintOutcome(
        item.job_id,
        ok=False,
        attempts=item.attempts,
        error=f"{type(error).__name__}: {error} (retrying)",
        user_message=f"{user} Tentando imprimir de novo em segundo plano; a venda continua válida.",
        retrying=True,
    )


def _abandoned(item: _Queued) -> PrintOutcome:
    return PrintOutcome(
        item.job_id,
        ok=False,
        attempts=item.attempts,
        error="spool closed before the job printed",
        user_message="A impressão foi interrompida ao fechar o posapp; reimprima a venda.",
    )


async def print_danfe(
    spool: PrintSpool,
    *,
    printer_uri: str,
    options: ReceiptOptions,
    xml: bytes | None,
    pdf: bytes | None,
    sale_id: str | None = None,
    kind: str = "danfe",
    first_attempt_only: bool = False,
) -> tuple[bytes, PrintOutcome]:
    """Render (in an executor) and print a DANFE; also the way to reprint any sale from
    the journal's stored documents. Returns the bytes (for the on-screen preview) and the
    outcome (with ``first_attempt_only``, see :meth:`PrintSpool.submit`). Raises
    :class:`~posapp.printing.errors.DocumentError` if it cannot render."""
    loop = asyncio.get_running_loop()
    data = await loop.run_in_executor(
        None, functools.partial(render_danfe, xml=xml, pdf=pdf, options=options)
    )
    job = PrintJob(printer_uri, data, kind=kind, sale_id=sale_id)
    outcome = await spool.submit(job, first_attempt_only=first_attempt_only)
    return data, outcome
