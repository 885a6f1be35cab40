"""Errors of the printing package.

Two families, because callers react differently:

* the *document* could not be rendered (:class:`DocumentError` and children): bad input,
  nothing reached a printer; the command line answers exit code 2;
* the *printer* failed (:class:`PrinterError` and children): the receipt is not on paper,
  a reprint is due; the command line answers exit code 7.

Neither ever touches the fiscal state of a sale: an authorized note stays authorized
whatever happens to its paper copy. :class:`EscposDecodeError` is different again: our
own decoder met bytes it does not understand, which in tests means a bug in the writer.
"""

from __future__ import annotations

from posapp.errors import PosappError


class PrintingError(PosappError):
    """Base of every deliberate error of :mod:`posapp.printing`."""


class DocumentError(PrintingError):
    """The DANFE could not be rendered from what we were given. Nothing was printed."""


class DanfeDataError(DocumentError):
    """The authorized XML is unreadable or is not an NFC-e (``nfeProc`` / ``NFe``)."""


class RasterError(DocumentError):
    """The DANFE PDF could not be rendered to a bitmap."""


class NothingToPrint(DocumentError):
    """Neither an XML nor a PDF was available for the requested receipt."""


class PrinterError(PrintingError):
    """The printer (or its link) failed. The receipt must be reprinted.

    ``started`` is set by :func:`posapp.printing.spool.deliver` when the failure came
    after the job began to go out: part of the receipt may be on paper and the drawer may
    have opened, so the spool must not resend it on its own (the cashier reprints)."""

    started: bool = False


class InvalidPrinterUri(PrinterError):
    """The printer URI in the configuration or on the command line is malformed."""


class PrinterOffline(PrinterError):
    """The printer cannot be reached: off, unplugged, refused, or the link dropped mid-job."""


class PrintUnconfirmed(PrinterError):
    """The job went out but a printer that normally answers status stayed silent after it:
    nobody knows whether the receipt is on paper."""


class PaperOut(PrinterError):
    """The printer reports that the paper roll is empty (or the cover is open)."""


class EscposDecodeError(PrintingError):
    """Our ESC/POS decoder met a byte sequence it does not understand (or truncated data)."""

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(f"{message} at byte {offset}")
        self.offset = offset
