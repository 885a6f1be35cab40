"""The root of every error posapp raises on purpose, and what a person may read about any error.

Each package has its own ``errors.py`` deriving from :class:`PosappError`. An error
that a person can act on carries ``user_message`` in Brazilian Portuguese (shown in the
GUI and on the command line); the positional message is the developer's detail (English,
for the log). An error raised without a ``user_message`` is a bug, or a situation nobody
can explain to a cashier: it must never show its English text.

:func:`user_text` is the one way from an exception to what a screen or a terminal shows:

* a :class:`PosappError` with a Portuguese ``user_message``: that message;
* anything else (a ``PosappError`` without one, a ``KeyError``, a library's exception):
  :data:`UNEXPECTED_TEXT`, a Portuguese sentence with a short reference
  (``Referência: K7QM2P``) that is written to the log together with the exception's
  detail and traceback, so support finds the line the cashier reads out.

``PosappError.user_message`` is always Portuguese: without one given it holds
:data:`UNEXPECTED_USER_MESSAGE` (no reference; nothing was logged yet), so code that reads
the attribute directly (a journal column, a print outcome) never copies English either.
An error re-raised with ``user_message=other.user_message`` keeps that marker, and
:func:`user_text` still treats it as unexpected.

Qt-free and dependency-free: the GUI, the command line and the services all use it.
"""

from __future__ import annotations

import logging
import re
from typing import Final

__all__ = [
    "REFERENCE_PATTERN",
    "UNEXPECTED_TEXT",
    "UNEXPECTED_USER_MESSAGE",
    "PosappError",
    "has_user_message",
    "new_reference",
    "user_text",
]

log = logging.getLogger("posapp.errors")

#: ``user_message`` of an error raised without one (a bug): Portuguese, without a reference.
UNEXPECTED_USER_MESSAGE: Final = "Ocorreu um erro inesperado. Informe ao suporte."

#: What a person reads about an unexpected error; ``{reference}`` is also in the log.
UNEXPECTED_TEXT: Final = (
    "Ocorreu um erro inesperado. Referência: {reference} — informe ao suporte; os detalhes estão no registro."
)

# No 0/O, 1/I/L: a reference is read aloud over the phone and typed into a log search.
_REFERENCE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH: Final = 6
#: Finds the reference in a shown text (tests, support tools): group 1 is the reference.
REFERENCE_PATTERN: Final = re.compile(rf"Referência: ([{_REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}})")


class PosappError(Exception):
    """Base of all deliberate posapp errors.

    ``message`` is the developer's detail (it goes to the log); ``user_message`` is what a
    person reads, in Brazilian Portuguese. Leave ``user_message`` out only for an error a
    person cannot act on: it is then shown as :data:`UNEXPECTED_TEXT` with a log reference.
    """

    def __init__(self, message: str, *, user_message: str | None = None) -> None:
        super().__init__(message)
        self.user_message: str = user_message or UNEXPECTED_USER_MESSAGE

    @property
    def has_user_message(self) -> bool:
        """Whether ``user_message`` is a Portuguese text written for a person (not the
        generic stand-in of an error raised without one)."""
        return self.user_message != UNEXPECTED_USER_MESSAGE


def has_user_message(exc: BaseException) -> bool:
    """Whether ``exc`` carries a Portuguese text written for a person."""
    return isinstance(exc, PosappError) and exc.has_user_message


def new_reference() -> str:
    """A short random reference (``K7QM2P``) tying a shown message to its log lines."""
    import secrets  # only when something went wrong: it costs every start a few ms

    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def user_text(exc: BaseException, *, logger: logging.Logger | None = None, context: str | None = None) -> str:
    """What a person may read about ``exc``, in Brazilian Portuguese.

    A :class:`PosappError` with a Portuguese ``user_message`` gives that message (nothing
    is logged here: the caller decides whether a known failure deserves a log line).
    Anything else gives :data:`UNEXPECTED_TEXT` with a new reference, and one ERROR record
    on ``logger`` (``posapp.errors`` by default) carries that reference, ``context`` (what
    was being done, for the developer) and the exception with its traceback and causes.
    Never raises.
    """
    if has_user_message(exc):
        assert isinstance(exc, PosappError)
        return exc.user_message
    reference = new_reference()
    (logger or log).error(  # logging reports its own failures (Handler.handleError)
        "unexpected error, reference %s%s: %s: %s",
        reference,
        f" ({context})" if context else "",
        type(exc).__name__,
        exc,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return UNEXPECTED_TEXT.format(reference=reference)
