"""What every use case shares: the journal on its own thread, the issuers, the printer, the
clock, the cancel policy, and the locks that keep one sale and one cancel in flight at a time.

All journal calls run on one dedicated thread (SQLite with ``synchronous=FULL`` fsyncs), so
nothing here blocks the event loop and the Qt GUI stays responsive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

from posapp.config import Config
from posapp.domain.cancel import CancelPolicy, window_start
from posapp.domain.issuance import AuthorizedNote
from posapp.domain.lifecycle import Notice, SaleState, notice_text, state_notice
from posapp.journal.lockfile import ProcessLock
from posapp.journal.store import Journal, SaleRow
from posapp.services.ports import IssuerRouter, ReceiptPrinter
from posapp.services.results import IssueReport, NoteInfo

P = ParamSpec("P")
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Authorization:
    """Who asked for a protected action and who allowed it (a manager's PIN), as the audit
    trail records it. ``authorized_by`` is ``None`` on a till with no operators yet."""

    operator: str | None
    authorized_by: str | None = None

    @property
    def who(self) -> str | None:
        """The person answerable for the action: the manager who allowed it, else who asked."""
        return self.authorized_by or self.operator


class ServiceCore:
    def __init__(
        self,
        *,
        config: Config,
        journal: Journal,
        router: IssuerRouter,
        printer: ReceiptPrinter | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.journal = journal
        self.router = router
        self.printer = printer
        self.clock = clock
        self.policy = CancelPolicy(
            window=timedelta(minutes=config.nfce.cancel_window_min),
            safety_margin=timedelta(seconds=config.nfce.cancel_safety_margin_s),
        )
        self.db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posapp-journal")
        self.issue_lock = asyncio.Lock()  # one sale through the issuers at a time, in order
        self.cancel_lock = asyncio.Lock()  # one cancel at a time: a double click sends one
        self.owner_lock = ProcessLock(journal.path.with_name(journal.path.name + ".lock"))
        self._till_id: str | None = None

    async def till_id(self) -> str:
        """This till's identity (made on the data folder's first start; read once)."""
        if self._till_id is None:
            self._till_id = await self.db(self.journal.till_id)
        return self._till_id

    def now(self) -> datetime:
        return self.clock()

    async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.db_thread, lambda: fn(*args, **kwargs))

    def cancel_deadline(
        self, authorized_at: datetime, *, contingency: bool = False, protocol: str | None = None
    ) -> datetime | None:
        """The last instant a cancel is sent; ``None`` for an offline-contingency note not
        yet authorized, whose window has not started (``domain.cancel.window_start``)."""
        start = window_start(authorized_at, contingency=contingency, protocol=protocol)
        return None if start is None else self.policy.deadline(start)

    def row_deadline(self, row: SaleRow) -> datetime | None:
        """The cancel deadline of a journal row (``None``: none known yet, or not authorized)."""
        if row.authorized_at is None:
            return None
        return self.cancel_deadline(row.authorized_at, contingency=row.contingency, protocol=row.protocolo)

    # -- reports --------------------------------------------------------------------------

    def report(
        self,
        sale_id: str,
        notice: Notice,
        state: SaleState,
        backend: str | None,
        errors: tuple[str, ...] = (),
    ) -> IssueReport:
        return IssueReport(
            sale_id=sale_id,
            state=state,
            backend=backend,
            errors=errors,
            message=notice_text(notice),
            notice=notice,
        )

    def report_authorized(self, sale_id: str, backend: str | None, note: AuthorizedNote) -> IssueReport:
        suffix = " Emitida em contingência: será transmitida à SEFAZ." if note.contingency else ""
        return IssueReport(
            sale_id=sale_id,
            state=SaleState.AUTHORIZED,
            backend=backend,
            note=NoteInfo(
                chave=note.chave,
                numero=note.numero,
                serie=note.serie,
                protocolo=note.protocolo,
                authorized_at=note.authorized_at,
                contingency=note.contingency,
            ),
            cancel_deadline=self.cancel_deadline(
                note.authorized_at, contingency=note.contingency, protocol=note.protocolo
            ),
            message=notice_text(Notice.AUTHORIZED) + suffix,
            notice=Notice.AUTHORIZED,
        )

    def report_from_row(self, row: SaleRow, notice: Notice | None = None) -> IssueReport:
        """What the journal holds for a sale, as a report (``notice``: what just happened)."""
        note = None
        if row.chave and row.authorized_at and row.numero is not None and row.serie is not None:
            note = NoteInfo(
                row.chave, row.numero, row.serie, row.protocolo, row.authorized_at, row.contingency
            )
        return IssueReport(
            sale_id=row.sale_id,
            state=row.state,
            backend=row.backend,
            note=note,
            cancel_deadline=self.row_deadline(row),
            errors=(row.last_error,) if row.last_error else (),
            message=notice_text(notice or state_notice(row.state)),
            notice=notice,
        )
