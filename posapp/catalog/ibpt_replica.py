"""The IBPT table (``ibpt``, per UF and NCM) copied to and from the store server, as the
catalog is (:mod:`posapp.catalog.replica`): each row keyed ``UF:NCM`` on the server, applied
here in chunks with the cursor in the same transaction, so a pull cut anywhere resumes
without a gap. The table is large (some 10,000 NCMs per UF), hence chunked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from posapp.catalog.products import COMPONENT, MIGRATIONS
from posapp.catalog.replica import ApplyReport, cursor_key, pulled_version
from posapp.catalog.storedb import StoreDB

TABLE = "ibpt"
COLUMNS = ("uf", "ncm", "national_federal", "imported_federal", "state", "municipal", "valid_until", "source")
_INSERT = f"INSERT OR REPLACE INTO ibpt ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608
_REQUIRED = ("uf", "ncm", "national_federal", "imported_federal", "state", "municipal", "source")


def ensure_table(store: StoreDB) -> None:
    store.migrate(COMPONENT, MIGRATIONS)


def row_key(uf: str, ncm: str) -> str:
    return f"{uf}:{ncm}"


def export_rows(store: StoreDB) -> Iterator[dict[str, Any]]:
    """Every row of this till's table, with its server key (``key``)."""
    ensure_table(store)
    with store.reading() as conn:
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM ibpt ORDER BY uf, ncm").fetchall()  # noqa: S608
    for row in rows:
        data = dict(zip(COLUMNS, row, strict=True))
        yield {"key": row_key(data["uf"], data["ncm"]), **data}


def keys(store: StoreDB) -> set[str]:
    ensure_table(store)
    with store.reading() as conn:
        return {row_key(uf, ncm) for uf, ncm in conn.execute("SELECT uf, ncm FROM ibpt")}


def local_rows(store: StoreDB) -> int:
    ensure_table(store)
    with store.reading() as conn:
        return int(conn.execute("SELECT count(*) FROM ibpt").fetchone()[0])


def apply_pull(
    store: StoreDB,
    chunks: Iterable[list[tuple[str, Mapping[str, Any] | None, int]]],
    *,
    bulk: bool = False,
) -> tuple[ApplyReport, int]:
    """Apply pulled ``(key, row or None, version)`` chunks and move the cursor, in one
    transaction (the caller passes one chunk at a time, or all of them for a fresh till). A
    row that lacks a rate is refused by key; the others go in."""
    del bulk  # no search index here: one transaction per call either way
    report = ApplyReport()
    last = pulled_version(store, TABLE)
    with store.transaction() as conn:
        for chunk in chunks:
            for key, row, version in chunk:
                last = max(last, version)
                uf, _, ncm = key.partition(":")
                if row is None:
                    report.deleted += conn.execute(
                        "DELETE FROM ibpt WHERE uf = ? AND ncm = ?", (uf, ncm)
                    ).rowcount
                    continue
                missing = [c for c in _REQUIRED if row.get(c) in (None, "")]
                if missing or row.get("uf") != uf or row.get("ncm") != ncm:
                    report.refused.append(f"{key}: faltam {', '.join(missing) or 'uf/ncm coerentes'}")
                    continue
                conn.execute(
                    _INSERT,
                    [None if row.get(c) is None else str(row[c]) for c in COLUMNS],
                )
                report.upserted += 1
        conn.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (cursor_key(TABLE), str(last)),
        )
    return report, last
