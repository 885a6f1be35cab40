"""A sale under its store's regime: each item's tax registry completed with the store's
defaults and checked against the rules of the store's CRT, before anything is stored or
sent; and the sale's approximate taxes (Lei 12.741/2012).

A sale that breaks a rule is one :class:`InvalidSale` naming the item and the field
(``itens[2].tributos.csosn: obrigatório ...``), as every other bad input is.
"""

from __future__ import annotations

from collections.abc import Mapping

from posapp.domain.errors import InvalidSale
from posapp.domain.money import ZERO
from posapp.domain.sale import MAX_MESSAGE_LINES, Item, Sale
from posapp.domain.taxes import (
    EMPTY_TAX,
    ApproxTaxes,
    Crt,
    IbptRates,
    ItemTax,
    approx_taxes,
    tax_problems,
)


def with_store_taxes(sale: Sale, *, crt: Crt, defaults: ItemTax | None = None) -> Sale:
    """``sale`` with every item's registry completed by ``defaults``; raises
    :class:`InvalidSale` (Portuguese, one line per problem) if the store's regime ``crt``
    cannot issue it as it is.

    Every sale goes through here on the event loop before it is stored (a queued one
    too), so it is one pass: an item is copied only when its registry changed, the sale
    only when an item did."""
    blank = EMPTY_TAX if defaults is None else defaults  # what an item without a registry gets
    items: list[Item] = []
    changed = False
    lines: list[str] = []
    for number, given in enumerate(sale.items, start=1):
        own = given.tax
        tax = blank if own is None else own.merged_over(defaults)
        item = given if tax is own or (own is not None and tax == own) else given.replaced(tax=tax)
        changed = changed or item is not given
        items.append(item)
        for problem in tax_problems(tax, crt=crt, cfop=item.cfop, cest=item.cest):
            where = problem.field if problem.field in ("cfop", "cest") else f"tributos.{problem.field}"
            lines.append(f"itens[{number}].{where}: {problem.message}")
    if lines:
        shown = lines[:MAX_MESSAGE_LINES]
        if len(lines) > MAX_MESSAGE_LINES:
            shown[-1] += f" (e mais {len(lines) - MAX_MESSAGE_LINES} problema(s))"
        raise InvalidSale(
            f"sale {sale.sale_id} breaks the tax rules of CRT {int(crt)}: {len(lines)} problem(s)",
            user_message="\n".join(shown),
        )
    return sale.replaced(items=tuple(items)) if changed else sale


def item_approx_taxes(item: Item) -> ApproxTaxes | None:
    """The item's Lei 12.741 taxes on its net value (after its discount)."""
    return approx_taxes(item.tax, item.gross_total - item.discount)


def sale_approx_taxes(sale: Sale) -> ApproxTaxes | None:
    """The sum of the items' approximate taxes; ``None`` when no item has IBPT rates."""
    found = [t for t in (item_approx_taxes(i) for i in sale.items) if t is not None]
    if not found:
        return None
    total = ApproxTaxes(ZERO, ZERO, ZERO)
    for taxes in found:
        total = total + taxes
    return total


def with_ibpt(sale: Sale, rates: Mapping[str, IbptRates]) -> Sale:
    """``sale`` with the IBPT table's rates (by NCM) on the items that have none of their
    own (a SALE.json written without them, at a till that imported the table)."""
    items = []
    for item in sale.items:
        own = item.tax
        found = rates.get(item.ncm)
        has_rates = own is not None and (own.ibpt_federal is not None or own.ibpt_state is not None)
        if found is None or has_rates:
            items.append(item)
            continue
        table = found.for_origin(item.origin)
        items.append(item.model_copy(update={"tax": table if own is None else own.merged_over(table)}))
    changed = tuple(items)
    return sale if changed == sale.items else sale.model_copy(update={"items": changed})
