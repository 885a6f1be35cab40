"""Payment methods (``detPag/tPag``) and the names a cashier or a SALE.json uses for them."""

from __future__ import annotations

from enum import StrEnum

from posapp.domain.errors import InvalidSale


class PaymentMethod(StrEnum):
    """tPag codes of the NF-e layout 4.00 (NT 2020.006 and NT 2023.004 included)."""

    DINHEIRO = "01"
    CHEQUE = "02"
    CREDITO = "03"
    DEBITO = "04"
    CREDITO_LOJA = "05"
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
    SEM_PAGAMENTO = "90"
    OUTROS = "99"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_card(self) -> bool:
        return self in (PaymentMethod.CREDITO, PaymentMethod.DEBITO)


_LABELS = {
    PaymentMethod.DINHEIRO: "Dinheiro",
    PaymentMethod.CHEQUE: "Cheque",
    PaymentMethod.CREDITO: "Cartão de Crédito",
    PaymentMethod.DEBITO: "Cartão de Débito",
    PaymentMethod.CREDITO_LOJA: "Crédito Loja",
    PaymentMethod.VALE_ALIMENTACAO: "Vale Alimentação",
    PaymentMethod.VALE_REFEICAO: "Vale Refeição",
    PaymentMethod.VALE_PRESENTE: "Vale Presente",
    PaymentMethod.VALE_COMBUSTIVEL: "Vale Combustível",
    PaymentMethod.BOLETO: "Boleto Bancário",
    PaymentMethod.DEPOSITO: "Depósito Bancário",
    PaymentMethod.PIX: "PIX",
    PaymentMethod.TRANSFERENCIA: "Transferência bancária",
    PaymentMethod.FIDELIDADE: "Programa de fidelidade",
    PaymentMethod.PIX_ESTATICO: "PIX Estático",
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
    "pix": PaymentMethod.PIX,
    "pix_estatico": PaymentMethod.PIX_ESTATICO,
    "vale_alimentacao": PaymentMethod.VALE_ALIMENTACAO,
    "vale_refeicao": PaymentMethod.VALE_REFEICAO,
    "vale_presente": PaymentMethod.VALE_PRESENTE,
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
