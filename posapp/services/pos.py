"""The facade the command line and the GUI call: one object that holds the use cases,
each of which lives in a module of its own (issuing, cancelling, catching up, receipts,
queries). It adds no rule of its own; the states and their moves are the lifecycle's
(:mod:`posapp.domain.lifecycle`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from posapp.config import Config
from posapp.domain.issuance import Health
from posapp.domain.lifecycle import SaleState
from posapp.domain.sale import Sale
from posapp.journal.store import AuditRow, Journal, SaleRow
from posapp.services.core import Authorization, ServiceCore, utc_now
from posapp.services.issuing import Issuing
from posapp.services.ports import IssuerRouter, PrintResult, ReceiptPrinter
from posapp.services.results import (
    CancelReport,
    CatchUpReport,
    DrainReport,
    IssueReport,
    QueueStatus,
    SaleSummary,
)

if TYPE_CHECKING:
    from posapp.services.cancelling import Cancelling
    from posapp.services.catching_up import CatchingUp
    from posapp.services.queries import Queries
    from posapp.services.receipts import Receipts

log = logging.getLogger("posapp.services")

_NOBODY = Authorization(operator=None)

__all__ = ["Authorization", "PosService", "utc_now"]


class PosService:
    def __init__(
        self,
        *,
        config: Config,
        journal: Journal,
        router: IssuerRouter,
        printer: ReceiptPrinter | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.core = ServiceCore(config=config, journal=journal, router=router, printer=printer, clock=clock)
        self.issuing = Issuing(self.core)

    # The other use cases are built on first use: ``posapp nfce emit`` (a process per sale)
    # needs only issuing, and each module imported costs start-up time (bench_startup.py).

    @cached_property
    def cancelling(self) -> Cancelling:
        from posapp.services.cancelling import Cancelling

        return Cancelling(self.core)

    @cached_property
    def receipts(self) -> Receipts:
        from posapp.services.receipts import Receipts

        return Receipts(self.core)

    @cached_property
    def catching_up(self) -> CatchingUp:
        from posapp.services.catching_up import CatchingUp

        # A queued sale issued later: its customer left, its DANFE prints for the store
        # (no drawer kick). Only where the service has a printer (the GUI's; the CLI's with --printer).
        return CatchingUp(
            self.core,
            self.issuing,
            after_issue=lambda report: self.receipts.after_issue(report, kind="late_issue"),
        )

    @cached_property
    def queries(self) -> Queries:
        from posapp.services.queries import Queries

        return Queries(self.core)

    # -- what the edges read -----------------------------------------------------------

    @property
    def config(self) -> Config:
        return self.core.config

    @property
    def journal(self) -> Journal:
        return self.core.journal

    @property
    def router(self) -> IssuerRouter:
        return self.core.router

    @property
    def printer(self) -> ReceiptPrinter | None:
        return self.core.printer

    def now(self) -> datetime:
        return self.core.now()

    def cancel_deadline(
        self, authorized_at: datetime, *, contingency: bool = False, protocol: str | None = None
    ) -> datetime | None:
        return self.core.cancel_deadline(authorized_at, contingency=contingency, protocol=protocol)

    # -- life of the service --------------------------------------------------------------

    async def start(self, *, recover: bool = True) -> list[str]:
        """Join the data folder and, when alone there, run start-up recovery: sales left
        ISSUING by a crash become IN_DOUBT.

        Every started service holds the folder's shared lock; recovery needs the exclusive
        one, so a sale another live process (the till's GUI) is sending is never touched.
        ``recover=False`` joins without recovering (a service rebuilt inside a running app)."""
        core = self.core
        if not recover:
            await core.db(core.owner_lock.share)
            return []
        if not await core.db(core.owner_lock.acquire):
            log.info("another posapp process is using %s; no start-up recovery", core.journal.path.parent)
            return []
        try:
            moved = await core.db(core.journal.recover_interrupted, core.now())
        finally:
            await core.db(core.owner_lock.downgrade)
        for sale_id in moved:
            log.warning("sale %s was being issued when the app stopped; now IN_DOUBT", sale_id)
        return moved

    async def aclose(self) -> None:
        core = self.core
        for backend in core.router.backends:
            await backend.aclose()
        if core.printer is not None:
            await core.printer.aclose()
        # Waiting for the journal thread (an fsync may be in flight) must not block the loop.
        await asyncio.to_thread(core.db_thread.shutdown, wait=True)
        # Closing the last connection checkpoints the WAL (an fsync): not on the loop.
        await asyncio.to_thread(core.journal.close)
        core.owner_lock.release()

    # -- issuing --------------------------------------------------------------------------

    async def issue(self, sale: Sale, *, print_receipt: bool = True) -> IssueReport:
        report = await self.issuing.issue(sale)
        return await self.receipts.after_issue(report) if print_receipt else report

    async def resend(
        self,
        sale_id: str,
        sale: Sale | None = None,
        *,
        print_receipt: bool = True,
        at_counter: bool = False,
        by: Authorization | None = None,
    ) -> IssueReport:
        """``at_counter``: the customer is still there (the cashier fixed a rejected sale), so
        the receipt is printed as a sale's first one, cash drawer included; otherwise (a
        manager issuing a queued sale later) it prints without kicking the drawer."""
        report = await self.issuing.resend(sale_id, sale, by=by)
        if not print_receipt:
            return report
        return await self.receipts.after_issue(report, kind="danfe" if at_counter else "late_issue")

    async def void(self, sale_id: str, *, reason: str, by: Authorization | None = None) -> IssueReport:
        return await self.issuing.void(sale_id, by=by or _NOBODY, reason=reason)

    # -- cancelling -----------------------------------------------------------------------

    async def cancel(self, sale_id: str, motivo: str, *, by: Authorization | None = None) -> CancelReport:
        return await self.cancelling.cancel(sale_id, motivo, by=by or _NOBODY)

    async def resolve_cancelling(
        self, sale_id: str, *, cancelled: bool, protocolo: str | None, by: Authorization | None = None
    ) -> CancelReport:
        return await self.cancelling.resolve_cancelling(
            sale_id, cancelled=cancelled, protocolo=protocolo, by=by or _NOBODY
        )

    # -- catching up ----------------------------------------------------------------------

    async def catch_up(
        self, *, probe_first: bool = False, stop: Callable[[], bool] | None = None, limit: int = 1000
    ) -> CatchUpReport:
        return await self.catching_up.catch_up(probe_first=probe_first, stop=stop, limit=limit)

    async def drain(self, *, limit: int = 1000, stop: Callable[[], bool] | None = None) -> DrainReport:
        return await self.catching_up.drain(limit=limit, stop=stop)

    async def reconcile(self) -> list[IssueReport]:
        return await self.catching_up.reconcile()

    async def resolve_in_doubt(
        self, sale_id: str, *, issued_chave: str | None, by: Authorization | None = None
    ) -> IssueReport:
        return await self.catching_up.resolve_in_doubt(sale_id, issued_chave=issued_chave, by=by or _NOBODY)

    # -- receipts -------------------------------------------------------------------------

    async def reprint(self, sale_id: str, *, by: Authorization | None = None) -> IssueReport:
        return await self.receipts.reprint(sale_id, by=by)

    async def print_bytes(self, data: bytes, *, kind: str = "report") -> PrintResult:
        return await self.receipts.print_bytes(data, kind=kind)

    # -- reading --------------------------------------------------------------------------

    async def list_sales(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int = 500
    ) -> list[SaleSummary]:
        return await self.queries.list_sales(since=since, until=until, limit=limit)

    async def state_of(self, sale_id: str) -> SaleState | None:
        return await self.queries.state_of(sale_id)

    async def get_sale(self, sale_id: str) -> tuple[SaleSummary, Sale]:
        return await self.queries.get_sale(sale_id)

    async def find_by_chave(self, chave: str) -> SaleRow:
        return await self.queries.find_by_chave(chave)

    async def documents(self, sale_id: str) -> tuple[bytes | None, bytes | None]:
        return await self.queries.documents(sale_id)

    async def queue_status(self) -> QueueStatus:
        return await self.queries.queue_status()

    async def issuer_health(self) -> dict[str, Health]:
        return await self.queries.issuer_health()

    async def audit_entries(self, *, since: datetime | None = None, limit: int = 1000) -> list[AuditRow]:
        return await self.queries.audit_entries(since=since, limit=limit)
