"""The sync loop (issue 16): push the journal's outbox, pull the shared catalog, operators,
IBPT table and the store's settings, take this till's série, and perform the cancels other
tills queued to it; back off while the server is away. :class:`StoreSync` also holds the
till's :attr:`~StoreSync.office` and :attr:`~StoreSync.cancels`, which share its link."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posapp.config import Config, StoreServerConfig
from posapp.errors import user_text
from posapp.services.store_sync.back_office import BackOffice
from posapp.services.store_sync.link import ServerLink
from posapp.services.store_sync.remote_cancels import RemoteCancels
from posapp.services.store_sync.reports import SyncReport, SyncState
from posapp.services.store_sync.till_config import SERIE_KEY
from posapp.storeserver import numbering, outbox, shared
from posapp.storeserver import settings as store_settings_server
from posapp.storeserver.errors import StoreServerError
from posapp.storeserver.outbox import PushReport

if TYPE_CHECKING:
    from posapp.services.pos import PosService
    from posapp.storeserver.connection import ServerConnection

log = logging.getLogger("posapp.services.store_sync")

SHARED = ("products", "operators", "ibpt")
PUSH_POLL_S = 0.25  # how often the journal's head is compared with what was sent (a local read)
MAX_RETRY_S = 60.0


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
        self._on_state = on_state
        self._link = ServerLink(self.server, data_dir)
        self.office = BackOffice(self._link)
        self.cancels = RemoteCancels(self._link, service)
        self._sent_heads: tuple[int, int] | None = None
        self.state = SyncState()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    @property
    def service(self) -> PosService | None:
        return self.cancels.service

    # -- the worker thread's side ------------------------------------------------------

    def _push(self) -> PushReport:
        link = self._link

        def body(conn: ServerConnection) -> PushReport:
            till_id = link.till_id()
            if till_id is None:  # the journal has never started: nothing to send
                return PushReport()
            heads = link.local_heads()
            report = outbox.push_all(conn, link.feed, link.store, till_id, batch=self.server.batch_size)
            self._sent_heads = heads
            return report

        return link.guarded(body)

    def _pending(self) -> int:
        """Events and audit rows of the journal not yet on the server (a server query)."""
        link = self._link

        def body(conn: ServerConnection) -> int:
            till_id = link.till_id()
            if till_id is None:
                return 0
            at = outbox.server_cursors(conn, till_id)
            events, audit = link.local_heads()
            return max(events - at.events, 0) + max(audit - at.sale_audit, 0)

        return link.guarded(body)

    def _pull(self) -> tuple[shared.PullReport, ...]:
        def body(conn: ServerConnection) -> tuple[shared.PullReport, ...]:
            return tuple(shared.pull(conn, self._link.store, table) for table in SHARED)

        return self._link.guarded(body)

    def _pull_settings(self) -> store_settings_server.SettingsPull:
        def body(conn: ServerConnection) -> store_settings_server.SettingsPull:
            return store_settings_server.pull_settings(conn, self._link.store)

        return self._link.guarded(body)

    def _serie(self) -> int | None:
        link = self._link

        def body(conn: ServerConnection) -> int | None:
            till_id = link.till_id()
            if till_id is None:
                return None
            serie = numbering.assign_serie(conn, till_id, base=self.config.nfce.serie)
            if link.store.get_setting(SERIE_KEY) != serie:
                link.store.set_setting(SERIE_KEY, serie)
            numbering.claim_serie(conn, till_id, serie)
            return serie

        return link.guarded(body)

    # -- async API ---------------------------------------------------------------------

    def _set_state(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        if self._on_state is not None:
            self._on_state(self.state)

    async def sync_now(self, *, with_cancels: bool = True) -> SyncReport:
        """Push and pull now (``posapp store sync``); raises when the server is away."""
        try:
            serie = await self._link.call(self._serie)
            pushed = await self._link.call(self._push)
            pulled = await self._link.call(self._pull)
            settings = await self._link.call(self._pull_settings)
            handled = await self.cancels.perform_remote_cancels() if with_cancels else ()
            if handled:  # the cancels' events, so the store sees their outcome now
                pushed = pushed + await self._link.call(self._push)
            pending = await self._link.call(self._pending)
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

    async def pull_settings(self) -> store_settings_server.SettingsPull:
        """Pull the store's settings now (after this till published them)."""
        pulled = await self._link.call(self._pull_settings)
        self._set_state(settings_problem=pulled.refused, settings_version=pulled.version)
        return pulled

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
                    heads = await self._link.call(self._link.local_heads)
                    if heads != self._sent_heads:
                        await self._link.call(self._push)
                        self._set_state(connected=True, to_send=0, last_ok_at=datetime.now(UTC))
            except StoreServerError as exc:
                log.warning("store server: %s", exc)
                # What waits: events since the last push this session saw land (unknown before
                # the first one: the server may already hold everything).
                unsent = 0
                with contextlib.suppress(Exception):
                    heads = await self._link.call(self._link.local_heads)
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
        await self._link.aclose()
