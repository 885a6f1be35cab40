"""Schema migrations, applied in order; ``PRAGMA user_version`` records how far a file got.

Never edit a released migration: append a new one. Each runs in one transaction with the
version bump, so a crash mid-migration leaves the previous version intact.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: sales, attempts (the exact requests), documents, append-only events, print jobs, numbering.
    """
    CREATE TABLE sales (
        sale_id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        state TEXT NOT NULL,
        sale_json TEXT NOT NULL,
        total TEXT NOT NULL,
        had_cash INTEGER NOT NULL DEFAULT 0,
        operator TEXT,
        backend TEXT,
        attempt_id INTEGER,
        chave TEXT UNIQUE,
        numero INTEGER,
        serie INTEGER,
        protocolo TEXT,
        authorized_at TEXT,
        contingency INTEGER NOT NULL DEFAULT 0,
        cancel_motivo TEXT,
        cancel_protocolo TEXT,
        cancelled_at TEXT,
        last_error TEXT
    );
    CREATE INDEX sales_state ON sales(state, created_at);
    CREATE INDEX sales_created ON sales(created_at);

    CREATE TABLE attempts (
        attempt_id INTEGER PRIMARY KEY AUTOINCREMENT,
        sale_id TEXT NOT NULL REFERENCES sales(sale_id),
        kind TEXT NOT NULL CHECK (kind IN ('issue', 'cancel')),
        backend TEXT NOT NULL,
        reference TEXT NOT NULL,
        request BLOB NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        outcome TEXT,
        response TEXT,
        finished_at TEXT
    );
    CREATE INDEX attempts_sale ON attempts(sale_id);

    CREATE TABLE documents (
        sale_id TEXT NOT NULL REFERENCES sales(sale_id),
        kind TEXT NOT NULL,
        content BLOB NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (sale_id, kind)
    );

    CREATE TABLE events (
        event_id INTEGER PRIMARY KEY AUTOINCREMENT,
        sale_id TEXT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_sale ON events(sale_id, event_id);
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

    CREATE TABLE print_jobs (
        job_id INTEGER PRIMARY KEY AUTOINCREMENT,
        sale_id TEXT,
        kind TEXT NOT NULL,
        printer_uri TEXT NOT NULL,
        created_at TEXT NOT NULL,
        ok INTEGER,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        finished_at TEXT
    );

    CREATE TABLE numbering (
        backend TEXT NOT NULL,
        serie INTEGER NOT NULL,
        last_numero INTEGER NOT NULL,
        PRIMARY KEY (backend, serie)
    );
    """,
    # 2: numbers reserved atomically per sale (client-numbered issuers), and the issuer a sale
    # is pinned to after a reconcile found nothing (the request did leave: resend only there).
    """
    CREATE TABLE number_reservations (
        backend TEXT NOT NULL,
        serie INTEGER NOT NULL,
        numero INTEGER NOT NULL,
        sale_id TEXT NOT NULL,
        reserved_at TEXT NOT NULL,
        PRIMARY KEY (backend, serie, numero),
        UNIQUE (backend, serie, sale_id)
    );
    ALTER TABLE sales ADD COLUMN pinned_backend TEXT;
    INSERT OR IGNORE INTO number_reservations (backend, serie, numero, sale_id, reserved_at)
        SELECT backend, json_extract(meta, '$.serie'), json_extract(meta, '$.numero'), sale_id, created_at
        FROM attempts
        WHERE kind = 'issue' AND json_extract(meta, '$.numero') IS NOT NULL
        ORDER BY attempt_id DESC;
    """,
    # 3: the audit rows of sale actions (cancel, resolve, void, resend, reprint), written in
    # the same transaction as the event they explain, so neither can be lost without the other.
    """
    CREATE TABLE audit (
        audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        operator TEXT,
        authorized_by TEXT,
        sale_id TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_at ON audit(at);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
    """,
    # 4: the data folder's own facts, such as this till's identity.
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 5: inutilizações of number ranges (issue 15): committed 'sending' with the exact request
    # before it leaves, so a crash leaves it in doubt, never sent twice blindly; and the
    # monthly exports written for the accountant, with the digest of what was verified.
    """
    CREATE TABLE inutilizacoes (
        inut_id INTEGER PRIMARY KEY AUTOINCREMENT,
        backend TEXT NOT NULL,
        serie INTEGER NOT NULL,
        numero_inicial INTEGER NOT NULL,
        numero_final INTEGER NOT NULL,
        justificativa TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('sending', 'in_doubt', 'done', 'refused')),
        request BLOB NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        operator TEXT,
        authorized_by TEXT,
        protocolo TEXT,
        done_at TEXT,
        xml BLOB,
        response TEXT,
        errors TEXT NOT NULL DEFAULT '[]',
        CHECK (numero_inicial BETWEEN 1 AND numero_final)
    );
    CREATE INDEX inutilizacoes_serie ON inutilizacoes(serie, numero_inicial);

    CREATE TABLE fiscal_exports (
        export_id INTEGER PRIMARY KEY AUTOINCREMENT,
        month TEXT NOT NULL,
        created_at TEXT NOT NULL,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        notes INTEGER NOT NULL,
        pending INTEGER NOT NULL,
        verified INTEGER NOT NULL
    );
    CREATE INDEX fiscal_exports_month ON fiscal_exports(month);
    """,
    # 6: each document kept once, compressed (issue 15): ``blobs`` holds every document by its
    # SHA-256, zlib-packed (posapp/journal/compress.py); ``documents`` points at it. Requests
    # are packed; a raw answer is packed without the base64 of the documents it carries (cut
    # out, rebuilt on reading). ``sales.archived`` names the monthly archive file that holds an
    # archived sale's documents and attempts. The rewrite uses the SQL functions the Journal
    # registers before migrating (compress.register_sql_functions), in this one transaction.
    """
    CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        content BLOB NOT NULL
    );
    ALTER TABLE documents ADD COLUMN sha256 TEXT;
    ALTER TABLE sales ADD COLUMN archived TEXT;
    CREATE TABLE archives (
        month TEXT PRIMARY KEY,
        file TEXT NOT NULL,
        archived_at TEXT NOT NULL,
        sales INTEGER NOT NULL,
        export_id INTEGER NOT NULL
    );
    UPDATE attempts SET response = posapp_pack_answer(
        response,
        (SELECT d.content FROM documents d WHERE d.sale_id = attempts.sale_id AND d.kind = 'xml'),
        (SELECT d.content FROM documents d WHERE d.sale_id = attempts.sale_id AND d.kind = 'danfe_pdf'),
        (SELECT d.content FROM documents d WHERE d.sale_id = attempts.sale_id AND d.kind = 'cancel_xml'))
        WHERE response IS NOT NULL;
    UPDATE attempts SET request = posapp_pack(request);
    INSERT OR IGNORE INTO blobs (sha256, size, content)
        SELECT posapp_sha256(content), length(content), posapp_pack(content) FROM documents;
    UPDATE documents SET sha256 = posapp_sha256(content), content = X'';
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
