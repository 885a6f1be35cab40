"""Cancels across tills: a manager on any till queues a cancel of another till's note on the
store server (:meth:`RemoteCancels.request_cancel`), and the issuing till, at its next sync
round, takes each request for it, runs its usual cancel and answers in the same server
transaction (:meth:`RemoteCancels.perform_remote_cancels`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from posapp.domain import lifecycle
from posapp.domain.lifecycle import SaleState
from posapp.errors import PosappError, user_text
from posapp.journal.errors import UnknownSale
from posapp.services.core import Authorization
from posapp.services.errors import NothingToDo
from posapp.services.store_sync.link import ServerLink
from posapp.storeserver import cancels
from posapp.storeserver.faults import crash_point

if TYPE_CHECKING:
    from posapp.services.pos import PosService
    from posapp.storeserver.connection import ServerConnection


@dataclass(frozen=True, slots=True)
class CancelHandled:
    request_id: str
    sale_id: str
    status: str  # done | refused | pending (in doubt: retried)
    state: str | None
    message: str


class RemoteCancels:
    """Both sides over the till's :class:`ServerLink`; without a ``service`` (a till that only
    asks, such as ``posapp store cancel``) it performs none."""

    def __init__(self, link: ServerLink, service: PosService | None = None) -> None:
        self._link = link
        self.service = service

    async def request_cancel(
        self, *, chave: str | None, sale_id: str | None, motivo: str, by: Authorization
    ) -> tuple[cancels.CancelRequest, bool]:
        """Queue a cancel of another till's note to that till (the manager's side)."""

        def body(conn: ServerConnection) -> tuple[cancels.CancelRequest, bool]:
            sale = cancels.find_sale(conn, chave=chave, sale_id=sale_id)
            _check_cancellable(sale)
            return cancels.request_cancel(
                conn,
                till_id=sale.till_id,
                sale_id=sale.sale_id,
                chave=sale.chave,
                motivo=motivo,
                requested_by=by.operator,
                authorized_by=by.authorized_by,
                requested_from=self._link.till_id() or "?",
            )

        return await self._link.run(body)

    async def cancel_request(self, request_id: str) -> cancels.CancelRequest | None:
        return await self._link.run(lambda c: cancels.get(c, request_id))

    async def perform_remote_cancels(self, *, limit: int = 20) -> tuple[CancelHandled, ...]:
        """The issuing till's side: take each pending request for this till (locked on the
        server), run the usual cancel, and answer in the same server transaction."""
        if self.service is None:
            return ()
        loop = asyncio.get_running_loop()
        handled: list[CancelHandled] = []
        skip: list[str] = []
        for _ in range(limit):
            result = await self._link.run(lambda c: self._take_and_perform(c, loop, skip))
            if result is None:
                break
            handled.append(result)
            if result.status == "pending":
                skip.append(result.request_id)
        return tuple(handled)

    def _take_and_perform(
        self, conn: ServerConnection, loop: asyncio.AbstractEventLoop, skip: list[str]
    ) -> CancelHandled | None:
        till_id = self._link.till_id()
        if till_id is None:
            return None
        with conn.transaction():
            request = cancels.take_pending(conn, till_id, skip=skip)
            if request is None:
                return None
            # The cancel runs on the event loop (the service's journal thread, its locks);
            # this thread holds the request's lock until the answer is committed.
            future = asyncio.run_coroutine_threadsafe(self._perform(request), loop)
            handled = future.result()
            crash_point("remote_cancel_before_ack")
            if handled.status != "pending":
                cancels.finish(conn, request.request_id, handled.status, handled.state, handled.message)
        return handled

    async def _perform(self, request: cancels.CancelRequest) -> CancelHandled:
        service = self.service
        assert service is not None
        by = Authorization(operator=request.requested_by, authorized_by=request.authorized_by)

        def answer(status: str, state: SaleState | None, message: str) -> CancelHandled:
            return CancelHandled(
                request.request_id, request.sale_id, status, state.value if state else None, message
            )

        refused = False
        try:
            report = await service.cancel(request.sale_id, request.motivo, by=by)
            message = report.message
        except UnknownSale:
            return answer(
                cancels.REFUSED, None, "Esta venda não está no diário do caixa que recebeu o pedido."
            )
        except PosappError as exc:
            message, refused = user_text(exc), True
        state = await service.state_of(request.sale_id)
        if state is not None and lifecycle.has_cancel_event(state):
            return answer(cancels.DONE, state, message or "Cancelada.")
        if state is not None and lifecycle.cancel_unanswered(state) and not refused:
            # No answer yet: resending is the lifecycle's harmless retry; the request waits.
            return answer(cancels.PENDING, state, message or "Cancelamento sem resposta; será repetido.")
        return answer(cancels.REFUSED, state, message or "O cancelamento não foi feito.")


def _check_cancellable(sale: cancels.RemoteSale) -> None:
    """What the server last heard of the sale must allow a cancel (the issuing till, the
    authority, checks again): a note already cancelled, or never authorized, is refused here
    instead of being queued for nothing."""
    state = SaleState(sale.state)
    if not lifecycle.can_cancel(state):  # CANCELLING passes: the issuing till resends or knows
        raise NothingToDo(
            f"sale {sale.sale_id} of till {sale.till_id} is {state}",
            user_message=f"A venda {sale.sale_id} do caixa {sale.till_id} está '{state.label}': "
            "só NFC-e autorizadas podem ser canceladas.",
        )
