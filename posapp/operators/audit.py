"""The audit log: an append-only record of every protected action and who allowed it.

A row says *what* (``action``), *who asked* (``operator``), *who authorized*
(``authorized_by``, a manager, when it took an override) and *which sale*. Triggers in
the schema refuse UPDATE and DELETE, so a record cannot be edited away through SQL
issued by the app.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from posapp.catalog.storedb import StoreDB
from posapp.operators.schema import COMPONENT, MIGRATIONS


class Action(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    OVERRIDE_FAILED = "override_failed"
    VOID_LINE = "void_line"
    ABORT_SALE = "abort_sale"
    CANCEL_SALE = "cancel_sale"
    CANCEL_REFUSED = "cancel_refused"
    REPRINT = "reprint"
    RESEND = "resend"
    OPENING_FLOAT = "opening_float"
    SANGRIA = "sangria"
    SUPRIMENTO = "suprimento"
    DAY_CLOSE = "day_close"
    SETTINGS = "settings"
    CATALOG_IMPORT = "catalog_import"
    OPERATOR_CHANGE = "operator_change"
    HISTORY_OPEN = "history_open"

    @property
    def label(self) -> str:
        return _LABELS.get(self, self.value)


_LABELS = {
    Action.LOGIN: "Entrada de operador",
    Action.LOGIN_FAILED: "PIN incorreto",
    Action.LOGOUT: "Saída de operador",
    Action.OVERRIDE_FAILED: "Autorização de gerente recusada",
    Action.VOID_LINE: "Cancelamento de item",
    Action.ABORT_SALE: "Venda descartada",
    Action.CANCEL_SALE: "Cancelamento de NFC-e",
    Action.CANCEL_REFUSED: "Cancelamento recusado",
    Action.REPRINT: "Reimpressão",
    Action.RESEND: "Reenvio",
    Action.OPENING_FLOAT: "Abertura de caixa",
    Action.SANGRIA: "Sangria",
    Action.SUPRIMENTO: "Suprimento",
    Action.DAY_CLOSE: "Fechamento do dia",
    Action.SETTINGS: "Configurações alteradas",
    Action.CATALOG_IMPORT: "Importação de produtos",
    Action.OPERATOR_CHANGE: "Cadastro de operador",
    Action.HISTORY_OPEN: "Histórico de vendas aberto",
}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    action: str
    operator: str | None
    authorized_by: str | None
    sale_id: str | None
    detail: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str:
    """UTC ISO text, which sorts like time (every row is written in UTC)."""
    return (moment or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC).isoformat()


class AuditLog:
    def __init__(self, store: StoreDB) -> None:
        self.store = store
        store.migrate(COMPONENT, MIGRATIONS)

    def record(
        self,
        action: Action | str,
        *,
        operator: str | None,
        authorized_by: str | None = None,
        sale_id: str | None = None,
        detail: str = "",
        at: datetime | None = None,
    ) -> None:
        with self.store.transaction() as conn:
            self.record_in(
                conn,
                action,
                operator=operator,
                authorized_by=authorized_by,
                sale_id=sale_id,
                detail=detail,
                at=at,
            )

    @staticmethod
    def record_in(
        conn: sqlite3.Connection,
        action: Action | str,
        *,
        operator: str | None,
        authorized_by: str | None = None,
        sale_id: str | None = None,
        detail: str = "",
        at: datetime | None = None,
    ) -> None:
        """Append inside a transaction the caller already holds (so the action and its
        record commit together)."""
        conn.execute(
            "INSERT INTO audit_log(at, action, operator, authorized_by, sale_id, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                (at or _utcnow()).astimezone(UTC).isoformat(),
                str(action),
                operator,
                authorized_by,
                sale_id,
                detail,
            ),
        )

    def entries(self, *, since: datetime | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Newest first."""
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT id, at, action, operator, authorized_by, sale_id, detail FROM audit_log "
                "WHERE at >= ? ORDER BY id DESC LIMIT ?",
                (_iso(since), limit),
            ).fetchall()
        return [
            AuditEntry(int(r[0]), datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows
        ]
