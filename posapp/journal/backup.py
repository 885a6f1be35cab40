"""Online copies of the data folder's SQLite files, and what a copy holds.

:func:`online_copy` uses SQLite's backup API on a live database: it reads one consistent
snapshot (a committed transaction is either wholly in the copy or not at all, WAL included)
while the till keeps selling; copying the file itself could catch a page half written, or
miss what is still in the ``-wal``. :func:`copy_facts` says what a copy is: its integrity, its
schema version and, for a journal, how far its event log goes (events are append-only, so a
journal whose last event id is higher holds something the other does not).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from posapp.journal.errors import JournalUnavailable

BUSY_TIMEOUT_MS = 10_000
STEP_PAGES = 1024  # pages per backup step: the copy never holds the database for long


def online_copy(source: Path, target: Path) -> None:
    """A consistent copy of the live SQLite database ``source`` into the new file ``target``."""
    if target.exists():
        raise FileExistsError(target)
    try:
        # Not mode=ro: a read-only connection cannot open a WAL database whose -shm is missing.
        src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise _copy_failed(source, exc) from exc
    try:
        src.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=STEP_PAGES)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise _copy_failed(source, exc) from exc
    finally:
        src.close()


@dataclass(frozen=True, slots=True)
class CopyFacts:
    integrity: str  # "ok", or SQLite's first finding
    user_version: int
    last_event_id: int | None  # journals only (None: no events table)
    sales: int | None
    till_id: str | None


def copy_facts(path: Path) -> CopyFacts:
    """What the SQLite file ``path`` holds (read only; never migrates it)."""
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        return CopyFacts(f"não abre: {exc}", 0, None, None, None)
    try:
        integrity = str(db.execute("PRAGMA integrity_check").fetchone()[0])
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        last = sales = till = None
        if "events" in tables:
            last = int(db.execute("SELECT COALESCE(MAX(event_id), 0) FROM events").fetchone()[0])
        if "sales" in tables:
            sales = int(db.execute("SELECT COUNT(*) FROM sales").fetchone()[0])
        if "meta" in tables:
            row = db.execute("SELECT value FROM meta WHERE key = 'till_id'").fetchone()
            till = str(row[0]) if row else None
        return CopyFacts(integrity, version, last, sales, till)
    except sqlite3.DatabaseError as exc:
        return CopyFacts(f"danificado: {exc}", 0, None, None, None)
    finally:
        db.close()


def sale_ids(path: Path) -> set[str]:
    """The sales a journal holds (the live one included: read only, in one snapshot)."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        return {str(r[0]) for r in db.execute("SELECT sale_id FROM sales")}
    finally:
        db.close()


def _copy_failed(source: Path, exc: BaseException) -> JournalUnavailable:
    return JournalUnavailable(
        f"online copy of {source} failed: {exc}",
        user_message=(
            f"Não foi possível copiar {source} ({exc}). Verifique o espaço livre no destino e rode "
            "'posapp doctor'."
        ),
    )


__all__ = ["CopyFacts", "copy_facts", "online_copy", "sale_ids"]
