"""The manager's view of the store: every till's sales, the tills, and the day per till."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row


def store_sales(
    conn: psycopg.Connection, *, limit: int = 100, till_id: str | None = None
) -> list[dict[str, Any]]:
    """The newest sales of every till (or one), as replicated."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT till_id, sale_id, state, created_at, total, backend, chave, serie, numero, authorized_at,"
            " cancelled_at FROM sales WHERE (%s::text IS NULL OR till_id = %s)"
            " ORDER BY created_at DESC, till_id, sale_id LIMIT %s",
            (till_id, till_id, limit),
        )
        return list(cur.fetchall())


def tills(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT t.till_id, t.first_seen, t.last_seen, t.claimed_serie, t.posapp_version,"
            " s.serie AS assigned_serie, (SELECT count(*) FROM sales x WHERE x.till_id = t.till_id) AS sales,"
            " (SELECT coalesce(max(event_id), 0) FROM sale_events e WHERE e.till_id = t.till_id)"
            " AS last_event"
            " FROM tills t LEFT JOIN till_series s ON s.till_id = t.till_id ORDER BY t.first_seen, t.till_id"
        )
        return list(cur.fetchall())


def day_by_till(conn: psycopg.Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per till, the sales created in [start, end): how many, the authorized total, the
    cancelled ones; the store's line is their sum (the caller adds it)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT till_id, count(*) AS sales,"
            " coalesce(sum(total) FILTER (WHERE state = 'authorized'), 0) AS authorized_total,"
            " count(*) FILTER (WHERE state = 'authorized') AS authorized,"
            " count(*) FILTER (WHERE state = 'cancelled') AS cancelled,"
            " count(*) FILTER (WHERE state NOT IN ('authorized', 'cancelled', 'voided')) AS open"
            " FROM sales WHERE created_at >= %s AND created_at < %s GROUP BY till_id ORDER BY till_id",
            (start, end),
        )
        return list(cur.fetchall())
