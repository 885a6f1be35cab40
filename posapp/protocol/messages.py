"""Emites-Client messages: the CREATE_NFCE and CANCEL_NFCE requests, and their answers.

Pure functions over plain data; no sockets. The request side turns a
:class:`~posapp.domain.sale.Sale` (plus the :class:`~posapp.protocol.emitter.EmitterProfile`)
into the payload the vendor schema ``nfce/schema/create_nfce_request_schema.yaml`` describes, and
:func:`encode_request` makes the exact frame bytes. The answer side,
:func:`parse_response`, reads every variant the vendor documents disagree about and
raises :class:`~posapp.protocol.errors.RemoteProtocolError` for anything it cannot read,
which the caller must treat as *outcome unknown*, never as *rejected*.

Decisions the schema leaves open (kept here so they are made once):

* **Idempotency identity.** The sale id (``IssueContext.reference``) goes into
  ``informacoes_adicionais.informacoes_contribuinte`` as ``PDV-REF:<id>``. It is free
  text (2000 characters) that Emites echoes in every answer, lands in the XML's
  ``infCpl`` and on the DANFE, so an answer can be checked against the request and a
  manager reconciling an in-doubt sale can find the note by it. ``num_pedido`` (15
  characters) cannot hold a 32-character sale id.
* **Change (troco).** The schema has no ``vTroco`` field. We send what the consumer
  *tendered* in ``valor_do_pagamento`` (the NF-e 4.00 meaning of ``vPag``: the sum of
  payments may exceed ``vNF`` and the difference is the change), so Emites can fill
  ``vTroco``. No undocumented field is invented.
* **PIX.** ``tipo_de_pagamento`` ``"17"`` (PIX) and ``"20"`` (static PIX) are sent as they
  are, although the vendor's enum predates them: they are the codes SEFAZ requires today.
* **xPag.** A tPag 99 payment carries its description as ``descricao_do_pagamento``: SEFAZ
  rejects a 99 without xPag (441) and the schema names no field for it. [U] the name.
* **Consumer.** ``cliente.pessoa_fisica_juridica`` is ``person``, ``company`` (CNPJ, numeric or
  alphanumeric) or ``foreign`` (idEstrangeiro in ``cpf_cnpj``); the address goes in
  ``cliente.endereco`` with the schema's ``codigo_municipal``. A delivery sends
  ``indicador_presenca`` 4.
* **Homologação.** SEFAZ requires the first item's description to be
  :data:`HOMOLOGACAO_ITEM_DESCRIPTION` (cStat 373) and the consumer's name to be
  :data:`HOMOLOGACAO_CUSTOMER_NAME`; in ``producao`` the real values go.
* **Numbers** are JSON numbers with exact decimals written from :class:`~decimal.Decimal`
  (money 2 places, quantities up to 4, unit prices up to 10), never through ``float``.
  Numbers *read* are bounded before conversion (:data:`MAX_NUMBER_CHARS`,
  :data:`MAX_NUMBER_EXPONENT`): ``1e999999`` in an answer is a
  :class:`~posapp.protocol.errors.RemoteProtocolError` at once, not seconds of CPU turning
  it into a million-digit integer.
* **Times** are read by :func:`posapp.domain.timestamps.timestamp_or_none` (one without a UTC
  offset is refused, i.e. absent) and kept in UTC; the returned XML is read by
  :mod:`posapp.domain.nfe_xml`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses
from typing import TYPE_CHECKING, Any, Final

from posapp.domain.cancel import check_motivo
from posapp.domain.documents import is_chave_shape, parse_chave
from posapp.domain.errors import InvalidSale
from posapp.domain.money import QUANTITY_STEP, UNIT_PRICE_STEP, round_money
from posapp.domain.nfe_xml import NfeDocument, NfeXmlError, read_fiscal_xml
from posapp.domain.sale import Item, Payment, Sale
from posapp.domain.sale_rules import PRESENCE_DELIVERY
from posapp.domain.timestamps import timestamp_or_none
from posapp.protocol.emitter import EmitterProfile
from posapp.protocol.errors import LocalProtocolError, RemoteProtocolError
from posapp.protocol.framing import ENCODING, Frame, encode_frame
from posapp.protocol.text import TextPolicy, clean_text

if TYPE_CHECKING:  # annotations only
    from posapp.domain.issuance import IssueContext

CREATE_NFCE: Final = "CREATE_NFCE"
CREATE_CFE: Final = "CREATE_CFE"  # what SAT/MFE states answer to a CREATE_NFCE
CANCEL_NFCE: Final = "CANCEL_NFCE"
ISSUE_ANSWER_IDENTIFIERS: Final = frozenset({CREATE_NFCE, CREATE_CFE})
CANCEL_ANSWER_IDENTIFIERS: Final = frozenset({CANCEL_NFCE})
RESPONSE_IDENTIFIERS: Final = ISSUE_ANSWER_IDENTIFIERS | CANCEL_ANSWER_IDENTIFIERS

HOMOLOGACAO_CUSTOMER_NAME: Final = "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
HOMOLOGACAO_ITEM_DESCRIPTION: Final = "NOTA FISCAL EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
UNNAMED_CUSTOMER: Final = "CONSUMIDOR"  # the schema requires a nome; the NFC-e does not

REFERENCE_TAG: Final = "PDV-REF:"
_REFERENCE = re.compile(r"[0-9A-Za-z_-]{1,64}")  # fullmatch: "$" would allow a trailing newline
_REFERENCE_IN_TEXT = re.compile(re.escape(REFERENCE_TAG) + r"([0-9A-Za-z_-]{1,64})")

# Field sizes from the vendor schema; cleaning may lengthen text ("€" -> "EUR").
_MAX_DESCRICAO = 120
_MAX_CODIGO_PRODUTO = 60
_MAX_UNIDADE = 6
_MAX_NOME = 60
_MAX_DESCRICAO_PAGAMENTO = 60  # xPag
_MAX_INFO_CONTRIBUINTE = 2000
_MAX_AUTORIZACAO = 20

_CARD_CODES: Final = frozenset({"03", "04"})


# --------------------------------------------------------------------------- requests


def _money(value: Decimal) -> Decimal:
    """Two places, always (``29.90``)."""
    return round_money(value)


def _trimmed(value: Decimal, min_places: int) -> Decimal:
    """Drop trailing zeros but keep ``min_places`` decimals and never an exponent."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN or infinity; the domain models never let one in
        raise LocalProtocolError(f"non-finite number {value!r} cannot be sent")
    if exponent > -min_places:
        return normal.quantize(Decimal(1).scaleb(-min_places))
    return normal


def _quantity(value: Decimal) -> Decimal:
    """Up to four places (``qCom``): ``6``, ``1.5``, ``0.3335``."""
    return _trimmed(value.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP), 0)


def _unit_price(value: Decimal) -> Decimal:
    """Up to ten places, at least two (``vUnCom``): ``4.99``, ``0.4086``."""
    return _trimmed(value.quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP), 2)


def _text(value: str, policy: TextPolicy, max_length: int) -> str:
    return clean_text(value, policy)[:max_length].rstrip()


def _required_text(value: str, policy: TextPolicy, max_length: int, *, what: str) -> str:
    text = _text(value, policy, max_length)
    if not text:
        raise InvalidSale(
            f"{what} {value!r} has no character the issuer accepts",
            user_message=f"{what}: '{value}' não tem nenhum caractere aceito pela SEFAZ.",
        )
    return text


def reference_note(reference: str) -> str:
    """The text that carries the sale id in ``informacoes_contribuinte``."""
    return f"{REFERENCE_TAG}{reference}"


def extract_reference(text: str | None) -> str | None:
    """The sale id tagged in an echoed ``informacoes_contribuinte`` (or an XML ``infCpl``)."""
    if not text:
        return None
    match = _REFERENCE_IN_TEXT.search(text)
    return match.group(1) if match else None


def _product(item: Item, index: int, profile: EmitterProfile, policy: TextPolicy) -> dict[str, Any]:
    description = HOMOLOGACAO_ITEM_DESCRIPTION if profile.homologacao and index == 0 else item.description
    product: dict[str, Any] = {
        "codigo_produto": _required_text(item.code, policy, _MAX_CODIGO_PRODUTO, what=f"Item {index + 1}"),
        "codigo_ean": item.gtin,
        "ean_unidade_trib": item.gtin,
        "descricao": _required_text(description, policy, _MAX_DESCRICAO, what=f"Item {index + 1}"),
        "ncm": item.ncm,
        "cfop": item.cfop,
        "codigo_origem_produto": item.origin,
        "aplicacao": profile.aplicacao,
        "fabricacao": profile.fabricacao,
        "unidade_comercial": _required_text(
            item.unit, policy, _MAX_UNIDADE, what=f"Unidade do item {index + 1}"
        ),
        "unidade_tributavel": _required_text(
            item.unit, policy, _MAX_UNIDADE, what=f"Unidade do item {index + 1}"
        ),
        "quantidade_comercial": _quantity(item.quantity),
        "quantidade_tributavel": _quantity(item.quantity),
        "valor_unitario_comercial": _unit_price(item.unit_price),
        "valor_unitario_tributario": _unit_price(item.unit_price),
        "valor_total_produto": _money(item.gross_total),
    }
    if item.cest is not None:
        product["cest"] = item.cest
    if item.discount > 0:
        product["valor_desconto"] = _money(item.discount)
    return product


def _payment(payment: Payment, policy: TextPolicy) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "tipo_de_pagamento": payment.method.value,  # "17"/"20" (PIX) sent although not in the old enum
        "valor_do_pagamento": _money(payment.amount),  # tendered: the change is the excess
        "modalidade": 0,  # a vista
    }
    if payment.description is not None:  # tPag 99: xPag. [U] the schema names no field for it
        entry["descricao_do_pagamento"] = _text(payment.description, policy, _MAX_DESCRICAO_PAGAMENTO)
    card = payment.card
    if payment.method.value in _CARD_CODES or card is not None:
        cartao: dict[str, Any] = {"tipo_integracao": card.integration if card else 2}
        if card is not None:
            if card.acquirer_cnpj:
                cartao["cnpj_credenciadora"] = card.acquirer_cnpj
            if card.brand:
                cartao["bandeira_operadora"] = card.brand
            if card.authorization:
                authorization = _text(card.authorization, policy, _MAX_AUTORIZACAO)
                if authorization:
                    cartao["numero_autorizacao_operacao"] = authorization
        entry["cartao"] = cartao
    return entry


def _customer(sale: Sale, profile: EmitterProfile, policy: TextPolicy) -> dict[str, Any] | None:
    customer = sale.customer
    if customer is None:
        return None
    if profile.homologacao:
        name = HOMOLOGACAO_CUSTOMER_NAME
    else:
        name = _text(customer.name or "", policy, _MAX_NOME)
        if len(name) < 2:
            name = UNNAMED_CUSTOMER
    kind = "foreign" if customer.is_foreign else "company" if customer.is_company else "person"
    cliente: dict[str, Any] = {"cpf_cnpj": customer.identifier, "pessoa_fisica_juridica": kind, "nome": name}
    address = customer.address
    if address is not None:
        endereco: dict[str, Any] = {
            "logradouro": _text(address.street, policy, 60),
            "numero": _text(address.number, policy, 60),
            "bairro": _text(address.district, policy, 60),
            "codigo_municipal": int(address.city_code),  # the schema's spelling
            "nome_municipio": _text(address.city, policy, 60),
            "uf": address.uf,
        }
        if address.complement:
            endereco["complemento"] = _text(address.complement, policy, 60)
        endereco["cep"] = address.cep
        if address.phone is not None:
            endereco["telefone"] = address.phone
        cliente["endereco"] = endereco
    return cliente


def build_create_nfce(context: IssueContext, profile: EmitterProfile) -> dict[str, Any]:
    """The CREATE_NFCE payload for ``context.sale`` as ``profile``'s emitter sends it; see
    the module docstring for choices.

    Raises :class:`~posapp.domain.errors.InvalidSale` when a required text has nothing left
    after cleaning, :class:`LocalProtocolError` for a reference that cannot be tagged.
    """
    if not _REFERENCE.fullmatch(context.reference):
        raise LocalProtocolError(f"reference {context.reference!r} must match {_REFERENCE.pattern}")
    policy: TextPolicy = profile.text_policy
    sale = context.sale
    tag = reference_note(context.reference)
    info = _text(profile.informacoes_contribuinte or "", policy, _MAX_INFO_CONTRIBUINTE - len(tag) - 1)
    payload: dict[str, Any] = {
        "destino_operacao": 1,  # interna: an NFC-e is always in-state
        "engine_de_calculo": _required_text(profile.engine_de_calculo, policy, 60, what="engine_de_calculo"),
        "finalidade_nfe": 1,  # normal
        "indicador_consumidor_final": 1,
        "indicador_presenca": PRESENCE_DELIVERY if sale.delivery else profile.indicador_presenca,
        "natureza_operacao": _required_text(profile.natureza_operacao, policy, 60, what="natureza_operacao"),
        "codigo_natureza_operacao": profile.codigo_natureza_operacao,
        "tipo_operacao": 1,  # saida
        "tipo_impressao": profile.tipo_impressao,
        "forma_de_pagamento": [_payment(p, policy) for p in sale.payments],
        "produtos": [_product(item, i, profile, policy) for i, item in enumerate(sale.items)],
        "transporte": {"codigo_modalidade": 9},  # required by the schema; NFC-e: sem frete
        "informacoes_adicionais": {"informacoes_contribuinte": f"{info} {tag}" if info else tag},
    }
    customer = _customer(sale, profile, policy)
    if customer is not None:
        payload["cliente"] = customer
    return payload


def build_cancel(chave: str, motivo: str, policy: TextPolicy = "latin1") -> dict[str, Any]:
    """The CANCEL_NFCE payload. The *motivo* is checked (15-255) *after* cleaning, since
    that is what arrives; raises :class:`~posapp.domain.errors.InvalidDocument` or
    :class:`~posapp.domain.errors.CancelRefused`."""
    key = parse_chave(chave).digits
    return {"chave_acesso": key, "motivo": check_motivo(clean_text(motivo, policy), original=motivo)}


def _clean_payload(value: Any, policy: TextPolicy, path: str) -> Any:
    if isinstance(value, str):
        text = clean_text(value, policy)
        if not text:
            raise LocalProtocolError(f"{path}: empty text would be sent (omit the field instead)")
        return text
    if isinstance(value, Mapping):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise LocalProtocolError(f"{path}: field name {key!r} is not ASCII text")
            if item is not None:  # a missing optional is omitted, never sent as ""
                cleaned[key] = _clean_payload(item, policy, f"{path}.{key}" if path else key)
        return cleaned
    if isinstance(value, list | tuple):
        return [_clean_payload(item, policy, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def dumps_json(value: Any) -> str:
    """Compact JSON where a :class:`Decimal` is written as the number it is (``29.90``).

    :mod:`json` would need ``float`` for that; a float is refused here, like anywhere money
    is handled.
    """
    return dumps_exact(value)


@dataclass(frozen=True, slots=True)
class _Layout:
    """How :func:`dumps_exact` writes: string quoting, indentation, separators, errors."""

    quote: Callable[[str], str]
    indent: int | None
    item_separator: str
    key_separator: str
    error: Callable[[str], Exception]


def dumps_exact(
    value: Any,
    *,
    quote: Callable[[str], str] = encode_basestring,
    indent: int | None = None,
    separators: tuple[str, str] = (",", ":"),
    error: Callable[[str], Exception] = LocalProtocolError,
) -> str:
    """JSON text as ``json.dumps(value, ensure_ascii=False, indent=, separators=)`` writes
    it, except that a :class:`Decimal` is the exact number it is and ``float`` is refused.

    The one writer of exact-decimal JSON: our requests (:func:`dumps_json`) and the
    simulated Emites-Client's answers (:func:`posapp.sim.jsonwire.dumps_decimal`) differ
    only in ``quote`` (how a string literal is written), layout, and the exception
    ``error`` builds for a value JSON cannot hold exactly (``float``, ``NaN``, other types).
    """
    layout = _Layout(quote, indent, separators[0], separators[1], error)
    parts: list[str] = []
    _dump(value, parts, layout, 0)
    return "".join(parts)


def _dump(value: Any, out: list[str], layout: _Layout, level: int) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise layout.error(f"non-finite number {value!r} has no JSON form")
        out.append(format(value, "f"))
    elif isinstance(value, str):
        out.append(layout.quote(value))
    elif isinstance(value, Mapping):
        entries = [(layout.quote(str(key)) + layout.key_separator, item) for key, item in value.items()]
        _dump_container(entries, "{}", out, layout, level)
    elif isinstance(value, list | tuple):
        _dump_container([("", item) for item in value], "[]", out, layout, level)
    else:
        raise layout.error(
            f"cannot write a {type(value).__name__} ({value!r}) as JSON; use Decimal, int or str"
        )


def _dump_container(
    entries: list[tuple[str, Any]], brackets: str, out: list[str], layout: _Layout, level: int
) -> None:
    """An object or array; each entry is (the key and separator, or "" in an array; the value)."""
    if not entries:
        out.append(brackets)
        return
    out.append(brackets[0])
    newline = None if layout.indent is None else "\n" + " " * (layout.indent * (level + 1))
    for i, (prefix, item) in enumerate(entries):
        if i:
            out.append(layout.item_separator)
        if newline is not None:
            out.append(newline)
        out.append(prefix)
        _dump(item, out, layout, level + 1)
    if layout.indent is not None:
        out.append("\n" + " " * (layout.indent * level))
    out.append(brackets[1])


def encode_request(identifier: str, payload: Mapping[str, Any], policy: TextPolicy = "latin1") -> bytes:
    """The exact bytes of a request frame: strings cleaned, JSON, ISO-8859-1, framed.

    Raises :class:`LocalProtocolError` for a payload that cannot go on the wire.
    """
    cleaned = _clean_payload(payload, policy, "")
    try:
        data = dumps_json(cleaned).encode(ENCODING)
    except UnicodeEncodeError as exc:  # pragma: no cover - clean_text guarantees Latin-1
        raise LocalProtocolError(f"payload not encodable in ISO-8859-1: {exc}") from None
    return encode_frame(identifier, data)


# --------------------------------------------------------------------------- responses


class ResponseStatus(StrEnum):
    SUCESSO = "sucesso"
    REJEITADA = "rejeitada"
    ERRO = "erro"
    PROCESSANDO = "processando"
    CANCELADA = "cancelada"
    CANCELAMENTO_REJEITADO = "cancelamento_rejeitado"


@dataclass(frozen=True, slots=True)
class EmissionReceipt:
    """``resposta_emissao``."""

    chave_acesso: str | None = None
    numero_protocolo: str | None = None
    data_emissao: datetime | None = None  # UTC
    codigo_verificacao: str | None = None


@dataclass(frozen=True, slots=True)
class CancellationReceipt:
    """``resposta_cancelamento``."""

    chave_acesso: str | None = None
    numero_protocolo: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentEcho:
    tipo_de_pagamento: str | None
    valor_do_pagamento: Decimal | None


@dataclass(frozen=True, slots=True)
class XmlFacts:
    """What the returned XML says (an ``nfeProc`` for an issue, an event for a cancel)."""

    chave: str | None = None
    numero: int | None = None
    serie: int | None = None
    tp_emis: int | None = None
    tp_amb: int | None = None
    emitted_at: datetime | None = None  # ide/dhEmi
    received_at: datetime | None = None  # protNFe/infProt/dhRecbto
    protocolo: str | None = None  # infProt/nProt
    c_stat: str | None = None
    event_at: datetime | None = None  # infEvento/dhEvento (or dhRegEvento when registered)
    additional_info: str | None = None  # infAdic/infCpl
    problem: str | None = field(default=None, compare=False)  # why an XML that was there was unreadable


@dataclass(frozen=True, slots=True)
class EmitesResponse:
    """One answer from Emites-Client, every documented spelling folded into one shape."""

    identifier: str
    status: ResponseStatus
    numero: int | None = None  # nfe_numero / nfce_number / numero
    serie: int | None = None
    emites_id: int | None = None
    errors: tuple[str, ...] = ()
    emissao: EmissionReceipt | None = None
    cancelamento: CancellationReceipt | None = None
    xml: bytes | None = None
    danfe: bytes | None = None
    payments: tuple[PaymentEcho, ...] = ()
    reference: str | None = None  # the PDV-REF tag echoed back
    xml_facts: XmlFacts = field(default_factory=XmlFacts)
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the JSON, numbers as Decimal
    text: str = field(default="", repr=False)

    @property
    def chave(self) -> str | None:
        if self.emissao and self.emissao.chave_acesso:
            return self.emissao.chave_acesso
        if self.cancelamento and self.cancelamento.chave_acesso:
            return self.cancelamento.chave_acesso
        return self.xml_facts.chave

    @property
    def authorized_at(self) -> datetime | None:
        """``resposta_emissao.data_emissao``, else the XML's ``protNFe/infProt/dhRecbto``."""
        if self.emissao and self.emissao.data_emissao:
            return self.emissao.data_emissao
        return self.xml_facts.received_at

    @property
    def contingency(self) -> bool:
        """Issued in offline contingency: ``tpEmis`` 9 in the XML or in the chave."""
        if self.xml_facts.tp_emis == 9:
            return True
        key = self.chave
        return bool(key and is_chave_shape(key) and key[34] == "9")


def decode_payload(payload: bytes) -> str:
    """The payload as text. The protocol says ISO-8859-1; a payload that is valid UTF-8
    with non-ASCII bytes was almost surely sent as UTF-8 (Latin-1 text is practically
    never valid UTF-8), and reading it as such keeps ``"Uberlândia"`` readable."""
    if payload.isascii():
        return payload.decode("ascii")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode(ENCODING)


# Bounds on every number read from JSON, checked on the literal before any conversion. A
# 44-digit chave sent as a number must still fit; nothing the protocol carries comes near
# 10^64 or 10^-64. Without them ``1e999999`` costs seconds of CPU once something calls
# int() on it (and a larger exponent, a MemoryError), all on the event loop.
MAX_NUMBER_CHARS: Final = 64
MAX_NUMBER_EXPONENT: Final = 64


def _refuse_constant(name: str) -> Any:
    raise RemoteProtocolError(f"JSON constant {name} in answer")


def _number_literal(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise RemoteProtocolError(f"JSON number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    return text


def _bounded_int(text: str) -> int:
    return int(_number_literal(text))


def _bounded_decimal(text: str) -> Decimal:
    value = Decimal(_number_literal(text))  # exact and cheap: the exponent is only stored
    if not -MAX_NUMBER_EXPONENT <= value.adjusted() <= MAX_NUMBER_EXPONENT:  # 0e-999999 too
        raise RemoteProtocolError(f"JSON number {text} is out of range (|exponent| > {MAX_NUMBER_EXPONENT})")
    return value


def _loads(text: str) -> Any:
    """JSON with numbers as :class:`int` / :class:`Decimal`, each bounded (see
    :data:`MAX_NUMBER_CHARS`); anything unreadable is a :class:`RemoteProtocolError`."""
    try:
        return json.loads(
            text, parse_float=_bounded_decimal, parse_int=_bounded_int, parse_constant=_refuse_constant
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, or nesting past the limit
        raise RemoteProtocolError(f"answer is not valid JSON: {exc}") from None


def _opt_str(data: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise RemoteProtocolError(f"field {key!r} is not text: {value!r}"[:200])
        text = str(value).strip()
        if text:
            return text
    return None


def _opt_int(data: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = data.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            raise RemoteProtocolError(f"field {key!r} is not a number: {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        raise RemoteProtocolError(f"field {key!r} is not an integer: {value!r}"[:200])
    return None


def _opt_object(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RemoteProtocolError(f"field {key!r} is not an object")
    return value


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _instant(text: str | None) -> datetime | None:
    """An answer's timestamp in UTC. Emites documents ``data_emissao`` as UTC with a ``Z``;
    one without an offset is not guessed but read as absent
    (:mod:`posapp.domain.timestamps`), so ``dhRecbto`` from the XML is used instead."""
    return _utc(timestamp_or_none(text))


def flatten_errors(value: Any, prefix: str = "") -> tuple[str, ...]:
    """``["msg"]`` or ``{"campo": ["msg", ...]}`` (nested too) as ``"campo: msg"`` lines."""
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        return (f"{prefix}: {text}" if prefix else text,) if text else ()
    if isinstance(value, Mapping):
        lines: list[str] = []
        for key, item in value.items():
            lines.extend(flatten_errors(item, f"{prefix}.{key}" if prefix else str(key)))
        return tuple(lines)
    if isinstance(value, list | tuple):
        return tuple(line for item in value for line in flatten_errors(item, prefix))
    text = str(value)
    return (f"{prefix}: {text}" if prefix else text,)


def _b64(data: Mapping[str, Any], key: str) -> bytes | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RemoteProtocolError(f"field {key!r} is not base64 text")
    compact = "".join(value.split())  # MIME encoders wrap lines
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RemoteProtocolError(f"field {key!r} is not valid base64: {exc}") from None


def _payments(data: Mapping[str, Any]) -> tuple[PaymentEcho, ...]:
    value = data.get("forma_de_pagamento", data.get("forma_pagamento"))
    if not isinstance(value, list):
        return ()
    echoes = []
    for entry in value:
        if not isinstance(entry, Mapping):
            continue
        amount = entry.get("valor_do_pagamento")
        echoes.append(
            PaymentEcho(
                tipo_de_pagamento=_opt_str(entry, "tipo_de_pagamento"),
                valor_do_pagamento=(
                    Decimal(amount)
                    if isinstance(amount, int | Decimal) and not isinstance(amount, bool)
                    else None
                ),
            )
        )
    return tuple(echoes)


def parse_xml_facts(xml: bytes | None) -> XmlFacts:
    """The few facts we need from the returned XML (an ``nfeProc``, a bare contingency
    ``NFe`` or a cancel event), read by :mod:`posapp.domain.nfe_xml`; times in UTC.

    Never raises: an XML that cannot be read (malformed, a DTD, over the size cap, a chave
    that fails its check digit or disagrees with itself) gives empty facts with ``problem``
    set, and the JSON fields stay the primary source.
    """
    if not xml:
        return XmlFacts()
    try:
        document = read_fiscal_xml(xml)
    except NfeXmlError as exc:
        return XmlFacts(problem=exc.reason)
    if isinstance(document, NfeDocument):
        return XmlFacts(
            chave=document.chave,
            numero=document.numero,
            serie=document.serie,
            tp_emis=document.tp_emis,
            tp_amb=document.tp_amb,
            emitted_at=_utc(document.emitted_at),
            received_at=_utc(document.authorized_at),
            protocolo=document.protocolo,
            c_stat=document.c_stat,
            additional_info=document.additional_info,
        )
    return XmlFacts(chave=document.chave, tp_amb=document.tp_amb, event_at=_utc(document.occurred_at))


def parse_response(frame: Frame) -> EmitesResponse:
    """Read an answer frame. Raises :class:`RemoteProtocolError` for an unknown
    identifier or status, invalid JSON, a non-object payload, bad base64 or a field of
    the wrong type: all mean *we cannot tell what happened*."""
    if frame.identifier not in RESPONSE_IDENTIFIERS:
        raise RemoteProtocolError(f"unexpected answer identifier {frame.identifier!r}")
    text = decode_payload(frame.payload)
    data = _loads(text)
    if not isinstance(data, Mapping):
        raise RemoteProtocolError(f"answer is JSON {type(data).__name__}, not an object")
    raw_status = data.get("status")
    try:
        status = ResponseStatus(str(raw_status).strip().lower())
    except ValueError:
        raise RemoteProtocolError(f"unknown answer status {raw_status!r}"[:200]) from None

    emissao_data = _opt_object(data, "resposta_emissao")
    emissao = None
    if emissao_data is not None:
        emissao = EmissionReceipt(
            chave_acesso=_opt_str(emissao_data, "chave_acesso"),
            numero_protocolo=_opt_str(emissao_data, "numero_protocolo"),
            data_emissao=_instant(_opt_str(emissao_data, "data_emissao")),
            codigo_verificacao=_opt_str(emissao_data, "codigo_verificacao"),
        )
    cancel_data = _opt_object(data, "resposta_cancelamento")
    cancelamento = None
    if cancel_data is not None:
        cancelamento = CancellationReceipt(
            chave_acesso=_opt_str(cancel_data, "chave_acesso"),
            numero_protocolo=_opt_str(cancel_data, "numero_protocolo"),
        )
    info = _opt_object(data, "informacoes_adicionais")
    xml = _b64(data, "xml")
    facts = parse_xml_facts(xml)
    echoed = info.get("informacoes_contribuinte") if info is not None else None
    reference = extract_reference(echoed if isinstance(echoed, str) else None)
    return EmitesResponse(
        identifier=frame.identifier,
        status=status,
        numero=_opt_int(data, "nfe_numero", "nfce_number", "numero"),
        serie=_opt_int(data, "serie"),
        emites_id=_opt_int(data, "id"),
        errors=flatten_errors(data.get("erros")) + flatten_errors(data.get("errors")),
        emissao=emissao,
        cancelamento=cancelamento,
        xml=xml,
        danfe=_b64(data, "danfe"),
        payments=_payments(data),
        reference=reference or extract_reference(facts.additional_info),
        xml_facts=facts,
        data=data,
        text=text,
    )


def parse_request(frame: Frame) -> dict[str, Any]:
    """A request's JSON object (numbers as :class:`Decimal`), for simulators and tests.
    Raises :class:`RemoteProtocolError` (remote from the receiving side's point of view)."""
    data = _loads(decode_payload(frame.payload))
    if not isinstance(data, dict):
        raise RemoteProtocolError(f"request is JSON {type(data).__name__}, not an object")
    return data


def encode_response(identifier: str, payload: Mapping[str, Any], policy: TextPolicy = "latin1") -> bytes:
    """Frame an answer the way Emites-Client does; for simulators and tests."""
    return encode_request(identifier, payload, policy)
