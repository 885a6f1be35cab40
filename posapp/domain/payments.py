"""Payment methods (``detPag/tPag``) and the names a cashier or a SALE.json uses for them.

The table is the NF-e layout 4.00's as of NT 2023.004 (tPag 01-05, 10-13, 15-22, 90, 99;
14 *duplicata mercantil* was withdrawn). What each code demands (xPag for 99, a zero value
for 90, the card group) is checked by :mod:`posapp.domain.sale` and, where the state
decides, :mod:`posapp.domain.sale_rules`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from posapp.domain.errors import InvalidSale


class PaymentMethod(StrEnum):
    """tPag codes of the NF-e layout 4.00 (NT 2020.006 and NT 2023.004 included)."""

    DINHEIRO = "01"
    CHEQUE = "02"
    CREDITO = "03"
    DEBITO = "04"
    CARTAO_LOJA = "05"  # the store's own card (private label), digital crediário
    VALE_ALIMENTACAO = "10"
    VALE_REFEICAO = "11"
    VALE_PRESENTE = "12"
    VALE_COMBUSTIVEL = "13"
    BOLETO = "15"
    DEPOSITO = "16"
    PIX = "17"  # dynamic / integrated PIX
    TRANSFERENCIA = "18"
    FIDELIDADE = "19"
    PIX_ESTATICO = "20"
    CREDITO_LOJA = "21"  # credit the consumer holds at the store (a return, a voucher)
    PAGAMENTO_ELETRONICO_NAO_INFORMADO = "22"  # electronic payment the emitter's hardware could not tell
    SEM_PAGAMENTO = "90"
    OUTROS = "99"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_card(self) -> bool:
        """Credit and debit: the ``card`` group goes with them (tpIntegra at least)."""
        return self in (PaymentMethod.CREDITO, PaymentMethod.DEBITO)

    @property
    def needs_description(self) -> bool:
        """99 (Outros) must say what it was (xPag, 2-60 characters; SEFAZ rejection 441)."""
        return self is PaymentMethod.OUTROS

    @property
    def is_no_payment(self) -> bool:
        """90 (Sem pagamento): its value must be zero."""
        return self is PaymentMethod.SEM_PAGAMENTO


# What the DANFE and the screens print (the layout's names, shortened to fit 32 columns).
_LABELS = {
    PaymentMethod.DINHEIRO: "Dinheiro",
    PaymentMethod.CHEQUE: "Cheque",
    PaymentMethod.CREDITO: "Cartão de Crédito",
    PaymentMethod.DEBITO: "Cartão de Débito",
    PaymentMethod.CARTAO_LOJA: "Cartão da Loja",
    PaymentMethod.VALE_ALIMENTACAO: "Vale Alimentação",
    PaymentMethod.VALE_REFEICAO: "Vale Refeição",
    PaymentMethod.VALE_PRESENTE: "Vale Presente",
    PaymentMethod.VALE_COMBUSTIVEL: "Vale Combustível",
    PaymentMethod.BOLETO: "Boleto Bancário",
    PaymentMethod.DEPOSITO: "Depósito Bancário",
    PaymentMethod.PIX: "PIX",
    PaymentMethod.TRANSFERENCIA: "Transferência bancária",
    PaymentMethod.FIDELIDADE: "Fidelidade/Cashback",
    PaymentMethod.PIX_ESTATICO: "PIX Estático",
    PaymentMethod.CREDITO_LOJA: "Crédito em Loja",
    PaymentMethod.PAGAMENTO_ELETRONICO_NAO_INFORMADO: "Pag. eletrônico não informado",
    PaymentMethod.SEM_PAGAMENTO: "Sem pagamento",
    PaymentMethod.OUTROS: "Outros",
}

# The names the README gives SALE.json, plus a few a person would type.
_ALIASES = {
    "dinheiro": PaymentMethod.DINHEIRO,
    "cash": PaymentMethod.DINHEIRO,
    "cheque": PaymentMethod.CHEQUE,
    "credito": PaymentMethod.CREDITO,
    "crédito": PaymentMethod.CREDITO,
    "debito": PaymentMethod.DEBITO,
    "débito": PaymentMethod.DEBITO,
    "cartao_loja": PaymentMethod.CARTAO_LOJA,
    "pix": PaymentMethod.PIX,  # dynamic (the QR made for this sale): 17
    "pix_dinamico": PaymentMethod.PIX,
    "pix_estatico": PaymentMethod.PIX_ESTATICO,  # the store's fixed QR or key: 20
    "vale_alimentacao": PaymentMethod.VALE_ALIMENTACAO,
    "vale_refeicao": PaymentMethod.VALE_REFEICAO,
    "vale_presente": PaymentMethod.VALE_PRESENTE,
    "vale_combustivel": PaymentMethod.VALE_COMBUSTIVEL,
    "boleto": PaymentMethod.BOLETO,
    "deposito": PaymentMethod.DEPOSITO,
    "transferencia": PaymentMethod.TRANSFERENCIA,
    "fidelidade": PaymentMethod.FIDELIDADE,
    "cashback": PaymentMethod.FIDELIDADE,
    "credito_loja": PaymentMethod.CREDITO_LOJA,
    "pagamento_eletronico_nao_informado": PaymentMethod.PAGAMENTO_ELETRONICO_NAO_INFORMADO,
    "sem_pagamento": PaymentMethod.SEM_PAGAMENTO,
    "outros": PaymentMethod.OUTROS,
}


def parse_payment_method(value: str) -> PaymentMethod:
    """A method name (``"dinheiro"``) or a tPag code (``"01"``, ``"1"``)."""
    key = value.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key.isdigit():
        try:
            return PaymentMethod(key.zfill(2))
        except ValueError:
            pass
    known = ", ".join(sorted(k for k in _ALIASES if k.isascii()))
    raise InvalidSale(
        f"unknown payment method {value!r}",
        user_message=f"Forma de pagamento desconhecida: '{value}'. Use uma de: {known}, ou um código tPag.",
    )


def net_of_change(payments: Iterable[tuple[str, Decimal]], change: Decimal) -> list[tuple[str, Decimal]]:
    """Each payment's ``(tPag code, amount)`` net of the change (vTroco) given back, which only
    cash gives: taken from the cash payments in order. What each method really brought in, as
    the day close and the accountant's monthly totals count it."""
    left = max(change, Decimal(0))
    net: list[tuple[str, Decimal]] = []
    for code, amount in payments:
        given = min(left, amount) if code == PaymentMethod.DINHEIRO.value else Decimal(0)
        left -= given
        net.append((code, amount - given))
    return net
