"""The audit log: an append-only record of every protected action and who allowed it.

A row says *what* (``action``), *who asked* (``operator``), *who authorized*
(``authorized_by``, a manager, when it took an override) and *which sale*. Triggers in
the schema refuse UPDATE and DELETE, so a record cannot be edited away through SQL
issued by the app.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from posapp.catalog.storedb import StoreDB
from posapp.domain.audit import Action
from posapp.operators.schema import COMPONENT, MIGRATIONS

# (since, limit) -> rows of (id, at, action, operator, authorized_by, sale_id, detail), newest first.
SaleAuditSource = Callable[
    [datetime | None, int], Sequence[tuple[int, datetime, str, str | None, str | None, str | None, str]]
]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    action: str
    operator: str | None
    authorized_by: str | None
    sale_id: str | None
    detail: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str:
    """UTC ISO text, which sorts like time (every row is written in UTC)."""
    return (moment or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC).isoformat()


class AuditLog:
    def __init__(self, store: StoreDB) -> None:
        self.store = store
        self._sale_rows: SaleAuditSource | None = None
        store.migrate(COMPONENT, MIGRATIONS)

    def record(
        self,
        action: Action | str,
        *,
        operator: str | None,
        authorized_by: str | None = None,
        sale_id: str | None = None,
        detail: str = "",
        at: datetime | None = None,
    ) -> None:
        with self.store.transaction() as conn:
            self.record_in(
                conn,
                action,
                operator=operator,
                authorized_by=authorized_by,
                sale_id=sale_id,
                detail=detail,
                at=at,
            )

    @staticmethod
    def record_in(
        conn: sqlite3.Connection,
        action: Action | str,
        *,
        operator: str | None,
        authorized_by: str | None = None,
        sale_id: str | None = None,
        detail: str = "",
        at: datetime | None = None,
    ) -> None:
        """Append inside a transaction the caller already holds (so the action and its
        record commit together)."""
        conn.execute(
            "INSERT INTO audit_log(at, action, operator, authorized_by, sale_id, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                (at or _utcnow()).astimezone(UTC).isoformat(),
                str(action),
                operator,
                authorized_by,
                sale_id,
                detail,
            ),
        )

    def entries(self, *, since: datetime | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Newest first."""
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT id, at, action, operator, authorized_by, sale_id, detail FROM audit_log "
                "WHERE at >= ? ORDER BY id DESC LIMIT ?",
                (_iso(since), limit),
            ).fetchall()
        own = [
            AuditEntry(int(r[0]), datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows
        ]
        if self._sale_rows is None:
            return own
        # The sale actions' rows live in the journal, committed with the events they explain.
        sale_rows = [AuditEntry(*row) for row in self._sale_rows(since, limit)]
        return sorted(own + sale_rows, key=lambda e: e.at, reverse=True)[:limit]

    def attach_sale_rows(self, source: SaleAuditSource) -> None:
        """Merge the audit rows the journal writes with sale events into :meth:`entries`."""
        self._sale_rows = source
