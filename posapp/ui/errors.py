"""Errors of the screens themselves (what the fiscal service and the store do not cover),
and the one way a screen turns an exception into text.

Every place in :mod:`posapp.ui` that shows an error shows :func:`error_text` of it, never
``str(exc)``: a known error's Portuguese ``user_message``, or for anything else the
generic sentence with a reference that the log line carries too (see
:func:`posapp.errors.user_text`). The log line goes to the ``posapp.ui`` logger, so the
GUI tests still fail on an unexpected error they did not ask for.
"""

from __future__ import annotations

import logging

from posapp.errors import PosappError, user_text

__all__ = ["UNEXPECTED", "ConfigNotSaved", "UiError", "error_text"]

log = logging.getLogger("posapp.ui")

# Kept for a failure that has no exception object to report; with an exception, use
# error_text(), which adds the reference support looks for in the log.
UNEXPECTED = (
    "Erro inesperado: a operação foi interrompida. Nenhuma venda registrada foi perdida; "
    "os detalhes técnicos foram gravados no log."
)


def error_text(exc: BaseException, context: str | None = None) -> str:
    """What the screen shows for ``exc``; an unexpected one is logged with ``context``
    (what was being done, for the developer) and a reference."""
    return user_text(exc, logger=log, context=context)


class UiError(PosappError):
    """Base of GUI errors."""


class ConfigNotSaved(UiError):
    """The settings file could not be written; the running configuration is unchanged."""
