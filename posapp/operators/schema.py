"""Tables of the ``operators`` component of ``store.sqlite3``."""

from __future__ import annotations

COMPONENT = "operators"

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE operators (
        login TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
        pin_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        operator TEXT,
        authorized_by TEXT,
        sale_id TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_log_at ON audit_log(at);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only');
    END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only');
    END;
    CREATE TABLE cash_movements (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('opening_float', 'sangria', 'suprimento')),
        amount TEXT NOT NULL,
        operator TEXT NOT NULL,
        authorized_by TEXT,
        note TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX cash_movements_at ON cash_movements(at);
    """,
    # v2: wrong-PIN counters survive a restart (a lockout cannot be reset by reopening the app)
    """
    CREATE TABLE pin_failures (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_at TEXT NOT NULL
    );
    """,
)
