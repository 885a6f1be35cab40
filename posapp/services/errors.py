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


class BackupFailed(ServiceError):
    """A backup could not be taken or written; what was there before is untouched."""


class RestoreRefused(ServiceError):
    """A backup was not restored (unusable file, newer journal, another posapp running);
    nothing in the data folder changed."""


class ArchiveRefused(ServiceError):
    """A month was not archived (not closed, not exported and verified, export file changed);
    nothing moved."""
