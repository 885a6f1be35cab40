"""Service errors: a use case that cannot run as asked."""

from __future__ import annotations

from posapp.errors import PosappError


class ServiceError(PosappError):
    """Base of service errors."""


class NothingToDo(ServiceError):
    """The sale is not in a state this operation applies to."""
