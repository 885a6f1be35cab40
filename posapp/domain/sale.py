"""A sale as the fiscal flow sees it: items, payments, consumer, and its totals.

A :class:`Sale` is immutable and validated on construction: a sale that exists can be
turned into an NFC-e request. Every way in goes through the same rules: ``SALE.json``
(:mod:`posapp.domain.sale_file` reads the bytes, then :meth:`Sale.from_mapping`) and the
GUI's cart (:meth:`Sale.from_mapping` with the cart's items). Their errors become one
:class:`InvalidSale` whose ``user_message`` is Portuguese, one line per problem naming the
field as ``itens[1].quantidade`` (1-based), never pydantic's English.

The rules are the NF-e 4.00 layout's (MOC 7.0, Anexo I) and the NFC-e's rejections:

* numbers are finite and fit their layout size: ``qCom`` 11v4, ``vUnCom`` 11v10 (more
  decimals are rounded half up to 10, as the wire carries them), ``vProd``, ``vDesc``,
  ``vPag`` and the note's totals 13v2; quantities and unit prices above zero, an item
  total of at least R$ 0,01 after rounding, a discount smaller than its item (I17-10, 483);
* discounts: an item's in value (``discount``) or in percent (``discount_percent``, turned
  into centavos half up), and one of the whole sale (``discount``: ``{"value": "5.00"}`` or
  ``{"percent": "10"}``), apportioned to the items' ``vDesc`` by
  :func:`~posapp.domain.discounts.apportion` so that they add up to it to the cent; every
  item keeps at least R$ 0,01;
* CFOP one of the NFC-e's (I08-150, 725), see :data:`NFCE_CFOPS`;
* GTIN 8, 12, 13 or 14 digits with its GS1 check digit and not all zeros (I03-10, 611), or
  ``SEM GTIN``; NCM 8 digits; CEST 7;
* card data (``card``) only on card payments; change only from cash.

Sales read back from the journal were validated when they came in; :meth:`Sale.from_stored_json`
reads them without the rules added since (a sale stored under older rules stays readable).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from posapp.domain.discounts import apportion, max_sale_discount, percent_of
from posapp.domain.documents import UF_CODES, only_digits, validate_cnpj, validate_cpf_or_cnpj
from posapp.domain.errors import DomainError, InvalidSale
from posapp.domain.money import (
    MAX_NUMBER_CHARS,
    PERCENT,
    QCOM,
    V13_2,
    VUNCOM,
    ZERO,
    LayoutSize,
    format_brl,
    layout_problem,
    line_total,
    round_unit_price,
    to_decimal,
)
from posapp.domain.payments import PaymentMethod, parse_payment_method
from posapp.domain.taxes import ItemTax, TaxFieldError

SEM_GTIN = "SEM GTIN"
_GTIN = re.compile(r"[0-9]{8}|[0-9]{12,14}")  # with fullmatch: "$" would let a final "\n" in
_NCM = re.compile(r"^[0-9]{8}$")
_CFOP = re.compile(r"^[0-9]{4}$")
_CEST = re.compile(r"^[0-9]{7}$")
_CITY_CODE = re.compile(r"^[0-9]{7}$")
_CEP = re.compile(r"^[0-9]{8}$")
_PHONE = re.compile(r"^[0-9]{6,14}$")
_FOREIGN_ID = re.compile(r"^[0-9A-Z]{5,20}$")

#: The CFOPs an NFC-e accepts (MOC 7.0, Anexo I, rule I08-150, rejection 725; NT 2013/005
#: v1.20 and NT 2015.002): sales inside the state to a final consumer.
NFCE_CFOPS: Final = frozenset({"5101", "5102", "5103", "5104", "5115", "5405", "5656", "5667", "5933"})
#: 5933 (a service taxed by ISSQN) needs the ``ISSQN`` tax group (rule I08-160, rejection
#: 374), which no request posapp builds carries: refused here, with its own message.
CFOP_SERVICE: Final = "5933"
ISSUABLE_CFOPS: Final = NFCE_CFOPS - {CFOP_SERVICE}

#: The context key that marks a sale read back from the journal (:meth:`Sale.from_stored_json`).
STORED: Final = "posapp.stored"


class SaleFieldError(ValueError):
    """A rule broken by one field, raised inside a validator: ``str()`` is Portuguese and,
    when the check runs on the whole item or sale, ``field`` names the field it is about."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _entry(info: ValidationInfo) -> bool:
    """Whether the rules of a new sale apply (not a sale read back from the journal)."""
    context = info.context
    return not (isinstance(context, Mapping) and context.get(STORED))


def shown(value: object, limit: int = 24) -> str:
    """A value as a message may echo it: short, on one line, printable."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text[: limit + 1])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_number(value: Decimal) -> str:
    """``Decimal("0.0010000000")`` -> ``0,001``: a bounded number as a person writes it."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


def gtin_is_valid(code: str) -> bool:
    """GTIN-8/12/13/14 length and GS1 mod-10 check digit (all zeros is no GTIN). Fast: the
    catalog's CSV import checks every row with it."""
    if not _GTIN.fullmatch(code) or not code.strip("0"):
        return False
    body = code[-2::-1]  # without the check digit, right to left: weights 3, 1, 3, 1...
    total = 3 * sum(map(int, body[::2])) + sum(map(int, body[1::2]))
    return (10 - total % 10) % 10 == int(code[-1])


def _number(value: object) -> Decimal:
    """A JSON number, a numeric string (``"4,99"`` too) or a Decimal -> a finite Decimal,
    or :class:`SaleFieldError` in Portuguese. Never does arithmetic on what it was given."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal, float)):
        raise SaleFieldError('deve ser um número (texto como "4.99" ou número JSON)')
    if isinstance(value, float):
        raise SaleFieldError(f'número {shown(value)} sem precisão exata: escreva-o como texto, como "4.99"')
    if isinstance(value, str) and len(value.strip()) > MAX_NUMBER_CHARS:
        raise SaleFieldError("número longo demais")
    if isinstance(value, int) and value.bit_length() > 128:
        raise SaleFieldError("número grande demais")
    try:
        number = to_decimal(value)
    except DomainError:
        raise SaleFieldError(f"'{shown(value)}' não é um número") from None
    return number


def _sized(value: Decimal, size: LayoutSize, *, positive: bool) -> Decimal:
    """``value`` if it is above zero (``positive``) or not negative, and fits ``size``."""
    if positive and value <= 0:
        raise SaleFieldError("deve ser maior que zero")
    if not positive and value < 0:
        raise SaleFieldError("não pode ser negativo")
    problem = layout_problem(value, size)
    if problem is not None:
        raise SaleFieldError(problem)
    return value


def _percent(value: object) -> Decimal:
    """A discount in percent: above zero, below 100, at most two decimals."""
    number = _number(value)
    if number <= 0:
        raise SaleFieldError("deve ser maior que zero")
    if number >= 100:
        raise SaleFieldError("deve ser menor que 100 (um desconto não pode levar o item inteiro)")
    problem = layout_problem(number, PERCENT)
    if problem is not None:
        raise SaleFieldError(problem)
    return number


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    def replaced(self, **changes: Any) -> Self:
        """``model_copy(update=changes)`` without its general machinery (three shallow copies,
        the ``extra`` and private-attribute cases), for the one path that copies at every
        sale: the store's tax registries completed before a sale is stored, on the event
        loop. These models are frozen, forbid extras and have no private attributes, so a
        copy is the fields' dict with the changes. Not validated, as ``model_copy`` is not;
        ``tests/domain/test_taxes.py`` checks it equals ``model_copy``'s result."""
        cls = type(self)
        copy = cls.__new__(cls)
        setattr_ = object.__setattr__  # the frozen model's own __setattr__ refuses
        setattr_(copy, "__dict__", {**self.__dict__, **changes})
        setattr_(copy, "__pydantic_fields_set__", self.__pydantic_fields_set__ | changes.keys())
        setattr_(copy, "__pydantic_extra__", None)
        setattr_(copy, "__pydantic_private__", None)
        return copy


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
    discount: Decimal = ZERO  # vDesc of the line: its own discount plus its share of the sale's
    #: The item's own discount in percent (SALE.json, the cart); ``discount`` is computed from it.
    discount_percent: Decimal | None = None
    #: The part of ``discount`` that is this line's share of the sale's discount (computed).
    sale_discount: Decimal = ZERO
    origin: int = Field(default=0, ge=0, le=8)
    #: The item's tax registry (``domain/taxes.py``); the store's defaults fill what it lacks.
    tax: ItemTax | None = None

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, value: object, info: ValidationInfo) -> Decimal:
        number = _number(value)
        if number <= 0:
            raise SaleFieldError("deve ser maior que zero")
        if not _entry(info):
            return number
        return _sized(number, QCOM, positive=True)

    @field_validator("unit_price", mode="before")
    @classmethod
    def _unit_price(cls, value: object, info: ValidationInfo) -> Decimal:
        number = _number(value)
        if number < 0:
            raise SaleFieldError("não pode ser negativo")
        if not _entry(info):
            return number
        exponent = number.as_tuple().exponent
        more_decimals = isinstance(exponent, int) and exponent < -VUNCOM.decimals
        if more_decimals and number > 0 and number.adjusted() < VUNCOM.integer_digits:
            number = round_unit_price(number)  # vUnCom carries 10 decimals: round as the wire does
        return _sized(number, VUNCOM, positive=True)

    @field_validator("discount", "sale_discount", mode="before")
    @classmethod
    def _discount(cls, value: object) -> Decimal:
        number = _number(value)
        if number < 0:
            raise SaleFieldError("não pode ser negativo")
        return _sized(number, V13_2, positive=False)

    @field_validator("discount_percent", mode="before")
    @classmethod
    def _discount_percent(cls, value: object) -> Decimal | None:
        if value is None:
            return None
        return _percent(value)

    @field_validator("gtin", mode="before")
    @classmethod
    def _gtin(cls, value: object, info: ValidationInfo) -> str:
        if value is None or (
            isinstance(value, str) and (not value.strip() or value.strip().upper() == SEM_GTIN)
        ):
            return SEM_GTIN
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SaleFieldError('deve ser o código de barras (texto) ou "SEM GTIN"')
        text = str(value).strip()
        if _GTIN.fullmatch(text) and not text.strip("0"):
            if not _entry(info):
                return text  # stored before all-zeros was refused
            raise SaleFieldError(
                f'GTIN {text} (só zeros) não existe: use "SEM GTIN" se o produto não tem código'
            )
        if not gtin_is_valid(text):
            raise SaleFieldError(
                f"GTIN '{shown(text)}' inválido: deve ter 8, 12, 13 ou 14 dígitos com o dígito "
                'verificador GS1, ou ser "SEM GTIN"'
            )
        return text

    @field_validator("ncm", mode="before")
    @classmethod
    def _ncm(cls, value: object, info: ValidationInfo) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SaleFieldError("deve ter 8 dígitos (cadastre o NCM do produto)")
        text = str(value).replace(".", "").strip()
        if not _entry(info) and text == "00":
            return text
        if not _NCM.match(text):
            raise SaleFieldError("deve ter 8 dígitos (cadastre o NCM do produto)")
        return text

    @field_validator("cfop", mode="before")
    @classmethod
    def _cfop(cls, value: object, info: ValidationInfo) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SaleFieldError("CFOP deve ter 4 dígitos, como 5102")
        text = str(value).replace(".", "").strip()
        if not _CFOP.match(text):
            raise SaleFieldError(f"CFOP '{shown(text)}' deve ter 4 dígitos, como 5102")
        if not _entry(info):
            return text
        allowed = ", ".join(sorted(ISSUABLE_CFOPS))
        if text == CFOP_SERVICE:
            raise SaleFieldError(
                "CFOP 5933 (serviço tributado pelo ISSQN) exige o grupo ISSQN, que o posapp não "
                f"emite; para mercadorias use um de: {allowed}"
            )
        if text not in NFCE_CFOPS:
            where = "" if text.startswith("5") else " (a NFC-e é só para venda dentro do estado: 5.xxx)"
            raise SaleFieldError(f"CFOP {text} não é aceito na NFC-e{where}; use um de: {allowed}")
        return text

    @field_validator("cest", mode="before")
    @classmethod
    def _cest(cls, value: object) -> str | None:
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SaleFieldError("CEST deve ter 7 dígitos")
        text = str(value).replace(".", "").strip()
        if not _CEST.match(text):
            raise SaleFieldError("CEST deve ter 7 dígitos")
        return text

    @model_validator(mode="wrap")
    @classmethod
    def _amounts(cls, data: Any, handler: ModelWrapValidatorHandler[Item], info: ValidationInfo) -> Item:
        item = handler(data)
        entry = _entry(info)
        if entry:
            item = item._with_percent()
        return item._checked(entry)

    def _with_percent(self) -> Item:
        """The own discount computed from ``discount_percent`` (half up, to the cent)."""
        if self.sale_discount > self.discount:
            raise SaleFieldError(
                "a parte do desconto da venda não pode passar do desconto do item", field="sale_discount"
            )
        if self.discount_percent is None:
            return self
        own = percent_of(self.gross_total, self.discount_percent)
        given = self.discount - self.sale_discount
        if given not in (ZERO, own):
            raise SaleFieldError(
                "informe o desconto em valor (desconto) ou em percentual (desconto_percentual), não os dois",
                field="discount",
            )
        return self.model_copy(update={"discount": own + self.sale_discount})

    def _checked(self, entry: bool) -> Item:
        gross = self.gross_total
        if entry:
            if gross < Decimal("0.01"):
                raise SaleFieldError(
                    f"o total do item ({plain_number(self.quantity)} × R$ {plain_number(self.unit_price)}) "
                    "arredonda para R$ 0,00; o mínimo é R$ 0,01",
                    field="unit_price",
                )
            problem = layout_problem(gross, V13_2)
            if problem is not None:
                raise SaleFieldError(
                    f"o total do item (vProd) passa do limite da NF-e: {problem}", field="quantity"
                )
        if self.discount > 0 and self.discount >= gross:
            what = "" if self.discount_percent is None else f" ({plain_number(self.discount_percent)} %)"
            raise SaleFieldError(
                f"R$ {format_brl(self.discount)}{what} deve ser menor que o valor do item "
                f"(R$ {format_brl(gross)}): o item fica com pelo menos R$ 0,01",
                field="discount_percent" if what and self.sale_discount == 0 else "discount",
            )
        return self

    @property
    def own_discount(self) -> Decimal:
        """The item's own discount (``discount`` less its share of the sale's)."""
        return self.discount - self.sale_discount

    @property
    def gross_total(self) -> Decimal:
        """``vProd``: quantity x unit price, rounded to centavos."""
        return line_total(self.quantity, self.unit_price)

    @property
    def net_total(self) -> Decimal:
        return self.gross_total - self.discount


#: tBand (NT 2023.004): 01 Visa, 02 Mastercard, 03 American Express, 04 Sorocred, 05 Diners,
#: 06 Elo, 07 Hipercard, 08 Aura, 09 Cabal, 10 Alelo, 11 Banes Card, 12 CalCard, 13 Credz,
#: 14 Discover, 15 GoodCard, 16 GreenCard, 17 Hiper, 18 JCB, 19 Mais, 20 MaxVan, 21 Policard,
#: 22 RedeCompras, 23 Sodexo, 24 ValeCard, 25 Verocheque, 26 VR, 27 Ticket, 99 outras.
CARD_BRANDS: Final = frozenset({f"{n:02d}" for n in range(1, 28)} | {"99"})
_AUTHORIZATION = re.compile(r"^[0-9A-Za-z-]{1,128}$")
#: xPag, the description of a tPag 99 payment (NT 2020.006): 2-60 characters.
DESCRIPTION_MIN: Final = 2
DESCRIPTION_MAX: Final = 60
#: Above this total (vNF) the consumer must be identified (document and name); see
#: :mod:`posapp.domain.sale_rules`.
IDENTIFY_ABOVE: Final = Decimal("10000.00")


class CardDetails(_Frozen):
    """The ``card`` group of a payment (``detPag/card``): tpIntegra, the acquirer's CNPJ,
    tBand and cAut. With ``integration`` 1 (TEF integrated to the till) the layout requires
    the other three; some states require them for every card (:mod:`posapp.domain.sale_rules`)."""

    integration: int = Field(default=2, ge=1, le=2)  # 1 integrated TEF, 2 POS machine apart
    acquirer_cnpj: str | None = None
    brand: str | None = None  # tBand: "01" Visa, "02" Mastercard...
    authorization: str | None = Field(default=None, max_length=20)

    @field_validator("acquirer_cnpj", mode="before")
    @classmethod
    def _acquirer(cls, value: object, info: ValidationInfo) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise SaleFieldError("CNPJ da credenciadora deve ser um texto com 14 caracteres")
        if not _entry(info):
            return value.strip()
        try:
            return validate_cnpj(value)
        except DomainError:
            raise SaleFieldError(
                "CNPJ da credenciadora inválido: 14 caracteres com o dígito verificador (ou deixe em branco)"
            ) from None

    @field_validator("brand", mode="before")
    @classmethod
    def _brand(cls, value: object, info: ValidationInfo) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SaleFieldError(
                'bandeira deve ser o código tBand de 2 dígitos ("01" Visa, "02" Mastercard…)'
            )
        text = str(value).strip()
        if _entry(info) and text not in CARD_BRANDS:
            raise SaleFieldError(
                f"bandeira '{shown(text)}' desconhecida: use o código tBand (01 Visa, 02 Mastercard, "
                "03 Amex, 06 Elo, 07 Hipercard… até 27, ou 99 outras)"
            )
        return text

    @field_validator("authorization", mode="before")
    @classmethod
    def _authorization(cls, value: object, info: ValidationInfo) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SaleFieldError("autorização deve ser o código da transação (texto)")
        text = str(value).strip()
        if _entry(info) and not _AUTHORIZATION.match(text):
            raise SaleFieldError("autorização (cAut) só com letras, dígitos e '-'")
        return text

    @model_validator(mode="after")
    def _integrated(self, info: ValidationInfo) -> CardDetails:
        if self.integration == 1 and _entry(info):
            missing = [
                name
                for name, value in (
                    ("cnpj_credenciadora", self.acquirer_cnpj),
                    ("bandeira", self.brand),
                    ("autorizacao", self.authorization),
                )
                if not value
            ]
            if missing:
                raise SaleFieldError(
                    "pagamento integrado ao TEF (tipo_integracao 1) exige CNPJ da credenciadora, "
                    f"bandeira e autorização; faltam: {', '.join(missing)}"
                )
        return self

    @property
    def complete(self) -> bool:
        """The acquirer's CNPJ, the brand and the authorization are all given."""
        return bool(self.acquirer_cnpj and self.brand and self.authorization)


class Payment(_Frozen):
    """One ``detPag``: tPag, the amount tendered (vPag), xPag for 99, the card group."""

    method: PaymentMethod
    amount: Decimal
    card: CardDetails | None = None
    #: xPag: what an "Outros" (99) payment was, 2-60 characters; required for 99 only.
    description: str | None = None

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: object) -> PaymentMethod:
        if isinstance(value, PaymentMethod):
            return value
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SaleFieldError('forma de pagamento deve ser um nome, como "dinheiro", ou um código tPag')
        try:
            return parse_payment_method(str(value)[:MAX_NUMBER_CHARS])
        except DomainError:
            raise SaleFieldError(
                f"forma de pagamento desconhecida: '{shown(value)}'; use dinheiro, credito, debito, pix, "
                "pix_estatico, vale_alimentacao, vale_refeicao, credito_loja, sem_pagamento, outros, "
                "ou um código tPag (01-05, 10-13, 15-22, 90, 99)"
            ) from None

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: object) -> Decimal:
        number = _number(value)
        if number < 0:  # zero is checked with the method: only 90 (sem pagamento) takes it
            raise SaleFieldError("deve ser maior que zero")
        return _sized(number, V13_2, positive=False)

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise SaleFieldError('descrição deve ser um texto, como "Cashback do app"')
        text = " ".join(value.split())
        if not text:
            return None
        if not DESCRIPTION_MIN <= len(text) <= DESCRIPTION_MAX:
            raise SaleFieldError(
                f"descrição do pagamento (xPag) deve ter de {DESCRIPTION_MIN} a {DESCRIPTION_MAX} "
                f"caracteres (tem {len(text)})"
            )
        return text

    @model_validator(mode="after")
    def _rules_of_its_code(self, info: ValidationInfo) -> Payment:
        method = self.method
        if method.is_no_payment:
            if self.amount != 0:
                raise SaleFieldError(
                    f"'sem pagamento' (90) tem valor zero; informe 0 ou use a forma de pagamento real "
                    f"(valor informado: R$ {format_brl(self.amount)})",
                    field="amount",
                )
        elif self.amount <= 0:
            raise SaleFieldError("deve ser maior que zero", field="amount")
        if not _entry(info):
            return self
        if method.needs_description and self.description is None:
            raise SaleFieldError(
                "forma 'outros' (99) exige a descrição do pagamento (2 a 60 caracteres), "
                'como "description": "Cashback do app"',
                field="description",
            )
        if self.description is not None and not method.needs_description:
            raise SaleFieldError(
                f"descrição só em pagamento 'outros' (99); esta forma é {method.label}",
                field="description",
            )
        if self.card is not None and not method.is_card:
            raise SaleFieldError(
                "dados de cartão só em pagamento com cartão (crédito ou débito); "
                f"esta forma é {method.label}",
                field="card",
            )
        return self

    @property
    def label(self) -> str:
        """What the DANFE and the screens call it: the description of an "Outros"."""
        return self.description or self.method.label


class Address(_Frozen):
    """The consumer's address (``dest/enderDest``): required for a delivery sale."""

    street: str = Field(min_length=2, max_length=60)  # xLgr
    number: str = Field(min_length=1, max_length=60)  # nro ("S/N" when none)
    complement: str | None = Field(default=None, max_length=60)  # xCpl
    district: str = Field(min_length=2, max_length=60)  # xBairro
    city_code: str  # cMun, IBGE 7 digits
    city: str = Field(min_length=2, max_length=60)  # xMun
    uf: str  # UF
    cep: str  # CEP, 8 digits (optional in the layout; Emites-Client's schema requires it)
    phone: str | None = None  # fone, 6-14 digits

    @field_validator("city_code", mode="before")
    @classmethod
    def _city_code(cls, value: object) -> str:
        text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        if not _CITY_CODE.match(text):
            raise SaleFieldError("código IBGE do município deve ter 7 dígitos, como 5300108 (Brasília)")
        return text

    @field_validator("uf", mode="before")
    @classmethod
    def _uf(cls, value: object) -> str:
        text = value.strip().upper() if isinstance(value, str) else ""
        if text not in UF_CODES:
            raise SaleFieldError("UF deve ser a sigla de um estado, como DF ou SP")
        return text

    @field_validator("cep", mode="before")
    @classmethod
    def _cep(cls, value: object) -> str:
        text = only_digits(value) if isinstance(value, str) else ""
        if not _CEP.match(text):
            raise SaleFieldError("CEP deve ter 8 dígitos, como 70040-010")
        return text

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: object) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = re.sub(r"[\s()+-]", "", value) if isinstance(value, str) else ""
        if not _PHONE.match(text):
            raise SaleFieldError("telefone deve ter de 6 a 14 dígitos, com o DDD")
        return text

    def one_line(self) -> str:
        """``Rua X, 10, apto 2, Centro, Brasília - DF`` as the DANFE prints it."""
        street = ", ".join(p for p in (self.street, self.number, self.complement) if p)
        return f"{street}, {self.district}, {self.city} - {self.uf}"


class Customer(_Frozen):
    """The identified consumer (``dest``): a CPF, a CNPJ (numeric or alphanumeric) or a
    foreign id (idEstrangeiro), exactly one; name and address when given or required."""

    document: str | None = None
    foreign_id: str | None = None
    name: str | None = Field(default=None, max_length=60)
    address: Address | None = None

    @field_validator("document", mode="before")
    @classmethod
    def _document(cls, value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise SaleFieldError('CPF ou CNPJ deve ser um texto, como "529.982.247-25"')
        try:
            return validate_cpf_or_cnpj(value)
        except DomainError as exc:
            raise SaleFieldError(exc.user_message) from None

    @field_validator("foreign_id", mode="before")
    @classmethod
    def _foreign(cls, value: object) -> str | None:
        if value is None:
            return None
        # Letters and digits, upper case: what Emites-Client's document pattern takes.
        text = re.sub(r"[\s./-]", "", value).upper() if isinstance(value, str) else ""
        if not _FOREIGN_ID.match(text):
            raise SaleFieldError(
                "documento de estrangeiro (passaporte ou outro) deve ter de 5 a 20 letras ou dígitos"
            )
        return text

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        text = " ".join(value.split())
        if text and len(text) < 2 and _entry(info):
            raise SaleFieldError("nome do consumidor deve ter de 2 a 60 caracteres")
        return text or None

    @model_validator(mode="after")
    def _one_id(self) -> Customer:
        if (self.document is None) == (self.foreign_id is None):
            raise SaleFieldError(
                "informe um documento do consumidor: CPF/CNPJ (document) ou, para estrangeiro, "
                "foreign_id; não os dois",
                field="document",
            )
        return self

    @property
    def is_company(self) -> bool:
        return self.document is not None and len(self.document) == 14

    @property
    def is_foreign(self) -> bool:
        return self.foreign_id is not None

    @property
    def identifier(self) -> str:
        """The document or the foreign id, whichever identifies the consumer."""
        return self.document or self.foreign_id or ""


class SaleDiscount(_Frozen):
    """The discount of the whole sale (SALE.json ``discount``): ``value`` in reais or
    ``percent`` of the items' total after their own discounts; exactly one of the two."""

    value: Decimal | None = None
    percent: Decimal | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value: object) -> Decimal | None:
        if value is None:
            return None
        return _sized(_number(value), V13_2, positive=True)

    @field_validator("percent", mode="before")
    @classmethod
    def _percent(cls, value: object) -> Decimal | None:
        if value is None:
            return None
        return _percent(value)

    @model_validator(mode="after")
    def _one(self) -> SaleDiscount:
        if (self.value is None) == (self.percent is None):
            raise SaleFieldError(
                'informe o desconto da venda em valor ({"value": "5.00"}) ou em percentual '
                '({"percent": "10"}): um dos dois'
            )
        return self

    def amount(self, base: Decimal) -> Decimal:
        """The discount in reais on a sale whose items come to ``base`` (after their own)."""
        return self.value if self.value is not None else percent_of(base, self.percent or ZERO)


def new_sale_id() -> str:
    """A stable identity for a sale, used as Focus ``ref`` and in every request."""
    return uuid.uuid4().hex


class Sale(_Frozen):
    """A finished sale ready to become an NFC-e. Validated on construction."""

    sale_id: str = Field(default_factory=new_sale_id, pattern=r"^[0-9a-zA-Z_-]{1,64}$")
    items: tuple[Item, ...] = Field(min_length=1, max_length=990)
    payments: tuple[Payment, ...] = Field(min_length=1, max_length=100)
    customer: Customer | None = None
    operator: str | None = Field(default=None, max_length=60)
    #: A discount of the whole sale, apportioned to the items' ``vDesc`` on construction.
    discount: SaleDiscount | None = None
    #: Delivered to the consumer's address (indPres 4): the consumer's name and address are
    #: then required (:mod:`posapp.domain.sale_rules`).
    delivery: bool = False

    @model_validator(mode="wrap")
    @classmethod
    def _paid(cls, data: Any, handler: ModelWrapValidatorHandler[Sale], info: ValidationInfo) -> Sale:
        sale = handler(data)
        entry = _entry(info)
        if entry:
            sale = sale._apportioned()
        return sale._checked(entry)

    def _apportioned(self) -> Sale:
        """The sale's discount spread over its items (:func:`apportion`), recomputed from
        each item's own discount, so building a sale twice gives the same items."""
        if self.discount is None and not any(i.sale_discount for i in self.items):
            return self
        nets = [i.gross_total - i.own_discount for i in self.items]
        amount = self.discount.amount(sum(nets, ZERO)) if self.discount is not None else ZERO
        most = max_sale_discount(nets)
        if amount > most:
            raise SaleFieldError(
                f"R$ {format_brl(amount)} deixaria item abaixo de R$ 0,01: o máximo nesta venda "
                f"é R$ {format_brl(most)}",
                field="discount",
            )
        shares = apportion(amount, nets)
        items = tuple(
            item.model_copy(update={"discount": item.own_discount + share, "sale_discount": share})
            for item, share in zip(self.items, shares, strict=True)
        )
        return self.model_copy(update={"items": items})

    def _checked(self, entry: bool) -> Sale:
        total = self.total
        if entry:
            for value, field, what in (
                (self.gross_total, "items", "a soma dos itens (vProd)"),
                (self.discount_total, "items", "a soma dos descontos (vDesc)"),
                (self.paid, "payments", "a soma dos pagamentos"),
            ):
                problem = layout_problem(value, V13_2)
                if problem is not None:
                    raise SaleFieldError(f"{what} passa do limite da NF-e: {problem}", field=field)
        no_payment = [p for p in self.payments if p.method.is_no_payment]
        if no_payment and len(self.payments) > 1:
            raise SaleFieldError(
                "'sem pagamento' (90) não se combina com outras formas: use-o sozinho, com valor zero",
                field="payments",
            )
        paid = self.paid
        if not no_payment and paid < total:
            raise SaleFieldError(
                f"pagamento insuficiente: faltam R$ {format_brl(total - paid)} "
                f"(total R$ {format_brl(total)}, pago R$ {format_brl(paid)})",
                field="payments",
            )
        non_cash = sum((p.amount for p in self.payments if p.method != PaymentMethod.DINHEIRO), ZERO)
        if non_cash > total:
            raise SaleFieldError(
                "troco só pode sair de dinheiro: pagamentos que não são em dinheiro excedem o total",
                field="payments",
            )
        return self

    @property
    def gross_total(self) -> Decimal:
        """``vProd`` of the note."""
        return sum((i.gross_total for i in self.items), ZERO)

    @property
    def discount_total(self) -> Decimal:
        """``vDesc`` of the note: the sum of the items' (own and apportioned)."""
        return sum((i.discount for i in self.items), ZERO)

    @property
    def sale_discount_total(self) -> Decimal:
        """The sale's own discount, as apportioned (its shares add up to it)."""
        return sum((i.sale_discount for i in self.items), ZERO)

    @property
    def total(self) -> Decimal:
        """``vNF``: what the consumer pays."""
        return self.gross_total - self.discount_total

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)

    def total_reaches(self, amount: Decimal) -> bool:
        """``total >= amount``, without summing the items when the payments already say no:
        a sale with payments is never paid less than its total (checked on construction), so
        what was paid bounds it. Every sale asks this before it is stored."""
        if self.paid < amount and not any(p.method.is_no_payment for p in self.payments):
            return False
        return self.total >= amount

    @property
    def change(self) -> Decimal:
        """``vTroco``: only cash gives change (checked on construction)."""
        return self.paid - self.total

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        sale_id: str | None = None,
        item_numbers: Sequence[int] | None = None,
    ) -> Sale:
        """Build from ``SALE.json``-shaped data (or the cart's items and payments); every
        error becomes one :class:`InvalidSale` with a Portuguese ``user_message``.

        ``item_numbers`` are the numbers a person knows the items by, when they are not
        1, 2, 3... (the cart keeps a voided line's number): messages use them."""
        payload = dict(data)
        if sale_id is not None:
            payload["sale_id"] = sale_id
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise InvalidSale(
                f"invalid sale: {developer_detail(exc)}",
                user_message=describe_validation_error(exc, item_numbers=item_numbers),
            ) from None
        except DomainError as exc:
            raise InvalidSale(str(exc), user_message=exc.user_message) from None

    @classmethod
    def from_stored_json(cls, text: str | bytes) -> Sale:
        """A sale read back from the journal: its structure is checked, the rules added
        after it was stored are not (an old sale never becomes unreadable)."""
        return cls.model_validate_json(text, context={STORED: True})


#: SALE.json's keys as a person reads them in a message (``itens[1].quantidade``).
FIELD_NAMES: Final = {
    "sale_id": "id_venda",
    "items": "itens",
    "payments": "pagamentos",
    "customer": "consumidor",
    "operator": "operador",
    "code": "codigo",
    "gtin": "gtin",
    "description": "descricao",
    "ncm": "ncm",
    "cfop": "cfop",
    "cest": "cest",
    "unit": "unidade",
    "quantity": "quantidade",
    "unit_price": "valor_unitario",
    "discount": "desconto",
    "discount_percent": "desconto_percentual",
    "sale_discount": "desconto_rateado",
    "value": "valor",
    "percent": "percentual",
    "origin": "origem",
    "tax": "tributos",
    "method": "forma",
    "amount": "valor",
    "card": "cartao",
    "integration": "tipo_integracao",
    "acquirer_cnpj": "cnpj_credenciadora",
    "brand": "bandeira",
    "authorization": "autorizacao",
    "document": "documento",
    "name": "nome",
    "foreign_id": "id_estrangeiro",
    "address": "endereco",
    "street": "logradouro",
    "number": "numero",
    "complement": "complemento",
    "district": "bairro",
    "city_code": "codigo_municipio",
    "city": "municipio",
    "uf": "uf",
    "cep": "cep",
    "phone": "telefone",
    "delivery": "entrega",
}
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_]{1,40}$")
MAX_MESSAGE_LINES: Final = 2


def field_path(loc: Sequence[str | int], *, item_numbers: Sequence[int] | None = None) -> str:
    """``("items", 0, "quantity")`` -> ``itens[1].quantidade`` (1-based; ``venda`` for the
    sale itself). A key that is not SALE.json's is shown as given, quoted if it is odd."""
    path = ""
    previous: str | int | None = None
    for part in loc:
        if isinstance(part, int):
            number = part + 1
            if previous == "items" and item_numbers is not None and 0 <= part < len(item_numbers):
                number = item_numbers[part]
            path += f"[{number}]"
        else:
            name = FIELD_NAMES.get(part) or (part if _PLAIN_KEY.match(part) else f'"{shown(part)}"')
            path += f".{name}" if path else name
        previous = part
    return path or "venda"


def _count(ctx: Mapping[str, Any], key: str) -> int | None:
    value = ctx.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _message(err: Mapping[str, Any]) -> str:
    """pydantic's error ``type`` (never its English ``msg``) -> a Portuguese sentence."""
    kind = str(err.get("type", ""))
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    loc = err.get("loc") or ()
    last = loc[-1] if loc else None
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        if isinstance(error, (SaleFieldError, TaxFieldError)):
            return str(error)
        return "valor inválido"
    if kind == "missing":
        key = f' ("{last}" no SALE.json)' if isinstance(last, str) and last in FIELD_NAMES else ""
        return f"campo obrigatório ausente{key}"
    if kind == "extra_forbidden":
        return "campo desconhecido (não faz parte do SALE.json; confira o nome e a grafia)"
    if kind in ("string_type", "string_unicode", "string_sub_type"):
        return "deve ser um texto"
    if kind == "string_too_short":
        least = _count(ctx, "min_length") or 1
        return "não pode ficar vazio" if least == 1 else f"deve ter pelo menos {least} caracteres"
    if kind == "string_too_long":
        most = _count(ctx, "max_length")
        return f"deve ter no máximo {most} caracteres" if most is not None else "texto longo demais"
    if kind == "string_pattern_mismatch":
        if last == "sale_id":
            return "deve ter de 1 a 64 letras sem acento, dígitos, '-' ou '_'"
        return "formato inválido"
    if kind == "too_short":
        least = _count(ctx, "min_length") or 1
        if loc == ("items",):
            return "a venda precisa de pelo menos um item"
        if loc == ("payments",):
            return "a venda precisa de pelo menos um pagamento"
        return f"deve ter pelo menos {_plural(least, 'elemento', 'elementos')}"
    if kind == "too_long":
        most = _count(ctx, "max_length")
        if most is None:
            return "elementos demais"
        noun = {"items": ("item", "itens"), "payments": ("pagamento", "pagamentos")}.get(str(last))
        return f"no máximo {_plural(most, *noun)}" if noun else f"no máximo {most} elementos"
    if kind in ("tuple_type", "list_type", "iterable_type", "sequence_str"):
        return "deve ser uma lista [...]"
    if kind in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        return "deve ser um objeto {...}"
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return "deve ser um número inteiro"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        if last == "origin":
            return "deve ser um número de 0 a 8 (origem da mercadoria)"
        if last == "integration":
            return "deve ser 1 (TEF integrado) ou 2 (maquininha à parte)"
        bound = next((ctx[k] for k in ("ge", "gt", "le", "lt") if k in ctx), None)
        relation = {
            "greater_than_equal": "no mínimo",
            "greater_than": "maior que",
            "less_than_equal": "no máximo",
            "less_than": "menor que",
        }[kind]
        return f"deve ser {relation} {shown(bound)}" if bound is not None else "fora do intervalo permitido"
    if kind.startswith("decimal_") or kind in ("finite_number", "float_type", "float_parsing"):
        return "deve ser um número"
    if kind in ("enum", "literal_error"):
        return "valor não permitido"
    if kind in ("bool_type", "bool_parsing"):
        return "deve ser verdadeiro ou falso"
    if kind == "none_required":
        return "não deve ser informado"
    return "valor inválido"


def developer_detail(exc: ValidationError) -> str:
    """For the log: where, which rule and the input's type, never the input itself (it may
    hold a consumer's CPF)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'sale'}: {err['type']} ({type(err.get('input')).__name__})"
        for err in exc.errors(include_url=False)
    )


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model whose object sits at ``loc`` of a sale (for the list of its fields)."""
    model: type[BaseModel] | None = Sale
    for part in loc:
        if isinstance(part, str):
            model = _CHILD_MODELS.get((model, part)) if model is not None else None
    return model


_CHILD_MODELS: Final[dict[tuple[type[BaseModel], str], type[BaseModel]]] = {
    (Sale, "items"): Item,
    (Sale, "payments"): Payment,
    (Sale, "customer"): Customer,
    (Sale, "discount"): SaleDiscount,
    (Payment, "card"): CardDetails,
    (Customer, "address"): Address,
    (Item, "tax"): ItemTax,
}


def _unknown_field(loc: Sequence[str | int], item_numbers: Sequence[int] | None) -> str:
    key = loc[-1] if loc else ""
    model = _model_at(loc[:-1])
    known = f"; os campos aqui são: {', '.join(model.model_fields)}" if model is not None else ""
    return f'{field_path(loc[:-1], item_numbers=item_numbers)}: campo "{shown(str(key))}" desconhecido{known}'


def describe_validation_error(exc: ValidationError, *, item_numbers: Sequence[int] | None = None) -> str:
    """A pydantic error list as short Portuguese lines naming each field
    (``itens[2].ncm: campo obrigatório ausente``): at most :data:`MAX_MESSAGE_LINES`, the
    last one saying how many more there are. pydantic's English ``msg`` is never used."""
    errors = exc.errors(include_url=False, include_input=False)
    failed = [tuple(err.get("loc") or ()) for err in errors]
    lines: list[str] = []
    for err in errors:
        loc: tuple[str | int, ...] = tuple(err.get("loc") or ())
        if err.get("type") == "too_short" and any(len(f) > len(loc) and f[: len(loc)] == loc for f in failed):
            continue  # "no items" only because the one item failed: that item's error says why
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, SaleFieldError) and error.field is not None:
            loc = (*loc, error.field)
        if err.get("type") == "extra_forbidden":
            line = _unknown_field(loc, item_numbers)
        else:
            line = f"{field_path(loc, item_numbers=item_numbers)}: {_message(err)}"
        if line not in lines:
            lines.append(line)
    if not lines:
        return "venda: dados inválidos"
    if len(lines) > MAX_MESSAGE_LINES:
        more = len(lines) - MAX_MESSAGE_LINES
        lines = lines[:MAX_MESSAGE_LINES]
        lines[-1] += f" (e mais {_plural(more, 'problema', 'problemas')})"
    return "\n".join(lines)
