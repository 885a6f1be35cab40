"""What the store shares from the server to every till: the catalog (every column, copied by
name), the operators (PIN hashes and roles) and the IBPT table (per UF and NCM); the store's
settings travel in the same kind of table (``storeserver/settings.py``).

The server keeps each row as ``jsonb`` with a ``version`` from one sequence. Publishers take
one advisory lock, so versions commit in the order they were drawn and a till's cursor ("I
have everything up to version v") never skips a row another publisher was still writing.
A till pulls the rows above its cursor into ``store.sqlite3`` and sells from that copy; when
the server is away it keeps selling from what it last pulled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from posapp.catalog import ibpt_replica
from posapp.catalog.products import Catalog
from posapp.catalog.replica import BULK_ROWS, apply_pull, export_rows, local_rows, pulled_version
from posapp.catalog.storedb import StoreDB
from posapp.operators.changes import ensure_tables

PUBLISH_LOCK = 0x706F_7361_7070_0002
# local table -> (server table, key column)
SERVER_TABLES: dict[str, tuple[str, str]] = {
    "products": ("catalog", "code"),
    "operators": ("operators", "login"),
    "settings": ("store_settings", "name"),  # the store's settings (storeserver/settings.py)
    "ibpt": ("ibpt", "key"),  # UF:NCM (catalog/ibpt_replica.py)
}
CHUNK = 2_000


@dataclass(frozen=True, slots=True)
class PullReport:
    table: str
    upserted: int = 0
    deleted: int = 0
    refused: tuple[str, ...] = field(default_factory=tuple)
    version: int = 0


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def publish(conn: psycopg.Connection, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Upsert ``rows`` (local rows by column name) into the server's shared table; a row
    equal to the server's is left alone (no new version, no pull for anyone). Returns how many
    rows changed."""
    server_table, key = SERVER_TABLES[table]
    query = sql.SQL(
        "INSERT INTO {t} ({k}, row, version) VALUES (%s, %s::jsonb, nextval('shared_version')) "
        "ON CONFLICT ({k}) DO UPDATE SET row = excluded.row, deleted = false, "
        "version = nextval('shared_version'), updated_at = clock_timestamp() "
        "WHERE {t}.row IS DISTINCT FROM excluded.row OR {t}.deleted"
    ).format(t=sql.Identifier(server_table), k=sql.Identifier(key))
    changed = 0
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PUBLISH_LOCK,))
        with conn.cursor() as cur:
            batch: list[tuple[str, str]] = []
            for row in rows:
                data = {name: _jsonable(value) for name, value in row.items()}
                batch.append((str(data[key]), json.dumps(data, ensure_ascii=False, sort_keys=True)))
                if len(batch) >= CHUNK:
                    changed += _execute(cur, query, batch)
                    batch = []
            if batch:
                changed += _execute(cur, query, batch)
    return changed


def _execute(cur: psycopg.Cursor[Any], query: sql.Composed, batch: list[tuple[str, str]]) -> int:
    cur.executemany(query, batch, returning=False)
    return max(cur.rowcount, 0)


def withdraw(conn: psycopg.Connection, table: str, keys: Iterable[str]) -> int:
    """Mark rows deleted (the tills delete their copy on the next pull)."""
    server_table, key = SERVER_TABLES[table]
    query = sql.SQL(
        "UPDATE {t} SET deleted = true, version = nextval('shared_version'), updated_at = clock_timestamp() "
        "WHERE {k} = %s AND NOT deleted"
    ).format(t=sql.Identifier(server_table), k=sql.Identifier(key))
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PUBLISH_LOCK,))
        with conn.cursor() as cur:
            cur.executemany(query, [(k,) for k in keys])
            return max(cur.rowcount, 0)


def publish_local(
    conn: psycopg.Connection, store: StoreDB, table: str, keys: Iterable[str] | None = None
) -> int:
    """Publish this till's rows of ``table`` (all, or those with ``keys``)."""
    _ensure_local(store, table)
    return publish(conn, table, export_rows(store, table, keys))


def server_head(conn: psycopg.Connection, table: str) -> int:
    server_table, _key = SERVER_TABLES[table]
    row = conn.execute(
        sql.SQL("SELECT coalesce(max(version), 0) FROM {t}").format(t=sql.Identifier(server_table))
    ).fetchone()
    return int(row[0]) if row else 0


def pull(conn: psycopg.Connection, store: StoreDB, table: str) -> PullReport:
    """Bring this till's copy of ``table`` up to the server's version: rows above the local
    cursor, streamed in chunks. A till selling from its catalog applies each chunk in its own
    short transaction (with the cursor, so a pull cut anywhere resumes without a gap) and its
    scans wait at most one chunk; a fresh till (empty table) takes a big backlog in one
    transaction and rebuilds the search index once, which is several times faster."""
    _ensure_local(store, table)
    since = pulled_version(store, table)
    head = server_head(conn, table)
    if head <= since:
        return PullReport(table, version=since)
    server_table, key = SERVER_TABLES[table]
    count_row = conn.execute(
        sql.SQL("SELECT count(*) FROM {t} WHERE version > %s").format(t=sql.Identifier(server_table)),
        (since,),
    ).fetchone()
    backlog = int(count_row[0]) if count_row else 0
    query = sql.SQL(
        "SELECT {k}, CASE WHEN deleted THEN NULL ELSE row END, version FROM {t} "
        "WHERE version > %s AND version <= %s ORDER BY version"
    ).format(t=sql.Identifier(server_table), k=sql.Identifier(key))
    local = ibpt_replica.local_rows(store) if table == "ibpt" else local_rows(store, table)
    bulk = backlog > BULK_ROWS and local == 0
    upserted = deleted = 0
    refused: list[str] = []
    version = since
    with conn.transaction(), conn.cursor(name=f"pull_{table}") as cur:
        cur.itersize = CHUNK
        cur.execute(query, (since, head))
        batches = [_chunks(cur)] if bulk else ([chunk] for chunk in _chunks(cur))
        for batch in batches:
            if table == "ibpt":
                report, version = ibpt_replica.apply_pull(store, batch, bulk=bulk)
            else:
                report, version = apply_pull(store, table, batch, bulk=bulk)
            upserted, deleted = upserted + report.upserted, deleted + report.deleted
            refused += report.refused
    return PullReport(table, upserted, deleted, tuple(refused), version)


def _chunks(cur: psycopg.Cursor[Any]) -> Iterator[list[tuple[str, Mapping[str, Any] | None, int]]]:
    while True:
        rows = cur.fetchmany(CHUNK)
        if not rows:
            return
        yield [(str(k), row, int(v)) for k, row, v in rows]


def _ensure_local(store: StoreDB, table: str) -> None:
    if table == "products":
        Catalog(store)
    elif table == "ibpt":
        ibpt_replica.ensure_table(store)
    else:
        ensure_tables(store)
