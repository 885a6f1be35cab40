"""A manager's authorization, the same for the GUI and the command line.

The GUI asks the PIN in a dialog (or takes the logged-in manager); the command line takes
``--operator LOGIN`` and the PIN from a terminal prompt or ``POSAPP_PIN``. Both end in an
:class:`~posapp.services.core.Authorization` that the use case writes into the audit row
committed with the sale's event. A till with no operators yet (a fresh install, an
integrator's script) records the login it was given, as before operators existed.

Blocking (scrypt, SQLite): call :meth:`ManagerGate.authorize` off the event loop.
"""

from __future__ import annotations

from posapp.operators.accounts import Operators
from posapp.operators.errors import NotAuthorized
from posapp.services.core import Authorization


class ManagerGate:
    def __init__(self, operators: Operators) -> None:
        self.operators = operators

    def required(self) -> bool:
        """Whether this till has operators, so that a manager's PIN is needed."""
        return self.operators.has_any()

    def authorize(self, login: str | None, pin: str | None) -> Authorization:
        """``login`` asks; the PIN must be an active manager's (any manager's, as at the
        till). A wrong PIN is audited and counts towards the lockout."""
        login = (login or "").strip().lower() or None
        if not self.required():
            return Authorization(operator=login)
        if login is None:
            raise NotAuthorized(
                "no operator given",
                user_message="Informe o operador (--operator LOGIN): este caixa tem operadores cadastrados.",
            )
        if self.operators.get(login) is None:
            raise NotAuthorized(
                f"unknown operator {login!r}",
                user_message=f"Operador '{login}' não cadastrado ou inativo.",
            )
        if not pin:
            raise NotAuthorized(
                "no PIN given",
                user_message="Esta operação precisa do PIN de um gerente (digite-o, ou defina POSAPP_PIN).",
            )
        manager = self.operators.check_manager_pin(pin, operator=login)
        return Authorization(operator=login, authorized_by=manager.login)
