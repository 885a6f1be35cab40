"""The manager's back office on the store server: every till's sales, the tills, the day
close per till, séries claimed twice, and publishing this till's tables and the store's
settings to every till. Each call runs on the till's :class:`ServerLink` (its one worker
thread and connection), so the GUI thread never waits on the server."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from posapp.services.store_sync.link import ServerLink
from posapp.storeserver import numbering, queries, shared
from posapp.storeserver import settings as store_settings_server

if TYPE_CHECKING:
    from posapp.store_settings import LocalState, StoreSettings
    from posapp.storeserver.connection import ServerConnection


class BackOffice:
    def __init__(self, link: ServerLink) -> None:
        self._link = link

    async def store_sales(self, *, limit: int = 100) -> list[dict[str, Any]]:
        return await self._link.run(lambda c: queries.store_sales(c, limit=limit))

    async def tills(self) -> list[dict[str, Any]]:
        return await self._link.run(queries.tills)

    async def day_by_till(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The day close per till (the store's line is their sum)."""
        return await self._link.run(lambda c: queries.day_by_till(c, start, end))

    async def duplicate_series(self) -> list[tuple[int, list[str]]]:
        return await self._link.run(numbering.duplicate_claims)

    async def publish(self, table: str, keys: list[str] | None = None) -> int:
        """Publish this till's ``table`` (for ``ibpt``: the whole table, withdrawn rows
        included in the count)."""
        link = self._link

        def body(conn: ServerConnection) -> int:
            if table == "ibpt":
                return sum(store_settings_server.publish_ibpt(conn, link.store))
            return shared.publish_local(conn, link.store, table, keys)

        return await link.run(body)

    async def publish_settings(self, settings: StoreSettings) -> int:
        """Publish the store's settings (validated by the caller's parse: an invalid document
        never reaches the server); 0 when the server already holds the same."""
        link = self._link

        def body(conn: ServerConnection) -> int:
            return store_settings_server.publish_settings(conn, settings, till_id=link.till_id())

        return await link.run(body)

    async def settings_state(self) -> tuple[LocalState, tuple[int, dict[str, Any] | None, bool] | None]:
        """The copy in force here (and the last refusal), and the server's copy."""

        def body(conn: ServerConnection) -> tuple[LocalState, tuple[int, dict[str, Any] | None, bool] | None]:
            from posapp.store_settings import local_state

            return local_state(self._link.store), store_settings_server.server_settings(conn)

        return await self._link.run(body)

    async def till_id(self) -> str | None:
        link = self._link

        def body() -> str | None:
            link.local_heads()  # opens the feed
            return link.till_id()

        return await link.call(body)
