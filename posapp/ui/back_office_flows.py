"""The checkout's back-office keys, the manager's and the operator's menu: cash movements
(F8), the day close (F9), the fiscal month (Ctrl+F9), settings (F11, and the store's
settings another till published), the sales history (F12), every till's sales (Ctrl+F12)
and the operator switch (Ctrl+L). None of them touches the sale in the cart; those that
change the till ask for an empty cart or a manager.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from posapp.domain.audit import Action
from posapp.services.core import Authorization
from posapp.ui.flows import SALE_OPEN, WindowFlows, checkout_flow
from posapp.ui.formatting import local_day_bounds, set_store_timezone, store_today
from posapp.ui.qt import QDialog, tr
from posapp.ui.widgets import ConfirmDialog

# The dialogs, the history and the day close are imported when first opened (start-up loads
# only what the checkout shows: issue 11, "start fast"); tests/gui/test_startup.py keeps it so.
if TYPE_CHECKING:
    from posapp.ui.history import HistoryDialog
    from posapp.ui.main_window import MainWindow


class BackOfficeFlows(WindowFlows):
    """``MainWindow.back_office``: F8, F9, Ctrl+F9, F11, F12, Ctrl+F12 and Ctrl+L."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.history: HistoryDialog | None = None
        self._store_settings_version = 0  # the store's settings this window's service was built with

    @checkout_flow
    async def on_cash(self) -> None:
        from posapp.ui.dialogs import CashMovementDialog

        window = self.window
        dialog = CashMovementDialog(window)
        if await window.dialog(dialog) != QDialog.DialogCode.Accepted or dialog.amount is None:
            return
        kind, amount, note, summary = (
            dialog.selected_kind,
            dialog.amount,
            dialog.note.text(),
            dialog.summary(),
        )
        # F8 is rare: not at start-up.
        from posapp.services.day_close import (
            cash_needs_manager,
            cash_warning,
            expected_drawer,
            print_cash_slip,
        )

        ctx = window.ctx
        start, end = local_day_bounds(
            store_today(ctx.service.now(), ctx.config.store.tz), ctx.config.store.tz
        )
        in_drawer = await expected_drawer(ctx.service, ctx.store, ctx.cash, start=start, end=end)
        warning = cash_warning(kind, amount, in_drawer)  # a sangria above the drawer's cash
        if warning is not None:
            confirm = ConfirmDialog(
                tr("Sangria maior que o caixa"), tr(warning), confirm=tr("Continuar"), parent=window
            )
            if await window.dialog(confirm) != QDialog.DialogCode.Accepted:
                return
        needs_manager = cash_needs_manager(
            kind, manager_for_cash=ctx.terminal.manager_for_cash, amount=amount, in_drawer=in_drawer
        )
        manager = await window.require_manager(
            tr("Movimento de caixa (") + tr(kind.label) + tr("): digite o PIN do gerente."),
            required=needs_manager,
        )
        if manager is None:
            return
        movement = await ctx.store.run(
            ctx.cash.record,
            kind,
            amount,
            operator=ctx.operator_login or "?",
            authorized_by=manager.login if manager.is_manager else None,
            note=note,
        )
        window.say(tr("Registrado: ") + summary + tr(" · imprimindo o comprovante…"))
        printed = await print_cash_slip(ctx.service, movement, drawer_before=in_drawer, warning=warning)
        ctx.last_print_ok, ctx.last_print_error = printed.ok, printed.error
        window.status.show_printer()
        window.say(
            tr("Registrado: ")
            + summary
            + (
                tr(" · comprovante impresso: colha as assinaturas.")
                if printed.ok
                else tr(" · comprovante não impresso: ") + (printed.error or "")
            ),
            "" if printed.ok else "warning",
        )

    @checkout_flow
    async def on_day_close(self) -> None:
        window = self.window
        manager = await window.require_manager(tr("Fechamento do dia: digite o PIN do gerente."))
        if manager is None:
            return
        from posapp.services.day_close import close_day, day_close_lines  # F9: not at start-up
        from posapp.ui.dialogs import TextReportDialog
        from posapp.ui.report_print import text_report_escpos

        ctx = window.ctx
        tz = ctx.config.store.tz  # the store's day, not the machine's
        today = store_today(ctx.service.now(), tz)
        start, end = local_day_bounds(today, tz)
        report = await close_day(
            ctx.service,
            ctx.store,
            ctx.cash,
            ctx.audit,
            day=today,
            start=start,
            end=end,
            by=Authorization(ctx.operator_login, manager.login),
        )
        columns = 48 if ctx.config.printer.paper_mm == 80 else 32
        lines = day_close_lines(report, columns=columns, tz=tz)
        dialog = TextReportDialog(tr("Fechamento do dia"), lines, window)
        await window.dialog(dialog)
        if dialog.print_requested:
            data = text_report_escpos(lines, ctx.config.printer)
            result = await ctx.service.print_bytes(data, kind="day_close")
            ctx.last_print_ok, ctx.last_print_error = result.ok, result.error
            window.status.show_printer()
            window.say(
                tr("Fechamento impresso.") if result.ok else tr("Falha na impressão: ") + (result.error or "")
            )

    @checkout_flow
    async def on_fiscal_month(self) -> None:
        """Ctrl+F9: the month's export for the accountant, the gaps and inutilização."""
        window = self.window
        manager = await window.require_manager(tr("Fiscal do mês: digite o PIN do gerente."))
        if manager is None:
            return
        from posapp.ui.fiscal_month_dialog import FiscalMonthDialog  # Ctrl+F9: not at start-up

        dialog = FiscalMonthDialog(
            window.ctx, Authorization(window.ctx.operator_login, manager.login), window
        )
        try:
            await window.dialog(dialog)
        finally:
            await dialog.aclose()

    @checkout_flow
    async def on_settings(self) -> None:
        window = self.window
        manager = await window.require_manager(tr("Configurações: digite o PIN do gerente."))
        if manager is None:
            return
        from posapp.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(window.ctx, window)
        if await window.dialog(dialog) != QDialog.DialogCode.Accepted:
            return
        config, terminal = dialog.new_config, dialog.new_terminal
        store_news = None
        if config is not None and terminal is not None and config.store_server is not None:
            from posapp.ui.store_publish import publish_store_part  # the store's part, to every till

            before = (window.ctx.config, window.ctx.terminal)
            config, terminal, store_news = await publish_store_part(
                window.status.store_sync, before, (config, terminal)
            )
        config_changed = config is not None and config != window.ctx.config
        terminal_changed = terminal is not None and terminal != window.ctx.terminal
        if not (config_changed or terminal_changed):
            window.say(tr("Nenhuma configuração mudou.") + (f" {store_news}" if store_news else ""))
            return
        if config is not None and config_changed:
            window.say(tr("Aplicando as configurações…"))
            await window.dialogs_disposed()  # a closed history may still be talking to the old service
            await window.status.replace_service(config)
            set_store_timezone(window.ctx.config.store.tz)
            window.status.show_printer()
            window.status.poll_health()
        if terminal is not None and terminal_changed:
            scanner_changed = (terminal.scanner_port, terminal.scanner_baudrate) != (
                window.ctx.terminal.scanner_port,
                window.ctx.terminal.scanner_baudrate,
            )
            await window.ctx.apply_terminal(terminal)
            if scanner_changed:
                window.start_scanner()
        window.say(tr("Configurações salvas.") + (f" {store_news}" if store_news else ""))

    def store_settings_arrived(self, version: int) -> None:
        """[store_server]: the store's settings in force changed (another till published them).
        Applied between sales only: a sale already in the cart finishes with the settings it
        started with; until then each sync retries."""
        if version != self._store_settings_version and self.window.vm.cart.is_empty:
            self._apply_store_settings()

    @checkout_flow
    async def _apply_store_settings(self) -> None:
        from posapp.store_settings import local_state

        window = self.window
        state = await window.ctx.store.run(local_state, window.ctx.store)
        self._store_settings_version = state.version
        if state.settings is None:
            return
        config = state.settings.overlay(window.ctx.config)
        if config == window.ctx.config:
            return
        await window.dialogs_disposed()  # a closed history may still be talking to the old service
        await window.status.replace_service(config)
        set_store_timezone(window.ctx.config.store.tz)
        window.say(tr("Configurações da loja atualizadas (versão {v}).").replace("{v}", str(state.version)))

    @checkout_flow
    async def on_history(self) -> None:
        # Anyone at the till may look (and reprint); the history asks a manager's PIN for
        # what changes a sale (cancel, resolve, discard). Audited as before.
        window = self.window
        operator = window.ctx.operator
        await window.ctx.store.run(
            window.ctx.audit.record,
            Action.HISTORY_OPEN,
            operator=window.ctx.operator_login,
            authorized_by=operator.login if operator is not None and operator.is_manager else None,
        )
        from posapp.ui.history import HistoryDialog  # F12: not at start-up

        dialog = HistoryDialog(window.ctx, window)
        dialog.reload()
        self.history = dialog
        try:
            await window.dialog(dialog)
        finally:
            self.history = None
        window.status.poll_queue()

    @checkout_flow
    async def on_store_sales(self) -> None:
        """Ctrl+F12: every till's sales from the store server, the day per till; a manager
        may ask the issuing till to cancel a note (posapp/ui/store_sales.py)."""
        window = self.window
        sync = window.status.store_sync
        if sync is None:
            window.say(tr("Este caixa não tem servidor da loja ([store_server] na configuração)."), "warning")
            return
        from posapp.ui.store_sales import StoreSalesDialog  # Ctrl+F12: not at start-up

        async def authorize(reason: str) -> Authorization | None:
            manager = await window.require_manager(reason)
            return None if manager is None else Authorization(window.ctx.operator_login, manager.login)

        dialog = StoreSalesDialog(window.ctx, sync, authorize, window)
        dialog.reload()
        await window.dialog(dialog)

    @checkout_flow
    async def on_switch_operator(self) -> None:
        window = self.window
        if window.vm.cart.lines:
            window.say(tr(SALE_OPEN).format(what=tr("trocar de operador")), "warning")
            return
        from posapp.ui.dialogs import LoginDialog
        from posapp.ui.main_window import demo_hint  # loaded already: the window composes this class

        previous = window.ctx.operator_login
        dialog = LoginDialog(
            window.ctx.store, window.ctx.operators, hint=demo_hint(window.ctx), parent=window
        )
        if await window.dialog(dialog) != QDialog.DialogCode.Accepted or dialog.operator is None:
            return  # nobody else logged in: the previous operator is still at the till
        new = dialog.operator
        window.ctx.operator = new
        window.status.show_operator()
        if previous is not None and previous != new.login:
            await window.ctx.store.run(
                window.ctx.audit.record,
                Action.LOGOUT,
                operator=previous,
                detail=f"substituído por {new.login}",
            )
