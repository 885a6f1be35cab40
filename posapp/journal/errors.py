"""Journal errors: *known* ones a person can act on vs bugs (qutebrowser's split)."""

from __future__ import annotations

from posapp.errors import PosappError


class JournalError(PosappError):
    """Base of journal errors."""


class JournalUnavailable(JournalError):
    """The database file cannot be opened or written (disk full, permissions, corrupt)."""


class UnknownSale(JournalError):
    """No sale with that id or chave in this journal."""


class StaleState(JournalError):
    """A compare-and-set write found the sale no longer in the expected state/attempt."""


class ChaveTaken(JournalError):
    """An answer's chave already belongs to another sale of this journal (a lying or mixed-up
    issuer): the note cannot be this sale's."""


class SaleExists(JournalError):
    """The sale id is already in the journal (another process is issuing the same sale)."""


class SchemaTooNew(JournalError):
    """The file was written by a newer posapp; refuse rather than corrupt it."""
