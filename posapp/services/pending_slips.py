"""Printing the non-fiscal slip of a sale that left the counter without its NFC-e.

When a sale ends ``QUEUED`` (no issuer answered) or ``IN_DOUBT`` (the issuer got it and did
not answer), the customer still leaves with a paper: "NFC-e PENDENTE — NÃO É DOCUMENTO
FISCAL", the sale's number, items, payments and change, and where the DANFE will come from
(:mod:`posapp.printing.pending_slip`). It goes through the service's printer
(``ReceiptPrinter.print_bytes``, recorded by the spool like any other job). Like every
print, its failure changes nothing fiscal: the result is a :class:`PrintResult`, never an
exception.
"""

from __future__ import annotations

import logging
from datetime import tzinfo

from posapp.domain.lifecycle import SaleState
from posapp.domain.sale import Sale
from posapp.printing.options import ReceiptOptions
from posapp.printing.pending_slip import render_pending_slip
from posapp.services.ports import PrintResult
from posapp.services.pos import PosService

log = logging.getLogger("posapp.services")

PENDING_STATES = (SaleState.QUEUED, SaleState.IN_DOUBT)
SLIP_KIND = "pending_slip"
_NO_PRINTER = PrintResult(False, "Nenhuma impressora configurada.", None)


def needs_pending_slip(state: SaleState) -> bool:
    """A sale that ends in one of these states leaves the counter without a DANFE."""
    return state in PENDING_STATES


async def print_pending_slip(
    service: PosService,
    sale: Sale,
    state: SaleState,
    *,
    tz: tzinfo | None = None,
    store_name: str | None = None,
) -> PrintResult | None:
    """Print the slip of ``sale``, which ended in ``state``. ``None``: nothing to print
    (the sale is not pending). ``tz``: the time zone to print (``None``: the store's,
    ``[store] timezone`` or its UF's, the one the DANFE shows)."""
    if not needs_pending_slip(state):
        return None
    printer = service.printer
    if printer is None:
        return _NO_PRINTER
    try:
        options = ReceiptOptions.from_config(service.config.printer)
        data = render_pending_slip(
            sale,
            at=service.now(),
            options=options,
            in_doubt=state is SaleState.IN_DOUBT,
            tz=tz or service.config.store.tz,
            store_name=store_name,
        )
    except Exception as exc:  # a layout bug must not hide the sale's outcome
        log.exception("pending slip of %s not rendered", sale.sale_id)
        return PrintResult(False, f"Comprovante provisório não gerado ({type(exc).__name__}).", None)
    return await printer.print_bytes(data, kind=SLIP_KIND, sale_id=sale.sale_id)
