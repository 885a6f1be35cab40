"""The journal proper: a synchronous SQLite store, used from one executor thread.

Durability: WAL with ``synchronous=FULL``, so a committed transaction survives a power cut
or ``kill -9``. Every state change goes through :meth:`Journal.apply`, which asks the
lifecycle (:mod:`posapp.domain.lifecycle`) for the move a happening makes from the sale's
current state and persists it with its event in one transaction: the journal persists
moves, it never decides them. A happening the current state does not accept is a stale
write (someone else moved the sale first) and changes nothing. Events, and the audit rows
written with them, are append-only (triggers refuse UPDATE/DELETE).

The promise "no sale is lost" rests on :meth:`Journal.begin_issue`: the sale, the exact
request bytes and the ISSUING state are committed before the caller sends a byte.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from posapp.domain import lifecycle
from posapp.domain.audit import AuditRecord
from posapp.domain.errors import IllegalMove
from posapp.domain.issuance import AuthorizedNote, PreparedIssue, new_till_id
from posapp.domain.lifecycle import (
    Happening,
    Move,
    Notice,
    Pin,
    SaleState,
    move,
    move_authorizes,
    notice_text,
)
from posapp.domain.payments import PaymentMethod
from posapp.domain.sale import Sale
from posapp.files import private_sqlite, switch_to_wal
from posapp.journal import archive, compress
from posapp.journal.errors import (
    ChaveTaken,
    JournalError,
    JournalUnavailable,
    SaleExists,
    SchemaTooNew,
    StaleState,
    UnknownSale,
)
from posapp.journal.schema import MIGRATIONS, SCHEMA_VERSION

JOURNAL_FILENAME = "journal.sqlite3"
COMPACTING_MIGRATION = 5  # index of migration 6 (documents once, compressed): VACUUM after it
log = logging.getLogger("posapp.journal")


def _iso(moment: datetime) -> str:
    """Stored in UTC so that text order is time order (``list_sales`` compares strings)."""
    if moment.tzinfo is None:
        raise ValueError("journal timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True, slots=True)
class SaleRow:
    sale_id: str
    created_at: datetime
    updated_at: datetime
    state: SaleState
    sale: Sale
    total: Decimal
    had_cash: bool
    operator: str | None
    backend: str | None
    attempt_id: int | None
    chave: str | None
    numero: int | None
    serie: int | None
    protocolo: str | None
    authorized_at: datetime | None
    contingency: bool
    cancel_motivo: str | None
    cancel_protocolo: str | None
    cancelled_at: datetime | None
    last_error: str | None
    pinned_backend: str | None = None
    # Why this row could not be read (its sale JSON does not parse, its state is unknown...),
    # or None. Only list_sales returns such a row, so that one damaged sale does not hide the
    # others; its ``sale`` is an empty placeholder and ``state`` the stored one when known
    # (else IN_DOUBT: it needs a person). Never act on it: get_sale refuses it.
    unreadable: str | None = None
    # The month ("YYYY-MM") whose archive file holds this sale's documents and attempts
    # ("arquivado"); read through the same Journal methods as a live sale's.
    archived: str | None = None

    @property
    def reserved(self) -> tuple[int, int] | None:
        """The (série, número) this sale holds before authorization, where we number."""
        return (self.serie, self.numero) if self.serie is not None and self.numero is not None else None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    attempt_id: int
    sale_id: str
    kind: str
    backend: str
    reference: str
    request: bytes
    meta: Mapping[str, Any]
    created_at: datetime
    outcome: str | None
    response: str | None

    def prepared(self) -> PreparedIssue:
        return PreparedIssue(self.backend, self.reference, self.request, dict(self.meta))


@dataclass(frozen=True, slots=True)
class AuditRow:
    audit_id: int
    at: datetime
    action: str
    operator: str | None
    authorized_by: str | None
    sale_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class EventRow:
    event_id: int
    sale_id: str
    at: datetime
    kind: str
    from_state: SaleState | None
    to_state: SaleState | None
    detail: Mapping[str, Any]


# -- opening ------------------------------------------------------------------------------

OPEN_TIMEOUT_S = 10.0  # how long opening waits for other processes (busy_timeout, the WAL switch)

_WAY_OUT = (
    "Não apague o arquivo: feche o posapp, guarde uma cópia da pasta de dados, restaure a última "
    "cópia de segurança do diário e rode 'posapp doctor' (ou chame o suporte)."
)


def _corrupted(path: Path, detail: str) -> JournalUnavailable:
    return JournalUnavailable(
        f"journal {path} is corrupted: {detail}",
        user_message=(
            f"O diário de vendas ({path}) está corrompido ({detail}). Nenhuma venda será gravada nele "
            f"até que seja recuperado. {_WAY_OUT}"
        ),
    )


def _read_only(path: Path, detail: str) -> JournalUnavailable:
    return JournalUnavailable(
        f"journal {path} cannot be written: {detail}",
        user_message=(
            f"A pasta de dados {path.parent} não permite gravação ({detail}): sem ela nenhuma venda "
            "pode ser registrada. Dê ao usuário do caixa permissão de leitura e escrita nessa pasta e "
            "no diário (ou use --data-dir com uma pasta gravável) e rode 'posapp doctor'."
        ),
    )


def _writable(path: Path) -> bool:
    """Whether this process may create and change files in ``path``'s folder, and ``path``."""
    folder_ok = os.access(path.parent, os.W_OK | os.X_OK) if path.parent.exists() else True
    return folder_ok and (not path.exists() or os.access(path, os.R_OK | os.W_OK))


def _open_failure(path: Path, exc: BaseException) -> JournalUnavailable:
    """What went wrong opening the journal, in words a technician can act on."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, OSError):
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return _read_only(path, exc.strerror or text)
        return JournalUnavailable(
            f"cannot open journal {path}: {exc}",
            user_message=(
                f"Não foi possível abrir o diário de vendas ({path}): {exc.strerror or exc}. "
                "Rode 'posapp doctor'."
            ),
        )
    if (
        "readonly" in lowered
        or "read-only" in lowered
        or ("unable to open" in lowered and not _writable(path))
    ):
        return _read_only(path, "somente leitura")
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return _corrupted(path, text)
    if "locked" in lowered or "busy" in lowered:
        return JournalUnavailable(
            f"journal {path} stayed locked: {exc}",
            user_message=(
                f"O diário de vendas ({path}) ficou bloqueado por outro processo por mais de "
                f"{OPEN_TIMEOUT_S:g} s. Feche os outros posapp deste caixa e tente de novo."
            ),
        )
    return JournalUnavailable(
        f"cannot open journal {path}: {exc}",
        user_message=f"Não foi possível abrir o diário de vendas ({path}): {exc}. Rode 'posapp doctor'.",
    )


class Journal:
    """One SQLite file. Thread-safe by a lock, but meant for one executor thread."""

    def __init__(self, path: Path, *, keep_danfe_pdf: bool = True) -> None:
        """Open (or create) the journal, private to this user (``0600`` files in a ``0700``
        folder, :mod:`posapp.files`), in WAL mode, checked and migrated.

        Several processes may open a fresh folder at once: the WAL switch is retried and the
        migrations run under ``BEGIN IMMEDIATE``. A file damaged in the middle fails SQLite's
        ``PRAGMA quick_check`` here, so no sale is written into it; a read-only folder or
        file is said as such. Both raise :class:`JournalUnavailable` with the way out.

        ``keep_danfe_pdf``: whether an issuer's DANFE PDF is stored. Only a till printing in
        raster mode needs it for reprints; a native till prints every DANFE from the XML (the
        legal document), so its PDFs are left out, of the answers too (their hash is kept)."""
        self.path = path
        self.keep_danfe_pdf = keep_danfe_pdf
        self._lock = threading.RLock()
        db: sqlite3.Connection | None = None
        try:
            private_sqlite(path)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=OPEN_TIMEOUT_S)
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout={int(OPEN_TIMEOUT_S * 1000)}")
            switch_to_wal(db, timeout_s=OPEN_TIMEOUT_S)
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            self._db = db
            compress.register_sql_functions(db)
            self._quick_check()
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            if db is not None:
                db.close()
            raise _open_failure(path, exc) from exc
        except BaseException:
            if db is not None:
                db.close()
            raise

    @classmethod
    def in_dir(cls, data_dir: Path, *, keep_danfe_pdf: bool = True) -> Journal:
        return cls(data_dir / JOURNAL_FILENAME, keep_danfe_pdf=keep_danfe_pdf)

    def close(self) -> None:
        self._db.close()

    # -- plumbing -------------------------------------------------------------------

    def _quick_check(self) -> None:
        """SQLite's ``PRAGMA quick_check`` (the b-tree structure, without comparing indexes to
        tables): a journal damaged in the middle (a torn disk write, a bad sector, a copy
        made while it was written) is refused here, before any new sale goes into it."""
        rows = self._db.execute("PRAGMA quick_check").fetchall()
        findings = [str(r[0]) for r in rows]
        if findings != ["ok"]:
            shown = "; ".join(line.strip() for f in findings[:3] for line in f.splitlines()[:1])
            raise _corrupted(self.path, shown or "quick_check falhou")

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"journal schema {version} is newer than this posapp ({SCHEMA_VERSION})",
                user_message=(
                    "O diário de vendas foi gravado por uma versão mais nova do posapp. Atualize o programa."
                ),
            )
        for number in range(version, SCHEMA_VERSION):
            self._db.execute("BEGIN IMMEDIATE")
            # Another process may have migrated while we waited for the write lock.
            if int(self._db.execute("PRAGMA user_version").fetchone()[0]) > number:
                self._db.execute("COMMIT")
                continue
            try:
                for statement in _split_sql(MIGRATIONS[number]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={number + 1}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            if number == COMPACTING_MIGRATION:
                self._compact()

    def _compact(self) -> None:
        """Give back the space migration 6 freed (the documents' second copies): ``VACUUM``,
        atomic, after the migration committed. If another process keeps it from running, the
        free pages are simply reused by the next sales."""
        try:
            self._db.execute("VACUUM")
        except sqlite3.Error as exc:
            log.warning("journal %s not compacted after migrating: %s", self.path, exc)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. A SQLite failure (disk full, file locked, I/O error) is
        rolled back and raised as :class:`JournalUnavailable`, which callers can show."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                else:
                    self._db.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                raise _integrity_error(exc) from exc
            except sqlite3.Error as exc:
                # Whether anything was sent is the caller's to say: it knows if a send happened.
                raise JournalUnavailable(
                    f"journal write failed: {exc}",
                    user_message=(
                        f"Não foi possível gravar no diário de vendas ({exc}). "
                        "Verifique o espaço em disco e rode 'posapp doctor'."
                    ),
                ) from exc

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def integrity_check(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    @staticmethod
    def _event(
        db: sqlite3.Connection,
        sale_id: str,
        at: datetime,
        kind: str,
        from_state: SaleState | None,
        to_state: SaleState | None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO events (sale_id, at, kind, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (sale_id, _iso(at), kind, from_state, to_state, json.dumps(detail or {}, default=str)),
        )

    def _apply(
        self,
        db: sqlite3.Connection,
        sale_id: str,
        happening: Happening,
        at: datetime,
        detail: Mapping[str, Any] | None = None,
        *,
        expect_attempt: int | None = None,
        audit: AuditRecord | None = None,
        **fields: Any,
    ) -> Move:
        """Persist the move ``happening`` makes from the sale's current state: a compare-and-set
        on the state (the lifecycle must accept the happening from it) and, with
        ``expect_attempt``, on the attempt the sale is on."""
        row = db.execute(
            "SELECT state, attempt_id, backend FROM sales WHERE sale_id = ?", (sale_id,)
        ).fetchone()
        if row is None:
            raise UnknownSale(f"no sale {sale_id}", user_message=f"Venda {sale_id} não encontrada.")
        current = SaleState(row["state"])
        if expect_attempt is not None and row["attempt_id"] != expect_attempt:
            raise _stale(sale_id, f"is on attempt {row['attempt_id']}, expected {expect_attempt}")
        try:
            step = move(current, happening)
        except IllegalMove as exc:
            raise _stale(sale_id, f"is {current}; {happening.value} does not apply") from exc
        if not step.changes_state:
            # A move that keeps the state records its event and nothing else: a late answer
            # (a second "already cancelled", a retry's echo) never overwrites what is known.
            self._event(db, sale_id, at, step.event, None, None, detail)
            if audit is not None:
                self._audit(db, sale_id, at, audit)
            return step
        if step.pin is Pin.SET:
            fields["pinned_backend"] = row["backend"]
        elif step.pin is Pin.CLEAR:
            fields["pinned_backend"] = None
        assignments = "".join(f", {name} = ?" for name in fields)
        # Column names come from our own keyword arguments, never from input; values are bound.
        sql = f"UPDATE sales SET state = ?, updated_at = ?{assignments} WHERE sale_id = ?"  # noqa: S608
        db.execute(sql, (step.target, _iso(at), *fields.values(), sale_id))
        self._event(db, sale_id, at, step.event, step.source, step.target, detail)
        if audit is not None:
            self._audit(db, sale_id, at, audit)
        return step

    @staticmethod
    def _audit(db: sqlite3.Connection, sale_id: str | None, at: datetime, record: AuditRecord) -> None:
        db.execute(
            "INSERT INTO audit (at, action, operator, authorized_by, sale_id, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (_iso(at), record.action, record.operator, record.authorized_by, sale_id, record.detail),
        )

    # -- writing ----------------------------------------------------------------------

    def _insert_sale(self, db: sqlite3.Connection, sale: Sale, at: datetime) -> None:
        had_cash = _had_cash(sale)
        db.execute(
            "INSERT INTO sales (sale_id, created_at, updated_at, state, sale_json, total, had_cash, operator)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sale.sale_id,
                _iso(at),
                _iso(at),
                SaleState.OPEN,
                _sale_json(sale),
                str(sale.total),
                int(had_cash),
                sale.operator,
            ),
        )
        self._event(db, sale.sale_id, at, "created", None, SaleState.OPEN, {"total": str(sale.total)})

    def exists(self, sale_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM sales WHERE sale_id = ?", (sale_id,)).fetchone()
            return row is not None

    def queue_new_sale(self, sale: Sale, at: datetime, reason: str) -> None:
        """Store a sale that nothing could be sent for (no issuer available): QUEUED."""
        with self._tx() as db:
            self._insert_sale(db, sale, at)
            self._apply(db, sale.sale_id, Happening.NO_ISSUER, at, {"reason": reason}, last_error=reason)

    def next_number(self, backend: str, serie: int) -> int:
        """The number :meth:`reserve_number` would hand out next (for display and tests)."""
        with self._lock:
            row = self._db.execute(
                "SELECT last_numero FROM numbering WHERE backend = ? AND serie = ?", (backend, serie)
            ).fetchone()
            return (int(row["last_numero"]) if row else 0) + 1

    def reserve_number(self, backend: str, serie: int, sale_id: str, at: datetime) -> int:
        """The note number of ``sale_id`` at a client-numbered issuer (Integra Notas).

        Taken in one ``BEGIN IMMEDIATE`` transaction, so two tills (or a till and the command
        line) on the same journal never get the same number; a sale that already holds one
        for this issuer and series keeps it on every resend. A number reserved but never
        sent leaves a gap, to be *inutilizado* at the issuer like any unused number.
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT numero FROM number_reservations WHERE backend = ? AND serie = ? AND sale_id = ?",
                (backend, serie, sale_id),
            ).fetchone()
            if row is not None:
                return int(row["numero"])
            db.execute(
                "INSERT INTO numbering (backend, serie, last_numero) VALUES (?, ?, 1)"
                " ON CONFLICT (backend, serie) DO UPDATE SET last_numero = last_numero + 1",
                (backend, serie),
            )
            numero = int(
                db.execute(
                    "SELECT last_numero FROM numbering WHERE backend = ? AND serie = ?", (backend, serie)
                ).fetchone()[0]
            )
            db.execute(
                "INSERT INTO number_reservations (backend, serie, numero, sale_id, reserved_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (backend, serie, numero, sale_id, _iso(at)),
            )
            return numero

    def release_number(self, backend: str, serie: int, sale_id: str) -> None:
        """The issuer says the número reserved for ``sale_id`` is already used by another note:
        keep it marked as taken (it is no gap of ours) and free the sale to reserve the next."""
        with self._tx() as db:
            db.execute(
                "UPDATE number_reservations SET sale_id = sale_id || '#taken' || numero"
                " WHERE backend = ? AND serie = ? AND sale_id = ?",
                (backend, serie, sale_id),
            )

    def till_id(self) -> str:
        """This till's identity: made once, on the first start of this data folder, and part of
        every reference sent to an issuer (two tills, or a reinstall on a fresh folder, never
        share one)."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('till_id', ?)", (new_till_id(),))
            return str(db.execute("SELECT value FROM meta WHERE key = 'till_id'").fetchone()[0])

    def begin_issue(
        self,
        sale: Sale,
        prepared: PreparedIssue,
        at: datetime,
        *,
        new_sale: bool,
        reserved: tuple[int, int] | None = None,
    ) -> int:
        """Commit the sale (if new), the exact request and ISSUING, before anything is sent.

        ``reserved`` is ``(serie, numero)`` for client-numbered issuers: the number is taken
        here, in the same transaction, so a crash cannot hand it out twice.
        """
        with self._tx() as db:
            if new_sale:
                self._insert_sale(db, sale, at)
            else:
                self._update_sale_body(db, sale)
            cursor = db.execute(
                "INSERT INTO attempts (sale_id, kind, backend, reference, request, meta, created_at)"
                " VALUES (?, 'issue', ?, ?, ?, ?, ?)",
                (
                    sale.sale_id,
                    prepared.backend,
                    prepared.reference,
                    compress.pack(prepared.payload),
                    json.dumps(dict(prepared.meta), default=str),
                    _iso(at),
                ),
            )
            attempt_id = int(cursor.lastrowid or 0)
            self._apply(
                db,
                sale.sale_id,
                Happening.SEND_STARTED,
                at,
                {"backend": prepared.backend, "attempt_id": attempt_id},
                backend=prepared.backend,
                attempt_id=attempt_id,
                serie=reserved[0] if reserved else None,
                numero=reserved[1] if reserved else None,
            )
            return attempt_id

    @staticmethod
    def _update_sale_body(db: sqlite3.Connection, sale: Sale) -> None:
        """A corrected sale (after a rejection) replaces what is stored, derived fields too."""
        db.execute(
            "UPDATE sales SET sale_json = ?, total = ?, had_cash = ? WHERE sale_id = ?",
            (_sale_json(sale), str(sale.total), int(_had_cash(sale)), sale.sale_id),
        )

    def requeue(self, sale: Sale, at: datetime, reason: str) -> None:
        """Store a corrected REJECTED sale and queue it, when no issuer could take it now."""
        with self._tx() as db:
            self._apply(
                db, sale.sale_id, Happening.CORRECTED_NO_ISSUER, at, {"reason": reason}, last_error=reason
            )
            self._update_sale_body(db, sale)

    def begin_cancel(
        self,
        sale_id: str,
        happening: Happening,
        backend: str,
        request: bytes,
        motivo: str,
        at: datetime,
        *,
        audit: AuditRecord | None = None,
    ) -> int:
        """Commit the cancel request and CANCELLING before it is sent (``CANCEL_SENT`` from
        AUTHORIZED, or ``CANCEL_RESENT`` after a cancel whose answer never came: resending a
        cancel is harmless, the issuer answers "already cancelled" if the first one landed).
        The audit row of the manager who asked commits with it."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO attempts (sale_id, kind, backend, reference, request, created_at)"
                " VALUES (?, 'cancel', ?, ?, ?, ?)",
                (sale_id, backend, sale_id, compress.pack(request), _iso(at)),
            )
            self._apply(db, sale_id, happening, at, {"motivo": motivo}, audit=audit, cancel_motivo=motivo)
            return int(cursor.lastrowid or 0)

    def finish_attempt(self, attempt_id: int, outcome: str, response: str | None, at: datetime) -> None:
        with self._tx() as db:
            self._finish_attempt(db, attempt_id, outcome, response, at)

    @classmethod
    def _finish_attempt(
        cls,
        db: sqlite3.Connection,
        attempt_id: int,
        outcome: str,
        response: str | None,
        at: datetime,
        kept: Mapping[str, bytes] | None = None,
        dropped: Mapping[str, bytes] | None = None,
    ) -> None:
        """Close an attempt with the issuer's raw answer, packed: the documents of ``kept``
        it carries are cut out (stored once, as blobs), those of ``dropped`` left out."""
        packed: bytes | None = None
        if response is not None:
            skeleton, cuts = compress.split_answer(response, kept or {}, dropped)
            by_hash = {compress.sha256(c): c for c in (kept or {}).values()}
            for cut in cuts:
                if cut.kept:
                    cls._put_blob(db, by_hash[cut.sha256])
            packed = compress.pack_answer(skeleton, cuts)
        db.execute(
            "UPDATE attempts SET outcome = ?, response = ?, finished_at = ? WHERE attempt_id = ?",
            (outcome, packed, _iso(at), attempt_id),
        )

    def apply(
        self,
        sale_id: str,
        happening: Happening,
        at: datetime,
        detail: Mapping[str, Any] | None = None,
        *,
        attempt: tuple[int, str, str | None] | None = None,
        expect_attempt: int | None = None,
        audit: AuditRecord | None = None,
        documents: Mapping[str, bytes] | None = None,
        dropped_documents: Mapping[str, bytes] | None = None,
        **fields: Any,
    ) -> Move:
        """Persist what ``happening`` makes of the sale, and close an attempt, atomically.

        A compare-and-set: the lifecycle must accept ``happening`` from the sale's state at the
        time of the write (and, with ``expect_attempt``, the sale must still be on that issue
        attempt); otherwise :class:`StaleState` is raised and nothing changes, so a stale
        writer cannot undo a newer decision. ``audit`` and ``documents`` commit with it. A move
        that keeps the state appends its event (and audit row) and changes nothing else."""
        with self._tx() as db:
            if attempt is not None:
                self._finish_attempt(db, attempt[0], attempt[1], attempt[2], at, documents, dropped_documents)
            step = self._apply(
                db,
                sale_id,
                happening,
                at,
                detail,
                expect_attempt=expect_attempt,
                audit=audit,
                **fields,
            )
            if step.changes_state:
                for kind, content in (documents or {}).items():
                    self._put_document(db, sale_id, kind, content, at)
            return step

    def record_authorized(
        self,
        sale_id: str,
        note: AuthorizedNote,
        at: datetime,
        happening: Happening,
        *,
        attempt: tuple[int, str, str | None] | None,
        expect_attempt: int | None = None,
        audit: AuditRecord | None = None,
    ) -> Move:
        """A happening that authorizes the sale, with its note and documents, in one
        transaction (compare-and-set as in :meth:`apply`)."""
        if not move_authorizes(happening):
            raise IllegalMove(f"{happening.value} does not authorize a sale")
        documents: dict[str, bytes] = {}
        dropped: dict[str, bytes] = {}
        if note.xml is not None:
            documents["xml"] = note.xml
        if note.danfe_pdf is not None:
            (documents if self.keep_danfe_pdf else dropped)["danfe_pdf"] = note.danfe_pdf
        return self.apply(
            sale_id,
            happening,
            at,
            {"chave": note.chave, "protocolo": note.protocolo, "contingency": note.contingency},
            attempt=attempt,
            expect_attempt=expect_attempt,
            audit=audit,
            documents=documents,
            dropped_documents=dropped,
            chave=note.chave,
            numero=note.numero,
            serie=note.serie,
            protocolo=note.protocolo,
            authorized_at=_iso(note.authorized_at),
            contingency=int(note.contingency),
            last_error=None,
        )

    @staticmethod
    def _put_blob(db: sqlite3.Connection, content: bytes) -> str:
        """Store ``content`` once (by SHA-256), compressed; its hash."""
        digest = compress.sha256(content)
        db.execute(
            "INSERT OR IGNORE INTO blobs (sha256, size, content) VALUES (?, ?, ?)",
            (digest, len(content), compress.pack(content)),
        )
        return digest

    @classmethod
    def _put_document(
        cls, db: sqlite3.Connection, sale_id: str, kind: str, content: bytes, at: datetime
    ) -> None:
        digest = cls._put_blob(db, content)
        db.execute(
            "INSERT INTO documents (sale_id, kind, content, created_at, sha256) VALUES (?, ?, X'', ?, ?)"
            " ON CONFLICT (sale_id, kind)"
            " DO UPDATE SET sha256 = excluded.sha256, content = X'', created_at = excluded.created_at",
            (sale_id, kind, _iso(at), digest),
        )

    def put_document(self, sale_id: str, kind: str, content: bytes, at: datetime) -> None:
        with self._tx() as db:
            self._put_document(db, sale_id, kind, content, at)

    def add_event(
        self,
        sale_id: str,
        at: datetime,
        kind: str,
        detail: Mapping[str, Any] | None = None,
        *,
        audit: AuditRecord | None = None,
    ) -> None:
        """An event that changes no state (print outcome, manager note...), with the audit row
        that explains it when there is one."""
        with self._tx() as db:
            self._event(db, sale_id, at, kind, None, None, detail)
            if audit is not None:
                self._audit(db, sale_id, at, audit)

    def audit_entries(self, *, since: datetime | None = None, limit: int = 1000) -> list[AuditRow]:
        """The audit rows written with sale events, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM audit WHERE at >= ? ORDER BY audit_id DESC LIMIT ?",
                (_iso(since) if since else "", limit),
            ).fetchall()
        return [
            AuditRow(
                int(r["audit_id"]),
                datetime.fromisoformat(r["at"]),
                r["action"],
                r["operator"],
                r["authorized_by"],
                r["sale_id"],
                r["detail"],
            )
            for r in rows
        ]

    def recover_interrupted(self, at: datetime) -> list[str]:
        """At start-up: a sale left ISSUING was being sent when the process died. Whether
        the request left is unknown, so it becomes IN_DOUBT (never silently resent)."""
        moved = []
        with self._tx() as db:
            rows = db.execute(
                "SELECT sale_id, attempt_id FROM sales WHERE state = ?", (SaleState.ISSUING,)
            ).fetchall()
            for row in rows:
                if row["attempt_id"] is not None:
                    self._finish_attempt(db, row["attempt_id"], "interrupted", None, at)
                self._apply(
                    db,
                    row["sale_id"],
                    Happening.RECOVERED_AFTER_CRASH,
                    at,
                    {"reason": "process stopped while the request was being sent"},
                    last_error=notice_text(Notice.INTERRUPTED),
                )
                moved.append(str(row["sale_id"]))
        return moved

    # -- print jobs (posapp.printing.spool.PrintRecorder) -------------------------------

    def record_job(self, sale_id: str | None, kind: str, printer_uri: str) -> int:
        from posapp.domain.cancel import as_utc  # local: keeps the import graph obvious

        now = as_utc(datetime.now().astimezone())
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO print_jobs (sale_id, kind, printer_uri, created_at) VALUES (?, ?, ?, ?)",
                (sale_id, kind, printer_uri, _iso(now)),
            )
            return int(cursor.lastrowid or 0)

    def record_outcome(self, job_id: int, ok: bool, error: str | None, attempts: int) -> None:
        now = datetime.now().astimezone()
        with self._tx() as db:
            db.execute(
                "UPDATE print_jobs SET ok = ?, error = ?, attempts = ?, finished_at = ? WHERE job_id = ?",
                (int(ok), error, attempts, _iso(now), job_id),
            )

    def print_jobs(self, sale_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM print_jobs WHERE sale_id = ? ORDER BY job_id", (sale_id,)
            ).fetchall()
            return [dict(r) for r in rows]

    # -- reading ----------------------------------------------------------------------

    @staticmethod
    def _sale_row(row: sqlite3.Row) -> SaleRow:
        """The row as a :class:`SaleRow`; an unreadable one raises :class:`JournalUnavailable`
        naming the sale (the services must never act on a row they cannot read)."""
        sale_row = Journal._read_sale_row(row)
        if sale_row.unreadable is not None:
            raise _unreadable_sale(sale_row.sale_id, sale_row.unreadable)
        return sale_row

    @staticmethod
    def _read_sale_row(row: sqlite3.Row) -> SaleRow:
        """The row as a :class:`SaleRow`, or, when a column cannot be read (a sale JSON that
        does not parse or no longer validates, an unknown state, a bad timestamp or total),
        a row marked ``unreadable`` with the reason: one damaged row must not make the whole
        list fail. What can be read of it is kept (id, times, chave, número...)."""
        try:
            return SaleRow(
                sale_id=row["sale_id"],
                created_at=datetime.fromisoformat(row["created_at"]),
                updated_at=datetime.fromisoformat(row["updated_at"]),
                state=SaleState(row["state"]),
                sale=Sale.from_stored_json(row["sale_json"]),
                total=Decimal(row["total"]),
                had_cash=bool(row["had_cash"]),
                operator=row["operator"],
                backend=row["backend"],
                attempt_id=row["attempt_id"],
                chave=row["chave"],
                numero=row["numero"],
                serie=row["serie"],
                protocolo=row["protocolo"],
                authorized_at=_dt(row["authorized_at"]),
                contingency=bool(row["contingency"]),
                cancel_motivo=row["cancel_motivo"],
                cancel_protocolo=row["cancel_protocolo"],
                cancelled_at=_dt(row["cancelled_at"]),
                last_error=row["last_error"],
                pinned_backend=row["pinned_backend"],
                archived=row["archived"],
            )
        except Exception as exc:  # any damage to one row (even RecursionError) stays in that row
            return _unreadable_row(row, exc)

    def get_sale(self, sale_id: str) -> SaleRow:
        with self._lock:
            row = self._db.execute("SELECT * FROM sales WHERE sale_id = ?", (sale_id,)).fetchone()
        if row is None:
            raise UnknownSale(f"no sale {sale_id}", user_message=f"Venda {sale_id} não encontrada.")
        return self._sale_row(row)

    def find_by_chave(self, chave: str) -> SaleRow:
        with self._lock:
            row = self._db.execute("SELECT * FROM sales WHERE chave = ?", (chave,)).fetchone()
        if row is None:
            raise UnknownSale(
                f"no sale with chave {chave}",
                user_message="Nenhuma venda deste caixa tem essa chave de acesso.",
            )
        return self._sale_row(row)

    def list_sales(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        states: Sequence[SaleState] | None = None,
        limit: int = 500,
        oldest_first: bool = False,
    ) -> list[SaleRow]:
        """Sales created in ``[since, until)``. Timestamps are stored as UTC ISO strings,
        so the bounds are converted to UTC before comparing text. A row that cannot be read
        comes back marked ``unreadable`` (see :class:`SaleRow`) instead of failing the list."""
        clauses, params = [], []
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(_iso(since))
        if until is not None:
            clauses.append("created_at < ?")
            params.append(_iso(until))
        if states:
            clauses.append(f"state IN ({', '.join('?' for _ in states)})")
            params.extend(states)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "ASC" if oldest_first else "DESC"
        sql = f"SELECT * FROM sales {where} ORDER BY created_at {order}, rowid {order} LIMIT ?"  # noqa: S608
        with self._lock:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        # An unreadable row is listed as such (``unreadable`` says why), never dropped and
        # never the reason the others are not listed.
        return [self._read_sale_row(r) for r in rows]

    def count_by_state(self) -> dict[SaleState, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) AS n FROM sales GROUP BY state").fetchall()
        return {SaleState(r["state"]): int(r["n"]) for r in rows}

    def attempt(self, attempt_id: int) -> AttemptRow:
        with self._lock:
            row = self._db.execute("SELECT * FROM attempts WHERE attempt_id = ?", (attempt_id,)).fetchone()
        if row is None:
            for month in self.archived_months():
                found = archive.attempts(self._archive_path(month), attempt_id=attempt_id)
                if found:
                    return self._attempt_row(found[0])
            raise UnknownSale(f"no attempt {attempt_id}")
        return self._attempt_row(row)

    def _attempt_row(self, row: sqlite3.Row) -> AttemptRow:
        return AttemptRow(
            attempt_id=row["attempt_id"],
            sale_id=row["sale_id"],
            kind=row["kind"],
            backend=row["backend"],
            reference=row["reference"],
            request=compress.unpack(bytes(row["request"])),
            meta=json.loads(row["meta"]),
            created_at=datetime.fromisoformat(row["created_at"]),
            outcome=row["outcome"],
            response=self._answer(row["response"]),
        )

    def _answer(self, stored: object) -> str | None:
        """A raw answer as the issuer sent it (a DANFE the till does not keep left out)."""
        if not compress.is_packed_answer(stored):
            return None if stored is None else str(stored)
        assert isinstance(stored, bytes)  # is_packed_answer checked it
        skeleton, cuts = compress.unpack_answer(stored)
        return compress.join_answer(skeleton, cuts, self._blob)

    def _blob(self, digest: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT content FROM blobs WHERE sha256 = ?", (digest,)).fetchone()
        if row is not None:
            return compress.unpack(bytes(row["content"]))
        for month in self.archived_months():
            content = archive.blob(self._archive_path(month), digest)
            if content is not None:
                return content
        return None

    def attempts(self, sale_id: str) -> list[AttemptRow]:
        with self._lock:
            ids = [
                r[0]
                for r in self._db.execute(
                    "SELECT attempt_id FROM attempts WHERE sale_id = ? ORDER BY attempt_id", (sale_id,)
                )
            ]
        live = [self.attempt(i) for i in ids]
        month = self._archived_month(sale_id)
        if month is None:
            return live
        moved = [self._attempt_row(r) for r in archive.attempts(self._archive_path(month), sale_id=sale_id)]
        return sorted([*moved, *live], key=lambda a: a.attempt_id)

    def document(self, sale_id: str, kind: str) -> bytes | None:
        """A stored document (``xml``, ``danfe_pdf``, ``cancel_xml``) exactly as received,
        from the live journal or, for an archived sale, from its month's archive file."""
        with self._lock:
            row = self._db.execute(
                "SELECT d.content AS raw, b.content AS packed FROM documents d"
                " LEFT JOIN blobs b ON b.sha256 = d.sha256 WHERE d.sale_id = ? AND d.kind = ?",
                (sale_id, kind),
            ).fetchone()
        if row is None:
            month = self._archived_month(sale_id)
            return None if month is None else archive.document(self._archive_path(month), sale_id, kind)
        return compress.unpack(bytes(row["packed"])) if row["packed"] is not None else bytes(row["raw"])

    def authorized_xml(self, sale_id: str) -> bytes | None:
        """The note's XML exactly as the issuer returned it (``nfeProc``), or None."""
        return self.document(sale_id, "xml")

    def cancel_event_xml(self, sale_id: str) -> bytes | None:
        """The cancel event's XML (``procEventoNFe``) as the issuer returned it, or None."""
        return self.document(sale_id, "cancel_xml")

    # -- archived months (posapp/journal/archive.py) ------------------------------------

    def _archive_path(self, month: str) -> Path:
        return self.path.parent / archive.file_name(month)

    def _archived_month(self, sale_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT archived FROM sales WHERE sale_id = ?", (sale_id,)).fetchone()
        return None if row is None or row["archived"] is None else str(row["archived"])

    def archived_months(self) -> list[str]:
        with self._lock:
            return [str(r[0]) for r in self._db.execute("SELECT month FROM archives ORDER BY month")]

    def archive_files(self) -> list[Path]:
        """The archive files this journal's sales point at (for backups)."""
        return [self._archive_path(month) for month in self.archived_months()]

    def verified_export(self, month: str) -> tuple[int, Path, str] | None:
        """The newest export of ``month`` that was read back and verified: (id, file, SHA-256)."""
        with self._lock:
            row = self._db.execute(
                "SELECT export_id, path, sha256 FROM fiscal_exports WHERE month = ? AND verified = 1"
                " ORDER BY export_id DESC LIMIT 1",
                (month,),
            ).fetchone()
        return None if row is None else (int(row["export_id"]), Path(row["path"]), str(row["sha256"]))

    def archivable(self, exported: set[str]) -> list[str]:
        """Sales that may leave the live journal: final (AUTHORIZED or CANCELLED), not archived
        yet, and whose note XML (and cancel event XML, if cancelled) is among the SHA-256s of
        ``exported``, i.e. byte for byte in a verified export."""
        with self._lock:
            rows = self._db.execute(
                "SELECT s.sale_id, s.state, x.sha256 AS xml, c.sha256 AS cancel FROM sales s"
                " JOIN documents x ON x.sale_id = s.sale_id AND x.kind = 'xml'"
                " LEFT JOIN documents c ON c.sale_id = s.sale_id AND c.kind = 'cancel_xml'"
                " WHERE s.archived IS NULL ORDER BY s.created_at",
            ).fetchall()
        return [
            str(r["sale_id"])
            for r in rows
            if lifecycle.can_archive(state := SaleState(r["state"]))
            and r["xml"] in exported
            and (not lifecycle.has_cancel_event(state) or r["cancel"] in exported)
        ]

    def archive_sales(self, month: str, sale_ids: Sequence[str], export_id: int, at: datetime) -> int:
        """Move the documents and attempts of ``sale_ids`` into ``month``'s archive file; the sales
        rows, events and audit stay, marked ``archived``. The archive is written and read back
        first; then, in one transaction, each sale still final and not archived is marked and its
        live copies removed (a sale that moved meanwhile is left as it is). Returns how many."""
        target = self._archive_path(month)
        documents, attempts, digests = [], [], set()
        with self._lock:
            for sale_id in sale_ids:
                for r in self._db.execute("SELECT * FROM documents WHERE sale_id = ?", (sale_id,)):
                    documents.append({k: r[k] for k in ("sale_id", "kind", "sha256", "created_at")})
                    digests.add(str(r["sha256"]))
                for r in self._db.execute("SELECT * FROM attempts WHERE sale_id = ?", (sale_id,)):
                    attempts.append({k: r[k] for k in archive.ATTEMPT_COLUMNS})
                    if compress.is_packed_answer(r["response"]):
                        digests.update(c.sha256 for c in compress.unpack_answer(r["response"])[1] if c.kept)
            blobs = {}
            for digest in digests:
                row = self._db.execute(
                    "SELECT size, content FROM blobs WHERE sha256 = ?", (digest,)
                ).fetchone()
                if row is not None:
                    blobs[digest] = (int(row["size"]), bytes(row["content"]))
        if any(d["sha256"] is None or d["sha256"] not in blobs for d in documents):
            raise JournalUnavailable(f"a document of {month} has no stored content; nothing archived")
        archive.write(target, documents, attempts, blobs)
        moved = 0
        states = lifecycle.archivable_states()  # still final: nothing happened meanwhile
        marks = ", ".join("?" * len(states))
        sql = f"UPDATE sales SET archived = ? WHERE sale_id = ? AND archived IS NULL AND state IN ({marks})"  # noqa: S608
        with self._tx() as db:
            for sale_id in sale_ids:
                updated = db.execute(sql, (month, sale_id, *states)).rowcount
                if not updated:
                    continue
                db.execute("DELETE FROM documents WHERE sale_id = ?", (sale_id,))
                db.execute("DELETE FROM attempts WHERE sale_id = ?", (sale_id,))
                self._event(
                    db,
                    sale_id,
                    at,
                    "archived",
                    None,
                    None,
                    {"month": month, "file": archive.file_name(month)},
                )
                moved += 1
            for digest in blobs:  # kept while a live document still points at it
                db.execute(
                    "DELETE FROM blobs WHERE sha256 = ?"
                    " AND NOT EXISTS (SELECT 1 FROM documents WHERE sha256 = ?)",
                    (digest, digest),
                )
            db.execute(
                "INSERT INTO archives (month, file, archived_at, sales, export_id) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (month) DO UPDATE SET archived_at = excluded.archived_at,"
                " sales = sales + excluded.sales, export_id = excluded.export_id",
                (month, archive.file_name(month), _iso(at), moved, export_id),
            )
        return moved

    def events(self, sale_id: str) -> list[EventRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM events WHERE sale_id = ? ORDER BY event_id", (sale_id,)
            ).fetchall()
        return [
            EventRow(
                event_id=r["event_id"],
                sale_id=r["sale_id"],
                at=datetime.fromisoformat(r["at"]),
                kind=r["kind"],
                from_state=SaleState(r["from_state"]) if r["from_state"] else None,
                to_state=SaleState(r["to_state"]) if r["to_state"] else None,
                detail=json.loads(r["detail"]),
            )
            for r in rows
        ]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _unreadable_reason(exc: BaseException) -> str:
    """One line, in Portuguese, without the row's content (it may carry a consumer's CPF)."""
    if isinstance(exc, ValueError) and "SaleState" in str(exc):
        return "estado desconhecido"
    kind = type(exc).__name__
    if kind == "ValidationError":
        return "dados da venda inválidos (não passam na validação)"
    if isinstance(exc, RecursionError):
        return "dados da venda aninhados demais"
    return f"registro danificado ({kind})"


def _unreadable_row(row: sqlite3.Row, exc: BaseException) -> SaleRow:
    """What can still be read of a damaged row, marked ``unreadable`` with the reason."""

    def read(fn: Any, default: Any) -> Any:
        try:
            return fn()
        except Exception:
            return default

    sale_id = str(row["sale_id"])
    reason = _unreadable_reason(exc)
    state_text = read(lambda: str(row["state"]), "?")
    if read(lambda: SaleState(state_text), None) is None:
        reason = f"estado desconhecido ({state_text[:24]!r})" if reason == "estado desconhecido" else reason
    return SaleRow(
        sale_id=sale_id,
        created_at=read(lambda: datetime.fromisoformat(row["created_at"]), _EPOCH),
        updated_at=read(lambda: datetime.fromisoformat(row["updated_at"]), _EPOCH),
        state=read(lambda: SaleState(row["state"]), SaleState.IN_DOUBT),
        sale=Sale.model_construct(sale_id=sale_id, items=(), payments=(), customer=None, operator=None),
        total=read(lambda: Decimal(row["total"]).quantize(Decimal("0.01")), Decimal("0.00")),
        had_cash=read(lambda: bool(row["had_cash"]), False),
        operator=read(lambda: row["operator"], None),
        backend=read(lambda: row["backend"], None),
        attempt_id=read(lambda: row["attempt_id"], None),
        chave=read(lambda: row["chave"], None),
        numero=read(lambda: row["numero"], None),
        serie=read(lambda: row["serie"], None),
        protocolo=read(lambda: row["protocolo"], None),
        authorized_at=read(lambda: _dt(row["authorized_at"]), None),
        contingency=read(lambda: bool(row["contingency"]), False),
        cancel_motivo=read(lambda: row["cancel_motivo"], None),
        cancel_protocolo=read(lambda: row["cancel_protocolo"], None),
        cancelled_at=read(lambda: _dt(row["cancelled_at"]), None),
        last_error=f"Venda ilegível no diário: {reason}.",
        pinned_backend=read(lambda: row["pinned_backend"], None),
        unreadable=reason,
        archived=read(lambda: row["archived"], None),
    )


def _unreadable_sale(sale_id: str, reason: str) -> JournalUnavailable:
    return JournalUnavailable(
        f"sale {sale_id} cannot be read from the journal: {reason}",
        user_message=(
            f"A venda {sale_id} está ilegível no diário ({reason}); nada foi feito com ela. "
            "As outras vendas não são afetadas. Rode 'posapp doctor' e chame o suporte."
        ),
    )


def _sale_json(sale: Sale) -> str:
    """The sale as stored: unset (None) fields left out, as reading fills them in again (half
    the bytes of a sale with per-item tax data, tested to read back equal)."""
    return sale.model_dump_json(exclude_none=True)


def _had_cash(sale: Sale) -> bool:
    return any(p.method == PaymentMethod.DINHEIRO for p in sale.payments)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (``BEGIN ... END;``) whole."""
    statements, current = [], []
    in_trigger = False
    for line in script.splitlines():
        if not line.strip():
            continue
        current.append(line)
        upper = line.strip().upper()
        if upper.startswith("CREATE TRIGGER"):
            in_trigger = True
        ended = upper.endswith("END;") if in_trigger else upper.endswith(";")
        if ended:
            statements.append("\n".join(current))
            current, in_trigger = [], False
    if current:
        statements.append("\n".join(current))
    return statements


def _integrity_error(exc: sqlite3.IntegrityError) -> JournalError:
    """A constraint the journal's own rules hit: say which, so the caller can act on it."""
    text = str(exc)
    if "sales.chave" in text:
        return ChaveTaken(
            f"chave already belongs to another sale: {text}",
            user_message="Esta chave de acesso já pertence a outra venda deste caixa.",
        )
    if "sales.sale_id" in text:
        return SaleExists(
            f"sale already stored: {text}",
            user_message=(
                "Esta venda já está registrada (outro processo a está emitindo ou já a emitiu): "
                "confira com 'posapp nfce list' antes de qualquer reenvio."
            ),
        )
    return JournalUnavailable(
        f"journal constraint failed: {text}",
        user_message=f"O diário de vendas recusou a gravação ({text}). Rode 'posapp doctor'.",
    )


def _stale(sale_id: str, why: str) -> StaleState:
    return StaleState(
        f"sale {sale_id} {why}",
        user_message="A venda mudou de situação enquanto a operação corria; confira no histórico (F12).",
    )


__all__ = ["JOURNAL_FILENAME", "AttemptRow", "AuditRow", "EventRow", "Journal", "SaleRow"]
