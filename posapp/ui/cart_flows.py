"""The checkout's keys that change the sale in the cart: search (F2), discounts (F3 on a
line, Shift+F3 on the sale), the consumer (F4), void a line (F6) and discard the sale (F7).
What may need a manager asks for one (the terminal settings say when); the view-model
applies the change and audits it.
"""

from __future__ import annotations

from posapp.ui.flows import WindowFlows, checkout_flow
from posapp.ui.formatting import brl
from posapp.ui.qt import QDialog, tr
from posapp.ui.widgets import ConfirmDialog


class CartFlows(WindowFlows):
    """``MainWindow.cart_flows``: F2, F3, Shift+F3, F4, F6 and F7."""

    @checkout_flow
    async def on_search(self) -> None:
        from posapp.ui.search_dialog import SearchDialog

        window = self.window
        dialog = SearchDialog(window.ctx.store, window.ctx.catalog, window, text=window.code.text())
        window.code.clear()
        if await window.dialog(dialog) == QDialog.DialogCode.Accepted and dialog.product is not None:
            window.vm.submit(dialog.entry)  # with the "3*" typed before F2

    @checkout_flow
    async def on_customer(self) -> None:
        from posapp.ui.dialogs import CustomerDialog

        window = self.window
        dialog = CustomerDialog(window.vm.cart.customer, window, delivery=window.vm.cart.delivery)
        if await window.dialog(dialog) == QDialog.DialogCode.Accepted:
            window.vm.set_customer(dialog.customer, delivery=dialog.delivery)

    @checkout_flow
    async def on_item_discount(self) -> None:
        from posapp.ui.discount_dialog import discount_flow

        await discount_flow(self.window, whole_sale=False)

    @checkout_flow
    async def on_sale_discount(self) -> None:
        from posapp.ui.discount_dialog import discount_flow

        await discount_flow(self.window, whole_sale=True)

    @checkout_flow
    async def on_void_line(self) -> None:
        window = self.window
        cart = window.vm.cart
        if cart.is_empty:
            window.say(tr("Não há itens para cancelar."), "warning")
            return
        last = cart.last_active()
        number = last.number if last else 1
        hint = ""
        typed = window.code.text().strip()
        if typed:
            # Only a plain number that names a line; a barcode left in the field is not one
            # (int() of it would also accept "²" or "١٢" and overflow the spin box).
            if typed.isascii() and typed.isdigit() and 1 <= int(typed) <= len(cart.lines):
                number = int(typed)
                window.code.clear()
            else:
                hint = tr(
                    "'{typed}' não é um número de item (1 a {count}): sugerido o item {number}."
                ).format(typed=typed[:20], count=len(cart.lines), number=f"{number:03d}")
        from posapp.ui.dialogs import VoidLineDialog

        dialog = VoidLineDialog(number, len(cart.lines), window, hint=hint)
        if await window.dialog(dialog) != QDialog.DialogCode.Accepted:
            return
        number = dialog.number.value()
        manager = await window.require_manager(
            tr("Cancelar o item ") + f"{number:03d}" + tr(": digite o PIN do gerente."),
            required=window.ctx.terminal.manager_for_void_line,
        )
        if manager is None:
            return
        await window.vm.void_line(number, authorized_by=manager.login if manager.is_manager else None)

    @checkout_flow
    async def on_abort(self) -> None:
        window = self.window
        cart = window.vm.cart
        if not cart.lines:
            return
        if cart.rejected:
            await self._discard_rejected()
            return
        confirm = ConfirmDialog(
            tr("Descartar venda"),
            tr("Descartar a venda inteira (") + brl(cart.total) + tr(")? Nada será emitido."),
            confirm=tr("Descartar"),
            parent=window,
        )
        if await window.dialog(confirm) != QDialog.DialogCode.Accepted:
            return
        manager = await window.require_manager(
            tr("Descartar a venda: digite o PIN do gerente."), required=window.ctx.terminal.manager_for_abort
        )
        if manager is None:
            return
        await window.vm.abort(authorized_by=manager.login if manager.is_manager else None)

    async def _discard_rejected(self) -> None:
        """F7 on a sale the issuer rejected: it is in the fiscal journal, so discarding it
        is a manager's decision whatever the terminal settings say, and the journal records
        it (VOIDED: never sent again)."""
        window = self.window
        cart = window.vm.cart
        confirm = ConfirmDialog(
            tr("Descartar venda rejeitada"),
            tr("Esta venda foi rejeitada e está no registro fiscal (")
            + brl(cart.total)
            + tr("). Descartá-la? Ela não será emitida nem reenviada."),
            confirm=tr("Descartar"),
            parent=window,
        )
        if await window.dialog(confirm) != QDialog.DialogCode.Accepted:
            return
        manager = await window.require_manager(tr("Descartar a venda rejeitada: digite o PIN do gerente."))
        if manager is None:
            return
        await window.vm.discard_rejected(authorized_by=manager.login)
