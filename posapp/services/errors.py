"""Service errors: a use case that cannot run as asked."""

from __future__ import annotations

from posapp.errors import PosappError


class ServiceError(PosappError):
    """Base of service errors."""


class NothingToDo(ServiceError):
    """The sale is not in a state this operation applies to."""


class AnswerNotRecorded(ServiceError):
    """An issuer answered, and the journal could not record it (disk full, corruption...).
    The note may have been issued: the sale must not be issued again. The answer was kept
    in a side file that catching up records once the journal works again."""
