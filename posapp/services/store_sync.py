"""The till's side of the store server (issue 16): a background task that pushes the outbox,
pulls the shared catalog, operators, IBPT table and the store's settings, takes its série,
and performs the cancels other tills queued to it. No Qt; the CLI (``posapp store ...``) and
the GUI's status bar share it.

Nothing here is on the sale path. Every server call runs on this object's own worker thread
(one psycopg connection, used by one thread); the journal is read on its own connection
(:class:`posapp.journal.changes.ChangeFeed`). When the server is away the till sells as
always and this task retries with a growing delay; what it could not send is sent when the
server is back, because the server's own cursors say where to resume.

Imported only when ``[store_server]`` is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from posapp.catalog.storedb import StoreDB
from posapp.config import Config, StoreServerConfig
from posapp.domain import lifecycle
from posapp.domain.lifecycle import SaleState
from posapp.errors import PosappError, user_text
from posapp.journal.changes import ChangeFeed
from posapp.journal.errors import UnknownSale
from posapp.journal.store import JOURNAL_FILENAME, Journal
from posapp.services.core import Authorization
from posapp.services.errors import NothingToDo
from posapp.storeserver import cancels, numbering, outbox, queries, shared
from posapp.storeserver import settings as store_settings_server
from posapp.storeserver.connection import DriverError, connect
from posapp.storeserver.errors import StoreServerError, StoreServerUnavailable
from posapp.storeserver.faults import crash_point
from posapp.storeserver.outbox import PushReport
from posapp.storeserver.schema import migrate

if TYPE_CHECKING:
    from posapp.services.pos import PosService
    from posapp.store_settings import LocalState, StoreSettings
    from posapp.storeserver.connection import ServerConnection

log = logging.getLogger("posapp.services.store_sync")
T = TypeVar("T")

SERIE_KEY = "store_server.serie"
SHARED = ("products", "operators", "ibpt")
PUSH_POLL_S = 0.25  # how often the journal's head is compared with what was sent (a local read)
MAX_RETRY_S = 60.0


def assigned_serie(data_dir: Path) -> int | None:
    """The série the server gave this till (kept in store.sqlite3), or None."""
    store = StoreDB.in_data_dir(data_dir)
    try:
        value = store.get_setting(SERIE_KEY)
    finally:
        store.close()
    return int(value) if value is not None else None


def effective_config(config: Config, data_dir: Path) -> Config:
    """With ``[store_server]``, the till issues with the store's settings it last pulled
    (posapp/store_settings.py: its file overlaid with them) and the série the server gave it
    (where we number); without one, or before the first contact, with its file as it is."""
    if config.store_server is None:
        return config
    from posapp.store_settings import effective_in

    config = effective_in(config, data_dir)
    serie = assigned_serie(data_dir)
    if serie is None or serie == config.nfce.serie:
        return config
    return config.model_copy(update={"nfce": config.nfce.model_copy(update={"serie": serie})})


@dataclass(frozen=True, slots=True)
class SyncState:
    """What the status bar shows."""

    connected: bool | None = None  # None: not tried yet
    to_send: int = 0  # journal events and audit rows not yet on the server (as last measured)
    last_ok_at: datetime | None = None
    last_error: str | None = None
    serie: int | None = None
    settings_problem: str | None = None  # the store's settings last pulled were refused
    settings_version: int = 0  # of the store's settings in force in this till's copy (0: none)

    @property
    def text(self) -> str:
        """Short, for the status bar (the whole story is :attr:`detail`)."""
        if self.connected is None:
            return "Loja: conectando…"
        if not self.connected:
            return f"Loja: offline, {self.to_send} a enviar" if self.to_send else "Loja: offline"
        if self.to_send:
            return f"Loja: enviando {self.to_send}"
        return "Loja: sincronizada"

    @property
    def detail(self) -> str:
        """The tooltip: what the state means for the cashier."""
        if self.connected is None:
            return "Conectando ao servidor da loja."
        if not self.connected:
            pending = f" {self.to_send} registro(s) esperam para subir." if self.to_send else ""
            why = f" ({self.last_error})" if self.last_error else ""
            return (
                "Servidor da loja fora do ar: o caixa continua vendendo sozinho e envia tudo quando ele "
                f"voltar.{pending}{why}"
            )
        refused = (
            f" Configurações da loja recusadas (o caixa segue com as anteriores): {self.settings_problem}"
            if self.settings_problem
            else ""
        )
        if self.to_send:
            return f"Enviando {self.to_send} registro(s) ao servidor da loja.{refused}"
        return f"Tudo o que este caixa registrou está no servidor da loja.{refused}"


@dataclass(frozen=True, slots=True)
class CancelHandled:
    request_id: str
    sale_id: str
    status: str  # done | refused | pending (in doubt: retried)
    state: str | None
    message: str


@dataclass(frozen=True, slots=True)
class SyncReport:
    pushed: PushReport = field(default_factory=PushReport)
    pulled: tuple[shared.PullReport, ...] = ()
    cancels: tuple[CancelHandled, ...] = ()
    serie: int | None = None
    settings: store_settings_server.SettingsPull | None = None

    def lines(self) -> list[str]:
        p = self.pushed
        out = [
            f"enviados: {p.events} evento(s) de {p.sales} venda(s), {p.documents} documento(s), "
            f"{p.sale_audit + p.store_audit} registro(s) de auditoria, {p.cash} movimento(s) de caixa"
        ]
        for pull in self.pulled:
            what = {"products": "produtos", "operators": "operadores", "ibpt": "tabela IBPT"}.get(
                pull.table, pull.table
            )
            line = f"recebidos ({what}): {pull.upserted} atualizado(s), {pull.deleted} removido(s)"
            if pull.refused:
                line += f", {len(pull.refused)} recusado(s): {'; '.join(pull.refused[:5])}"
            out.append(line)
        if self.settings is not None:
            out.append(_settings_line(self.settings))
        for handled in self.cancels:
            out.append(f"cancelamento pedido por outro caixa, venda {handled.sale_id}: {handled.message}")
        if self.serie is not None:
            out.append(f"série deste caixa: {self.serie}")
        return out


class StoreSync:
    def __init__(
        self,
        config: Config,
        data_dir: Path,
        *,
        service: PosService | None = None,
        on_state: Callable[[SyncState], None] | None = None,
    ) -> None:
        if config.store_server is None:
            raise ValueError("StoreSync needs [store_server]")
        self.config = config
        self.server: StoreServerConfig = config.store_server
        self.data_dir = data_dir
        self.service = service
        self._on_state = on_state
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-sync")
        self._conn: ServerConnection | None = None
        self._feed: ChangeFeed | None = None
        self._store: StoreDB | None = None
        self._sent_heads: tuple[int, int] | None = None
        self.state = SyncState()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    # -- the worker thread's side ------------------------------------------------------

    def _open_feed(self) -> ChangeFeed:
        if self._feed is None:
            # The journal makes its file and this till's identity on its first open.
            journal = Journal.in_dir(self.data_dir)
            try:
                journal.till_id()
            finally:
                journal.close()
            self._feed = ChangeFeed(self.data_dir / JOURNAL_FILENAME)
        return self._feed

    def _ensure(self) -> ServerConnection:
        feed = self._open_feed()
        if self._store is None:
            self._store = StoreDB.in_data_dir(self.data_dir)
        if self._conn is None or self._conn.closed:
            conn = connect(self.server, till_id=feed.till_id())
            try:
                migrate(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def _guarded(self, fn: Callable[[ServerConnection], T]) -> T:
        """Run ``fn`` with the connection; a lost connection becomes StoreServerUnavailable
        and is dropped, so the next round reconnects."""
        try:
            return fn(self._ensure())
        except DriverError as exc:
            self._drop()
            raise StoreServerUnavailable(
                f"store server: {exc}",
                user_message=f"O servidor da loja caiu durante a sincronização ({type(exc).__name__}); "
                "o caixa continua vendendo e reenvia quando ele voltar.",
            ) from exc

    def _till_id(self) -> str | None:
        assert self._feed is not None
        return self._feed.till_id()

    def _local_heads(self) -> tuple[int, int]:
        return self._open_feed().heads()

    def _push(self) -> PushReport:
        def body(conn: ServerConnection) -> PushReport:
            till_id = self._till_id()
            if till_id is None:  # the journal has never started: nothing to send
                return PushReport()
            heads = self._local_heads()
            report = outbox.push_all(
                conn, self._require_feed(), self._store, till_id, batch=self.server.batch_size
            )
            self._sent_heads = heads
            return report

        return self._guarded(body)

    def _require_feed(self) -> ChangeFeed:
        assert self._feed is not None
        return self._feed

    def _pending(self) -> int:
        """Events and audit rows of the journal not yet on the server (a server query)."""

        def body(conn: ServerConnection) -> int:
            till_id = self._till_id()
            if till_id is None:
                return 0
            at = outbox.server_cursors(conn, till_id)
            events, audit = self._local_heads()
            return max(events - at.events, 0) + max(audit - at.sale_audit, 0)

        return self._guarded(body)

    def _pull(self) -> tuple[shared.PullReport, ...]:
        def body(conn: ServerConnection) -> tuple[shared.PullReport, ...]:
            assert self._store is not None
            return tuple(shared.pull(conn, self._store, table) for table in SHARED)

        return self._guarded(body)

    def _pull_settings(self) -> store_settings_server.SettingsPull:
        def body(conn: ServerConnection) -> store_settings_server.SettingsPull:
            assert self._store is not None
            return store_settings_server.pull_settings(conn, self._store)

        return self._guarded(body)

    def _serie(self) -> int | None:
        def body(conn: ServerConnection) -> int | None:
            till_id = self._till_id()
            if till_id is None:
                return None
            assert self._store is not None
            serie = numbering.assign_serie(conn, till_id, base=self.config.nfce.serie)
            if self._store.get_setting(SERIE_KEY) != serie:
                self._store.set_setting(SERIE_KEY, serie)
            numbering.claim_serie(conn, till_id, serie)
            return serie

        return self._guarded(body)

    # -- async API ---------------------------------------------------------------------

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _set_state(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        if self._on_state is not None:
            self._on_state(self.state)

    async def sync_now(self, *, with_cancels: bool = True) -> SyncReport:
        """Push and pull now (``posapp store sync``); raises when the server is away."""
        try:
            serie = await self._call(self._serie)
            pushed = await self._call(self._push)
            pulled = await self._call(self._pull)
            settings = await self._call(self._pull_settings)
            handled = await self.perform_remote_cancels() if with_cancels else ()
            if handled:  # the cancels' events, so the store sees their outcome now
                pushed = pushed + await self._call(self._push)
            pending = await self._call(self._pending)
        except StoreServerError as exc:
            self._set_state(connected=False, last_error=user_text(exc))
            raise
        self._set_state(
            connected=True,
            to_send=pending,
            last_ok_at=datetime.now(UTC),
            last_error=None,
            serie=serie,
            settings_problem=settings.refused,
            settings_version=settings.version,
        )
        return SyncReport(pushed, pulled, handled, serie, settings)

    def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="posapp-store-sync")

    def poke(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        """Push as soon as the journal moved (a cheap local read every PUSH_POLL_S), pull and
        take cancels every ``sync_interval_s``; back off while the server is away."""
        retry = self.server.sync_interval_s
        next_full = 0.0
        while not self._stop.is_set():
            delay = PUSH_POLL_S
            try:
                if time.monotonic() >= next_full:
                    await self.sync_now()
                    next_full = time.monotonic() + self.server.sync_interval_s
                    retry = self.server.sync_interval_s
                else:
                    heads = await self._call(self._local_heads)
                    if heads != self._sent_heads:
                        await self._call(self._push)
                        self._set_state(connected=True, to_send=0, last_ok_at=datetime.now(UTC))
            except StoreServerError as exc:
                log.warning("store server: %s", exc)
                # What waits: events since the last push this session saw land (unknown before
                # the first one: the server may already hold everything).
                unsent = 0
                with contextlib.suppress(Exception):
                    heads = await self._call(self._local_heads)
                    if self._sent_heads is not None:
                        unsent = max(heads[0] - self._sent_heads[0], 0)
                self._set_state(connected=False, last_error=user_text(exc), to_send=unsent)
                next_full = 0.0
                delay = retry
                retry = min(retry * 2, MAX_RETRY_S)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("store sync round failed")  # a bug must not stop the sync forever
                next_full = 0.0
                delay = retry
                retry = min(retry * 2, MAX_RETRY_S)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def aclose(self) -> None:
        await self.stop()

        def close() -> None:
            self._drop()
            if self._feed is not None:
                self._feed.close()
            if self._store is not None:
                self._store.close()

        await self._call(close)
        self._executor.shutdown(wait=True)

    # -- the store's view --------------------------------------------------------------

    async def store_sales(self, *, limit: int = 100) -> list[dict[str, Any]]:
        return await self._call(lambda: self._guarded(lambda c: queries.store_sales(c, limit=limit)))

    async def tills(self) -> list[dict[str, Any]]:
        return await self._call(lambda: self._guarded(queries.tills))

    async def day_by_till(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The day close per till (the store's line is their sum)."""
        return await self._call(lambda: self._guarded(lambda c: queries.day_by_till(c, start, end)))

    async def duplicate_series(self) -> list[tuple[int, list[str]]]:
        return await self._call(lambda: self._guarded(numbering.duplicate_claims))

    async def publish(self, table: str, keys: list[str] | None = None) -> int:
        """Publish this till's ``table`` (for ``ibpt``: the whole table, withdrawn rows
        included in the count)."""

        def body(conn: ServerConnection) -> int:
            assert self._store is not None
            if table == "ibpt":
                return sum(store_settings_server.publish_ibpt(conn, self._store))
            return shared.publish_local(conn, self._store, table, keys)

        return await self._call(lambda: self._guarded(body))

    async def publish_settings(self, settings: StoreSettings) -> int:
        """Publish the store's settings (validated by the caller's parse: an invalid document
        never reaches the server); 0 when the server already holds the same."""

        def body(conn: ServerConnection) -> int:
            return store_settings_server.publish_settings(conn, settings, till_id=self._till_id())

        return await self._call(lambda: self._guarded(body))

    async def pull_settings(self) -> store_settings_server.SettingsPull:
        """Pull the store's settings now (after this till published them)."""
        pulled = await self._call(self._pull_settings)
        self._set_state(settings_problem=pulled.refused, settings_version=pulled.version)
        return pulled

    async def settings_state(self) -> tuple[LocalState, tuple[int, dict[str, Any] | None, bool] | None]:
        """The copy in force here (and the last refusal), and the server's copy."""

        def body(conn: ServerConnection) -> tuple[LocalState, tuple[int, dict[str, Any] | None, bool] | None]:
            from posapp.store_settings import local_state

            assert self._store is not None
            return local_state(self._store), store_settings_server.server_settings(conn)

        return await self._call(lambda: self._guarded(body))

    async def till_id(self) -> str | None:
        def body() -> str | None:
            self._local_heads()  # opens the feed
            return self._till_id()

        return await self._call(body)

    # -- cancels across tills ------------------------------------------------------------

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
                requested_from=self._till_id() or "?",
            )

        return await self._call(lambda: self._guarded(body))

    async def cancel_request(self, request_id: str) -> cancels.CancelRequest | None:
        return await self._call(lambda: self._guarded(lambda c: cancels.get(c, request_id)))

    async def perform_remote_cancels(self, *, limit: int = 20) -> tuple[CancelHandled, ...]:
        """The issuing till's side: take each pending request for this till (locked on the
        server), run the usual cancel, and answer in the same server transaction."""
        if self.service is None:
            return ()
        loop = asyncio.get_running_loop()
        handled: list[CancelHandled] = []
        skip: list[str] = []
        for _ in range(limit):
            result = await self._call(lambda: self._guarded(lambda c: self._take_and_perform(c, loop, skip)))
            if result is None:
                break
            handled.append(result)
            if result.status == "pending":
                skip.append(result.request_id)
        return tuple(handled)

    def _take_and_perform(
        self, conn: ServerConnection, loop: asyncio.AbstractEventLoop, skip: list[str]
    ) -> CancelHandled | None:
        till_id = self._till_id()
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


def _settings_line(pull: store_settings_server.SettingsPull) -> str:
    if pull.refused:
        return f"configurações da loja RECUSADAS (o caixa segue com as anteriores): {pull.refused}"
    if pull.withdrawn:
        return "configurações da loja retiradas: o caixa volta ao seu arquivo de configuração"
    if pull.applied:
        return f"configurações da loja recebidas: versão {pull.version}"
    if pull.version:
        return f"configurações da loja: versão {pull.version} em vigor"
    return "configurações da loja: nenhuma publicada (vale o arquivo deste caixa)"


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
