"""The journal's record of inutilizações and monthly exports (migration 5), and the number
reservations the gap list reads.

Its own connection to the journal file (WAL, ``synchronous=FULL``), opened after
:class:`~posapp.journal.store.Journal` has migrated it; used from the services' journal
thread like the journal itself. The discipline is the issue's: :meth:`InutilizacaoBook.begin`
commits the exact request as ``sending`` before a byte leaves, refusing a range that overlaps
one already sent, in doubt or homologated (in the same ``BEGIN IMMEDIATE``, so two processes
cannot both send it); every answer is a compare-and-set from the state it was sent in.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from posapp.domain.audit import AuditRecord
from posapp.domain.inutilizacao import InutState, NumberRange
from posapp.journal.errors import JournalError, JournalUnavailable, StaleState

BUSY_TIMEOUT_S = 10.0


class RangeTaken(JournalError):
    """The range overlaps an inutilização already sent, in doubt or homologated."""


@dataclass(frozen=True, slots=True)
class InutilizacaoRow:
    inut_id: int
    backend: str
    range: NumberRange
    justificativa: str
    state: InutState
    request: bytes
    created_at: datetime
    updated_at: datetime
    operator: str | None
    authorized_by: str | None
    protocolo: str | None
    done_at: datetime | None
    xml: bytes | None
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reservation:
    backend: str
    serie: int
    numero: int
    sale_id: str | None  # None: the number is used by another note at the issuer (released)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("journal timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class InutilizacaoBook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise _unavailable(exc) from exc
        self._db = db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _unavailable(exc) from exc

    # -- inutilizações ------------------------------------------------------------------

    def begin(
        self,
        backend: str,
        numbers: NumberRange,
        justificativa: str,
        request: bytes,
        at: datetime,
        *,
        audit: AuditRecord,
    ) -> int:
        """Commit the request as ``sending`` (and its audit row) before it is sent.

        Raises :class:`RangeTaken` when the range overlaps one that is not refused."""
        with self._tx() as db:
            clash = db.execute(
                "SELECT inut_id, numero_inicial, numero_final, state FROM inutilizacoes"
                " WHERE serie = ? AND state != 'refused' AND numero_inicial <= ? AND numero_final >= ?",
                (numbers.serie, numbers.last, numbers.first),
            ).fetchone()
            if clash is not None:
                state = InutState(clash["state"])
                raise RangeTaken(
                    f"range overlaps inutilizacao {clash['inut_id']} ({state})",
                    user_message=(
                        f"A faixa se sobrepõe à inutilização nº {clash['inut_id']} "
                        f"(série {numbers.serie}, números {clash['numero_inicial']} a "
                        f"{clash['numero_final']}, {state.label}). Nada foi enviado. "
                        + (
                            "Consulte o emissor antes ('posapp fiscal inutilizacoes --consultar')."
                            if state in (InutState.SENDING, InutState.IN_DOUBT)
                            else "Esses números já estão inutilizados."
                        )
                    ),
                )
            cursor = db.execute(
                "INSERT INTO inutilizacoes (backend, serie, numero_inicial, numero_final, justificativa,"
                " state, request, created_at, updated_at, operator, authorized_by)"
                " VALUES (?, ?, ?, ?, ?, 'sending', ?, ?, ?, ?, ?)",
                (
                    backend,
                    numbers.serie,
                    numbers.first,
                    numbers.last,
                    justificativa,
                    request,
                    _iso(at),
                    _iso(at),
                    audit.operator,
                    audit.authorized_by,
                ),
            )
            inut_id = int(cursor.lastrowid or 0)
            db.execute(
                "INSERT INTO audit (at, action, operator, authorized_by, sale_id, detail)"
                " VALUES (?, ?, ?, ?, NULL, ?)",
                (_iso(at), audit.action, audit.operator, audit.authorized_by, f"#{inut_id} {audit.detail}"),
            )
            return inut_id

    def finish(
        self,
        inut_id: int,
        expect: Sequence[InutState],
        state: InutState,
        at: datetime,
        *,
        protocolo: str | None = None,
        done_at: datetime | None = None,
        xml: bytes | None = None,
        response: str | None = None,
        errors: Sequence[str] = (),
    ) -> None:
        """Record an answer: a compare-and-set from one of ``expect`` (a late or second
        answer never overwrites a verdict already recorded)."""
        marks = ", ".join("?" for _ in expect)
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE inutilizacoes SET state = ?, updated_at = ?, protocolo = COALESCE(?, protocolo),"  # noqa: S608
                " done_at = COALESCE(?, done_at), xml = COALESCE(?, xml), response = COALESCE(?, response),"
                f" errors = ? WHERE inut_id = ? AND state IN ({marks})",
                (
                    state,
                    _iso(at),
                    protocolo,
                    _iso(done_at) if done_at else None,
                    xml,
                    response,
                    json.dumps(list(errors), ensure_ascii=False),
                    inut_id,
                    *expect,
                ),
            )
            if cursor.rowcount != 1:
                raise StaleState(
                    f"inutilizacao {inut_id} is no longer {', '.join(expect)}",
                    user_message=(
                        f"A inutilização nº {inut_id} mudou de situação enquanto a operação corria; "
                        "confira a lista de inutilizações."
                    ),
                )

    def interrupted_to_doubt(self, at: datetime) -> list[int]:
        """Start-up, alone on the folder: a request left ``sending`` by a process that died
        may or may not have reached the issuer, so it is in doubt."""
        with self._tx() as db:
            ids = [int(r[0]) for r in db.execute("SELECT inut_id FROM inutilizacoes WHERE state = 'sending'")]
            db.execute(
                "UPDATE inutilizacoes SET state = 'in_doubt', updated_at = ? WHERE state = 'sending'",
                (_iso(at),),
            )
            return ids

    def get(self, inut_id: int) -> InutilizacaoRow:
        with self._lock:
            row = self._db.execute("SELECT * FROM inutilizacoes WHERE inut_id = ?", (inut_id,)).fetchone()
        if row is None:
            raise JournalError(
                f"no inutilizacao {inut_id}", user_message=f"Inutilização nº {inut_id} não encontrada."
            )
        return _row(row)

    def rows(self, *, states: Sequence[InutState] | None = None) -> list[InutilizacaoRow]:
        where, params = "", tuple(states or ())
        if states:
            where = f"WHERE state IN ({', '.join('?' for _ in states)})"
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM inutilizacoes {where} ORDER BY inut_id",  # noqa: S608
                params,
            ).fetchall()
        return [_row(r) for r in rows]

    # -- numbering (read-only) ----------------------------------------------------------

    def reservations(self) -> list[Reservation]:
        """Every número handed out for a série we number (``reserve_number``)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT backend, serie, numero, sale_id FROM number_reservations"
                " ORDER BY backend, serie, numero"
            ).fetchall()
        return [
            Reservation(
                r["backend"],
                int(r["serie"]),
                int(r["numero"]),
                None if "#taken" in r["sale_id"] else r["sale_id"],
            )
            for r in rows
        ]

    def last_numbers(self) -> dict[tuple[str, int], int]:
        """The last número handed out per (issuer, série) we number."""
        with self._lock:
            rows = self._db.execute("SELECT backend, serie, last_numero FROM numbering").fetchall()
        return {(r["backend"], int(r["serie"])): int(r["last_numero"]) for r in rows}

    # -- exports ------------------------------------------------------------------------

    def record_export(
        self,
        month: str,
        path: Path,
        sha256: str,
        *,
        notes: int,
        pending: int,
        verified: bool,
        at: datetime,
        audit: AuditRecord,
    ) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO fiscal_exports (month, created_at, path, sha256, notes, pending, verified)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (month, _iso(at), str(path), sha256, notes, pending, int(verified)),
            )
            db.execute(
                "INSERT INTO audit (at, action, operator, authorized_by, sale_id, detail)"
                " VALUES (?, ?, ?, ?, NULL, ?)",
                (_iso(at), audit.action, audit.operator, audit.authorized_by, audit.detail),
            )
            return int(cursor.lastrowid or 0)

    def exports(self, month: str | None = None) -> list[dict[str, object]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM fiscal_exports WHERE ? IS NULL OR month = ? ORDER BY export_id", (month, month)
            ).fetchall()
        return [dict(r) for r in rows]


def _row(r: sqlite3.Row) -> InutilizacaoRow:
    return InutilizacaoRow(
        inut_id=int(r["inut_id"]),
        backend=r["backend"],
        range=NumberRange(int(r["serie"]), int(r["numero_inicial"]), int(r["numero_final"])),
        justificativa=r["justificativa"],
        state=InutState(r["state"]),
        request=bytes(r["request"]),
        created_at=datetime.fromisoformat(r["created_at"]),
        updated_at=datetime.fromisoformat(r["updated_at"]),
        operator=r["operator"],
        authorized_by=r["authorized_by"],
        protocolo=r["protocolo"],
        done_at=_dt(r["done_at"]),
        xml=bytes(r["xml"]) if r["xml"] is not None else None,
        errors=tuple(json.loads(r["errors"] or "[]")),
    )


def _unavailable(exc: sqlite3.Error) -> JournalUnavailable:
    return JournalUnavailable(
        f"inutilizacao journal write failed: {exc}",
        user_message=(
            f"Não foi possível gravar no diário de vendas ({exc}). "
            "Verifique o espaço em disco e rode 'posapp doctor'."
        ),
    )


__all__ = ["InutilizacaoBook", "InutilizacaoRow", "RangeTaken", "Reservation"]
