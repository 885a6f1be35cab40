"""Sales whose identity survives every issuer: a unique product code per sale.

Focus keys its notes by ``ref`` and Emites echoes ``PDV-REF:<sale id>``, but Integra knows a
note only by series and number, which the journal chose. To count notes per sale from the
simulators' side alone (an oracle that does not trust the journal it is checking), every
test sale carries a product code made from its index, and every simulator keeps the items
of the notes it issued.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from posapp.domain.sale import Sale

CODE_BASE = 700_000


def sale_id_of(index: int) -> str:
    return f"crash{index:05d}"


def marker_code(index: int) -> str:
    return str(CODE_BASE + index)


def index_of_code(code: str) -> int | None:
    if not code.isdigit() or not CODE_BASE <= int(code) < CODE_BASE + 100_000:
        return None
    return int(code) - CODE_BASE


def sale_mapping(index: int) -> dict[str, Any]:
    """A small cash sale; the first item's code marks it. Totals vary with the index."""
    quantity = Decimal(1 + index % 4)
    unit_price = (Decimal("3.50") + Decimal(index % 7) * Decimal("1.25")).quantize(Decimal("0.01"))
    items: list[dict[str, Any]] = [
        {
            "code": marker_code(index),
            "gtin": "SEM GTIN",
            "description": f"Produto de teste {index}",
            "ncm": "19059090",
            "cfop": "5102",
            "unit": "UN",
            "quantity": str(quantity),
            "unit_price": str(unit_price),
            "origin": 0,
        }
    ]
    if index % 3 == 0:
        items.append(
            {
                "code": "14600",
                "gtin": "7891000315507",
                "description": "Cerveja Pilsen 350ml",
                "ncm": "22030000",
                "cfop": "5102",
                "unit": "UN",
                "quantity": "2",
                "unit_price": "4.99",
                "origin": 0,
            }
        )
    total = sum((Decimal(i["quantity"]) * Decimal(i["unit_price"]) for i in items), Decimal("0"))
    tendered = (total + Decimal("10")).quantize(Decimal("1"))
    return {
        "sale_id": sale_id_of(index),
        "items": items,
        "payments": [{"method": "dinheiro", "amount": str(tendered)}],
    }


def make_sale(index: int) -> Sale:
    return Sale.from_mapping(sale_mapping(index))


def tagged_for(inf_cpl: str | None, sale_id: str) -> bool:
    """Whether a note's free text carries the Emites tag of ``sale_id``'s request:
    ``PDV-REF:<till id>-<sale id>`` (what a manager searches for in Emites-Client)."""
    return re.search(rf"PDV-REF:[a-z0-9]+-{re.escape(sale_id)}\b", inf_cpl or "") is not None


def reference_of(data_dir: Path, sale_id: str) -> str:
    """The reference the issuers know ``sale_id`` by: this data folder's till and the sale."""
    from posapp.domain.issuance import idempotency_reference
    from posapp.journal.store import Journal

    journal = Journal.in_dir(data_dir)
    try:
        return idempotency_reference(journal.till_id(), sale_id)
    finally:
        journal.close()
