"""The DANFE's Lei 12.741/2012 block: the approximate taxes the consumer paid, with the
source of the rates.

The sale's own figures (each item's IBPT rates on its net value, ``domain/taxes.py``) are
printed whichever issuer authorized the note, with the split and the source the law asks
for; a note whose sale had no IBPT rates prints the XML's ``vTotTrib`` when the issuer
filled it, and nothing otherwise.
"""

from __future__ import annotations

from decimal import Decimal

from posapp.domain.money import format_brl
from posapp.domain.taxes import ApproxTaxes

TITLE = "Tributos Totais Incidentes (Lei Federal 12.741/2012)"


def lei_12741_lines(xml_total: Decimal | None, approx: ApproxTaxes | None) -> list[str]:
    """The block's lines: the total, then (from the sale's rates) the split and the source."""
    if approx is None:
        return [] if xml_total is None else [f"{TITLE}: R$ {format_brl(xml_total)}"]
    split = (
        f"Federal R$ {format_brl(approx.federal)}, Estadual R$ {format_brl(approx.state)}, "
        f"Municipal R$ {format_brl(approx.municipal)}"
    )
    source = f"Fonte: {approx.source}" if approx.source else "Fonte: IBPT"
    return [f"{TITLE}: R$ {format_brl(approx.total)}", split, source]
