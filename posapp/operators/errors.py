"""Errors of operators, authorization and cash."""

from __future__ import annotations

from posapp.errors import PosappError


class OperatorError(PosappError):
    """Base of operator, authorization and cash errors."""


class AuthenticationFailed(OperatorError):
    """Unknown login, inactive operator or wrong PIN (one message for all: no hints)."""

    def __init__(self, message: str = "authentication failed") -> None:
        super().__init__(message, user_message="Operador ou PIN inválido.")


class TooManyAttempts(OperatorError):
    """Too many wrong PINs in a row; the login is locked for a while."""


class NotAuthorized(OperatorError):
    """The operator's role does not allow the action and no manager authorized it."""


class InvalidOperatorData(OperatorError):
    """A login, name, role or PIN that cannot be stored."""


class InvalidCashMovement(OperatorError):
    """A cash movement with a bad amount or kind."""
