"""Rows of ``store.sqlite3`` copied to and from the store server, **generically by column
name**: a column this till's table lacks (a newer posapp's, such as tax columns) is left
aside, and one the server's row lacks keeps its local default. So tills of different versions
share one catalog without a lock-step upgrade.

Only the shared tables are copied, each by its natural key: the catalog (``products`` by
``code``) and the operators (``operators`` by ``login``: PIN hashes, never PINs, and roles).
The local ``id`` and the search text are this file's own (the search text is recomputed).
The cursor of what was pulled is written in the same transaction as the rows, so a pull
interrupted at any point resumes without a gap.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from posapp.catalog.products import rebuild_index, suspend_index
from posapp.catalog.storedb import StoreDB
from posapp.catalog.text import fold

SHARED_TABLES: dict[str, str] = {"products": "code", "operators": "login"}
_LOCAL_ONLY = {"products": {"id", "search_text"}, "operators": set()}
BULK_ROWS = 5_000  # above this many rows in one pull, the search index is rebuilt once at the end


def _key(table: str) -> str:
    if table not in SHARED_TABLES:
        raise ValueError(f"{table} is not shared with the store server")
    return SHARED_TABLES[table]


def columns(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    """``PRAGMA table_info``: name, notnull, default, of every column."""
    return [
        {"name": r[1], "notnull": bool(r[3]), "default": r[4], "pk": bool(r[5])}
        for r in conn.execute(f"PRAGMA table_info({table})")
    ]


def export_rows(store: StoreDB, table: str, keys: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` (or those with ``keys``), as ``{column: value}`` without the
    local-only columns."""
    key = _key(table)
    wanted = set(keys) if keys is not None else None
    with store.reading() as conn:
        names = [c["name"] for c in columns(conn, table) if c["name"] not in _LOCAL_ONLY[table]]
        rows = conn.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY {key}").fetchall()  # noqa: S608 (our names)
    for row in rows:
        data = dict(zip(names, row, strict=True))
        if wanted is None or data[key] in wanted:
            yield data


def local_rows(store: StoreDB, table: str) -> int:
    _key(table)
    with store.reading() as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 (a shared table)


def cursor_key(table: str) -> str:
    return f"store_server.pulled.{table}"


def pulled_version(store: StoreDB, table: str) -> int:
    return int(store.get_setting(cursor_key(table), 0))


class ApplyReport:
    def __init__(self) -> None:
        self.upserted = 0
        self.deleted = 0
        self.refused: list[str] = []


def apply_rows(
    conn: sqlite3.Connection,
    table: str,
    rows: Iterable[tuple[str, Mapping[str, Any] | None]],
    report: ApplyReport,
) -> None:
    """Inside a transaction: upsert each ``(key, row)``, or delete it when ``row`` is None.

    A row that cannot be inserted here (a NOT NULL column without default that it lacks, a
    value the table's CHECK refuses) is refused and named in ``report``; the others go in.
    """
    key = _key(table)
    local = [
        c for c in columns(conn, table) if c["name"] not in _LOCAL_ONLY[table] or c["name"] == "search_text"
    ]
    names = {c["name"] for c in local}
    for key_value, row in rows:
        if row is None:
            report.deleted += conn.execute(f"DELETE FROM {table} WHERE {key} = ?", (key_value,)).rowcount  # noqa: S608
            continue
        data = {name: value for name, value in row.items() if name in names}
        data[key] = key_value
        if table == "products" and "search_text" in names:
            data["search_text"] = _search_text(data, conn, key_value)
        cols = list(data)
        others = [c for c in cols if c != key]
        # UPDATE first, so a row that names only some columns changes only those (an INSERT
        # ... ON CONFLICT would check the NOT NULL columns it leaves out and fail).
        update = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in others)} WHERE {key} = ?"  # noqa: S608
        insert = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"  # noqa: S608
        try:
            conn.execute("SAVEPOINT replica_row")
            changed = conn.execute(update, [*(data[c] for c in others), key_value]).rowcount if others else 1
            if changed == 0 or (not others and not _exists(conn, table, key, key_value)):
                conn.execute(insert, [data[c] for c in cols])
            conn.execute("RELEASE replica_row")
            report.upserted += 1
        except sqlite3.IntegrityError as exc:
            conn.execute("ROLLBACK TO replica_row")
            conn.execute("RELEASE replica_row")
            report.refused.append(f"{key_value}: {exc}")


def _exists(conn: sqlite3.Connection, table: str, key: str, value: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} WHERE {key} = ?", (value,)).fetchone() is not None  # noqa: S608


def _search_text(data: Mapping[str, Any], conn: sqlite3.Connection, code: str) -> str:
    """The search text, as :attr:`Product.search_text` makes it, from the row (or the stored
    row for the fields an older server row lacks)."""
    if "description" not in data:
        row = conn.execute("SELECT description, gtin FROM products WHERE code = ?", (code,)).fetchone()
        description, gtin = (row[0], row[1]) if row else ("", None)
    else:
        description, gtin = data.get("description") or "", data.get("gtin")
    return " ".join(part for part in (fold(str(description)), code.lower(), str(gtin or "")) if part)


def apply_pull(
    store: StoreDB,
    table: str,
    chunks: Iterable[list[tuple[str, Mapping[str, Any] | None, int]]],
    *,
    bulk: bool,
) -> tuple[ApplyReport, int]:
    """Apply pulled chunks of ``(key, row or None, version)`` and move the cursor, all in one
    transaction; a big pull into the catalog rebuilds the search index once at the end."""
    report = ApplyReport()
    last = pulled_version(store, table)
    with store.transaction() as conn:
        bulk_index = bulk and table == "products"
        if bulk_index:
            suspend_index(conn)
        for chunk in chunks:
            apply_rows(conn, table, ((k, r) for k, r, _v in chunk), report)
            if chunk:
                last = max(last, *(v for _k, _r, v in chunk))
        if bulk_index:
            rebuild_index(conn)
        conn.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (cursor_key(table), str(last)),
        )
    return report, last
