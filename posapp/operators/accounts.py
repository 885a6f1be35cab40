"""Operators, roles and PIN checks (login and manager override).

Two roles: a *cashier* sells; a *manager* also authorizes protected actions (line void
and sale abort when the store requires it, cancels, cash movements, settings). A manager
override is asked by PIN alone: the PIN is checked against every active manager, so the
manager does not have to type a login at a busy counter.

Wrong PINs are counted per login (and for overrides as a whole); after
:data:`MAX_FAILURES` in a row the login is locked for :data:`LOCKOUT`. Every attempt,
good or bad, is written to the audit log by the caller-facing methods here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from posapp.catalog.storedb import StoreDB
from posapp.operators.audit import Action, AuditLog
from posapp.operators.errors import AuthenticationFailed, InvalidOperatorData, TooManyAttempts
from posapp.operators.pins import hash_pin, verify_pin
from posapp.operators.schema import COMPONENT, MIGRATIONS

MAX_FAILURES = 5
LOCKOUT = timedelta(seconds=60)
_LOGIN = re.compile(r"^[a-z0-9._-]{1,32}$")
_PIN = re.compile(r"^[0-9]{4,12}$")
_OVERRIDE_KEY = "\x00override"


class Role(StrEnum):
    CASHIER = "cashier"
    MANAGER = "manager"

    @property
    def label(self) -> str:
        return "Gerente" if self is Role.MANAGER else "Operador de caixa"


@dataclass(frozen=True, slots=True)
class Operator:
    login: str
    name: str
    role: Role
    active: bool = True

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER


def check_pin_format(pin: str) -> str:
    if not _PIN.match(pin):
        raise InvalidOperatorData(
            "PIN must be 4-12 digits", user_message="O PIN deve ter de 4 a 12 dígitos numéricos."
        )
    return pin


class Operators:
    """Blocking calls (PIN hashing takes tens of ms): from the GUI use ``store.run``."""

    def __init__(
        self, store: StoreDB, audit: AuditLog, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.store = store
        self.audit = audit
        self._clock = clock or (lambda: datetime.now(UTC))
        store.migrate(COMPONENT, MIGRATIONS)
        self._failures: dict[str, tuple[int, datetime]] = {}
        self._failures_lock = threading.Lock()

    # -- accounts ----------------------------------------------------------------------

    def create(
        self, login: str, name: str, role: Role, pin: str, *, created_by: str | None = None
    ) -> Operator:
        login = login.strip().lower()
        if not _LOGIN.match(login):
            raise InvalidOperatorData(
                f"bad login {login!r}",
                user_message=(
                    "Login deve ter de 1 a 32 letras minúsculas, números, ponto, hífen ou sublinhado."
                ),
            )
        name = " ".join(name.split())
        if not name:
            raise InvalidOperatorData("empty name", user_message="Informe o nome do operador.")
        pin_hash = hash_pin(check_pin_format(pin))
        with self.store.transaction() as conn:
            if conn.execute("SELECT 1 FROM operators WHERE login = ?", (login,)).fetchone():
                raise InvalidOperatorData(
                    f"login {login!r} exists", user_message=f"O login '{login}' já existe."
                )
            conn.execute(
                "INSERT INTO operators(login, name, role, pin_hash, active, created_at) "
                "VALUES (?, ?, ?, ?, 1, ?)",
                (login, name, role.value, pin_hash, self._clock().isoformat()),
            )
            AuditLog.record_in(
                conn, Action.OPERATOR_CHANGE, operator=created_by, detail=f"criado {login} ({role.label})"
            )
        return Operator(login, name, role)

    def set_pin(self, login: str, pin: str, *, changed_by: str | None = None) -> None:
        pin_hash = hash_pin(check_pin_format(pin))
        with self.store.transaction() as conn:
            cursor = conn.execute("UPDATE operators SET pin_hash = ? WHERE login = ?", (pin_hash, login))
            if cursor.rowcount == 0:
                raise InvalidOperatorData(
                    f"no operator {login!r}", user_message=f"Operador '{login}' não existe."
                )
            AuditLog.record_in(
                conn, Action.OPERATOR_CHANGE, operator=changed_by, detail=f"PIN de {login} trocado"
            )

    def set_active(self, login: str, active: bool, *, changed_by: str | None = None) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE operators SET active = ? WHERE login = ?", (int(active), login))
            AuditLog.record_in(
                conn,
                Action.OPERATOR_CHANGE,
                operator=changed_by,
                detail=f"{login} {'ativado' if active else 'desativado'}",
            )

    def get(self, login: str) -> Operator | None:
        with self.store.reading() as conn:
            row = conn.execute(
                "SELECT login, name, role, active FROM operators WHERE login = ?", (login.strip().lower(),)
            ).fetchone()
        return Operator(row[0], row[1], Role(row[2]), bool(row[3])) if row else None

    def accounts(self, *, include_inactive: bool = False) -> list[Operator]:
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT login, name, role, active FROM operators WHERE active = 1 OR ? ORDER BY name",
                (int(include_inactive),),
            ).fetchall()
        return [Operator(r[0], r[1], Role(r[2]), bool(r[3])) for r in rows]

    def has_any(self) -> bool:
        with self.store.reading() as conn:
            return conn.execute("SELECT 1 FROM operators LIMIT 1").fetchone() is not None

    # -- checks ------------------------------------------------------------------------

    def authenticate(self, login: str, pin: str) -> Operator:
        """Log in; raises :class:`AuthenticationFailed` (one message whatever was wrong)."""
        login = login.strip().lower()
        self._check_lock(login)
        with self.store.reading() as conn:
            row = conn.execute(
                "SELECT login, name, role, active, pin_hash FROM operators WHERE login = ?", (login,)
            ).fetchone()
        ok = bool(row) and bool(row[3]) and verify_pin(pin, row[4])
        if not ok:
            self._fail(login)
            self.audit.record(Action.LOGIN_FAILED, operator=login or None)
            raise AuthenticationFailed(f"login {login!r} refused")
        self._succeed(login)
        self.audit.record(Action.LOGIN, operator=login)
        return Operator(row[0], row[1], Role(row[2]), True)

    def _find_manager(self, pin: str) -> Operator | None:
        self._check_lock(_OVERRIDE_KEY)
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT login, name, pin_hash FROM operators "
                "WHERE role = 'manager' AND active = 1 ORDER BY login"
            ).fetchall()
        for login, name, pin_hash in rows:
            if verify_pin(pin, pin_hash):
                self._succeed(_OVERRIDE_KEY)
                return Operator(login, name, Role.MANAGER)
        self._fail(_OVERRIDE_KEY)
        return None

    def check_manager_pin(self, pin: str, *, operator: str | None = None) -> Operator:
        """The active manager whose PIN this is. A success is not audited here: the caller
        records the action it authorized, with its outcome. A failure is."""
        manager = self._find_manager(pin)
        if manager is None:
            self.audit.record(Action.OVERRIDE_FAILED, operator=operator, detail="PIN de gerente incorreto")
            raise AuthenticationFailed("no manager has that PIN")
        return manager

    def authorize_manager(
        self,
        pin: str,
        *,
        action: Action | str,
        operator: str | None,
        sale_id: str | None = None,
        detail: str = "",
    ) -> Operator:
        """A manager's override for ``action`` asked by ``operator``: the PIN of any active
        manager. Records the authorized action (or the refusal) in the audit log."""
        manager = self._find_manager(pin)
        if manager is None:
            self.audit.record(
                Action.OVERRIDE_FAILED,
                operator=operator,
                sale_id=sale_id,
                detail=f"{action}: PIN de gerente incorreto",
            )
            raise AuthenticationFailed("no manager has that PIN")
        self.audit.record(
            action, operator=operator, authorized_by=manager.login, sale_id=sale_id, detail=detail
        )
        return manager

    # -- lockout -----------------------------------------------------------------------

    def _check_lock(self, key: str) -> None:
        with self._failures_lock:
            count, last = self._failures.get(key, (0, self._clock()))
        if count >= MAX_FAILURES:
            remaining = last + LOCKOUT - self._clock()
            if remaining.total_seconds() > 0:
                seconds = int(remaining.total_seconds()) + 1
                raise TooManyAttempts(
                    f"{key!r} locked for {seconds}s",
                    user_message=f"PIN incorreto muitas vezes. Aguarde {seconds} s e tente de novo.",
                )
            with self._failures_lock:
                self._failures.pop(key, None)

    def _fail(self, key: str) -> None:
        with self._failures_lock:
            count, _ = self._failures.get(key, (0, self._clock()))
            self._failures[key] = (count + 1, self._clock())

    def _succeed(self, key: str) -> None:
        with self._failures_lock:
            self._failures.pop(key, None)
