"""Focus NFe (API v2) behind the fiscal port: issue, query by ``ref``, cancel, probe.

Contract (``notes/providers.md`` §1, the Focus API reference): ``POST /v2/nfce?ref=REF`` is
synchronous and answers the final status; ``GET /v2/nfce/REF`` answers the same fields;
``DELETE /v2/nfce/REF`` with ``{"justificativa"}`` cancels. HTTP Basic with the token as
user and an empty password. ``ref`` is the idempotency key: unique per token, reusable only
while the note is in ``erro_autorizacao``, and burned once authorized. We use the sale's
reference, so every resend of the same sale carries the same ``ref``, and a lost answer is
reconciled by ``GET`` with it (Focus's own 404 ``nao_encontrado`` means Focus never got the
request: safe to send again).

Only a definite answer to the request we sent is a verdict. A 5xx, a timeout, a body that is
not Focus's JSON, a refused or rate-limited query, or a query Focus could not answer leave the
sale ``IN_DOUBT``. A POST answered "this ``ref`` already exists" (422 ``nfe_autorizada`` /
``em_processamento``) is no verdict on *this* request either: another sale (another till with
the same reference) may hold it, so it is reported as ``duplicate`` and ``IN_DOUBT`` with the
existing note (queried by the ``ref``) for the services to judge, never as authorized. An
"authorized" answer is passed on as the provider said it: its chave, número and série are
verified against the sale by the services, not here.

Focus answers a DANFE as HTML, so no PDF is returned; the authorized XML is downloaded
from ``caminho_xml_nota_fiscal`` so the native DANFE prints from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple, Unpack

import httpx

from posapp.config import Config, ProviderConfig
from posapp.domain.cancel import check_motivo
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
from posapp.domain.nfe_xml import NfeEvent, NfeXmlError, read_nfe_event
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
    read_nfeproc,
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

NAME = "focusnfe"
ISSUE_PATH = "/v2/nfce"
INUTILIZACAO_PATH = "/v2/nfce/inutilizacao"
INUTILIZACOES_PATH = "/v2/nfce/inutilizacoes"
PROBE_REF = "posappprobe"  # a ref nobody issues: 404 proves host and token work
REQUESTS_PER_MINUTE = 100  # per token, documented ("limite de requisições")
_REF = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Error codes that mean "this account cannot issue right now": nothing was created, the
# sale may go to another issuer.
_ACCOUNT_CODES = frozenset(
    {
        "permissao_negada",
        "empresa_nao_habilitada",
        "empresa_nao_configurada",
        "ambiente_nao_configurado",
        "certificado_vencido",
        "nao_autorizado",
    }
)
_ALREADY_USED_CODES = frozenset({"nfe_autorizada", "nfce_autorizada", "em_processamento"})
_NOT_FOUND_CODES = frozenset({"nao_encontrado", "nfce_nao_encontrada", "nfe_nao_encontrada"})
_ALREADY_CANCELLED_SEFAZ = frozenset({"573", "218"})  # duplicidade de evento; já está cancelada
_NOTE_STATUSES = frozenset(
    {"autorizado", "erro_autorizacao", "denegado", "cancelado", "processando_autorizacao"}
)
_PAYMENT_FIELDS = PaymentFields(
    method="forma_pagamento",
    amount="valor_pagamento",
    brand="bandeira_operadora",
    authorization="numero_autorizacao",
    description="descricao_pagamento",  # [U] xPag; no public example names it
)


class FocusNfeBackend(HttpProviderBackend):
    """The Focus NFe adapter. One instance per configured provider entry.

    HTTP Basic with the token as user; ``options`` as in :class:`ProviderOptions`.
    """

    name = NAME
    auth_style = "basic"

    def __init__(
        self,
        provider: ProviderConfig,
        config: Config,
        **options: Unpack[ProviderOptions],
    ) -> None:
        super().__init__(provider, config, **options)
        self._budget = SlidingWindow(REQUESTS_PER_MINUTE, 60.0, clock=self._clock)

    # -- port --------------------------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            issues_nfce=self._has_token,
            needs_client_numbering=False,
            can_query=True,
            returns_danfe_pdf=False,
            reason=self._token_problem,
        )

    def blocked_s(self) -> float:
        """Seconds the provider asked us to wait (429 / exhausted rate budget); 0 if none."""
        return self._http.blocked_s(("*",), (Budget(self._budget, "token"),))

    def prepare_issue(self, context: IssueContext) -> PreparedIssue:
        """The JSON body for ``POST /v2/nfce?ref=``; ``reference`` becomes the ``ref``.

        ``data_emissao`` is ``context.emitted_at`` (Focus refuses one more than 5 minutes
        off): a sale waiting in the queue must be prepared again before it is resent.
        """
        ref = check_reference(context.reference)
        check_sale_for_store(context.sale, uf=self._config.store.uf)  # the state's rules, before sending
        emitted_at = self._emission_time(context)
        body = build_focus_body(context.sale, self._config, emitted_at=emitted_at)
        return PreparedIssue(
            backend=NAME, reference=ref, payload=json_bytes(body), meta={"ref": ref, "path": ISSUE_PATH}
        )

    async def send_issue(self, prepared: PreparedIssue) -> IssueResult:
        self._check_prepared(prepared)
        if not self._has_token:
            return self._token_missing(Outcome.NOT_SENT)
        exchange = await self._call(
            "POST", ISSUE_PATH, params={"ref": prepared.reference}, body=prepared.payload
        )
        if exchange.failure is not None:
            return self._failed(exchange)
        return await self._interpret_issue(exchange, prepared.reference, after_post=True)

    async def query_issue(self, prepared: PreparedIssue) -> IssueResult:
        """``GET /v2/nfce/REF``. 404: Focus never got the request (``NOT_SENT``); any failure
        to ask leaves the outcome unknown (``IN_DOUBT``)."""
        self._check_prepared(prepared)
        if not self._has_token:
            return self._token_missing(Outcome.IN_DOUBT)
        return await self._query(prepared.reference)

    async def cancel(self, target: CancelTarget, motivo: str) -> CancelResult:
        """``DELETE /v2/nfce/REF`` with the *justificativa* (15-255 characters, checked here)."""
        justificativa = check_motivo(motivo)
        ref = check_reference(target.reference)
        if not self._has_token:
            return self._token_missing_cancel()
        exchange = await self._call(
            "DELETE", f"{ISSUE_PATH}/{ref}", body=json_bytes({"justificativa": justificativa})
        )
        if exchange.failure is not None:
            return self._failed_cancel(exchange)
        return await self._interpret_cancel(exchange, ref)

    async def probe(self) -> Health:
        """``GET`` of a ref nobody uses: a 404 proves the host answers and the token works."""
        if not self._has_token:
            return Health.DOWN
        exchange = await self._call("GET", f"{ISSUE_PATH}/{PROBE_REF}")
        if exchange.failure is not None or exchange.response is None:
            return Health.DOWN
        return Health.UP if exchange.status in (200, 404) else Health.DOWN

    # -- inutilização (posapp.fiscal.inutilizacao) ---------------------------------------

    def inutilizacao_request(self, numbers: NumberRange, justificativa: str) -> bytes:
        return inutilizacao.focus_body(self._config.store.cnpj, numbers, justificativa)

    async def inutilizar(self, request: bytes) -> InutResult:
        """``POST /v2/nfce/inutilizacao``; a 563 answer (the same range is already
        inutilizado) is settled by the listing, which carries its protocol."""
        if not self._has_token:
            return InutResult(InutOutcome.NOT_SENT, NAME, detail=f"token missing: {self._token_problem}")
        exchange = await self._call("POST", INUTILIZACAO_PATH, body=request)
        if exchange.failure is not None:
            return inutilizacao.failed(NAME, exchange)
        result = await inutilizacao.read_focus_answer(NAME, exchange, self._download)
        if result.outcome is InutOutcome.REFUSED and result.detail.endswith(inutilizacao.ALREADY_SAME_RANGE):
            listed = await self.query_inutilizacao(request)
            if listed.outcome is InutOutcome.DONE:
                return listed
        return result

    async def query_inutilizacao(self, request: bytes) -> InutResult:
        """``GET /v2/nfce/inutilizacoes?cnpj=&serie=``: the range homologated, or NOT_SENT."""
        if not self._has_token:
            return InutResult(InutOutcome.IN_DOUBT, NAME, detail=f"token missing: {self._token_problem}")
        numbers = inutilizacao.request_range(request)
        exchange = await self._call(
            "GET",
            INUTILIZACOES_PATH,
            params={"cnpj": self._config.store.cnpj, "serie": str(numbers.serie)},
        )
        if exchange.failure is not None:
            return inutilizacao.failed(NAME, exchange, asking=True)
        return await inutilizacao.read_focus_listing(NAME, exchange, numbers, self._download)

    # -- interpretation ----------------------------------------------------------------

    async def _query(self, ref: str) -> IssueResult:
        exchange = await self._call("GET", f"{ISSUE_PATH}/{ref}")
        if exchange.failure is not None:
            return self._failed(exchange, Outcome.IN_DOUBT)
        return await self._interpret_issue(exchange, ref, after_post=False)

    async def _interpret_issue(self, exchange: Exchange, ref: str, *, after_post: bool) -> IssueResult:
        status, body, raw, note_status, codigo, mensagem = _read(exchange)
        if status >= 500:
            return self._no_verdict(raw, f"HTTP {status}: Focus failed; it may have acted on the request")
        if after_post and status in (401, 403, 404):
            # Refused before anything was created: the token, or no such route.
            return IssueResult(
                Outcome.NOT_SENT,
                NAME,
                errors=_errors(mensagem, body)
                or (("Focus NFe recusou o token ou a conta não está habilitada.",) if status != 404 else ()),
                raw_response=raw,
                detail=f"HTTP {status} {codigo}: nothing created",
            )
        if not body:  # an HTML page, a truncated or absurd body: nothing we can read
            return self._no_verdict(raw, f"HTTP {status}: answer not understood")
        if (
            after_post
            and 400 <= status < 500
            and (
                codigo in _ALREADY_USED_CODES
                or (status == 422 and "autorizad" in mensagem.lower())
                or note_status in ("autorizado", "cancelado")  # a refusal naming a note: the ref's
            )
        ):
            return await self._duplicate(ref, status, codigo, mensagem, body, raw)
        if note_status is not None and (200 <= status < 300 or note_status in _NOTE_STATUSES):
            return await self._from_note_status(note_status, body, raw)
        if status in (401, 403, 429):
            # A query the token may not ask, or not now: the note's fate is still unknown.
            return self._no_verdict(
                raw,
                f"HTTP {status} {codigo}: query refused",
                f"O Focus NFe recusou a consulta (HTTP {status}); a venda segue em dúvida.",
            )
        if codigo in _ACCOUNT_CODES and 400 <= status < 500:
            outcome = Outcome.NOT_SENT if after_post else Outcome.IN_DOUBT
            return IssueResult(
                outcome,
                NAME,
                errors=_errors(mensagem, body)
                or ("Focus NFe recusou o token ou a conta não está habilitada.",),
                raw_response=raw,
                detail=f"HTTP {status} {codigo}: account cannot issue",
            )
        if status == 404 and codigo in _NOT_FOUND_CODES:
            # Focus's own "not found" for this ref, to an authenticated query: it never received
            # (or never kept) the request. A bare 404 page proves nothing and falls through.
            return IssueResult(
                Outcome.NOT_SENT, NAME, raw_response=raw, detail=f"HTTP 404 {codigo}: no note for ref {ref}"
            )
        if after_post and status in (400, 415, 422):
            return IssueResult(
                Outcome.REJECTED,
                NAME,
                errors=_errors(mensagem, body) or (f"Requisição recusada pelo Focus NFe (HTTP {status}).",),
                raw_response=raw,
                detail=f"HTTP {status} {codigo}",
            )
        return self._no_verdict(raw, f"HTTP {status} {codigo}: no verdict")

    async def _duplicate(
        self, ref: str, status: int, codigo: str, mensagem: str, body: Mapping[str, Any], raw: str | None
    ) -> IssueResult:
        """The ref already exists at Focus: an earlier send of ours, or another sale (another
        till with the same reference). Not a verdict on this request: reported as a
        duplicate, in doubt, with the note the ref holds (queried) for the services to judge."""
        existing = await self._query(ref)
        note = existing.note if existing.outcome is Outcome.AUTHORIZED else None
        return IssueResult(
            Outcome.IN_DOUBT,
            NAME,
            note=note,
            errors=_errors(mensagem, body) or ("O Focus NFe informa que esta referência já foi usada.",),
            raw_response=raw,
            detail=f"HTTP {status} {codigo}: ref {ref} already used; it holds: "
            f"{existing.outcome.value} {existing.detail}".rstrip(),
            duplicate=True,
        )

    async def _from_note_status(
        self, note_status: str, body: Mapping[str, Any], raw: str | None
    ) -> IssueResult:
        sefaz = _sefaz_line(body)
        if note_status in ("autorizado", "cancelado"):
            return await self._authorized(body, raw, cancelled=note_status == "cancelado")
        if note_status == "erro_autorizacao":
            return IssueResult(
                Outcome.REJECTED,
                NAME,
                errors=(sefaz or "Rejeitada pela SEFAZ.", *messages_of(body.get("erros"))),
                raw_response=raw,
                detail="erro_autorizacao: fix and resend with the same ref",
            )
        if note_status == "denegado":
            return IssueResult(
                Outcome.REJECTED,
                NAME,
                errors=(f"Uso denegado pela SEFAZ: {sefaz}" if sefaz else "Uso denegado pela SEFAZ.",),
                raw_response=raw,
                detail="denegado: number consumed; this ref cannot be resent",
            )
        # processando_autorizacao and anything we do not know yet: ask again later.
        return IssueResult(
            Outcome.IN_DOUBT, NAME, raw_response=raw, detail=f"status {note_status}: query again"
        )

    async def _authorized(self, body: Mapping[str, Any], raw: str | None, *, cancelled: bool) -> IssueResult:
        """The note as Focus told it; its XML downloaded from ``caminho_xml_nota_fiscal``."""
        xml, xml_problem = await self._download(as_text(body.get("caminho_xml_nota_fiscal")))
        claimed = as_text(body.get("chave_nfe"))
        if claimed is not None:
            chave = chave_digits(claimed)
            if chave is None:
                return self._unusable_chave(claimed, raw)
        else:
            facts = read_nfeproc(xml) if xml else None
            if facts is None:
                return self._no_verdict(raw, "autorizado without a chave")
            chave = facts.chave
        other = xml_of_another_chave(xml, chave)
        if other is not None:
            return self._self_contradiction(chave, other, raw)
        contingency = (
            body.get("contingencia_offline") is True
            and body.get("contingencia_offline_efetivada") is not True
        )
        note = build_note(
            chave=chave,
            numero=as_int(body.get("numero")),
            serie=as_int(body.get("serie")),
            xml=xml,
            protocolo=as_text(body.get("protocolo")) or as_text(body.get("numero_protocolo")),
            authorized_at=timestamp_or_none(body.get("data_autorizacao")),
            contingency=contingency,
            now=self._now,
        )
        details = [d for d in (xml_problem, "note already cancelled" if cancelled else "") if d]
        return IssueResult(Outcome.AUTHORIZED, NAME, note=note, raw_response=raw, detail="; ".join(details))

    async def _interpret_cancel(self, exchange: Exchange, ref: str) -> CancelResult:
        status, body, raw, note_status, codigo, mensagem = _read(exchange)
        if status >= 500:
            return CancelResult(
                CancelOutcome.IN_DOUBT, NAME, raw_response=raw, detail=f"HTTP {status}: no verdict"
            )
        if status in (401, 403):
            return CancelResult(
                CancelOutcome.NOT_SENT,
                NAME,
                errors=_errors(mensagem, body),
                raw_response=raw,
                detail=f"HTTP {status} {codigo}",
            )
        if not body:
            return CancelResult(
                CancelOutcome.IN_DOUBT, NAME, raw_response=raw, detail=f"HTTP {status}: answer not understood"
            )
        if 200 <= status < 300 and note_status == "cancelado":
            return await self._cancelled(body, raw)
        if 200 <= status < 300 and note_status is not None:
            refusal = (_sefaz_line(body) or f"Cancelamento não efetuado (status {note_status}).",)
            if as_text(body.get("status_sefaz")) in _ALREADY_CANCELLED_SEFAZ:
                # 573 "Duplicidade de evento" / 218 "já está cancelada": another cancel of this
                # note (a concurrent one, or an earlier one of ours) took effect. Its protocol:
                done = await self._already_cancelled(ref)
                if done is not None:
                    return done
            return CancelResult(
                CancelOutcome.REFUSED, NAME, errors=refusal, raw_response=raw, detail=f"status {note_status}"
            )
        if codigo in ("nfe_cancelada", "nfce_cancelada"):
            # Already cancelled (a retried DELETE): fetch the cancel protocol.
            done = await self._already_cancelled(ref)
            if done is not None:
                return done
            return CancelResult(
                CancelOutcome.IN_DOUBT, NAME, raw_response=raw, detail="said cancelled, query failed"
            )
        if codigo in _ACCOUNT_CODES and 400 <= status < 500:
            return CancelResult(
                CancelOutcome.NOT_SENT,
                NAME,
                errors=_errors(mensagem, body),
                raw_response=raw,
                detail=f"HTTP {status} {codigo}",
            )
        if status in (400, 404, 415, 422):
            return CancelResult(
                CancelOutcome.REFUSED,
                NAME,
                errors=_errors(mensagem, body) or (f"Cancelamento recusado (HTTP {status}).",),
                raw_response=raw,
                detail=f"HTTP {status} {codigo}",
            )
        return CancelResult(
            CancelOutcome.IN_DOUBT, NAME, raw_response=raw, detail=f"HTTP {status}: no verdict"
        )

    async def _already_cancelled(self, ref: str) -> CancelResult | None:
        """The cancel Focus holds for ``ref``, when a query says the note is cancelled."""
        query = await self._call("GET", f"{ISSUE_PATH}/{ref}")
        queried = json_object(query.response) if query.failure is None and query.status == 200 else {}
        if as_text(queried.get("status")) == "cancelado":
            return await self._cancelled(queried, query.raw_text)
        return None

    async def _cancelled(self, body: Mapping[str, Any], raw: str | None) -> CancelResult:
        xml, _problem = await self._download(as_text(body.get("caminho_xml_cancelamento")))
        event = _cancel_event(xml)
        return CancelResult(
            CancelOutcome.CANCELLED,
            NAME,
            protocolo=as_text(body.get("numero_protocolo")) or (event.protocolo if event else None),
            cancelled_at=(event.occurred_at if event else None) or self._now(),
            xml=xml,
            raw_response=raw,
        )

    # -- plumbing ----------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> Exchange:
        return await self._http.request(
            method, path, params=params, body=body, scopes=("*",), budgets=(Budget(self._budget, "token"),)
        )

    async def _download(self, path: str | None) -> tuple[bytes | None, str]:
        """A file Focus points to (``/arquivos/...``), fetched with the same auth.

        Only paths on the configured host are followed: an absolute URL elsewhere would
        carry our token to a host we did not choose.
        """
        if not path:
            return None, "no file path in the answer"
        if "://" in path:
            url = httpx.URL(path)
            if url.host != self._http.base_url.host or url.port != self._http.base_url.port:
                return None, f"file on another host not fetched: {url.host}"
            path = url.raw_path.decode("ascii")
        exchange = await self._call("GET", path)
        if exchange.failure is not None or exchange.response is None or exchange.status != 200:
            return None, f"file not downloaded ({exchange.detail})"
        return exchange.response.content, ""


# -- the request body ---------------------------------------------------------------------


def check_reference(reference: str) -> str:
    """Focus ``ref``: alphanumeric (``-``/``_`` tolerated), at most 64 characters."""
    if not _REF.match(reference):
        raise ProviderRequestError(
            f"reference {reference!r} is not a valid Focus ref",
            user_message="Referência da venda inválida para o Focus NFe (use só letras e números).",
        )
    return reference


def build_focus_body(sale: Sale, config: Config, *, emitted_at: datetime) -> dict[str, Any]:
    """The NFC-e as Focus's flat JSON (``notes/providers.md`` §1.3); values as exact strings."""
    body: dict[str, Any] = {
        "cnpj_emitente": config.store.cnpj,
        "data_emissao": emitted_at.isoformat(timespec="seconds"),
        "natureza_operacao": config.emitter.natureza_operacao,
        "presenca_comprador": str(PRESENCE_DELIVERY if sale.delivery else config.emitter.indicador_presenca),
        "modalidade_frete": "9",
        "local_destino": "1",
    }
    if sale.customer is not None:
        body.update(focus_consumer(sale.customer))
    if config.emitter.informacoes_contribuinte:
        body["informacoes_adicionais_contribuinte"] = config.emitter.informacoes_contribuinte
    body["items"] = [
        item_line(number, item, focus_taxes(tax_figures(item, config)))
        for number, item in enumerate(sale.items, start=1)
    ]
    body["formas_pagamento"] = [payment_line(payment, _PAYMENT_FIELDS) for payment in sale.payments]
    if sale.change > 0:
        body["valor_troco"] = money_text(sale.change)
    return body


def focus_taxes(tax: TaxFigures) -> dict[str, Any]:
    """One item's tax fields in Focus's flat names: the item's own ICMS code (CST or CSOSN)
    with its values, PIS/COFINS, the IBS/CBS codes and the Lei 12.741 approximation."""
    fields: dict[str, Any] = {
        "icms_origem": str(tax.origin),
        "icms_situacao_tributaria": tax.icms_code,
    }
    if tax.icms is not None:
        fields["icms_modalidade_base_calculo"] = "3"  # the operation's value
        fields["icms_base_calculo"] = money_text(tax.icms.base)
        fields["icms_aliquota"] = rate_text(tax.icms.rate)
        fields["icms_valor"] = money_text(tax.icms.value)
        if tax.icms_reduction is not None:
            fields["icms_reducao_base_calculo"] = rate_text(tax.icms_reduction)
    if tax.st is not None:
        fields["icms_base_calculo_retido_st"] = money_text(tax.st.base)
        fields["icms_aliquota_final"] = rate_text(tax.st.rate)
        fields["icms_valor_retido_st"] = money_text(tax.st.value)
    for name, cst, values in (("pis", tax.pis_cst, tax.pis), ("cofins", tax.cofins_cst, tax.cofins)):
        fields[f"{name}_situacao_tributaria"] = cst
        if values is not None:
            fields[f"{name}_base_calculo"] = money_text(values.base)
            fields[f"{name}_aliquota_porcentual"] = rate_text(values.rate)
            fields[f"{name}_valor"] = money_text(values.value)
    if tax.ibs_cbs is not None:
        fields["ibs_cbs_situacao_tributaria"], fields["ibs_cbs_classificacao_tributaria"] = tax.ibs_cbs
    if tax.approx is not None:
        fields["valor_total_tributos"] = money_text(tax.approx.total)
    return fields


def focus_consumer(customer: Customer) -> dict[str, str]:
    """The consumer in Focus's flat fields (``notes/providers.md`` §1.3): the document
    (``cpf_``/``cnpj_``/``id_estrangeiro_destinatario``), the name and, when known, the
    address (``logradouro_destinatario``... the NF-e API's names, which the NFC-e takes for a
    delivery)."""
    fields: dict[str, str | None] = {}
    if customer.document is not None:
        fields["cnpj_destinatario" if customer.is_company else "cpf_destinatario"] = customer.document
    else:
        fields["id_estrangeiro_destinatario"] = customer.foreign_id
    fields["nome_destinatario"] = customer.name
    fields["indicador_inscricao_estadual_destinatario"] = "9"  # a consumer: not an ICMS contributor
    address = customer.address
    if address is not None:
        fields.update(
            logradouro_destinatario=address.street,
            numero_destinatario=address.number,
            complemento_destinatario=address.complement,
            bairro_destinatario=address.district,
            codigo_municipio_destinatario=address.city_code,
            municipio_destinatario=address.city,
            uf_destinatario=address.uf,
            cep_destinatario=address.cep,
            telefone_destinatario=address.phone,
        )
    return {k: v for k, v in fields.items() if v is not None}


# -- small helpers ------------------------------------------------------------------------


class _Answer(NamedTuple):
    """The parts of a Focus answer that every decision reads."""

    status: int  # 0 when there was no response
    body: Mapping[str, Any]
    raw: str | None
    note_status: str | None  # the note's ``status`` (autorizado, erro_autorizacao...)
    codigo: str  # Focus's error code, lower case; "" when absent
    mensagem: str


def _read(exchange: Exchange) -> _Answer:
    body = json_object(exchange.response)
    return _Answer(
        exchange.status or 0,
        body,
        exchange.raw_text,
        as_text(body.get("status")),
        (as_text(body.get("codigo")) or "").lower(),
        as_text(body.get("mensagem")) or "",
    )


def _sefaz_line(body: Mapping[str, Any]) -> str:
    code = as_text(body.get("status_sefaz"))
    message = as_text(body.get("mensagem_sefaz"))
    if code and message:
        return f"{code} - {message}"
    return message or code or ""


def _errors(mensagem: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    found = messages_of(body.get("erros"))
    return ((mensagem,) if mensagem else ()) + found


def _cancel_event(xml: bytes | None) -> NfeEvent | None:
    """The cancel event Focus stores (``procEventoNFe``), by the one NF-e reader: its own
    protocol and registration time count only if SEFAZ registered it (cStat 135/136/155)."""
    if not xml:
        return None
    try:
        event = read_nfe_event(xml)
    except NfeXmlError:
        return None
    return event if event.is_cancel else None
