"""What a sale must carry in the store's state, checked before anything is sent.

:class:`~posapp.domain.sale.Sale` checks what holds everywhere (xPag for 99, a zero 90,
a complete card group for an integrated TEF). What depends on where or how the sale is
made is here, with the decisions we took where the rules leave room:

* **Card details by state.** CE, PE, RN, AL, BA, ES, MS, PB, PR, RJ and TO require the
  acquirer's CNPJ, the brand (tBand) and the authorization code (cAut) on every credit or
  debit payment, integrated or not: the list Emites-Client's request schema carries
  (``cartao`` ``required: if uf in (...)``). Elsewhere they are sent when given.
* **Identification by value.** An NFC-e of R$ 10.000,00 or more identifies the consumer
  (a CPF, CNPJ or foreign id, and the name): the national threshold of the NFC-e rules; a
  state may set a lower one, which posapp does not know, so the sale's own data decides.
* **Delivery.** A sale delivered to the consumer (``delivery``, indPres 4) carries the
  consumer's document, name and full address (NF-e layout: ``enderDest`` is required for a
  delivery NFC-e).

Each problem is one Portuguese line naming the SALE.json field, like the sale's own.
"""

from __future__ import annotations

from typing import Final

from posapp.domain.errors import InvalidSale
from posapp.domain.money import format_brl
from posapp.domain.sale import IDENTIFY_ABOVE, Sale

#: indPres of a delivery to the consumer's address (NFC-e "entrega em domicílio").
PRESENCE_DELIVERY: Final = 4
#: The states that require the acquirer's CNPJ, tBand and cAut on every card payment.
CARD_DETAIL_UFS: Final = frozenset({"CE", "PE", "RN", "AL", "BA", "ES", "MS", "PB", "PR", "RJ", "TO"})


def sale_problems(sale: Sale, *, uf: str) -> list[str]:
    """What ``sale`` lacks to be issued by a store in ``uf`` (empty: nothing)."""
    problems: list[str] = []
    if uf in CARD_DETAIL_UFS:
        for number, payment in enumerate(sale.payments, start=1):
            if payment.method.is_card and (payment.card is None or not payment.card.complete):
                problems.append(
                    f"pagamentos[{number}].cartao: em {uf} o cartão exige CNPJ da credenciadora, "
                    "bandeira e autorização (cnpj_credenciadora, bandeira, autorizacao)"
                )
    customer = sale.customer
    if (customer is None or not customer.name) and sale.total_reaches(IDENTIFY_ABOVE):
        problems.append(
            f"consumidor: venda de R$ {format_brl(sale.total)} (a partir de R$ {format_brl(IDENTIFY_ABOVE)}) "
            "exige o consumidor identificado: CPF/CNPJ (ou documento de estrangeiro) e nome"
        )
    if sale.delivery and (customer is None or not customer.name or customer.address is None):
        problems.append(
            "consumidor: venda com entrega em domicílio exige documento, nome e endereço do consumidor"
        )
    return problems


def check_sale_for_store(sale: Sale, *, uf: str) -> Sale:
    """``sale`` if it can be issued in ``uf``; :class:`InvalidSale` (exit 2, nothing sent)
    listing what it lacks otherwise."""
    problems = sale_problems(sale, uf=uf)
    if problems:
        raise InvalidSale(
            f"sale {sale.sale_id} lacks what {uf} requires: {len(problems)} problem(s)",
            user_message="\n".join(problems),
        )
    return sale
