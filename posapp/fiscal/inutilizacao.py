"""Inutilização of NFC-e numbers through the online providers: the port and how each
provider's answers read.

* Focus NFe: ``POST /v2/nfce/inutilizacao`` {cnpj, serie, numero_inicial, numero_final,
  justificativa}, synchronous, ``status`` ``autorizado`` / ``erro_autorizacao`` with
  ``status_sefaz``, ``protocolo_sefaz`` and ``caminho_xml``; asked again with
  ``GET /v2/nfce/inutilizacoes?cnpj=&serie=`` (the homologated ranges).
* Integra Notas: ``POST /nfce/inutiliza`` {numero_inicial, numero_final, serie,
  justificativa} (the emitter is the token's), ``sucesso``/``codigo``, ``protocolo`` and the
  XML in base64 [U: the answer's field names are not documented publicly]. Integra has no
  route to list inutilizações, so a lost answer is settled by sending the *identical*
  request again: SEFAZ does not inutilize twice, it answers 563 ("já existe pedido de
  inutilização com a mesma faixa") when the first one was homologated.

Only a definite answer is a verdict, as for notes (:mod:`posapp.fiscal.http_base`): a 5xx,
a timeout after the body left, an unreadable body or SEFAZ trouble leave it IN_DOUBT.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from posapp.domain.inutilizacao import InutOutcome, InutResult, NumberRange
from posapp.domain.timestamps import timestamp_or_none
from posapp.fiscal.http_base import Exchange, as_int, as_text, json_bytes, json_object, parse_json

ALREADY_SAME_RANGE = "563"  # SEFAZ: an identical range was already inutilizado
_SEFAZ_PENDING = frozenset({"105", "108", "109"})  # processing, service stopped: no verdict


@runtime_checkable
class Inutilizador(Protocol):
    """An issuer that can inutilizar a range (Focus NFe, Integra Notas)."""

    name: str

    def inutilizacao_request(self, numbers: NumberRange, justificativa: str) -> bytes:
        """The exact request body, journaled before it is sent and sent again as is."""
        ...

    async def inutilizar(self, request: bytes) -> InutResult: ...

    async def query_inutilizacao(self, request: bytes) -> InutResult:
        """What became of a request whose answer was lost. ``NOT_SENT``: the issuer has no
        such inutilização (safe to send the same request again)."""
        ...


def request_range(request: bytes) -> NumberRange:
    """The range a journaled request body asks for."""
    data = json.loads(request.decode("utf-8"))
    return NumberRange(int(data["serie"]), int(data["numero_inicial"]), int(data["numero_final"]))


def focus_body(cnpj: str, numbers: NumberRange, justificativa: str) -> bytes:
    return json_bytes(
        {
            "cnpj": cnpj,
            "serie": str(numbers.serie),
            "numero_inicial": str(numbers.first),
            "numero_final": str(numbers.last),
            "justificativa": justificativa,
        }
    )


def integra_body(numbers: NumberRange, justificativa: str) -> bytes:
    return json_bytes(
        {
            "numero_inicial": numbers.first,
            "numero_final": numbers.last,
            "serie": numbers.serie,
            "justificativa": justificativa,
        }
    )


def failed(name: str, exchange: Exchange, *, asking: bool = False) -> InutResult:
    """An exchange without an answer to act on. Failing to *ask* proves nothing: IN_DOUBT."""
    outcome = InutOutcome.IN_DOUBT
    if not asking and exchange.failure is not None and exchange.failure.value == "not_sent":
        outcome = InutOutcome.NOT_SENT
    return InutResult(outcome, name, raw_response=exchange.raw_text, detail=exchange.detail)


Download = Callable[[str | None], Awaitable[tuple[bytes | None, str]]]


async def read_focus_answer(name: str, exchange: Exchange, download: Download) -> InutResult:
    """Focus's answer to ``POST /v2/nfce/inutilizacao``."""
    status = exchange.status or 0
    body = json_object(exchange.response)
    raw = exchange.raw_text
    if status >= 500:
        return InutResult(InutOutcome.IN_DOUBT, name, raw_response=raw, detail=f"HTTP {status}: no verdict")
    if status in (401, 403):
        return InutResult(
            InutOutcome.NOT_SENT,
            name,
            errors=(f"O Focus NFe recusou o token (HTTP {status}).",),
            raw_response=raw,
            detail=f"HTTP {status}",
        )
    state = as_text(body.get("status"))
    c_stat = as_text(body.get("status_sefaz"))
    message = as_text(body.get("mensagem_sefaz")) or as_text(body.get("mensagem")) or ""
    if 200 <= status < 300 and state == "autorizado":
        return await focus_done(name, body, raw, download)
    if 200 <= status < 300 and state == "erro_autorizacao" and c_stat not in _SEFAZ_PENDING:
        return InutResult(
            InutOutcome.REFUSED,
            name,
            errors=(f"{c_stat} - {message}" if c_stat else message or "Inutilização recusada.",),
            raw_response=raw,
            detail=f"status_sefaz {c_stat}",
        )
    if status in (400, 404, 415, 422) and body.get("codigo"):
        return InutResult(
            InutOutcome.REFUSED,
            name,
            errors=(message or f"Inutilização recusada (HTTP {status}).",),
            raw_response=raw,
            detail=f"HTTP {status} {body.get('codigo')}",
        )
    return InutResult(InutOutcome.IN_DOUBT, name, raw_response=raw, detail=f"HTTP {status}: no verdict")


async def focus_done(name: str, body: Mapping[str, Any], raw: str | None, download: Download) -> InutResult:
    protocolo = as_text(body.get("protocolo_sefaz")) or as_text(body.get("protocolo"))
    xml, problem = await download(as_text(body.get("caminho_xml")))
    return InutResult(
        InutOutcome.DONE,
        name,
        protocolo=protocolo,
        done_at=timestamp_or_none(body.get("data_recebimento")),
        xml=xml,
        raw_response=raw,
        detail=problem,
    )


async def read_focus_listing(
    name: str, exchange: Exchange, numbers: NumberRange, download: Download
) -> InutResult:
    """Focus's ``GET /v2/nfce/inutilizacoes`` answer, looking for exactly ``numbers``."""
    status = exchange.status or 0
    if not 200 <= status < 300:
        return InutResult(
            InutOutcome.IN_DOUBT, name, raw_response=exchange.raw_text, detail=f"listing HTTP {status}"
        )
    data = parse_json(exchange.response)
    if not isinstance(data, list):
        return InutResult(
            InutOutcome.IN_DOUBT, name, raw_response=exchange.raw_text, detail="listing not understood"
        )
    for entry in data:
        if not isinstance(entry, dict):
            continue
        same = (
            as_int(entry.get("serie")),
            as_int(entry.get("numero_inicial")),
            as_int(entry.get("numero_final")),
        ) == (numbers.serie, numbers.first, numbers.last)
        if same and as_text(entry.get("status")) == "autorizado":
            return await focus_done(name, entry, exchange.raw_text, download)
    return InutResult(
        InutOutcome.NOT_SENT,
        name,
        raw_response=exchange.raw_text,
        detail=f"Focus lists no inutilização of {numbers.text()}: safe to send it again",
    )


def read_integra_answer(
    name: str, exchange: Exchange, decode: Callable[[object], bytes | None]
) -> InutResult:
    """Integra's answer to ``POST /nfce/inutiliza`` (also to the same request sent again)."""
    status = exchange.status or 0
    body = json_object(exchange.response)
    raw = exchange.raw_text
    sucesso, codigo = body.get("sucesso"), as_int(body.get("codigo"))
    message = as_text(body.get("mensagem")) or ""
    if status >= 500:
        return InutResult(InutOutcome.IN_DOUBT, name, raw_response=raw, detail=f"HTTP {status}: no verdict")
    if status in (401, 403):
        return InutResult(
            InutOutcome.NOT_SENT,
            name,
            errors=(f"O Integra Notas recusou o token (HTTP {status}).",),
            raw_response=raw,
            detail=f"HTTP {status}",
        )
    if sucesso is True and 200 <= status < 300:
        return InutResult(
            InutOutcome.DONE,
            name,
            protocolo=as_text(body.get("protocolo")),
            done_at=timestamp_or_none(body.get("data_recebimento")),
            xml=decode(body.get("xml")),
            raw_response=raw,
        )
    if sucesso is False and codigo is not None and str(codigo) == ALREADY_SAME_RANGE:
        # The very range is inutilizado at SEFAZ (by an earlier send whose answer was lost,
        # or outside this till). SEFAZ does not say its protocol again.
        return InutResult(
            InutOutcome.DONE,
            name,
            raw_response=raw,
            detail="563: the same range was already inutilizado; protocol not returned",
        )
    pending = codigo is not None and (codigo in (5008, 5023) or codigo >= 7000)
    if sucesso is False and not pending:
        head = f"{codigo} - {message}" if codigo is not None else message
        return InutResult(
            InutOutcome.REFUSED,
            name,
            errors=(head or "Inutilização recusada.",),
            raw_response=raw,
            detail=f"codigo {codigo}",
        )
    return InutResult(
        InutOutcome.IN_DOUBT, name, raw_response=raw, detail=f"HTTP {status} codigo {codigo}: no verdict"
    )
