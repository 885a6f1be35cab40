"""The outbox: each till replicates its journal (sales, events, documents' metadata, the
sale-action audit) and its store file's cash movements and audit log to the server.

* **Idempotent**: every row is keyed by the till id and the till's own id (event id, audit
  id, movement id; a sale by its sale id), inserted ``ON CONFLICT DO NOTHING``; a sale's row
  is replaced only by a snapshot at least as recent (``seq``, its last event id).
* **Resumable after a crash of either side**: the cursor is the server's own highest id per
  till and feed, read inside the push transaction, so a push that did not commit simply
  happens again. Nothing is written on the till.
* **In order per till**: a batch is the next ids after the cursor, committed whole.
* **Never blocking a sale**: it reads the journal on its own connection, off the sale path
  (:class:`posapp.journal.changes.ChangeFeed`), from a background task.

The server never holds a state the journal does not: a batch's sale rows are read in the same
snapshot as its events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from posapp import __version__
from posapp.catalog.storedb import StoreDB
from posapp.journal.changes import ChangeFeed
from posapp.operators.changes import audit_after, cash_after
from posapp.storeserver.faults import crash_point


@dataclass(frozen=True, slots=True)
class Cursors:
    events: int
    sale_audit: int
    cash: int
    store_audit: int


@dataclass(frozen=True, slots=True)
class PushReport:
    events: int = 0
    sales: int = 0
    documents: int = 0
    sale_audit: int = 0
    cash: int = 0
    store_audit: int = 0

    @property
    def rows(self) -> int:
        return self.events + self.sale_audit + self.cash + self.store_audit

    def __add__(self, other: PushReport) -> PushReport:
        return PushReport(
            self.events + other.events,
            self.sales + other.sales,
            self.documents + other.documents,
            self.sale_audit + other.sale_audit,
            self.cash + other.cash,
            self.store_audit + other.store_audit,
        )


def server_cursors(conn: psycopg.Connection, till_id: str) -> Cursors:
    row = conn.execute(
        "SELECT (SELECT coalesce(max(event_id), 0) FROM sale_events WHERE till_id = %(t)s),"
        " (SELECT coalesce(max(audit_id), 0) FROM sale_audit WHERE till_id = %(t)s),"
        " (SELECT coalesce(max(movement_id), 0) FROM cash_movements WHERE till_id = %(t)s),"
        " (SELECT coalesce(max(audit_id), 0) FROM store_audit WHERE till_id = %(t)s)",
        {"t": till_id},
    ).fetchone()
    assert row is not None
    return Cursors(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def register_till(conn: psycopg.Connection, till_id: str) -> None:
    conn.execute(
        "INSERT INTO tills (till_id, posapp_version) VALUES (%s, %s) "
        "ON CONFLICT (till_id) DO UPDATE SET last_seen = clock_timestamp(), "
        "posapp_version = excluded.posapp_version",
        (till_id, __version__),
    )


def push_once(
    conn: psycopg.Connection,
    feed: ChangeFeed,
    store: StoreDB | None,
    till_id: str,
    *,
    batch: int = 500,
    before_commit: Callable[[], None] | None = None,
) -> PushReport:
    """One batch of every feed, in one server transaction (all of it lands, or none)."""
    with conn.transaction():
        # Two processes of one till (the GUI and `posapp store sync`) push one after the other.
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"posapp push {till_id}",))
        register_till(conn, till_id)
        at = server_cursors(conn, till_id)
        changes = feed.read(after_event=at.events, after_audit=at.sale_audit, limit=batch)
        cash = cash_after(store, at.cash, batch) if store is not None else []
        store_audit = audit_after(store, at.store_audit, batch) if store is not None else []
        with conn.cursor() as cur:
            if changes.events:
                cur.executemany(
                    "INSERT INTO sale_events (till_id, event_id, sale_id, at, kind, from_state, to_state,"
                    " detail) VALUES (%(till)s, %(event_id)s, %(sale_id)s, %(at)s::timestamptz, %(kind)s,"
                    " %(from_state)s, %(to_state)s, %(detail)s::jsonb) ON CONFLICT DO NOTHING",
                    [{"till": till_id, **e, "detail": _json(e["detail"])} for e in changes.events],
                )
            if changes.sales:
                cur.executemany(_UPSERT_SALE, [_sale_params(till_id, s) for s in changes.sales])
            if changes.documents:
                cur.executemany(
                    "INSERT INTO sale_documents (till_id, sale_id, kind, size, sha256, created_at) VALUES"
                    " (%(till)s, %(sale_id)s, %(kind)s, %(size)s, %(sha256)s, %(created_at)s::timestamptz)"
                    " ON CONFLICT (till_id, sale_id, kind) DO UPDATE SET size = excluded.size,"
                    " sha256 = excluded.sha256, created_at = excluded.created_at",
                    [{"till": till_id, **d} for d in changes.documents],
                )
            crash_point("mid_push")
            for table, rows in (("sale_audit", changes.audit), ("store_audit", store_audit)):
                if rows:
                    cur.executemany(
                        f"INSERT INTO {table} (till_id, audit_id, at, action, operator, authorized_by,"  # noqa: S608 (a table name of ours)
                        " sale_id, detail) VALUES (%(till)s, %(audit_id)s, %(at)s::timestamptz, %(action)s,"
                        " %(operator)s, %(authorized_by)s, %(sale_id)s, %(detail)s) ON CONFLICT DO NOTHING",
                        [{"till": till_id, **a} for a in rows],
                    )
            if cash:
                cur.executemany(
                    "INSERT INTO cash_movements (till_id, movement_id, at, kind, amount, operator,"
                    " authorized_by, note) VALUES (%(till)s, %(movement_id)s, %(at)s::timestamptz, %(kind)s,"
                    " %(amount)s::numeric, %(operator)s, %(authorized_by)s, %(note)s) ON CONFLICT DO NOTHING",
                    [{"till": till_id, **m} for m in cash],
                )
        if before_commit is not None:
            before_commit()
    return PushReport(
        len(changes.events),
        len(changes.sales),
        len(changes.documents),
        len(changes.audit),
        len(cash),
        len(store_audit),
    )


def push_all(
    conn: psycopg.Connection,
    feed: ChangeFeed,
    store: StoreDB | None,
    till_id: str,
    *,
    batch: int = 500,
    stop: Callable[[], bool] | None = None,
) -> PushReport:
    """Batches until nothing is left (or ``stop()``)."""
    total = PushReport()
    while stop is None or not stop():
        report = push_once(conn, feed, store, till_id, batch=batch)
        total = total + report
        if report.rows == 0:
            break
    return total


_UPSERT_SALE = """
INSERT INTO sales (till_id, sale_id, seq, state, created_at, updated_at, total, operator, backend,
    chave, numero, serie, protocolo, authorized_at, contingency, cancel_motivo, cancel_protocolo,
    cancelled_at, last_error, sale)
VALUES (%(till)s, %(sale_id)s, %(seq)s, %(state)s, %(created_at)s::timestamptz, %(updated_at)s::timestamptz,
    %(total)s::numeric, %(operator)s, %(backend)s, %(chave)s, %(numero)s, %(serie)s, %(protocolo)s,
    %(authorized_at)s::timestamptz, %(contingency)s, %(cancel_motivo)s, %(cancel_protocolo)s,
    %(cancelled_at)s::timestamptz, %(last_error)s, %(sale)s::jsonb)
ON CONFLICT (till_id, sale_id) DO UPDATE SET
    seq = excluded.seq, state = excluded.state, updated_at = excluded.updated_at, total = excluded.total,
    operator = excluded.operator, backend = excluded.backend, chave = excluded.chave,
    numero = excluded.numero, serie = excluded.serie, protocolo = excluded.protocolo,
    authorized_at = excluded.authorized_at, contingency = excluded.contingency,
    cancel_motivo = excluded.cancel_motivo, cancel_protocolo = excluded.cancel_protocolo,
    cancelled_at = excluded.cancelled_at, last_error = excluded.last_error, sale = excluded.sale,
    received_at = clock_timestamp()
WHERE sales.seq <= excluded.seq
"""

_SALE_COLUMNS = (
    "sale_id",
    "seq",
    "state",
    "created_at",
    "updated_at",
    "total",
    "operator",
    "backend",
    "chave",
    "numero",
    "serie",
    "protocolo",
    "authorized_at",
    "cancel_motivo",
    "cancel_protocolo",
    "cancelled_at",
    "last_error",
)


def _sale_params(till_id: str, sale: dict[str, Any]) -> dict[str, Any]:
    """The journal's sale row, by column name (columns the server does not know are left)."""
    params = {name: sale.get(name) for name in _SALE_COLUMNS}
    params.update(till=till_id, contingency=bool(sale.get("contingency")), sale=sale["sale_json"])
    return params


def _json(text: str | None) -> str:
    if not text:
        return "{}"
    try:
        json.loads(text)
    except ValueError:
        return json.dumps({"text": text})
    return text
