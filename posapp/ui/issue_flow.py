"""The sale's issue flow at the checkout: F10 pays, the sale is sent (or resent) without
blocking the window, the issue dialog shows the outcome and offers its choices (resend,
fix, reprint, a pending slip), and the cart follows what the fiscal journal holds, so a
sale is neither lost nor issued twice.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from posapp.domain.errors import DomainError
from posapp.domain.lifecycle import SaleState
from posapp.domain.sale import Sale, describe_validation_error
from posapp.errors import has_user_message
from posapp.services.core import Authorization
from posapp.ui.errors import error_text
from posapp.ui.flows import WindowFlows, checkout_flow
from posapp.ui.qt import QDialog, tr
from posapp.ui.tasks import open_dialog

# The dialogs and the receipt printing are imported when first used (start-up loads only
# what the checkout shows: issue 11, "start fast"); tests/gui/test_startup.py keeps it so.
if TYPE_CHECKING:
    from posapp.services.ports import PrintResult
    from posapp.services.pos import PosService
    from posapp.services.results import IssueReport
    from posapp.ui.issue_dialog import Choice, IssueDialog
    from posapp.ui.main_window import MainWindow

log = logging.getLogger("posapp.ui")

UNEXPECTED_ISSUE = (
    "Nada se perdeu: antes de tentar de novo, veja abaixo e em Vendas (F12) o que o registro "
    "fiscal tem desta venda."
)


class IssueFlow(WindowFlows):
    """F10 and what follows it. ``running`` is true from the send until the outcome's dialog
    closed: the window refuses other flows and closing meanwhile."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.running = False
        self.last_report: IssueReport | None = None

    @checkout_flow
    async def on_pay(self) -> None:
        window = self.window
        cart = window.vm.cart
        if cart.is_empty:
            window.say(tr("Nenhum item na venda."), "warning")
            return
        from posapp.ui.payment_dialog import PaymentDialog

        dialog = PaymentDialog(
            cart.total, payments=cart.payments, parent=window, uf=window.ctx.config.store.uf
        )
        accepted = await window.dialog(dialog) == QDialog.DialogCode.Accepted
        cart.payments = tuple(dialog.payments)
        if not accepted:
            return
        try:
            sale = cart.to_sale(cart.payments, operator=window.ctx.operator_login)
        except ValidationError as exc:
            window.say(describe_validation_error(exc), "error")
            return
        except DomainError as exc:
            window.say(error_text(exc, "building the sale failed"), "error")
            return
        await self.issue(sale, resend=cart.rejected)

    async def issue(self, sale: Sale, *, resend: bool) -> None:
        """Issue (or resend) ``sale`` without blocking the window, then show its outcome."""
        from posapp.ui.issue_dialog import Choice

        window = self.window
        self.running = True
        window.vm.scans.hold()
        try:
            while True:
                choice = await self._issue_once(sale, resend=resend)
                if choice is not Choice.RESEND:
                    break
                resend = True
        finally:
            self.running = False
            window.vm.scans.release()
            window.status.poll_queue()
            window.focus_code()

    async def _issue_once(self, sale: Sale, *, resend: bool) -> Choice | None:
        from posapp.ui.issue_dialog import Choice, IssueDialog

        window = self.window
        ctx = window.ctx
        dialog = IssueDialog(
            total=sale.total,
            change=sale.change,
            scan_sink=lambda code: self._hold_scan(code, dialog),
            reprint=self._reprint,
            paper_mm=ctx.config.printer.paper_mm,
            print_slip=lambda report: _print_pending_slip(ctx.service, sale, report.state),
            parent=window,
        )
        window.keep_until_flow_ends(dialog)
        waiter = open_dialog(dialog)
        try:
            if resend:
                report = await ctx.service.resend(
                    sale.sale_id, sale, at_counter=True, by=Authorization(ctx.operator_login)
                )
            else:
                report = await ctx.service.issue(sale)
        except Exception as exc:
            # Never leave the till behind a dialog that cannot be closed.
            dialog.busy = False
            dialog.reject()
            await waiter
            if has_user_message(exc):
                log.warning("issue of %s failed: %s", sale.sale_id, exc)
                text = error_text(exc)
            else:
                text = error_text(exc, f"issue of {sale.sale_id} failed unexpectedly")
                text += "\n" + tr(UNEXPECTED_ISSUE)
            where = await self._where_is(sale)
            await window.message_box(
                tr("Não foi possível emitir"), text + ("\n\n" + where if where else ""), "error"
            )
            return None
        self.last_report = report
        window.status.saw_issue(report)  # the badge follows what this sale saw
        try:
            if report.printed is not None:
                ctx.last_print_ok, ctx.last_print_error = report.printed, report.print_error
                window.status.show_printer()
        except Exception:  # the sale is issued: the bookkeeping must not hide its outcome
            log.exception("after issuing %s", sale.sale_id)
        try:
            await dialog.show_report(report)
        except Exception:
            log.exception("showing the outcome of %s failed", sale.sale_id)
            dialog.busy = False  # Enter still closes it
        await waiter
        choice = dialog.choice
        if report.state is SaleState.REJECTED:
            window.vm.cart.rejected = True
            if choice is Choice.FIX:
                window.say(
                    tr("Venda rejeitada: corrija (itens, CPF F4) e tecle F10 para reenviar."), "warning"
                )
            return choice
        window.vm.new_sale()
        if report.state is SaleState.QUEUED:
            window.status.poke_drainer()
            window.say(tr("Venda anterior na fila: será emitida automaticamente."), "warning")
        elif report.state is SaleState.IN_DOUBT:
            window.say(tr("Venda anterior em dúvida: um gerente deve conferir (F12)."), "warning")
        return choice

    async def _where_is(self, sale: Sale) -> str:
        """After an issue that raised: is the sale in the journal? The cart follows the
        answer, so the sale is neither lost (still in the cart) nor issued twice (a sale the
        journal holds leaves the cart; the queue or a manager finishes it)."""
        window = self.window
        try:
            if await window.ctx.service.state_of(sale.sale_id) is None:
                return tr("Nada foi registrado: a venda continua no caixa; tecle F10 para tentar de novo.")
            summary, _ = await window.ctx.service.get_sale(sale.sale_id)
        except Exception:
            log.exception("looking up %s after a failed issue", sale.sale_id)
            return tr(
                "A venda continua no caixa. Antes de repetir, confira se ela já aparece em Vendas (F12)."
            )
        if summary.state is SaleState.REJECTED:
            window.vm.cart.rejected = True
            return tr("A venda está registrada como rejeitada: corrija e tecle F10 para reenviar.")
        if summary.state is SaleState.VOIDED:
            window.vm.new_sale()
            return tr("Esta venda foi descartada por um gerente: o caixa está livre.")
        window.vm.new_sale()
        window.status.poke_drainer()
        return (
            tr("A venda está no registro fiscal (")
            + tr(summary.state.label)
            + tr("): confira em Vendas (F12).")
        )

    def _hold_scan(self, code: str, dialog: IssueDialog) -> None:
        scans = self.window.vm.scans
        scans.push(code)
        dialog.held_scans(scans.pending)

    async def _reprint(self, sale_id: str) -> IssueReport:
        window = self.window
        report = await window.ctx.service.reprint(sale_id, by=Authorization(window.ctx.operator_login))
        window.ctx.last_print_ok, window.ctx.last_print_error = report.printed, report.print_error
        window.status.show_printer()
        self.last_report = report
        return report


def _print_pending_slip(
    service: PosService, sale: Sale, state: SaleState
) -> Coroutine[Any, Any, PrintResult | None]:
    # The printing stack (Pillow, segno, the spool) loads on the first pending slip, not at start.
    from posapp.services.pending_slips import print_pending_slip

    return print_pending_slip(service, sale, state)
