"""``store.sqlite3``: the terminal's own data (catalog, operators, audit log, cash, settings).

The fiscal journal lives in its own file; this one holds what the store manages. Several
packages keep tables here, so each one migrates its own *component* and records its
version in ``schema_versions`` (a single ``PRAGMA user_version`` cannot serve two owners).

Threading: one connection, guarded by a lock, and one worker thread
(:meth:`StoreDB.run`). The GUI awaits ``store.run(catalog.lookup, code)``; tests and
command-line tools call the same methods directly. Durability matches the journal (WAL,
``synchronous=FULL``): a *sangria* or an audit record, once acknowledged, survives a crash.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from posapp.catalog.errors import StoreSchemaTooNew, StoreUnavailable
from posapp.files import private_sqlite, switch_to_wal

STORE_FILENAME = "store.sqlite3"
OPEN_TIMEOUT_S = 10.0  # how long opening waits for other processes (busy_timeout, the WAL switch)

P = ParamSpec("P")
T = TypeVar("T")

_BOOTSTRAP = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS schema_versions (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
COMMIT;
"""


class StoreDB:
    """A thread-safe handle on ``store.sqlite3`` with a private worker thread."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the store database: ``0600`` files in a ``0700`` folder whatever
        the umask (:mod:`posapp.files`), WAL switched on even while other processes open the
        same fresh folder (retried; the bootstrap and each migration run under
        ``BEGIN IMMEDIATE``)."""
        self.path = path
        self._lock = threading.RLock()
        conn: sqlite3.Connection | None = None
        try:
            private_sqlite(path)
            conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=OPEN_TIMEOUT_S
            )
            conn.execute(f"PRAGMA busy_timeout={int(OPEN_TIMEOUT_S * 1000)}")
            switch_to_wal(conn, timeout_s=OPEN_TIMEOUT_S)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_BOOTSTRAP)
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            raise StoreUnavailable(
                f"cannot open {path}: {exc}",
                user_message=f"Não foi possível abrir o banco da loja ({path}): {_why(path, exc)}",
            ) from exc
        self._conn = conn
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-db")
        self._closed = False

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> StoreDB:
        return cls(data_dir / STORE_FILENAME)

    # -- schema ------------------------------------------------------------------------

    def migrate(self, component: str, migrations: Sequence[str]) -> int:
        """Apply ``migrations[current:]`` for ``component``; each entry is one SQL script.

        Returns the version now in force. A file migrated by a newer posapp (more
        versions than we know) is refused rather than misread.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE component = ?", (component,)
            ).fetchone()
            current = int(row[0]) if row else 0
            if current > len(migrations):
                raise StoreSchemaTooNew(
                    f"{self.path}: {component} schema v{current} is newer than v{len(migrations)}",
                    user_message=(
                        "O banco da loja foi criado por uma versão mais nova do posapp. "
                        "Atualize o programa neste terminal."
                    ),
                )
            for script in migrations[current:]:
                for statement in _split_sql(script):
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_versions(component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, len(migrations)),
            )
        return len(migrations)

    # -- access ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the lock; rolls back on any error."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise self._unavailable(exc) from exc

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, for reads (autocommit: each statement sees the
        latest committed data)."""
        with self._lock:
            yield self._conn

    def _unavailable(self, exc: sqlite3.Error) -> StoreUnavailable:
        return StoreUnavailable(
            f"{self.path}: {exc}", user_message=f"Erro no banco da loja ({self.path.name}): {exc}"
        )

    # -- settings (key -> JSON) -------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.reading() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, ensure_ascii=False)),
            )

    # -- off the GUI thread -------------------------------------------------------------

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking store call on the store's worker thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        with self._lock:
            self._conn.close()


def _why(path: Path, exc: BaseException) -> str:
    """The reason in Portuguese, for the cases a technician meets: a read-only folder or file
    (SQLite only says "unable to open database file"), a damaged file, a lock held too long."""
    text = str(exc).lower()
    denied = isinstance(exc, PermissionError) or getattr(exc, "errno", None) == errno.EROFS
    if not denied and ("readonly" in text or "unable to open" in text):
        folder_ok = not path.parent.exists() or os.access(path.parent, os.W_OK | os.X_OK)
        denied = not folder_ok or (path.exists() and not os.access(path, os.R_OK | os.W_OK))
    if denied:
        return (
            f"a pasta {path.parent} ou o arquivo não permite gravação. Dê ao usuário do caixa permissão "
            "de leitura e escrita nela (ou use --data-dir com uma pasta gravável) e rode 'posapp doctor'"
        )
    if "malformed" in text or "not a database" in text:
        return f"o arquivo está corrompido ({exc}). Não o apague: guarde uma cópia e chame o suporte"
    if "locked" in text or "busy" in text:
        return f"outro processo o manteve bloqueado por mais de {OPEN_TIMEOUT_S:g} s; feche-o e tente de novo"
    return str(exc)


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements, keeping ``CREATE TRIGGER ... END;`` whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
