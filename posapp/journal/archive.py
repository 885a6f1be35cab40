"""Monthly archive files: where a closed, exported month's documents and attempts go.

``archive/journal-YYYY-MM.sqlite3`` in the data folder holds, for the sales archived out of
the live journal, their documents (by SHA-256, in its own ``blobs``, packed as in the
journal) and their issue/cancel attempts (exact requests and raw answers). The sales rows,
their events and audit rows, the numbering and everything else the lifecycle reads stay in
the live journal, with ``sales.archived`` naming the month: ``Journal.document``,
``attempt(s)`` and the blob reader fall back to these files, so reprint, history and the
export read an archived sale as before.

A file is written in one transaction (``synchronous=FULL``, rollback journal: a single file,
easy to copy) and read back before the live rows are removed; writing the same sale again
replaces its rows, so an archiving interrupted between the two steps is simply run again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from posapp.files import private_dir, private_sqlite
from posapp.journal import compress
from posapp.journal.errors import JournalUnavailable

FOLDER = "archive"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    sale_id TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (sale_id, kind));
CREATE TABLE IF NOT EXISTS attempts (
    attempt_id INTEGER PRIMARY KEY, sale_id TEXT NOT NULL, kind TEXT NOT NULL, backend TEXT NOT NULL,
    reference TEXT NOT NULL, request BLOB NOT NULL, meta TEXT NOT NULL, created_at TEXT NOT NULL,
    outcome TEXT, response, finished_at TEXT);
CREATE INDEX IF NOT EXISTS attempts_sale ON attempts(sale_id);
"""

ATTEMPT_COLUMNS = (
    "attempt_id",
    "sale_id",
    "kind",
    "backend",
    "reference",
    "request",
    "meta",
    "created_at",
    "outcome",
    "response",
    "finished_at",
)


def file_name(month: str) -> str:
    return f"{FOLDER}/journal-{month}.sqlite3"


def _unavailable(path: Path, exc: BaseException) -> JournalUnavailable:
    return JournalUnavailable(
        f"archive {path} cannot be used: {exc}",
        user_message=(
            f"O arquivo de meses arquivados {path} não pode ser usado ({exc}). Restaure-o da última "
            "cópia de segurança ('posapp restore') e rode 'posapp doctor'."
        ),
    )


def write(
    path: Path,
    documents: Iterable[Mapping[str, Any]],
    attempts: Iterable[Mapping[str, Any]],
    blobs: Mapping[str, tuple[int, bytes]],
) -> None:
    """Put these rows (``blobs``: hash -> (size, packed content)) into the archive at ``path``,
    in one durable transaction, then read every blob back and check its hash."""
    private_dir(path.parent)
    private_sqlite(path)
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=DELETE")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR REPLACE INTO blobs (sha256, size, content) VALUES (?, ?, ?)",
                    [(digest, size, content) for digest, (size, content) in blobs.items()],
                )
                db.executemany(
                    "INSERT OR REPLACE INTO documents (sale_id, kind, sha256, created_at)"
                    " VALUES (:sale_id, :kind, :sha256, :created_at)",
                    list(documents),
                )
                db.executemany(
                    f"INSERT OR REPLACE INTO attempts ({', '.join(ATTEMPT_COLUMNS)})"  # noqa: S608
                    f" VALUES ({', '.join(':' + c for c in ATTEMPT_COLUMNS)})",
                    list(attempts),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            for digest in blobs:
                row = db.execute("SELECT content FROM blobs WHERE sha256 = ?", (digest,)).fetchone()
                if row is None or compress.sha256(compress.unpack(bytes(row[0]))) != digest:
                    raise JournalUnavailable(f"archive {path}: blob {digest} did not read back")
    except sqlite3.Error as exc:
        raise _unavailable(path, exc) from exc


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection to the archive at ``path`` (None when the file is missing)."""
    if not path.exists():
        yield None
        return
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise _unavailable(path, exc) from exc
    db.row_factory = sqlite3.Row
    try:
        yield db
    except sqlite3.Error as exc:
        raise _unavailable(path, exc) from exc
    finally:
        db.close()


def document(path: Path, sale_id: str, kind: str) -> bytes | None:
    with reading(path) as db:
        if db is None:
            return None
        row = db.execute(
            "SELECT b.content FROM documents d JOIN blobs b ON b.sha256 = d.sha256"
            " WHERE d.sale_id = ? AND d.kind = ?",
            (sale_id, kind),
        ).fetchone()
    return compress.unpack(bytes(row["content"])) if row else None


def blob(path: Path, digest: str) -> bytes | None:
    with reading(path) as db:
        if db is None:
            return None
        row = db.execute("SELECT content FROM blobs WHERE sha256 = ?", (digest,)).fetchone()
    return compress.unpack(bytes(row["content"])) if row else None


def attempts(path: Path, *, sale_id: str | None = None, attempt_id: int | None = None) -> list[sqlite3.Row]:
    with reading(path) as db:
        if db is None:
            return []
        if attempt_id is not None:
            return list(db.execute("SELECT * FROM attempts WHERE attempt_id = ?", (attempt_id,)))
        return list(db.execute("SELECT * FROM attempts WHERE sale_id = ? ORDER BY attempt_id", (sale_id,)))


__all__ = ["ATTEMPT_COLUMNS", "FOLDER", "attempts", "blob", "document", "file_name", "reading", "write"]
