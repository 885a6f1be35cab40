"""Integra Notas (Cloud-DFe API v1) behind the fiscal port.

Contract, from the vendor's "Fluxo da API" page (seed 000) and its official SDKs
(``notes/providers.md`` §2): ``POST /nfce`` issues, ``GET /nfce/{chave}`` queries,
``POST /nfce/busca`` searches by series and number, ``POST /nfce/cancela`` cancels,
``GET /nfce/pdf/{chave}`` gives the DANFCe, ``GET /nfce/status`` the SEFAZ service status.
The header is ``Authorization: <emitter token>`` (no "Bearer").

Answers carry ``sucesso`` and ``codigo``; the vendor's own examples read them so:

* ``sucesso`` and ``codigo == 2``: issued in offline contingency (still a valid note).
* ``sucesso``: authorized.
* ``codigo == 5023``: still processing; ask again later.
* ``codigo == 5008`` or ``>= 7000``: trouble between Integra and SEFAZ; the answer still
  carries the ``chave``, and the vendor says to *query first* before anything else.
* any other ``sucesso == false`` (5001/5002 validation, SEFAZ rejections): the document is
  deleted on their side and must be fixed and resent **with the same number**.

The client picks ``serie``/``numero`` (``Capabilities.needs_client_numbering``); the journal
reserves them before sending and hands the same pair back on every resend, so SEFAZ itself
refuses a second note with that number. A lost answer is reconciled by number: the chave
comes from the answer or from ``POST /nfce/busca`` for exactly that série and número, then
``GET /nfce/{chave}`` tells the state.

Only a definite answer to the request we sent is a verdict. A 5xx (even with Integra's
``sucesso: false`` JSON), a timeout, a body that is not Integra's JSON, a query refused
(401/403/429) or not understood leave the sale ``IN_DOUBT``; "not found" (``NOT_SENT`` from
a query) only comes from an authenticated query answered normally (Integra's own "documento
não encontrado", or a search that lists nothing at this number). SEFAZ's "duplicidade"
(204, 539: this série/número already holds a note, ours from an earlier send or another
till's) is no verdict either: it is reported as ``duplicate`` and ``IN_DOUBT``, with the
existing note when the answer names it (its chave, then ``GET /nfce/{chave}``) or the search
finds it, for the services to judge. An "authorized" answer is passed on as Integra said it;
the services verify its chave, série and número against the sale and the reservation.

Documented limits honoured here: at least 60 s of read timeout; bodies over 2 MB refused
locally (the API answers 413); 60 calls a minute in general and 2 a minute per
token+chave on ``/{chave}`` routes, counted locally; a 429 blocks us for 5 minutes.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple, Unpack

from posapp.config import Config, ProviderConfig
from posapp.domain.cancel import check_motivo
from posapp.domain.documents import UF_CODES
from posapp.domain.inutilizacao import InutOutcome, InutResult, NumberRange
from posapp.domain.issuance import (
    CancelOutcome,
    CancelResult,
    CancelTarget,
    Capabilities,
    Health,
    IssueContext,
    IssueResult,
    Outcome,
    PreparedIssue,
)
from posapp.domain.sale import Customer, Sale
from posapp.domain.sale_rules import PRESENCE_DELIVERY, check_sale_for_store
from posapp.domain.timestamps import timestamp_or_none
from posapp.fiscal import inutilizacao
from posapp.fiscal.http_base import (
    Budget,
    Exchange,
    ProviderRequestError,
    SlidingWindow,
    as_int,
    as_text,
    build_note,
    chave_digits,
    json_bytes,
    json_object,
    messages_of,
    money_text,
    parse_json,
    xml_of_another_chave,
)
from posapp.fiscal.provider_common import (
    HttpProviderBackend,
    PaymentFields,
    ProviderOptions,
    TaxFigures,
    item_line,
    payment_line,
    rate_text,
    tax_figures,
)

NAME = "integranotas"
MAX_BODY_BYTES = 2 * 1024 * 1024  # larger bodies get HTTP 413, unprocessed
MIN_TIMEOUT_S = 60.0  # "sua aplicação deve ter no mínimo 60 segundos de timeout"
GENERAL_PER_MINUTE = 60
PER_CHAVE_PER_MINUTE = 2
BLOCK_S = 300.0  # "duração do bloqueio de 5 minutos"
CODE_OFFLINE = 2
CODE_SEFAZ_TROUBLE = 5008
CODE_PROCESSING = 5023
_DUPLICATE_CODES = frozenset({204, 539})
_NOT_FOUND_CODE = 5013  # "Documento não encontrado"
_REFERENCE = re.compile(r"[0-9A-Za-z_-]{1,64}")
_CHAVE_IN_MESSAGE = re.compile(
    r"chNFe:\s*([0-9]{6}[0-9A-Z]{12}[0-9]{26})"
)  # the CNPJ part may be alphanumeric
_MAX_BLOB_BYTES = 10 * 1024 * 1024
_PAYMENT_FIELDS = PaymentFields(  # [U] the card and description field names
    method="meio_pagamento",
    amount="valor",
    brand="bandeira",
    authorization="autorizacao",
    description="descricao",
)


class IntegraNotasBackend(HttpProviderBackend):
    """The Integra Notas adapter. Needs ``IssueContext.serie``/``numero`` reserved.

    The token is the bare ``Authorization`` header; ``options`` as in :class:`ProviderOptions`.
    ``enforce_min_timeout=False`` lets tests use a short read timeout.
    """

    name = NAME
    auth_style = "header"
    default_block_s = BLOCK_S

    def __init__(
        self,
        provider: ProviderConfig,
        config: Config,
        *,
        fetch_pdf: bool = True,
        enforce_min_timeout: bool = True,
        **options: Unpack[ProviderOptions],
    ) -> None:
        timeout_s = max(provider.timeout_s, MIN_TIMEOUT_S) if enforce_min_timeout else provider.timeout_s
        super().__init__(provider, config, timeout_s=timeout_s, **options)
        self._fetch_pdf = fetch_pdf
        self._general = SlidingWindow(GENERAL_PER_MINUTE, 60.0, clock=self._clock)
        self._per_chave = SlidingWindow(PER_CHAVE_PER_MINUTE, 60.0, clock=self._clock)
        # chaves learned from answers in this process, by (serie, numero): saves a search
        self._known_chaves: dict[tuple[int, int], str] = {}

    # -- port --------------------------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            issues_nfce=self._has_token,
            needs_client_numbering=True,
            can_query=True,
            returns_danfe_pdf=self._fetch_pdf,
            reason=self._token_problem,
        )

    def blocked_s(self) -> float:
        """Seconds before an issue may be sent (429 block or local budget); 0 if none."""
        return self._http.blocked_s(("*",), (Budget(self._general, "general"),))

    def prepare_issue(self, context: IssueContext) -> PreparedIssue:
        """The JSON body for ``POST /nfce`` with the reserved ``serie``/``numero``."""
        if context.serie is None or context.numero is None:
            raise ProviderRequestError(
                "Integra Notas needs serie/numero reserved by the journal",
                user_message="Numeração (série/número) não reservada para o Integra Notas.",
            )
        if not (0 <= context.serie <= 999 and 1 <= context.numero <= 999_999_999):
            raise ProviderRequestError(f"serie/numero out of range: {context.serie}/{context.numero}")
        check_sale_for_store(context.sale, uf=self._config.store.uf)  # the state's rules, before sending
        emitted_at = self._emission_time(context)
        body = build_integra_body(
            context.sale,
            self._config,
            serie=context.serie,
            numero=context.numero,
            emitted_at=emitted_at,
            reference=context.reference,
        )
        payload = json_bytes(body)
        if len(payload) > MAX_BODY_BYTES:
            raise ProviderRequestError(
                f"request of {len(payload)} bytes exceeds Integra's 2 MB limit",
                user_message="Venda grande demais para o Integra Notas (limite de 2 MB por requisição).",
            )
        return PreparedIssue(
            backend=NAME,
            reference=context.reference,
            payload=payload,
            meta={
                "serie": context.serie,
                "numero": context.numero,
                "chave_prefix": chave_prefix(self._config, emitted_at, context.serie, context.numero),
            },
        )

    async def send_issue(self, prepared: PreparedIssue) -> IssueResult:
        serie, numero, _prefix = self._numbering(prepared)
        if not self._has_token:
            return self._token_missing(Outcome.NOT_SENT)
        exchange = await self._http.request(
            "POST", "nfce", body=prepared.payload, budgets=(Budget(self._general, "general"),)
        )
        if exchange.failure is not None:
            return self._failed(exchange)
        status, body, raw, sucesso, codigo = _read(exchange)
        if status >= 500:
            # Integra answers JSON even then ("sucesso": false): still no verdict; the note may
            # have been issued before the failure.
            return self._no_verdict(raw, f"HTTP {status}: Integra failed; it may have issued the note")
        if status == 413:
            return IssueResult(
                Outcome.REJECTED,
                NAME,
                errors=("Requisição maior que o limite de 2 MB do Integra Notas.",),
                raw_response=raw,
                detail="HTTP 413",
            )
        if status in (401, 403):
            return IssueResult(
                Outcome.NOT_SENT,
                NAME,
                errors=("Integra Notas recusou o token do emitente.",),
                raw_response=raw,
                detail=f"HTTP {status}: token refused",
            )
        if not isinstance(sucesso, bool):
            if status == 404:
                return IssueResult(Outcome.NOT_SENT, NAME, raw_response=raw, detail="HTTP 404: no such route")
            return self._no_verdict(raw, f"HTTP {status}: no sucesso/codigo verdict")
        chave = chave_digits(body.get("chave"))
        if chave is not None:
            self._known_chaves[(serie, numero)] = chave
        if sucesso:
            return await self._authorized(body, raw, serie=serie, numero=numero)
        if codigo == CODE_PROCESSING:
            return IssueResult(Outcome.IN_DOUBT, NAME, raw_response=raw, detail="codigo 5023: processing")
        if codigo == CODE_SEFAZ_TROUBLE or (codigo is not None and codigo >= 7000):
            # The vendor's rule: synchronise by querying before doing anything else.
            queried = await self.query_issue(prepared)
            if queried.outcome in (Outcome.AUTHORIZED, Outcome.REJECTED):
                return queried
            return IssueResult(
                Outcome.IN_DOUBT, NAME, raw_response=raw, detail=f"codigo {codigo}: {queried.detail}"
            )
        if codigo in _DUPLICATE_CODES or "duplicidade" in (as_text(body.get("mensagem")) or "").lower():
            return await self._duplicate(prepared, body, raw, codigo)
        return IssueResult(
            Outcome.REJECTED,
            NAME,
            errors=_errors(body) or ("Rejeitada pelo Integra Notas.",),
            raw_response=raw,
            detail=f"codigo {codigo}: fix and resend with the same number",
        )

    async def _duplicate(
        self, prepared: PreparedIssue, body: Mapping[str, Any], raw: str | None, codigo: int | None
    ) -> IssueResult:
        """SEFAZ already holds a note with this série/número: an earlier send of ours, or
        another till's sale. Reported as a duplicate, in doubt, with that note when it can be
        found: from the answer itself (its XML), by the chave it names, or by the number."""
        serie, numero, _prefix = self._numbering(prepared)
        claimed = as_text(body.get("chave"))
        if claimed is None:
            found_in_message = _CHAVE_IN_MESSAGE.search(as_text(body.get("mensagem")) or "")
            claimed = found_in_message.group(1) if found_in_message else None
        chave = chave_digits(claimed) if claimed is not None else None
        existing: IssueResult
        if chave is not None and decode_blob(body.get("xml")) is not None:
            existing = await self._authorized(
                {**body, "chave": chave, "codigo": None, "status": None},
                raw,
                serie=serie,
                numero=numero,
                queried=True,
            )
        elif chave is not None:
            self._known_chaves[(serie, numero)] = chave
            existing = await self._query_chave(chave, serie=serie, numero=numero)
        else:
            existing = await self.query_issue(prepared)
        note = existing.note if existing.outcome is Outcome.AUTHORIZED else None
        return IssueResult(
            Outcome.IN_DOUBT,
            NAME,
            note=note,
            errors=_errors(body) or ("Duplicidade de NF-e: esta série/número já foi usada.",),
            raw_response=raw,
            detail=f"codigo {codigo}: série {serie} número {numero} already used at SEFAZ; it holds: "
            f"{existing.outcome.value} {existing.detail}".rstrip(),
            duplicate=True,
        )

    async def query_issue(self, prepared: PreparedIssue) -> IssueResult:
        """Find the note by its number, then ``GET /nfce/{chave}``.

        ``NOT_SENT``: Integra holds no document with this series and number (never
        received, or rejected and deleted): safe to send again with the same number. Only a
        search answered normally says so; a chave learned from an earlier answer that Integra
        no longer knows is looked up again by number first.
        """
        serie, numero, prefix = self._numbering(prepared)
        if not self._has_token:
            return self._token_missing(Outcome.IN_DOUBT)
        known = self._known_chaves.get((serie, numero))
        if known is not None:
            result = await self._query_chave(known, serie=serie, numero=numero)
            if result.outcome is not Outcome.NOT_SENT:
                return result
            del self._known_chaves[(serie, numero)]
        found = await self._search(serie, numero, prefix)
        if isinstance(found, IssueResult):
            return found
        self._known_chaves[(serie, numero)] = found
        result = await self._query_chave(found, serie=serie, numero=numero)
        if result.outcome is Outcome.NOT_SENT:
            # The search lists it, the query says there is no such note: the answers disagree.
            return self._no_verdict(result.raw_response, f"busca lists {found} but GET says not found")
        return result

    async def cancel(self, target: CancelTarget, motivo: str) -> CancelResult:
        justificativa = check_motivo(motivo)
        chave = chave_digits(target.chave)
        if chave is None:
            raise ProviderRequestError(f"invalid chave {target.chave!r}")
        if not self._has_token:
            return self._token_missing_cancel()
        exchange = await self._http.request(
            "POST",
            "nfce/cancela",
            body=json_bytes({"chave": chave, "justificativa": justificativa}),
            budgets=(Budget(self._general, "general"),),
        )
        if exchange.failure is not None:
            return self._failed_cancel(exchange)
        status, body, raw, sucesso, codigo = _read(exchange)
        if status >= 500:
            return CancelResult(CancelOutcome.IN_DOUBT, NAME, raw_response=raw, detail=f"HTTP {status}")
        if status in (401, 403):
            return CancelResult(CancelOutcome.NOT_SENT, NAME, raw_response=raw, detail=f"HTTP {status}")
        if sucesso is True and 200 <= status < 300:
            xml = decode_blob(body.get("xml"))
            return CancelResult(
                CancelOutcome.CANCELLED,
                NAME,
                protocolo=as_text(body.get("protocolo")),
                cancelled_at=timestamp_or_none(body.get("data_evento")) or self._now(),
                xml=xml,
                raw_response=raw,
            )
        if sucesso is False and not _sefaz_pending(codigo):
            # A SEFAZ refusal; 218/573 ("already cancelled", "duplicidade de evento") among
            # them: another cancel of this note took effect, which the lifecycle reads.
            return CancelResult(
                CancelOutcome.REFUSED,
                NAME,
                errors=_errors(body) or ("Cancelamento recusado.",),
                raw_response=raw,
                detail=f"codigo {codigo}",
            )
        return CancelResult(
            CancelOutcome.IN_DOUBT, NAME, raw_response=raw, detail=f"HTTP {status} codigo {codigo}"
        )

    async def probe(self) -> Health:
        """``GET /nfce/status``: up; SEFAZ down behind a reachable Integra is contingency."""
        if not self._has_token:
            return Health.DOWN
        exchange = await self._http.request("GET", "nfce/status", budgets=(Budget(self._general, "general"),))
        if exchange.failure is not None or exchange.status in (401, 403):
            return Health.DOWN
        sucesso = json_object(exchange.response).get("sucesso")
        if sucesso is True:
            return Health.UP
        if sucesso is False:
            return Health.CONTINGENCY
        return Health.DOWN if (exchange.status or 500) >= 500 else Health.UNKNOWN

    # -- inutilização (posapp.fiscal.inutilizacao) ---------------------------------------

    def inutilizacao_request(self, numbers: NumberRange, justificativa: str) -> bytes:
        return inutilizacao.integra_body(numbers, justificativa)

    async def inutilizar(self, request: bytes) -> InutResult:
        """``POST /nfce/inutiliza`` (the emitter is the token's)."""
        if not self._has_token:
            return InutResult(InutOutcome.NOT_SENT, NAME, detail=f"token missing: {self._token_problem}")
        exchange = await self._http.request(
            "POST", "nfce/inutiliza", body=request, budgets=(Budget(self._general, "general"),)
        )
        if exchange.failure is not None:
            return inutilizacao.failed(NAME, exchange)
        return inutilizacao.read_integra_answer(NAME, exchange, decode_blob)

    async def query_inutilizacao(self, request: bytes) -> InutResult:
        """Integra lists no inutilizações: the identical request is sent again, which SEFAZ
        never applies twice (563 when the first was homologated). Never ``NOT_SENT``: not
        reaching Integra now says nothing about the first request."""
        result = await self.inutilizar(request)
        if result.outcome is InutOutcome.NOT_SENT:
            return replace(result, outcome=InutOutcome.IN_DOUBT)
        return result

    # -- helpers -----------------------------------------------------------------------

    def _numbering(self, prepared: PreparedIssue) -> tuple[int, int, str]:
        self._check_prepared(prepared)
        serie = as_int(prepared.meta.get("serie"))
        numero = as_int(prepared.meta.get("numero"))
        prefix = as_text(prepared.meta.get("chave_prefix")) or ""
        if serie is None or numero is None:
            raise ProviderRequestError("prepared Integra request without serie/numero in its meta")
        return serie, numero, prefix

    async def _search(self, serie: int, numero: int, prefix: str) -> str | IssueResult:
        """``POST /nfce/busca`` for exactly this number: the chave of the document Integra
        holds there (as Integra tells it), or a result to return: ``NOT_SENT`` only when the
        search was answered normally and lists nothing at this number."""
        exchange = await self._http.request(
            "POST",
            "nfce/busca",
            body=json_bytes({"numero_inicial": numero, "numero_final": numero, "serie": serie}),
            budgets=(Budget(self._general, "general"),),
        )
        if exchange.failure is not None:
            return self._failed(exchange, Outcome.IN_DOUBT)
        status = exchange.status or 0
        if status in (401, 403) or status >= 500:
            return self._no_verdict(
                exchange.raw_text,
                f"busca HTTP {status}",
                f"O Integra Notas não respondeu à consulta (HTTP {status}); a venda segue em dúvida.",
            )
        data = parse_json(exchange.response)
        documents: list[Mapping[str, Any]] | None = None
        if _says_not_found(data) and (200 <= status < 300 or status == 404):
            documents = []
        elif 200 <= status < 300:
            documents = _documents_in(data)
        if documents is None:
            return self._no_verdict(exchange.raw_text, f"busca HTTP {status}: answer not understood")
        here = [d for d in documents if _number_of(d) == (serie, numero)]
        if not here:
            return IssueResult(
                Outcome.NOT_SENT,
                NAME,
                raw_response=exchange.raw_text,
                detail=f"no document {serie}/{numero} at Integra: safe to resend with the same number",
            )
        chaves = [c for c in (chave_digits(d.get("chave")) for d in here) if c is not None]
        if not chaves:
            return self._no_verdict(
                exchange.raw_text, f"busca lists a document {serie}/{numero} without a usable chave"
            )
        # Several at this number (it should not happen): the one whose chave we would expect.
        return next((c for c in chaves if prefix and c.startswith(prefix)), chaves[0])

    async def _query_chave(self, chave: str, *, serie: int, numero: int) -> IssueResult:
        exchange = await self._http.request(
            "GET", f"nfce/{chave}", budgets=(Budget(self._per_chave, chave),), scopes=("*",)
        )
        if exchange.failure is not None:
            return self._failed(exchange, Outcome.IN_DOUBT)
        status, body, raw, sucesso, codigo = _read(exchange)
        if status in (401, 403) or status >= 500:
            return self._no_verdict(
                raw,
                f"GET nfce/{chave}: HTTP {status}",
                f"O Integra Notas não respondeu à consulta (HTTP {status}); a venda segue em dúvida.",
            )
        if _says_not_found(body) and (status == 404 or 200 <= status < 300):
            return IssueResult(
                Outcome.NOT_SENT, NAME, raw_response=raw, detail=f"GET nfce/{chave}: not found ({status})"
            )
        if not 200 <= status < 300:  # a bare 404 page, or anything else: nothing learned
            return self._no_verdict(raw, f"GET nfce/{chave}: HTTP {status} codigo {codigo}")
        if sucesso is True:
            return await self._authorized(
                {"chave": chave, **body}, raw, serie=serie, numero=numero, queried=True
            )
        if codigo == CODE_PROCESSING:
            return IssueResult(
                Outcome.IN_DOUBT, NAME, raw_response=raw, detail="codigo 5023: still processing"
            )
        if sucesso is False and not _sefaz_pending(codigo):
            return IssueResult(
                Outcome.REJECTED,
                NAME,
                errors=_errors(body) or ("Rejeitada pelo Integra Notas.",),
                raw_response=raw,
                detail=f"query codigo {codigo}",
            )
        return self._no_verdict(raw, f"query HTTP {status} codigo {codigo}")

    async def _authorized(
        self, body: Mapping[str, Any], raw: str | None, *, serie: int, numero: int, queried: bool = False
    ) -> IssueResult:
        """The note as Integra told it (número and série as it said them, not as we asked)."""
        claimed = as_text(body.get("chave"))
        if claimed is None:
            return self._no_verdict(raw, "sucesso without a chave")
        chave = chave_digits(claimed)
        if chave is None:
            return self._unusable_chave(claimed, raw)
        xml = decode_blob(body.get("xml"))
        if xml is None and not queried:
            # The issue answer may not carry the XML; the query does (one of the 2 calls a
            # minute this chave is allowed).
            fetched = await self._query_chave(chave, serie=serie, numero=numero)
            if fetched.outcome is Outcome.AUTHORIZED and fetched.note is not None:
                xml = fetched.note.xml
        other = xml_of_another_chave(xml, chave)
        if other is not None:
            return self._self_contradiction(chave, other, raw)
        # The PDF costs one of this chave's 2 calls a minute: fetched on issue only, never
        # while reconciling (the native DANFE prints from the XML anyway).
        pdf = await self._pdf(chave) if self._fetch_pdf and not queried else None
        note = build_note(
            chave=chave,
            numero=as_int(body.get("numero")),
            serie=as_int(body.get("serie")),
            xml=xml,
            protocolo=as_text(body.get("protocolo")),
            authorized_at=timestamp_or_none(body.get("data_autorizacao"))
            or timestamp_or_none(body.get("data_recebimento")),
            contingency=as_int(body.get("codigo")) == CODE_OFFLINE,
            danfe_pdf=pdf,
            now=self._now,
        )
        detail = "issued in offline contingency" if note.contingency else ""
        if as_text(body.get("status")) == "cancelado":
            detail = "note already cancelled"
        return IssueResult(Outcome.AUTHORIZED, NAME, note=note, raw_response=raw, detail=detail)

    async def _pdf(self, chave: str) -> bytes | None:
        """The DANFCe PDF, only if the per-chave budget allows and it really is a PDF."""
        if self._per_chave.wait_s(chave) > 0:
            return None
        exchange = await self._http.request(
            "GET", f"nfce/pdf/{chave}", budgets=(Budget(self._per_chave, chave),)
        )
        if exchange.failure is not None or exchange.response is None or exchange.status != 200:
            return None
        if exchange.response.content.startswith(b"%PDF-"):
            return exchange.response.content
        pdf = decode_blob(json_object(exchange.response).get("pdf"))
        return pdf if pdf is not None and pdf.startswith(b"%PDF-") else None


# -- the request body ---------------------------------------------------------------------


def chave_prefix(config: Config, emitted_at: datetime, serie: int, numero: int) -> str:
    """The first 34 digits of the chave Integra will give this note (UF .. nNF)."""
    return f"{UF_CODES[config.store.uf]}{emitted_at:%y%m}{config.store.cnpj}65{serie:03d}{numero:09d}"


def build_integra_body(
    sale: Sale,
    config: Config,
    *,
    serie: int,
    numero: int,
    emitted_at: datetime,
    reference: str | None = None,
) -> dict[str, Any]:
    """The NFC-e in Integra's nested JSON (``notes/providers.md`` §2.3; the vendor example).

    ``reference`` (the sale's, till-scoped) travels as ``PDV-REF:<reference>`` in the free
    text, as in the Emites request: it lands in the note's ``infCpl``, so a person
    reconciling by hand finds the note by it. The série and número stay the idempotency key.
    """
    body: dict[str, Any] = {
        "natureza_operacao": config.emitter.natureza_operacao,
        "serie": str(serie),
        "numero": str(numero),
        "data_emissao": emitted_at.isoformat(timespec="seconds"),
        "tipo_operacao": "1",
        "presenca_comprador": str(PRESENCE_DELIVERY if sale.delivery else config.emitter.indicador_presenca),
    }
    if sale.customer is not None:
        body["destinatario"] = integra_consumer(sale.customer)
    body["itens"] = [
        item_line(number, item, integra_taxes(tax_figures(item, config)))
        for number, item in enumerate(sale.items, start=1)
    ]
    body["frete"] = {"modalidade_frete": "9"}
    pagamento: dict[str, Any] = {
        "formas_pagamento": [payment_line(payment, _PAYMENT_FIELDS) for payment in sale.payments]
    }
    if sale.change > 0:
        pagamento["troco"] = money_text(sale.change)  # [U] field name
    body["pagamento"] = pagamento
    free_text = [config.emitter.informacoes_contribuinte or ""]
    if reference is not None and _REFERENCE.fullmatch(reference):
        free_text.append(f"PDV-REF:{reference}")
    if any(free_text):
        body["informacoes_adicionais_contribuinte"] = " ".join(t for t in free_text if t)
    return body


def integra_consumer(customer: Customer) -> dict[str, Any]:
    """[U] The NF-e layout's ``destinatario`` group (the NFC-e example omits it): ``cpf``,
    ``cnpj`` or ``id_estrangeiro``, ``nome``, and the ``endereco`` when known."""
    person: dict[str, Any] = {}
    if customer.document is not None:
        person["cnpj" if customer.is_company else "cpf"] = customer.document
    else:
        person["id_estrangeiro"] = customer.foreign_id
    if customer.name:
        person["nome"] = customer.name
    address = customer.address
    if address is not None:
        endereco = {
            "logradouro": address.street,
            "numero": address.number,
            "complemento": address.complement,
            "bairro": address.district,
            "codigo_municipio": address.city_code,
            "nome_municipio": address.city,
            "uf": address.uf,
            "cep": address.cep,
            "telefone": address.phone,
        }
        person["endereco"] = {k: v for k, v in endereco.items() if v is not None}
    return person


def integra_taxes(tax: TaxFigures) -> dict[str, Any]:
    """Integra's tax fields of one item (the nested ``imposto``): the item's own ICMS code
    (CST or CSOSN) with its values, PIS/COFINS, ``ibs_cbs`` and the Lei 12.741 value."""
    icms: dict[str, Any] = {"situacao_tributaria": tax.icms_code}
    if tax.icms is not None:
        icms["modalidade_base_calculo"] = "3"
        icms["base_calculo"] = money_text(tax.icms.base)
        icms["aliquota"] = rate_text(tax.icms.rate)
        icms["valor"] = money_text(tax.icms.value)
        if tax.icms_reduction is not None:
            icms["reducao_base_calculo"] = rate_text(tax.icms_reduction)
    if tax.st is not None:
        icms["base_calculo_retido_st"] = money_text(tax.st.base)
        icms["aliquota_suportada_consumidor"] = rate_text(tax.st.rate)
        icms["valor_retido_st"] = money_text(tax.st.value)
    imposto: dict[str, Any] = {"icms": icms}
    for name, cst, values in (("pis", tax.pis_cst, tax.pis), ("cofins", tax.cofins_cst, tax.cofins)):
        group: dict[str, Any] = {"situacao_tributaria": cst}
        if values is not None:
            group["base_calculo"] = money_text(values.base)
            group["aliquota"] = rate_text(values.rate)
            group["valor"] = money_text(values.value)
        imposto[name] = group
    if tax.ibs_cbs is not None:
        imposto["ibs_cbs"] = {
            "situacao_tributaria": tax.ibs_cbs[0],
            "classificacao_tributaria": tax.ibs_cbs[1],
        }
    if tax.approx is not None:
        imposto["valor_aproximado_tributos"] = money_text(tax.approx.total)
    return {"origem": str(tax.origin), "inclui_no_total": "1", "imposto": imposto}


# -- small helpers ------------------------------------------------------------------------


class _Answer(NamedTuple):
    """The parts of an Integra answer that every decision reads."""

    status: int  # 0 when there was no response
    body: Mapping[str, Any]
    raw: str | None
    sucesso: object  # True, False, or anything else when the answer is not Integra's
    codigo: int | None


def _read(exchange: Exchange) -> _Answer:
    body = json_object(exchange.response)
    return _Answer(
        exchange.status or 0, body, exchange.raw_text, body.get("sucesso"), as_int(body.get("codigo"))
    )


def decode_blob(value: object) -> bytes | None:
    """An XML/PDF field: raw XML text, or base64 (possibly of gzip, as their webhooks send)."""
    text = as_text(value)
    if text is None:
        return None
    if text.startswith("<"):
        return text.encode("utf-8")
    try:
        data = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None
    if data.startswith(b"\x1f\x8b"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                data = handle.read(_MAX_BLOB_BYTES + 1)
        except (OSError, EOFError):
            return None
        if len(data) > _MAX_BLOB_BYTES:
            return None
    return data or None


def _sefaz_pending(codigo: int | None) -> bool:
    """Codes after which the note's fate is not known yet (processing, SEFAZ trouble)."""
    return codigo is not None and (codigo in (CODE_SEFAZ_TROUBLE, CODE_PROCESSING) or codigo >= 7000)


def _says_not_found(data: object) -> bool:
    """Integra's own "documento não encontrado" answer (``sucesso`` false, codigo 5013)."""
    if not isinstance(data, dict) or data.get("sucesso") is not False:
        return False
    mensagem = (as_text(data.get("mensagem")) or "").lower()
    return as_int(data.get("codigo")) == _NOT_FOUND_CODE or "não encontrad" in mensagem


def _number_of(document: Mapping[str, Any]) -> tuple[int, int] | None:
    """A searched document's série and número: its own fields, else its chave's digits."""
    serie, numero = as_int(document.get("serie")), as_int(document.get("numero"))
    if serie is not None and numero is not None:
        return serie, numero
    chave = chave_digits(document.get("chave"))
    return (int(chave[22:25]), int(chave[25:34])) if chave is not None else None


def _documents_in(data: object) -> list[Mapping[str, Any]] | None:
    """The documents of a ``busca`` answer, whatever key holds them ([U] shape); ``None``
    when the answer is not a list of documents (a refusal, an error)."""
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    if not isinstance(data, dict) or data.get("sucesso") is False:
        return None
    for key in ("data", "documentos", "docs", "notas", "resultado"):
        value = data.get(key)
        if isinstance(value, list):
            return [d for d in value if isinstance(d, dict)]
    if "chave" in data:
        return [data]
    return None


def _errors(body: Mapping[str, Any]) -> tuple[str, ...]:
    mensagem = as_text(body.get("mensagem"))
    codigo = as_int(body.get("codigo"))
    head = f"{codigo} - {mensagem}" if mensagem and codigo is not None else mensagem
    return ((head,) if head else ()) + messages_of(body.get("erros"))
