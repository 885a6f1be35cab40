"""Reading the journal for the history, the status bar and the command line."""

from __future__ import annotations

from datetime import datetime, timedelta

from posapp.domain.documents import parse_chave
from posapp.domain.issuance import Health
from posapp.domain.lifecycle import SaleState
from posapp.domain.sale import Sale
from posapp.journal.store import AuditRow, SaleRow
from posapp.services.core import ServiceCore
from posapp.services.results import QueueStatus, SaleSummary


class Queries:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    def summary(self, row: SaleRow) -> SaleSummary:
        return SaleSummary(
            sale_id=row.sale_id,
            created_at=row.created_at,
            state=row.state,
            total=row.total,
            operator=row.operator,
            backend=row.backend,
            chave=row.chave,
            numero=row.numero,
            serie=row.serie,
            authorized_at=row.authorized_at,
            cancel_deadline=self.core.row_deadline(row),
            window_pending=row.authorized_at is not None and row.contingency and not row.protocolo,
            last_error=row.last_error,
            had_cash=row.had_cash,
            payments=tuple((p.method.value, p.amount) for p in row.sale.payments),
            pinned_backend=row.pinned_backend,
            archived=row.archived,
        )

    async def list_sales(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int = 500
    ) -> list[SaleSummary]:
        core = self.core
        rows = await core.db(core.journal.list_sales, since=since, until=until, limit=limit)
        return [self.summary(r) for r in rows]

    async def state_of(self, sale_id: str) -> SaleState | None:
        """The sale's state, or ``None`` if it was never stored."""
        core = self.core
        if not await core.db(core.journal.exists, sale_id):
            return None
        return (await core.db(core.journal.get_sale, sale_id)).state

    async def get_sale(self, sale_id: str) -> tuple[SaleSummary, Sale]:
        row = await self.core.db(self.core.journal.get_sale, sale_id)
        return self.summary(row), row.sale

    async def find_by_chave(self, chave: str) -> SaleRow:
        digits = parse_chave(chave).digits
        return await self.core.db(self.core.journal.find_by_chave, digits)

    async def documents(self, sale_id: str) -> tuple[bytes | None, bytes | None]:
        core = self.core
        xml = await core.db(core.journal.document, sale_id, "xml")
        pdf = await core.db(core.journal.document, sale_id, "danfe_pdf")
        return xml, pdf

    async def queue_status(self) -> QueueStatus:
        core = self.core
        counts = await core.db(core.journal.count_by_state)
        oldest = await core.db(core.journal.list_sales, states=[SaleState.QUEUED], limit=1, oldest_first=True)
        oldest_at = oldest[0].created_at if oldest else None
        limit = timedelta(hours=core.config.nfce.contingency_limit_h)
        # Warn with a quarter of the limit still to go (6 h of 24 h).
        warning = oldest_at is not None and core.now() - oldest_at >= limit * 3 / 4
        return QueueStatus(
            queued=counts.get(SaleState.QUEUED, 0),
            in_doubt=counts.get(SaleState.IN_DOUBT, 0),
            oldest_queued_at=oldest_at,
            contingency_deadline_warning=warning,
        )

    async def issuer_health(self) -> dict[str, Health]:
        return await self.core.router.probe_all()

    async def audit_entries(self, *, since: datetime | None = None, limit: int = 1000) -> list[AuditRow]:
        """The audit rows the journal wrote with sale events, newest first."""
        return await self.core.db(self.core.journal.audit_entries, since=since, limit=limit)
