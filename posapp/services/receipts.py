"""Receipts: the DANFE after a sale, a reprint from the journal, any other slip.

A print failure never changes the fiscal state of a sale: the spool records it, nothing
else; a reprint is always possible from the journal.
"""

from __future__ import annotations

from dataclasses import replace

from posapp.domain import lifecycle
from posapp.domain.audit import Action, AuditRecord
from posapp.domain.lifecycle import SaleState
from posapp.domain.sale_taxes import sale_approx_taxes
from posapp.services.core import Authorization, ServiceCore
from posapp.services.crashpoints import crash_point
from posapp.services.errors import NothingToDo
from posapp.services.ports import CancelledMark, PrintResult
from posapp.services.results import IssueReport

_NO_PRINTER = PrintResult(False, "Nenhuma impressora configurada.", None)


class Receipts:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    async def after_issue(self, report: IssueReport, *, kind: str = "danfe") -> IssueReport:
        """Print the DANFE of a sale just authorized (``kind="late_issue"``: a queued sale
        issued later, printed without kicking the cash drawer)."""
        if report.state is not SaleState.AUTHORIZED or self.core.printer is None:
            return report
        crash_point("before_print")
        return with_print(report, await self._print_sale(report.sale_id, kind=kind))

    async def reprint(self, sale_id: str, *, by: Authorization | None = None) -> IssueReport:
        core = self.core
        row = await core.db(core.journal.get_sale, sale_id)
        if not lifecycle.can_reprint(row.state):
            raise NothingToDo(
                f"sale {sale_id} has no authorized note",
                user_message="Só é possível reimprimir vendas com NFC-e autorizada.",
            )
        if by is not None:
            audit = AuditRecord(Action.REPRINT, by.operator, by.authorized_by)
            await core.db(core.journal.add_event, sale_id, core.now(), "reprint_requested", audit=audit)
        report = core.report_from_row(row)
        if core.printer is None:
            return with_print(report, _NO_PRINTER)
        return with_print(report, await self._print_sale(sale_id, kind="reprint"))

    async def print_bytes(self, data: bytes, *, kind: str = "report") -> PrintResult:
        if self.core.printer is None:
            return _NO_PRINTER
        return await self.core.printer.print_bytes(data, kind=kind)

    async def _print_sale(self, sale_id: str, kind: str) -> PrintResult:
        core = self.core
        assert core.printer is not None
        row = await core.db(core.journal.get_sale, sale_id)
        xml = await core.db(core.journal.document, sale_id, "xml")
        pdf = await core.db(core.journal.document, sale_id, "danfe_pdf")
        cancelled = (
            CancelledMark(row.cancel_protocolo, row.cancelled_at)
            if row.state is SaleState.CANCELLED
            else None
        )
        return await core.printer.print_danfe(
            sale_id,
            xml=xml,
            pdf=pdf,
            had_cash=row.had_cash,
            cancelled=cancelled,
            kind=kind,
            approx_taxes=sale_approx_taxes(row.sale),  # Lei 12.741, whichever issuer authorized it
        )


def with_print(report: IssueReport, result: PrintResult) -> IssueReport:
    return replace(report, printed=result.ok, print_error=result.error, receipt=result.data)
