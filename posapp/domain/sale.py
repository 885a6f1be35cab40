"""A sale as the fiscal flow sees it: items, payments, consumer, and its totals.

A :class:`Sale` is immutable and validated on construction: a sale that exists can be
turned into an NFC-e request. Building one from loose data (``SALE.json``, the cart) goes
through :meth:`Sale.from_mapping`, whose errors speak Portuguese.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from posapp.domain.documents import validate_cpf_or_cnpj
from posapp.domain.errors import DomainError, InvalidSale
from posapp.domain.money import ZERO, line_total, round_money, round_quantity, to_decimal
from posapp.domain.payments import PaymentMethod, parse_payment_method

SEM_GTIN = "SEM GTIN"
_GTIN = re.compile(r"^([0-9]{8}|[0-9]{12,14})$")
_NCM = re.compile(r"^([0-9]{8}|00)$")
_CFOP = re.compile(r"^[0-9]{4}$")
_CEST = re.compile(r"^[0-9]{7}$")


def gtin_is_valid(code: str) -> bool:
    """GTIN-8/12/13/14 length and mod-10 check digit."""
    if not _GTIN.match(code):
        return False
    body, check = code[:-1], int(code[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Item(_Frozen):
    """One line of the sale (``det/prod``)."""

    code: str = Field(min_length=1, max_length=60)
    gtin: str = SEM_GTIN
    description: str = Field(min_length=1, max_length=120)
    ncm: str
    cfop: str = "5102"
    cest: str | None = None
    unit: str = Field(default="UN", min_length=1, max_length=6)
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = ZERO
    origin: int = Field(default=0, ge=0, le=8)

    @field_validator("quantity", "unit_price", "discount", mode="before")
    @classmethod
    def _decimal(cls, value: object) -> Decimal:
        return to_decimal(value)

    @field_validator("gtin", mode="before")
    @classmethod
    def _gtin(cls, value: object) -> str:
        text = str(value or "").strip()
        if not text or text.upper() == SEM_GTIN:
            return SEM_GTIN
        if not gtin_is_valid(text):
            raise ValueError(f"GTIN '{text}' inválido (8, 12, 13 ou 14 dígitos com dígito verificador)")
        return text

    @field_validator("ncm", mode="before")
    @classmethod
    def _ncm(cls, value: object) -> str:
        text = str(value or "").replace(".", "").strip()
        if not _NCM.match(text):
            raise ValueError("NCM deve ter 8 dígitos (cadastre o NCM do produto)")
        return text

    @field_validator("cfop", mode="before")
    @classmethod
    def _cfop(cls, value: object) -> str:
        text = str(value).replace(".", "").strip()
        if not _CFOP.match(text):
            raise ValueError("CFOP deve ter 4 dígitos")
        return text

    @field_validator("cest", mode="before")
    @classmethod
    def _cest(cls, value: object) -> str | None:
        if value is None or str(value).strip() == "":
            return None
        text = str(value).replace(".", "").strip()
        if not _CEST.match(text):
            raise ValueError("CEST deve ter 7 dígitos")
        return text

    @model_validator(mode="after")
    def _amounts(self) -> Item:
        if self.quantity <= 0:
            raise ValueError("quantidade deve ser maior que zero")
        if round_quantity(self.quantity) != self.quantity:
            raise ValueError("quantidade aceita no máximo 4 casas decimais")
        if self.unit_price < 0:
            raise ValueError("preço unitário não pode ser negativo")
        if self.discount < 0 or round_money(self.discount) != self.discount:
            raise ValueError("desconto deve ser positivo, em centavos")
        if self.discount >= self.gross_total and self.gross_total > 0:
            raise ValueError("desconto deve ser menor que o valor do item")
        return self

    @property
    def gross_total(self) -> Decimal:
        """``vProd``: quantity x unit price, rounded to centavos."""
        return line_total(self.quantity, self.unit_price)

    @property
    def net_total(self) -> Decimal:
        return self.gross_total - self.discount


class CardDetails(_Frozen):
    """The ``card`` group of a card (or TEF PIX) payment."""

    integration: int = Field(default=2, ge=1, le=2)  # 1 integrated TEF, 2 POS machine apart
    acquirer_cnpj: str | None = None
    brand: str | None = None  # tBand: "01" Visa, "02" Mastercard...
    authorization: str | None = Field(default=None, max_length=20)


class Payment(_Frozen):
    method: PaymentMethod
    amount: Decimal
    card: CardDetails | None = None

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: object) -> PaymentMethod:
        if isinstance(value, PaymentMethod):
            return value
        return parse_payment_method(str(value))

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: object) -> Decimal:
        return to_decimal(value, field="valor do pagamento")

    @model_validator(mode="after")
    def _positive(self) -> Payment:
        if self.amount <= 0 or round_money(self.amount) != self.amount:
            raise ValueError("valor do pagamento deve ser positivo, em centavos")
        return self


class Customer(_Frozen):
    """The identified consumer (``dest``); CPF or CNPJ, digits only once validated."""

    document: str
    name: str | None = Field(default=None, max_length=60)

    @field_validator("document", mode="before")
    @classmethod
    def _document(cls, value: object) -> str:
        return validate_cpf_or_cnpj(str(value))

    @property
    def is_company(self) -> bool:
        return len(self.document) == 14


def new_sale_id() -> str:
    """A stable identity for a sale, used as Focus ``ref`` and in every request."""
    return uuid.uuid4().hex


class Sale(_Frozen):
    """A finished sale ready to become an NFC-e. Validated on construction."""

    sale_id: str = Field(default_factory=new_sale_id, pattern=r"^[0-9a-zA-Z_-]{1,64}$")
    items: tuple[Item, ...] = Field(min_length=1, max_length=990)
    payments: tuple[Payment, ...] = Field(min_length=1, max_length=100)
    customer: Customer | None = None
    operator: str | None = None

    @model_validator(mode="after")
    def _paid(self) -> Sale:
        total = self.total
        paid = self.paid
        if paid < total:
            raise ValueError(f"pagamento insuficiente: faltam R$ {total - paid}")
        non_cash = sum((p.amount for p in self.payments if p.method != PaymentMethod.DINHEIRO), ZERO)
        if non_cash > total:
            raise ValueError(
                "troco só pode sair de dinheiro: pagamentos que não são em dinheiro excedem o total"
            )
        return self

    @property
    def gross_total(self) -> Decimal:
        """``vProd`` of the note."""
        return sum((i.gross_total for i in self.items), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((i.discount for i in self.items), ZERO)

    @property
    def total(self) -> Decimal:
        """``vNF``: what the consumer pays."""
        return self.gross_total - self.discount_total

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)

    @property
    def change(self) -> Decimal:
        """``vTroco``: only cash gives change (checked on construction)."""
        return self.paid - self.total

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, sale_id: str | None = None) -> Sale:
        """Build from ``SALE.json``-shaped data; errors become one :class:`InvalidSale`."""
        payload = dict(data)
        if sale_id is not None:
            payload["sale_id"] = sale_id
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise InvalidSale(str(exc), user_message=describe_validation_error(exc)) from None
        except DomainError as exc:
            raise InvalidSale(str(exc), user_message=exc.user_message) from None


_FIELD_NAMES = {
    "items": "item",
    "payments": "pagamento",
    "customer": "consumidor",
    "document": "documento",
    "ncm": "NCM",
    "cfop": "CFOP",
    "gtin": "GTIN",
    "description": "descrição",
    "quantity": "quantidade",
    "unit_price": "preço unitário",
    "amount": "valor",
    "method": "forma",
}


def describe_validation_error(exc: ValidationError) -> str:
    """A pydantic error list as short Portuguese lines (``item 2, NCM: ...``)."""
    lines = []
    for err in exc.errors():
        place: list[str] = []
        for part in err["loc"]:
            if isinstance(part, int):
                if place:
                    place[-1] = f"{place[-1]} {part + 1}"
            else:
                place.append(_FIELD_NAMES.get(str(part), str(part)))
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{', '.join(place) or 'venda'}: {message}")
    return "\n".join(lines)
