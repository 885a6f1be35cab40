"""Cash movements and the store audit log read as change feeds, for the store server's
outbox. Both are append-only with increasing ids, written one transaction at a time, so the
server's highest id is a cursor to resume from."""

from __future__ import annotations

import sqlite3
from typing import Any

from posapp.catalog.storedb import StoreDB


def _rows(store: StoreDB, query: str, args: tuple[int, int]) -> list[tuple[Any, ...]]:
    """The rows, or none while the operators' tables do not exist yet (a fresh till)."""
    with store.reading() as conn:
        try:
            return conn.execute(query, args).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise


def cash_after(store: StoreDB, after_id: int, limit: int) -> list[dict[str, Any]]:
    rows = _rows(
        store,
        "SELECT id, at, kind, amount, operator, authorized_by, note FROM cash_movements "
        "WHERE id > ? ORDER BY id LIMIT ?",
        (after_id, limit),
    )
    keys = ("movement_id", "at", "kind", "amount", "operator", "authorized_by", "note")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def audit_after(store: StoreDB, after_id: int, limit: int) -> list[dict[str, Any]]:
    rows = _rows(
        store,
        "SELECT id, at, action, operator, authorized_by, sale_id, detail FROM audit_log "
        "WHERE id > ? ORDER BY id LIMIT ?",
        (after_id, limit),
    )
    keys = ("audit_id", "at", "action", "operator", "authorized_by", "sale_id", "detail")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def heads(store: StoreDB) -> tuple[int, int]:
    """The last cash movement id and store audit id."""
    with store.reading() as conn:
        row = conn.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM cash_movements), "
            "(SELECT coalesce(max(id), 0) FROM audit_log)"
        ).fetchone()
    return int(row[0]), int(row[1])


def ensure_tables(store: StoreDB) -> None:
    """The operators component's tables (a fresh till may have none yet)."""
    from posapp.operators.schema import COMPONENT, MIGRATIONS

    store.migrate(COMPONENT, MIGRATIONS)
