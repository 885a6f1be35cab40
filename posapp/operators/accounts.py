"""Operators, roles and PIN checks (login and manager override).

Two roles: a *cashier* sells; a *manager* also authorizes protected actions (line void
and sale abort when the store requires it, cancels, cash movements, settings). A manager
override is asked by PIN alone: the PIN is checked against every active manager, so the
manager does not have to type a login at a busy counter.

Wrong PINs are counted per login, and manager overrides per operator who asks for them;
after :data:`MAX_FAILURES` in a row that login (or that operator's overrides) is locked for
:data:`LOCKOUT`. The counters live in ``store.sqlite3`` (``pin_failures``), so closing and
reopening the app does not buy more guesses. An unknown or inactive login costs the same
scrypt work as a real one, so the time of the answer does not tell which logins exist.
Every attempt, good or bad, is written to the audit log by the caller-facing methods here.

PINs are 4 to 12 digits: 4 keeps the demo's PINs (and a busy counter) working, at the
price of 10,000 possible PINs; the lockout is what makes guessing them impractical.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from posapp.catalog.storedb import StoreDB
from posapp.domain.audit import Action
from posapp.operators.audit import AuditLog
from posapp.operators.errors import AuthenticationFailed, InvalidOperatorData, TooManyAttempts
from posapp.operators.pins import hash_pin, verify_pin
from posapp.operators.schema import COMPONENT, MIGRATIONS

MAX_FAILURES = 5
LOCKOUT = timedelta(seconds=60)
_LOGIN = re.compile(r"^[a-z0-9._-]{1,32}$")
_PIN = re.compile(r"^[0-9]{4,12}$")


def _login_key(login: str) -> str:
    return f"login:{login}"


def _override_key(operator: str | None) -> str:
    return f"override:{operator or ''}"


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the login is unknown (same cost as a real one)."""
    return hash_pin("0000")


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
        key = _login_key(login)
        self._check_lock(key)
        with self.store.reading() as conn:
            row = conn.execute(
                "SELECT login, name, role, active, pin_hash FROM operators WHERE login = ?", (login,)
            ).fetchone()
        # Always one scrypt, whatever the login: no timing difference to tell logins apart.
        matches = verify_pin(pin, row[4] if row else _dummy_hash())
        if not (row is not None and bool(row[3]) and matches):
            with self.store.transaction() as conn:
                self._fail(conn, key)
                AuditLog.record_in(conn, Action.LOGIN_FAILED, operator=login or None)
            raise AuthenticationFailed(f"login {login!r} refused")
        with self.store.transaction() as conn:
            self._succeed(conn, key)
            AuditLog.record_in(conn, Action.LOGIN, operator=login)
        return Operator(row[0], row[1], Role(row[2]), True)

    def _find_manager(self, pin: str, operator: str | None) -> Operator | None:
        """The active manager with this PIN; wrong PINs count against ``operator`` (the one
        asking for the override)."""
        key = _override_key(operator)
        self._check_lock(key)
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT login, name, pin_hash FROM operators "
                "WHERE role = 'manager' AND active = 1 ORDER BY login"
            ).fetchall()
        if not rows:
            verify_pin(pin, _dummy_hash())
        for login, name, pin_hash in rows:
            if verify_pin(pin, pin_hash):
                with self.store.transaction() as conn:
                    self._succeed(conn, key)
                return Operator(login, name, Role.MANAGER)
        with self.store.transaction() as conn:
            self._fail(conn, key)
        return None

    def check_manager_pin(self, pin: str, *, operator: str | None = None) -> Operator:
        """The active manager whose PIN this is (``operator``: who asks). A success is not
        audited here: the caller records the action it authorized, with its outcome. A
        failure is."""
        manager = self._find_manager(pin, operator)
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
        manager = self._find_manager(pin, operator)
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

    def failures(self, key: str) -> int:
        """Wrong PINs in a row counted for ``key`` (``login:<login>``, ``override:<login>``)."""
        with self.store.reading() as conn:
            row = conn.execute("SELECT failures FROM pin_failures WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _check_lock(self, key: str) -> None:
        with self.store.reading() as conn:
            row = conn.execute("SELECT failures, last_at FROM pin_failures WHERE key = ?", (key,)).fetchone()
        if row is None or int(row[0]) < MAX_FAILURES:
            return
        remaining = datetime.fromisoformat(row[1]) + LOCKOUT - self._clock()
        if remaining.total_seconds() > 0:
            seconds = int(remaining.total_seconds()) + 1
            raise TooManyAttempts(
                f"{key!r} locked for {seconds}s",
                user_message=f"PIN incorreto muitas vezes. Aguarde {seconds} s e tente de novo.",
            )
        with self.store.transaction() as conn:  # the lockout is over: a fresh count
            self._succeed(conn, key)

    def _fail(self, conn: sqlite3.Connection, key: str) -> None:
        conn.execute(
            "INSERT INTO pin_failures(key, failures, last_at) VALUES (?, 1, ?) "
            "ON CONFLICT(key) DO UPDATE SET failures = failures + 1, last_at = excluded.last_at",
            (key, self._clock().astimezone(UTC).isoformat()),
        )

    @staticmethod
    def _succeed(conn: sqlite3.Connection, key: str) -> None:
        conn.execute("DELETE FROM pin_failures WHERE key = ?", (key,))
