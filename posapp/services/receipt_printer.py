"""The :class:`~posapp.services.ports.ReceiptPrinter` the application uses: renders the
DANFE with :mod:`posapp.printing` and prints it through the spool, whose jobs and outcomes
are recorded in the journal. Printer trouble becomes a :class:`PrintResult` with a
Portuguese message; it never raises and never touches the sale's fiscal state.

Nor does it hold up the sale's outcome: the receipt of a sale (``kind`` ``danfe`` or
``late_issue``) answers after the first attempt. A printer that refused used to add the
spool's whole backoff (0.5 + 1 + 2 s, measured 3.5 s) before the cashier saw "autorizada";
now the retries go on in the spool and the answer says so. A reprint, which a person asked
for and waits for, still waits for the retries. Closing gives jobs still retrying up to
``close_grace_s`` to finish (the command line exits right after a sale)."""

from __future__ import annotations

import logging
from dataclasses import replace

from posapp.config import PrinterConfig
from posapp.domain.taxes import ApproxTaxes
from posapp.journal.store import Journal
from posapp.printing import (
    CancelMark,
    DocumentError,
    PrintJob,
    PrintSpool,
    ReceiptOptions,
    open_connection,
    print_danfe,
)
from posapp.services.ports import CancelledMark, PrintResult

log = logging.getLogger("posapp.services.printing")


# What does not wait for the spool's retries: the receipt printed as part of a sale.
_SALE_RECEIPTS = frozenset({"danfe", "late_issue"})
CLOSE_GRACE_S = 5.0


class SpoolReceiptPrinter:
    def __init__(
        self,
        config: PrinterConfig,
        journal: Journal,
        *,
        spool: PrintSpool | None = None,
        close_grace_s: float = CLOSE_GRACE_S,
    ) -> None:
        self._config = config
        self._spool = spool or PrintSpool(open_connection, journal)
        self._close_grace_s = close_grace_s

    @property
    def uri(self) -> str:
        return self._config.uri

    @property
    def spool(self) -> PrintSpool:
        return self._spool

    async def print_danfe(
        self,
        sale_id: str,
        *,
        xml: bytes | None,
        pdf: bytes | None,
        had_cash: bool,
        cancelled: CancelledMark | None = None,
        kind: str = "danfe",
        approx_taxes: ApproxTaxes | None = None,
    ) -> PrintResult:
        mark = CancelMark(cancelled.protocolo, cancelled.cancelled_at) if cancelled else None
        # The drawer opens for a cash sale's first print at the counter only: not on
        # reprints, nor when a queued sale is issued later by the drainer or a manager.
        drawer = kind == "danfe"
        config = self._config if drawer else self._config.model_copy(update={"open_drawer_on_cash": False})
        try:
            options = ReceiptOptions.from_config(config, cancelled=mark, had_cash=had_cash)
            options = replace(options, approx_taxes=approx_taxes)  # the Lei 12.741 line's figures
            data, outcome = await print_danfe(
                self._spool,
                printer_uri=self.uri,
                options=options,
                xml=xml,
                pdf=pdf,
                sale_id=sale_id,
                kind=kind,
                first_attempt_only=kind in _SALE_RECEIPTS,
            )
        except DocumentError as exc:
            log.error("cannot render the DANFE of %s: %s", sale_id, exc)
            return PrintResult(False, exc.user_message, None)
        except Exception as exc:
            # Never let the printer change what the cashier is told about the sale.
            log.exception("printing the DANFE of %s failed", sale_id)
            return PrintResult(
                False, f"Falha na impressão ({type(exc).__name__}); a venda continua válida.", None
            )
        return PrintResult(outcome.ok, None if outcome.ok else outcome.user_message, data)

    async def print_bytes(self, data: bytes, *, kind: str, sale_id: str | None = None) -> PrintResult:
        try:
            outcome = await self._spool.submit(PrintJob(self.uri, data, kind=kind, sale_id=sale_id))
        except Exception as exc:
            log.exception("printing %s failed", kind)
            return PrintResult(False, f"Falha na impressão ({type(exc).__name__}).", None)
        return PrintResult(outcome.ok, None if outcome.ok else outcome.user_message, data)

    async def aclose(self) -> None:
        await self._spool.aclose(grace_s=self._close_grace_s)
