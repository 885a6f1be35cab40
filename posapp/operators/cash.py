"""Cash movements that are not sales: the opening float (*fundo de troco*), *sangria*
(cash taken out of the drawer to the safe) and *suprimento* (cash put in).

Each movement and its audit record commit in one transaction. Amounts are
:class:`~decimal.Decimal` centavos, stored as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from posapp.catalog.storedb import StoreDB
from posapp.domain.audit import Action
from posapp.domain.money import format_brl, round_money
from posapp.operators.audit import AuditLog
from posapp.operators.errors import InvalidCashMovement
from posapp.operators.schema import COMPONENT, MIGRATIONS


class CashKind(StrEnum):
    OPENING_FLOAT = "opening_float"
    SANGRIA = "sangria"
    SUPRIMENTO = "suprimento"

    @property
    def label(self) -> str:
        return {
            "opening_float": "Abertura (fundo de troco)",
            "sangria": "Sangria",
            "suprimento": "Suprimento",
        }[self.value]

    @property
    def sign(self) -> int:
        """How the movement changes the cash in the drawer."""
        return -1 if self is CashKind.SANGRIA else 1

    @property
    def action(self) -> Action:
        return {
            CashKind.OPENING_FLOAT: Action.OPENING_FLOAT,
            CashKind.SANGRIA: Action.SANGRIA,
            CashKind.SUPRIMENTO: Action.SUPRIMENTO,
        }[self]


@dataclass(frozen=True, slots=True)
class CashMovement:
    id: int
    at: datetime
    kind: CashKind
    amount: Decimal
    operator: str
    authorized_by: str | None
    note: str


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class CashBook:
    def __init__(self, store: StoreDB) -> None:
        self.store = store
        store.migrate(COMPONENT, MIGRATIONS)

    def record(
        self,
        kind: CashKind,
        amount: Decimal,
        *,
        operator: str,
        authorized_by: str | None = None,
        note: str = "",
        at: datetime | None = None,
    ) -> CashMovement:
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise InvalidCashMovement(
                f"bad amount {amount!r}", user_message="O valor deve ser maior que zero."
            )
        if round_money(amount) != amount:
            raise InvalidCashMovement(
                f"{amount} is not centavos", user_message="Valor em reais com até 2 casas."
            )
        moment = at or datetime.now(UTC)
        note = " ".join(note.split())[:200]
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO cash_movements(at, kind, amount, operator, authorized_by, note) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_iso(moment), kind.value, str(amount), operator, authorized_by, note),
            )
            AuditLog.record_in(
                conn,
                kind.action,
                operator=operator,
                authorized_by=authorized_by,
                detail=f"R$ {format_brl(amount)} {note}".strip(),
                at=moment,
            )
            movement_id = int(cursor.lastrowid or 0)
        return CashMovement(movement_id, moment, kind, amount, operator, authorized_by, note)

    def movements(self, *, since: datetime, until: datetime | None = None) -> list[CashMovement]:
        """Oldest first, ``since <= at < until``."""
        end = until or datetime(9999, 1, 1, tzinfo=UTC)
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT id, at, kind, amount, operator, authorized_by, note FROM cash_movements "
                "WHERE at >= ? AND at < ? ORDER BY id",
                (_iso(since), _iso(end)),
            ).fetchall()
        return [
            CashMovement(
                int(r[0]), datetime.fromisoformat(r[1]), CashKind(r[2]), Decimal(r[3]), r[4], r[5], r[6]
            )
            for r in rows
        ]
