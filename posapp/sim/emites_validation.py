"""How the simulated Emites-Client judges a CREATE_NFCE: schema validation, then SEFAZ rules.

Two kinds of *no*, answered in the two shapes the vendor README shows:

* **validation** (:func:`validate_create`): the request breaks
  ``nfce/schema/create_nfce_request_schema.yaml`` (a required field missing, a pattern or
  enum not met, a size out of range, payments that do not cover the total). Answered as
  ``"erros": {"field.path": ["message", ...]}``, e.g. ``{"forma_pagamento": ["tamanho deve
  estar entre 1 e 100"]}``. Messages are the Rails-style Portuguese of the vendor example.
* **SEFAZ** (:func:`sefaz_rejections`): the request is well-formed but SEFAZ would refuse
  the note. Answered as ``"erros": {"rejeicao": ["NNN - Rejeição: ..."]}``, like
  ``471 - Rejeição: Informado NCM=00 indevidamente``.

The vendor's documents contradict each other, so there are two levels:

``strict=False`` (default)
    Accepts the vendor's own examples. They omit ``codigo_natureza_operacao``,
    ``cliente.pessoa_fisica_juridica``, ``produtos[].aplicacao``/``fabricacao`` (the MFE
    example even ``indicador_consumidor_final``), although the schema marks them required,
    and they spell the address city code ``codigo_municipio`` where the schema says
    ``codigo_municipal``. ``tipo_de_pagamento`` may also be a code newer than the schema's
    2018 enum (``16``-``22``: PIX is ``17``), which SEFAZ requires today.
``strict=True``
    Every field the schema marks required is required, and ``tipo_de_pagamento`` must be
    in the schema's enum. Use it to prove a client sends everything the schema asks for.

Nested objects the simulator does not use (``transporte`` beyond ``codigo_modalidade``,
``lista_autorizacao`` entries, ``observacoes_fisco``) are checked only for their shape.
Paths use dots and zero-based indexes: ``produtos.0.ncm``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from posapp.domain.documents import (
    chave_check_digit,
    is_chave_shape,
    only_digits,
    validate_cnpj,
    validate_cpf,
)
from posapp.domain.errors import InvalidDocument
from posapp.domain.money import ZERO, line_total, round_money
from posapp.domain.sale import gtin_is_valid

BLANK = "não pode ficar em branco"
INVALID = "não é válido"
NOT_IN_LIST = "não está incluído na lista"
NOT_A_NUMBER = "não é um número"
NOT_AN_INTEGER = "não é um número inteiro"
NOT_TEXT = "não é um texto"
NOT_AN_OBJECT = "não é um objeto"
NOT_A_LIST = "não é uma lista"
BAD_EMAIL = "não é um endereço de e-mail válido"

# Schema patterns, made to match the whole value (the schema's document_id regex lacks a group).
GTIN = re.compile(r"SEM GTIN|[0-9]{8}|[0-9]{12,14}")
NCM = re.compile(r"00|[0-9]{8}")
CFOP = re.compile(r"[0-9]{4}")
CEST = re.compile(r"[0-9]{7}")
CNPJ = re.compile(r"[0-9A-Z]{12}[0-9]{2}")  # numeric or alphanumeric (July 2026)
DOCUMENT_ID = re.compile(r"[0-9]{11,14}|[0-9A-Z]{5,20}")
UF = re.compile(r"[A-Z]{2}")
CEP = re.compile(r"[0-9]{8}")
PHONE = re.compile(r"[0-9]{6,14}")
IE = re.compile(r"ISENTO|[0-9]{2,14}")
EMAIL = re.compile(r"[^@]+@[^@]+\.[^@]+")
NATUREZA_CODE = re.compile(r"[0-9]{3}")
AUTH_LIST_ITEM = re.compile(r"[0-9]{11,14}")

SCHEMA_TPAG = ("01", "02", "03", "04", "05", "10", "11", "12", "13", "14", "15", "90", "99")
CURRENT_TPAG = (*SCHEMA_TPAG, "16", "17", "18", "19", "20", "21", "22")
CARD_TPAG = ("03", "04")
BRANDS = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "99")
# Where the schema makes cnpj_credenciadora / bandeira / autorização required (emitter UF).
CARD_DETAIL_UFS = ("CE", "PE", "RN", "AL", "BA", "ES", "MS", "PB", "PR", "RJ", "TO")
PAYMENT_KEYS = ("forma_de_pagamento", "forma_pagamento")


@dataclass
class _Checker:
    """Collects ``path -> [messages]`` like the vendor's ``erros`` object."""

    strict: bool
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def _missing(self, data: Mapping[str, Any], key: str, path: str, required: bool) -> bool:
        """True when there is nothing to check (reported if required)."""
        if data.get(key) is None:
            if required:
                self.add(path, BLANK)
            return True
        return False

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = False,
        min_len: int | None = None,
        max_len: int | None = None,
        pattern: re.Pattern[str] | None = None,
        message: str = INVALID,
    ) -> str | None:
        if self._missing(data, key, path, required):
            return None
        value = data[key]
        if not isinstance(value, str):
            self.add(path, NOT_TEXT)
            return None
        if required and not value.strip():
            self.add(path, BLANK)
            return None
        if min_len is not None and max_len is not None and not min_len <= len(value) <= max_len:
            self.add(path, f"tamanho deve estar entre {min_len} e {max_len}")
        elif min_len is not None and len(value) < min_len:
            self.add(path, f"é muito curto (mínimo: {min_len} caracteres)")
        elif max_len is not None and len(value) > max_len:
            self.add(path, f"é muito longo (máximo: {max_len} caracteres)")
        if pattern is not None and not pattern.fullmatch(value):
            self.add(path, message)
        return value

    def enum(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        allowed: Sequence[object],
        *,
        required: bool = False,
    ) -> object | None:
        if self._missing(data, key, path, required):
            return None
        value = data[key]
        if isinstance(value, bool) or value not in allowed:
            self.add(path, NOT_IN_LIST)
            return None
        return allowed[allowed.index(value)]

    def number(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = False, positive: bool = False
    ) -> Decimal | None:
        if self._missing(data, key, path, required):
            return None
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.add(path, NOT_A_NUMBER)
            return None
        number = Decimal(value)
        if positive and number <= 0:
            self.add(path, "deve ser maior que 0")
        elif number < 0:
            self.add(path, "deve ser maior ou igual a 0")
        return number

    def integer(self, data: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> int | None:
        if self._missing(data, key, path, required):
            return None
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, NOT_AN_INTEGER)
            return None
        return value

    def obj(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = False
    ) -> Mapping[str, Any] | None:
        if self._missing(data, key, path, required):
            return None
        value = data[key]
        if not isinstance(value, Mapping):
            self.add(path, NOT_AN_OBJECT)
            return None
        return value

    def array(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = False,
        min_items: int = 0,
        max_items: int | None = None,
    ) -> list[Any]:
        if self._missing(data, key, path, required):
            return []
        value = data[key]
        if not isinstance(value, list):
            self.add(path, NOT_A_LIST)
            return []
        if max_items is not None and not min_items <= len(value) <= max_items:
            self.add(path, f"tamanho deve estar entre {min_items} e {max_items}")
        elif len(value) < min_items:
            self.add(path, BLANK)
        return value


def payments_key(request: Mapping[str, Any]) -> str:
    """``forma_de_pagamento`` (the schema) or ``forma_pagamento`` (the response examples)."""
    for key in PAYMENT_KEYS:
        if key in request:
            return key
    return PAYMENT_KEYS[0]


def validate_create(
    request: Mapping[str, Any], *, emitter_uf: str, strict: bool = False
) -> dict[str, list[str]]:
    """Schema errors of a CREATE_NFCE payload as ``{path: [messages]}`` (empty: valid)."""
    c = _Checker(strict)
    c.enum(request, "destino_operacao", "destino_operacao", (1, 2, 3), required=True)
    c.text(request, "engine_de_calculo", "engine_de_calculo", required=True)
    c.enum(request, "finalidade_nfe", "finalidade_nfe", (1, 2, 3, 4), required=True)
    c.enum(request, "indicador_consumidor_final", "indicador_consumidor_final", (0, 1), required=strict)
    c.enum(request, "indicador_presenca", "indicador_presenca", (0, 1, 2, 3, 4, 5, 9), required=True)
    c.text(request, "natureza_operacao", "natureza_operacao", required=True, max_len=60)
    c.text(
        request,
        "codigo_natureza_operacao",
        "codigo_natureza_operacao",
        required=strict,
        pattern=NATUREZA_CODE,
    )
    c.enum(request, "tipo_impressao", "tipo_impressao", (0, 1, 2, 3, 4, 5))
    c.enum(request, "tipo_operacao", "tipo_operacao", (0, 1))
    _check_info(c, request)
    for i, entry in enumerate(c.array(request, "lista_autorizacao", "lista_autorizacao", max_items=10)):
        if not (isinstance(entry, str) and AUTH_LIST_ITEM.fullmatch(entry)):
            c.add(f"lista_autorizacao.{i}", INVALID)
    transporte = c.obj(request, "transporte", "transporte", required=True)
    if transporte is not None:
        c.enum(transporte, "codigo_modalidade", "transporte.codigo_modalidade", (0, 1, 2, 3, 4, 9))
    cliente = c.obj(request, "cliente", "cliente")
    if cliente is not None:
        _check_customer(c, cliente)
    total = ZERO
    produtos = c.array(request, "produtos", "produtos", required=True, min_items=1, max_items=990)
    for i, product in enumerate(produtos):
        if not isinstance(product, Mapping):
            c.add(f"produtos.{i}", NOT_AN_OBJECT)
            continue
        total += _check_product(c, product, f"produtos.{i}")
    key = payments_key(request)
    paid = ZERO
    payments = c.array(request, key, key, required=True, min_items=1, max_items=100)
    for i, payment in enumerate(payments):
        if not isinstance(payment, Mapping):
            c.add(f"{key}.{i}", NOT_AN_OBJECT)
            continue
        paid += _check_payment(c, payment, f"{key}.{i}", emitter_uf)
    no_payment = any(isinstance(p, Mapping) and p.get("tipo_de_pagamento") == "90" for p in payments)
    if payments and not c.errors and not no_payment and paid < total:
        c.add(key, f"soma dos pagamentos (R$ {paid}) menor que o total da nota (R$ {total})")
    return c.errors


def _check_info(c: _Checker, request: Mapping[str, Any]) -> None:
    info = c.obj(request, "informacoes_adicionais", "informacoes_adicionais")
    if info is None:
        return
    c.text(info, "informacoes_contribuinte", "informacoes_adicionais.informacoes_contribuinte", max_len=2000)
    c.text(info, "informacoes_fisco", "informacoes_adicionais.informacoes_fisco", max_len=2000)
    for i, obs in enumerate(c.array(info, "observacoes_fisco", "informacoes_adicionais.observacoes_fisco")):
        path = f"informacoes_adicionais.observacoes_fisco.{i}"
        if not isinstance(obs, Mapping):
            c.add(path, NOT_AN_OBJECT)
            continue
        c.text(obs, "campo", f"{path}.campo", required=True, max_len=20)
        c.text(obs, "texto", f"{path}.texto", required=True, max_len=60)


def _check_customer(c: _Checker, cliente: Mapping[str, Any]) -> None:
    c.text(cliente, "cpf_cnpj", "cliente.cpf_cnpj", required=True, pattern=DOCUMENT_ID)
    c.text(cliente, "nome", "cliente.nome", required=True, min_len=2, max_len=60)
    c.enum(
        cliente,
        "pessoa_fisica_juridica",
        "cliente.pessoa_fisica_juridica",
        ("person", "company", "foreign"),
        required=c.strict,
    )
    c.enum(
        cliente,
        "regime_tributario_diferenciado",
        "cliente.regime_tributario_diferenciado",
        ("LFEM", "LFDES", "ISENLF"),
    )
    c.text(cliente, "email", "cliente.email", max_len=60, pattern=EMAIL, message=BAD_EMAIL)
    indicator = c.enum(
        cliente, "indicador_inscricao_estadual", "cliente.indicador_inscricao_estadual", (1, 2, 9)
    )
    c.text(cliente, "inscricao_estadual", "cliente.inscricao_estadual", required=indicator == 1, pattern=IE)
    address = c.obj(cliente, "endereco", "cliente.endereco")
    if address is not None:
        _check_address(c, address, "cliente.endereco")


def _check_address(c: _Checker, address: Mapping[str, Any], path: str) -> None:
    c.text(address, "logradouro", f"{path}.logradouro", required=True, min_len=2, max_len=60)
    c.text(address, "numero", f"{path}.numero", required=True, min_len=1, max_len=60)
    c.text(address, "complemento", f"{path}.complemento", max_len=60)
    c.text(address, "bairro", f"{path}.bairro", max_len=60)
    city_key = "codigo_municipal" if "codigo_municipal" in address or c.strict else "codigo_municipio"
    c.integer(address, city_key, f"{path}.{city_key}", required=True)
    c.text(address, "nome_municipio", f"{path}.nome_municipio", required=True, min_len=2, max_len=60)
    c.text(address, "cep", f"{path}.cep", required=True, pattern=CEP)
    c.text(address, "uf", f"{path}.uf", required=True, pattern=UF)
    c.integer(address, "codigo_pais", f"{path}.codigo_pais")
    c.text(address, "nome_pais", f"{path}.nome_pais", max_len=60)
    c.text(address, "telefone", f"{path}.telefone", pattern=PHONE)


def _check_product(c: _Checker, product: Mapping[str, Any], path: str) -> Decimal:
    """Check one product; return its contribution to the note total (0 when unreadable)."""
    c.text(product, "cest", f"{path}.cest", pattern=CEST)
    c.text(product, "cfop", f"{path}.cfop", pattern=CFOP)
    c.text(product, "codigo_ean", f"{path}.codigo_ean", required=True, pattern=GTIN)
    c.text(product, "ean_unidade_trib", f"{path}.ean_unidade_trib", pattern=GTIN)
    c.text(product, "extipi", f"{path}.extipi", min_len=2, max_len=3)
    c.text(product, "ncm", f"{path}.ncm", required=True, pattern=NCM)
    c.text(product, "codigo_produto", f"{path}.codigo_produto", required=True, max_len=60)
    c.text(product, "descricao", f"{path}.descricao", required=True, max_len=120)
    c.text(product, "informacoes_adicionais", f"{path}.informacoes_adicionais", max_len=120)
    c.integer(product, "num_item_pedido", f"{path}.num_item_pedido")
    c.text(product, "num_pedido", f"{path}.num_pedido", max_len=15)
    c.enum(product, "codigo_origem_produto", f"{path}.codigo_origem_produto", tuple(range(9)), required=True)
    c.text(product, "unidade_comercial", f"{path}.unidade_comercial", required=True, max_len=6)
    c.text(product, "unidade_tributavel", f"{path}.unidade_tributavel", required=True, max_len=6)
    c.enum(product, "aplicacao", f"{path}.aplicacao", ("I", "C", "U", "A"), required=c.strict)
    c.enum(product, "fabricacao", f"{path}.fabricacao", (0, 1), required=c.strict)
    c.enum(product, "modBC", f"{path}.modBC", (0, 1, 2, 3))
    c.enum(product, "modBCST", f"{path}.modBCST", (0, 1, 2, 3, 4))
    quantity = c.number(
        product, "quantidade_comercial", f"{path}.quantidade_comercial", required=True, positive=True
    )
    c.number(product, "quantidade_tributavel", f"{path}.quantidade_tributavel", required=True, positive=True)
    c.number(product, "valor_unitario_comercial", f"{path}.valor_unitario_comercial", required=True)
    c.number(product, "valor_unitario_tributario", f"{path}.valor_unitario_tributario", required=True)
    gross = c.number(product, "valor_total_produto", f"{path}.valor_total_produto", required=True)
    discount = c.number(product, "valor_desconto", f"{path}.valor_desconto") or ZERO
    for extra in ("valor_frete", "outras_despesas", "valor_seguro"):
        c.number(product, extra, f"{path}.{extra}")
    if quantity is None or gross is None:
        return ZERO
    return round_money(gross) - round_money(discount)


def _check_payment(c: _Checker, payment: Mapping[str, Any], path: str, emitter_uf: str) -> Decimal:
    codes = SCHEMA_TPAG if c.strict else CURRENT_TPAG
    tpag = c.enum(payment, "tipo_de_pagamento", f"{path}.tipo_de_pagamento", codes, required=True)
    c.enum(payment, "modalidade", f"{path}.modalidade", (0, 1))
    amount = c.number(
        payment, "valor_do_pagamento", f"{path}.valor_do_pagamento", required=True, positive=tpag != "90"
    )  # 90 (sem pagamento) carries 0: a value there is SEFAZ's rejection (sefaz_rejections)
    c.text(payment, "descricao_do_pagamento", f"{path}.descricao_do_pagamento", max_len=60)
    card = c.obj(payment, "cartao", f"{path}.cartao", required=tpag in CARD_TPAG)
    if card is not None:
        detail = emitter_uf in CARD_DETAIL_UFS
        c.enum(card, "tipo_integracao", f"{path}.cartao.tipo_integracao", (1, 2), required=True)
        c.text(card, "cnpj_credenciadora", f"{path}.cartao.cnpj_credenciadora", required=detail, pattern=CNPJ)
        c.enum(card, "bandeira_operadora", f"{path}.cartao.bandeira_operadora", BRANDS, required=detail)
        c.text(
            card,
            "numero_autorizacao_operacao",
            f"{path}.cartao.numero_autorizacao_operacao",
            required=detail,
            max_len=20,
        )
    return amount if amount is not None and amount > 0 else ZERO


# --------------------------------------------------------------------------- SEFAZ rules


def sefaz_rejections(request: Mapping[str, Any]) -> list[str]:
    """SEFAZ-like refusals of a schema-valid CREATE_NFCE, as ``"NNN - Rejeição: ..."``."""
    found: list[str] = []

    def once(message: str) -> None:
        if message not in found:
            found.append(message)

    for product in request.get("produtos") or []:
        if product.get("ncm") == "00":
            once("471 - Rejeição: Informado NCM=00 indevidamente")
        for key in ("codigo_ean", "ean_unidade_trib"):
            code = product.get(key)
            if isinstance(code, str) and code != "SEM GTIN" and not gtin_is_valid(code):
                once(
                    "611 - Rejeição: cEAN inválido"
                    if key == "codigo_ean"
                    else "612 - Rejeição: cEANTrib inválido"
                )
        if _vprod_mismatch(product):
            once(
                "629 - Rejeição: Valor do Produto difere do produto Valor Unitário de "
                "Comercialização e Quantidade Comercial"
            )
    for payment in request.get(payments_key(request)) or []:
        if not isinstance(payment, Mapping):
            continue
        problem = payment_rejection(
            payment.get("tipo_de_pagamento"),
            payment.get("valor_do_pagamento"),
            payment.get("descricao_do_pagamento"),
        )
        if problem is not None:
            once(problem)
    cliente = request.get("cliente")
    if isinstance(cliente, Mapping) and cliente.get("pessoa_fisica_juridica") != "foreign":
        problem = document_rejection(str(cliente.get("cpf_cnpj") or ""))
        if problem is not None:
            once(problem)
    return found


#: SEFAZ's answers to a payment that breaks its code's rule (NT 2020.006 and the MOC's
#: group YA): 99 without its description, 90 with a value. The codes are as we read the
#: rejection table; a real SEFAZ's wording may differ.
REJECTION_XPAG = "441 - Rejeição: Obrigatória a descrição do meio de pagamento (xPag) para tPag=99 (Outros)"
REJECTION_NO_PAYMENT_VALUE = (
    "904 - Rejeição: Informado indevidamente valor do pagamento para tPag=90 (Sem pagamento)"
)


def payment_rejection(tpag: object, amount: object, description: object) -> str | None:
    """The rejection of one payment as SEFAZ judges it, shared by the three simulators
    (their field names differ, the rule does not); ``None`` when it passes."""
    code = str(tpag or "").zfill(2)
    if code == "99" and not (isinstance(description, str) and len(description.strip()) >= 2):
        return REJECTION_XPAG
    if code == "90":
        try:
            value = Decimal(str(amount)) if amount is not None else ZERO
        except ArithmeticError:
            return REJECTION_NO_PAYMENT_VALUE
        if value != 0:
            return REJECTION_NO_PAYMENT_VALUE
    return None


def document_rejection(document: str) -> str | None:
    """SEFAZ's answer to a consumer CPF or CNPJ (numeric or alphanumeric) whose check digits
    fail; ``None`` when it passes (or is neither: a foreign id)."""
    document = only_digits(document).upper()
    try:
        if len(document) == 11:
            validate_cpf(document)
        elif len(document) == 14:
            validate_cnpj(document)
    except InvalidDocument:
        return (
            "237 - Rejeição: CPF do destinatário inválido"
            if len(document) == 11
            else "208 - Rejeição: CNPJ do destinatário inválido"
        )
    return None


def provider_rejection(
    payments: Sequence[tuple[object, object, object]], document: str | None
) -> tuple[str, str] | None:
    """The first payment or consumer rejection of an online provider's note, as
    ``(cStat, "Rejeição: ...")``: ``payments`` are (tPag, value, xPag) in its own fields."""
    found = [payment_rejection(*payment) for payment in payments]
    found.append(document_rejection(document) if document else None)
    for text in found:
        if text is not None:
            code, _, message = text.partition(" - ")
            return code, message
    return None


def _vprod_mismatch(product: Mapping[str, Any]) -> bool:
    """``vProd`` further than R$ 0,01 from ``qCom x vUnCom`` (the tolerance of rule 629)."""
    values = [
        product.get(k) for k in ("quantidade_comercial", "valor_unitario_comercial", "valor_total_produto")
    ]
    numbers = [Decimal(v) for v in values if isinstance(v, int | Decimal) and not isinstance(v, bool)]
    if len(numbers) != 3:
        return False
    quantity, price, gross = numbers
    return abs(gross - line_total(quantity, price)) > Decimal("0.01")


def chave_problem(value: object) -> tuple[str, str] | None:
    """Why a CANCEL_NFCE ``chave_acesso`` cannot be looked up: ``("validation", msg)`` for
    a malformed one, ``("rejeicao", msg)`` for a wrong check digit, ``None`` if fine."""
    if not isinstance(value, str) or not value:
        return "validation", BLANK
    if not is_chave_shape(value):
        return "validation", INVALID
    if chave_check_digit(value[:43]) != int(value[43]):
        return "rejeicao", "236 - Rejeição: Chave de Acesso com dígito verificador inválido"
    return None
