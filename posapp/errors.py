"""The root of every error posapp raises on purpose.

Each package has its own ``errors.py`` deriving from :class:`PosappError`. An error
that a person can act on carries ``user_message`` in Brazilian Portuguese (shown in the
GUI and on the command line); anything else is a bug and should surface as one.
"""

from __future__ import annotations


class PosappError(Exception):
    """Base of all deliberate posapp errors."""

    def __init__(self, message: str, *, user_message: str | None = None) -> None:
        super().__init__(message)
        self.user_message = user_message or message
