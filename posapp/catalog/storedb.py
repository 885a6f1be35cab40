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
import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from posapp.catalog.errors import StoreSchemaTooNew, StoreUnavailable

STORE_FILENAME = "store.sqlite3"

P = ParamSpec("P")
T = TypeVar("T")

_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_versions (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StoreDB:
    """A thread-safe handle on ``store.sqlite3`` with a private worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(_BOOTSTRAP)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(
                f"cannot open {path}: {exc}",
                user_message=f"Não foi possível abrir o banco da loja ({path}): {exc}",
            ) from exc
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
