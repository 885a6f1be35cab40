"""The till's one line to the store server: a worker thread that owns the psycopg connection
(one connection, used by one thread), the journal's change feed (its own connection,
:class:`posapp.journal.changes.ChangeFeed`) and the till's store file. The sync loop, the
back office and the remote cancels share it, so every server call of a till runs on that
one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from posapp.catalog.storedb import StoreDB
from posapp.config import StoreServerConfig
from posapp.journal.changes import ChangeFeed
from posapp.journal.store import JOURNAL_FILENAME, Journal
from posapp.storeserver.connection import DriverError, connect
from posapp.storeserver.errors import StoreServerUnavailable
from posapp.storeserver.schema import migrate

if TYPE_CHECKING:
    from posapp.storeserver.connection import ServerConnection

T = TypeVar("T")


class ServerLink:
    def __init__(self, server: StoreServerConfig, data_dir: Path) -> None:
        self.server = server
        self.data_dir = data_dir
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-sync")
        self._conn: ServerConnection | None = None
        self._feed: ChangeFeed | None = None
        self._store: StoreDB | None = None

    # -- the worker thread's side ------------------------------------------------------

    def open_feed(self) -> ChangeFeed:
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
        feed = self.open_feed()
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

    def guarded(self, fn: Callable[[ServerConnection], T]) -> T:
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

    def till_id(self) -> str | None:
        assert self._feed is not None
        return self._feed.till_id()

    def local_heads(self) -> tuple[int, int]:
        return self.open_feed().heads()

    @property
    def feed(self) -> ChangeFeed:
        assert self._feed is not None
        return self._feed

    @property
    def store(self) -> StoreDB:
        """The till's store file (open once a guarded call ran)."""
        assert self._store is not None
        return self._store

    # -- async API ---------------------------------------------------------------------

    async def call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def run(self, fn: Callable[[ServerConnection], T]) -> T:
        """``fn`` with the connection, on the worker thread (:meth:`guarded`)."""
        return await self.call(lambda: self.guarded(fn))

    async def aclose(self) -> None:
        def close() -> None:
            self._drop()
            if self._feed is not None:
                self._feed.close()
            if self._store is not None:
                self._store.close()

        await self.call(close)
        self._executor.shutdown(wait=True)
