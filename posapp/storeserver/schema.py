"""The store server's tables, as versioned migrations applied by the tills themselves.

Append-only, like the journal's: never edit a released migration. ``posapp_schema`` records
each version applied; each migration runs in one transaction with its version row, under an
advisory lock, so two tills starting at once migrate once. A server migrated by a newer
posapp is refused (:class:`ServerSchemaTooNew`) instead of misread.

What the server holds is a *replica* of each till's journal (sales, events, documents'
metadata, audit rows, cash movements), keyed by till id and the till's own ids, plus what the
store shares (catalog, operators) with a version from one sequence the tills pull by.
"""

from __future__ import annotations

import psycopg

from posapp.storeserver.errors import ServerSchemaTooNew

MIGRATION_LOCK = 0x706F_7361_7070_0001  # pg_advisory_xact_lock key: "posapp" + 1

MIGRATIONS: tuple[str, ...] = (
    # 1: tills and their séries; the replicated journals; the shared catalog and operators;
    # cancel requests queued to the till that issued the note.
    """
    CREATE TABLE tills (
        till_id text PRIMARY KEY,
        first_seen timestamptz NOT NULL DEFAULT clock_timestamp(),
        last_seen timestamptz NOT NULL DEFAULT clock_timestamp(),
        claimed_serie integer,
        posapp_version text
    );
    CREATE TABLE till_series (
        serie integer PRIMARY KEY CHECK (serie BETWEEN 0 AND 889),
        till_id text NOT NULL UNIQUE REFERENCES tills(till_id),
        assigned_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE TABLE sales (
        till_id text NOT NULL,
        sale_id text NOT NULL,
        seq bigint NOT NULL,
        state text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        total numeric(15, 2) NOT NULL,
        operator text,
        backend text,
        chave text,
        numero bigint,
        serie integer,
        protocolo text,
        authorized_at timestamptz,
        contingency boolean NOT NULL DEFAULT false,
        cancel_motivo text,
        cancel_protocolo text,
        cancelled_at timestamptz,
        last_error text,
        sale jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (till_id, sale_id)
    );
    CREATE INDEX sales_created ON sales (created_at);
    CREATE INDEX sales_chave ON sales (chave) WHERE chave IS NOT NULL;
    CREATE TABLE sale_events (
        till_id text NOT NULL,
        event_id bigint NOT NULL,
        sale_id text NOT NULL,
        at timestamptz NOT NULL,
        kind text NOT NULL,
        from_state text,
        to_state text,
        detail jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (till_id, event_id)
    );
    CREATE TABLE sale_documents (
        till_id text NOT NULL,
        sale_id text NOT NULL,
        kind text NOT NULL,
        size bigint NOT NULL,
        sha256 text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (till_id, sale_id, kind)
    );
    CREATE TABLE sale_audit (
        till_id text NOT NULL,
        audit_id bigint NOT NULL,
        at timestamptz NOT NULL,
        action text NOT NULL,
        operator text,
        authorized_by text,
        sale_id text,
        detail text NOT NULL,
        PRIMARY KEY (till_id, audit_id)
    );
    CREATE TABLE cash_movements (
        till_id text NOT NULL,
        movement_id bigint NOT NULL,
        at timestamptz NOT NULL,
        kind text NOT NULL,
        amount numeric(15, 2) NOT NULL,
        operator text NOT NULL,
        authorized_by text,
        note text NOT NULL,
        PRIMARY KEY (till_id, movement_id)
    );
    CREATE TABLE store_audit (
        till_id text NOT NULL,
        audit_id bigint NOT NULL,
        at timestamptz NOT NULL,
        action text NOT NULL,
        operator text,
        authorized_by text,
        sale_id text,
        detail text NOT NULL,
        PRIMARY KEY (till_id, audit_id)
    );
    CREATE SEQUENCE shared_version;
    CREATE TABLE catalog (
        code text PRIMARY KEY,
        row jsonb NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX catalog_version ON catalog (version);
    CREATE TABLE operators (
        login text PRIMARY KEY,
        row jsonb NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX operators_version ON operators (version);
    CREATE TABLE cancel_requests (
        request_id text PRIMARY KEY,
        till_id text NOT NULL,
        sale_id text NOT NULL,
        chave text,
        motivo text NOT NULL,
        requested_by text,
        authorized_by text,
        requested_from text NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'refused')),
        result_state text,
        message text,
        finished_at timestamptz
    );
    CREATE UNIQUE INDEX cancel_requests_one_open ON cancel_requests (till_id, sale_id)
        WHERE status = 'pending';
    """,
    # 2: the store's settings (one document) and the IBPT table (per UF and NCM), shared like
    # the catalog: jsonb rows versioned by the same sequence.
    """
    CREATE TABLE store_settings (
        name text PRIMARY KEY,
        row jsonb NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE TABLE ibpt (
        key text PRIMARY KEY,
        row jsonb NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX ibpt_version ON ibpt (version);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: psycopg.Connection) -> int:
    """Bring the server to :data:`SCHEMA_VERSION`; returns the version in force."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS posapp_schema ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        row = conn.execute("SELECT coalesce(max(version), 0) FROM posapp_schema").fetchone()
        current = int(row[0]) if row else 0
        if current > SCHEMA_VERSION:
            raise ServerSchemaTooNew(
                f"store server schema v{current} is newer than v{SCHEMA_VERSION}",
                user_message=(
                    "O servidor da loja foi atualizado por uma versão mais nova do posapp. Atualize o "
                    "posapp neste caixa; até lá ele vende sozinho, sem sincronizar."
                ),
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with conn.transaction():
                conn.execute(MIGRATIONS[version - 1].encode())
                conn.execute("INSERT INTO posapp_schema (version) VALUES (%s)", (version,))
    return SCHEMA_VERSION


def server_version(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT to_regclass('posapp_schema') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    got = conn.execute("SELECT coalesce(max(version), 0) FROM posapp_schema").fetchone()
    return int(got[0]) if got else 0
