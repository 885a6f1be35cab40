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
we look for starts with the 34 digits we can derive (UF, year-month, CNPJ, model, series,
number); its last ten (emission type, the issuer's random code, check digit) come from the
answer or from ``POST /nfce/busca``, then ``GET /nfce/{chave}`` tells the state.

Documented limits honoured here: at least 60 s of read timeout; bodies over 2 MB refused
locally (the API answers 413); 60 calls a minute in general and 2 a minute per
token+chave on ``/{chave}`` routes, counted locally; a 429 blocks us for 5 minutes.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple, Unpack

from posapp.config import Config, ProviderConfig
from posapp.domain.cancel import check_motivo
from posapp.domain.documents import UF_CODES
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
from posapp.domain.sale import Item, Sale
from posapp.domain.timestamps import timestamp_or_none
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
)
from posapp.fiscal.provider_common import (
    HttpProviderBackend,
    PaymentFields,
    ProviderOptions,
    item_line,
    payment_line,
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
_MAX_BLOB_BYTES = 10 * 1024 * 1024
_PAYMENT_FIELDS = PaymentFields(  # [U] the card field names
    method="meio_pagamento", amount="valor", brand="bandeira", authorization="autorizacao"
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
        icms_situacao_tributaria: str = "102",
        pis_cofins_situacao_tributaria: str = "49",
        fetch_pdf: bool = True,
        enforce_min_timeout: bool = True,
        **options: Unpack[ProviderOptions],
    ) -> None:
        timeout_s = max(provider.timeout_s, MIN_TIMEOUT_S) if enforce_min_timeout else provider.timeout_s
        super().__init__(provider, config, timeout_s=timeout_s, **options)
        self._icms_cst = icms_situacao_tributaria
        self._pis_cofins_cst = pis_cofins_situacao_tributaria
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
        emitted_at = self._emission_time(context)
        body = build_integra_body(
            context.sale,
            self._config,
            serie=context.serie,
            numero=context.numero,
            emitted_at=emitted_at,
            icms_situacao_tributaria=self._icms_cst,
            pis_cofins_situacao_tributaria=self._pis_cofins_cst,
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
            outcome = Outcome.NOT_SENT if status == 404 else Outcome.IN_DOUBT
            return IssueResult(
                outcome, NAME, raw_response=raw, detail=f"HTTP {status}: no sucesso/codigo verdict"
            )
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
            # SEFAZ already holds a note with this number: most likely our earlier send.
            queried = await self.query_issue(prepared)
            if queried.outcome is Outcome.AUTHORIZED:
                return queried
            return IssueResult(Outcome.IN_DOUBT, NAME, raw_response=raw, detail="duplicate number, not found")
        return IssueResult(
            Outcome.REJECTED,
            NAME,
            errors=_errors(body) or ("Rejeitada pelo Integra Notas.",),
            raw_response=raw,
            detail=f"codigo {codigo}: fix and resend with the same number",
        )

    async def query_issue(self, prepared: PreparedIssue) -> IssueResult:
        """Find the note by its number, then ``GET /nfce/{chave}``.

        ``NOT_SENT``: Integra holds no document with this series and number (never
        received, or rejected and deleted): safe to send again with the same number.
        """
        serie, numero, prefix = self._numbering(prepared)
        if not self._has_token:
            return self._token_missing(Outcome.IN_DOUBT)
        chave = self._known_chaves.get((serie, numero))
        if chave is None:
            found = await self._search(serie, numero, prefix)
            if isinstance(found, IssueResult):
                return found
            chave = found
            self._known_chaves[(serie, numero)] = chave
        return await self._query_chave(chave, serie=serie, numero=numero)

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
        if status in (401, 403):
            return CancelResult(CancelOutcome.NOT_SENT, NAME, raw_response=raw, detail=f"HTTP {status}")
        if sucesso is True:
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
        """``POST /nfce/busca`` for exactly this number: its chave, or a result to return."""
        exchange = await self._http.request(
            "POST",
            "nfce/busca",
            body=json_bytes({"numero_inicial": numero, "numero_final": numero, "serie": serie}),
            budgets=(Budget(self._general, "general"),),
        )
        if exchange.failure is not None:
            return self._failed(exchange, Outcome.IN_DOUBT)
        if exchange.status in (401, 403) or (exchange.status or 500) >= 500:
            return IssueResult(
                Outcome.IN_DOUBT, NAME, raw_response=exchange.raw_text, detail=f"busca HTTP {exchange.status}"
            )
        data = parse_json(exchange.response)
        documents = _documents_in(data)
        if documents is None:
            return IssueResult(
                Outcome.IN_DOUBT, NAME, raw_response=exchange.raw_text, detail="busca answer not understood"
            )
        for document in documents:
            chave = chave_digits(document.get("chave"))
            if chave is None:
                continue
            same_number = chave[22:25] == f"{serie:03d}" and chave[25:34] == f"{numero:09d}"
            # UF and CNPJ must match too; the year-month may differ if Integra stamped its own time.
            same_emitter = not prefix or (chave[:2] == prefix[:2] and chave[6:20] == prefix[6:20])
            if same_number and same_emitter:
                return chave
        return IssueResult(
            Outcome.NOT_SENT,
            NAME,
            raw_response=exchange.raw_text,
            detail=f"no document {serie}/{numero} at Integra: safe to resend with the same number",
        )

    async def _query_chave(self, chave: str, *, serie: int, numero: int) -> IssueResult:
        exchange = await self._http.request(
            "GET", f"nfce/{chave}", budgets=(Budget(self._per_chave, chave),), scopes=("*",)
        )
        if exchange.failure is not None:
            return self._failed(exchange, Outcome.IN_DOUBT)
        status, body, raw, sucesso, codigo = _read(exchange)
        if status == 404:
            return IssueResult(Outcome.NOT_SENT, NAME, raw_response=raw, detail=f"GET nfce/{chave}: 404")
        if sucesso is True:
            return await self._authorized(
                {"chave": chave, **body}, raw, serie=serie, numero=numero, queried=True
            )
        if codigo == CODE_PROCESSING:
            return IssueResult(
                Outcome.IN_DOUBT, NAME, raw_response=raw, detail="codigo 5023: still processing"
            )
        if sucesso is False and not _sefaz_pending(codigo) and status < 500:
            return IssueResult(
                Outcome.REJECTED,
                NAME,
                errors=_errors(body) or ("Rejeitada pelo Integra Notas.",),
                raw_response=raw,
                detail=f"query codigo {codigo}",
            )
        return IssueResult(
            Outcome.IN_DOUBT, NAME, raw_response=raw, detail=f"query HTTP {status} codigo {codigo}"
        )

    async def _authorized(
        self, body: Mapping[str, Any], raw: str | None, *, serie: int, numero: int, queried: bool = False
    ) -> IssueResult:
        chave = chave_digits(body.get("chave"))
        if chave is None:
            return IssueResult(
                Outcome.IN_DOUBT, NAME, raw_response=raw, detail="sucesso without a valid chave"
            )
        xml = decode_blob(body.get("xml"))
        if xml is None and not queried:
            # The issue answer may not carry the XML; the query does (one of the 2 calls a
            # minute this chave is allowed).
            fetched = await self._query_chave(chave, serie=serie, numero=numero)
            if fetched.outcome is Outcome.AUTHORIZED and fetched.note is not None:
                xml = fetched.note.xml
        # The PDF costs one of this chave's 2 calls a minute: fetched on issue only, never
        # while reconciling (the native DANFE prints from the XML anyway).
        pdf = await self._pdf(chave) if self._fetch_pdf and not queried else None
        note = build_note(
            chave=chave,
            numero=as_int(body.get("numero")) or numero,
            serie=as_int(body.get("serie")) if as_int(body.get("serie")) is not None else serie,
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
    icms_situacao_tributaria: str = "102",
    pis_cofins_situacao_tributaria: str = "49",
) -> dict[str, Any]:
    """The NFC-e in Integra's nested JSON (``notes/providers.md`` §2.3; the vendor example)."""
    body: dict[str, Any] = {
        "natureza_operacao": config.emitter.natureza_operacao,
        "serie": str(serie),
        "numero": str(numero),
        "data_emissao": emitted_at.isoformat(timespec="seconds"),
        "tipo_operacao": "1",
        "presenca_comprador": str(config.emitter.indicador_presenca),
    }
    if sale.customer is not None:
        # [U] the NF-e layout's destinatario group; the NFC-e example omits it.
        key = "cnpj" if sale.customer.is_company else "cpf"
        person: dict[str, Any] = {key: sale.customer.document}
        if sale.customer.name:
            person["nome"] = sale.customer.name
        body["destinatario"] = person
    body["itens"] = [
        item_line(number, item, _taxes(item, icms_situacao_tributaria, pis_cofins_situacao_tributaria))
        for number, item in enumerate(sale.items, start=1)
    ]
    body["frete"] = {"modalidade_frete": "9"}
    pagamento: dict[str, Any] = {
        "formas_pagamento": [payment_line(payment, _PAYMENT_FIELDS) for payment in sale.payments]
    }
    if sale.change > 0:
        pagamento["troco"] = money_text(sale.change)  # [U] field name
    body["pagamento"] = pagamento
    if config.emitter.informacoes_contribuinte:
        body["informacoes_adicionais_contribuinte"] = config.emitter.informacoes_contribuinte
    return body


def _taxes(item: Item, icms_cst: str, pis_cofins_cst: str) -> dict[str, Any]:
    """Integra's tax fields of one item: origin, and the CSTs of the emitter's regime."""
    return {
        "origem": str(item.origin),
        "inclui_no_total": "1",
        "imposto": {
            "icms": {"situacao_tributaria": icms_cst},
            "pis": {"situacao_tributaria": pis_cofins_cst},
            "cofins": {"situacao_tributaria": pis_cofins_cst},
        },
    }


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


def _documents_in(data: object) -> list[Mapping[str, Any]] | None:
    """The documents of a ``busca`` answer, whatever key holds them ([U] shape)."""
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    if not isinstance(data, dict):
        return None
    for key in ("data", "documentos", "docs", "notas", "resultado"):
        value = data.get(key)
        if isinstance(value, list):
            return [d for d in value if isinstance(d, dict)]
    if data.get("sucesso") is False:
        return []
    if "chave" in data:
        return [data]
    return None


def _errors(body: Mapping[str, Any]) -> tuple[str, ...]:
    mensagem = as_text(body.get("mensagem"))
    codigo = as_int(body.get("codigo"))
    head = f"{codigo} - {mensagem}" if mensagem and codigo is not None else mensagem
    return ((head,) if head else ()) + messages_of(body.get("erros"))
