"""Fast Notas behind the fiscal port, with a start-up check of what the account can issue.

Fast Notas' public contract (seed 002, ``notes/providers.md`` §3) documents only *service*
invoices: document schemas of type ``Invoice::Nfse``. Documents are created with
``POST /documents`` against a schema; there is no idempotency key and no NFC-e schema type.

So this adapter asks the account what it can issue (``GET /document_schemas``) and reports,
through :attr:`FastNotasBackend.capabilities`, that it cannot issue an NFC-e unless the
account holds an active schema whose type names a consumer receipt (``...Nfce...``). Until the
check has run, and whenever it fails, the answer is also "cannot issue": the router never
picks an issuer that has not proved it can. The documented issue call is implemented for the
day an NFC-e schema shows up, but it cannot be reconciled (no ``ref``), so a lost answer
stays ``IN_DOUBT`` for a person to resolve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

from posapp.config import Config, ProviderConfig
from posapp.domain.cancel import check_motivo
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
from posapp.fiscal.errors import BackendUnsupported
from posapp.fiscal.http_base import (
    Budget,
    SlidingWindow,
    as_text,
    build_note,
    chave_digits,
    decimal_text,
    json_bytes,
    messages_of,
    money_text,
    parse_json,
)
from posapp.fiscal.provider_common import HttpProviderBackend, ProviderOptions

NAME = "fastnotas"
REQUESTS_PER_MINUTE = 120  # per company, documented
_NOT_CHECKED = "Capacidade do Fast Notas ainda não verificada; não será usado para NFC-e até a verificação."


@dataclass(frozen=True, slots=True)
class DocumentSchema:
    """One ``document_schema`` of the account, as far as the capability check cares."""

    id: str
    type: str
    name: str
    active: bool

    @property
    def is_consumer_receipt(self) -> bool:
        """A schema type naming the NFC-e (``Invoice::Nfce``...); the docs list none."""
        return "nfce" in self.type.lower().replace("-", "").replace("_", "")


class FastNotasBackend(HttpProviderBackend):
    """The Fast Notas adapter: reachable, queryable for its schemas, NFC-e only if proven.

    The API key is the HTTP Basic user; ``options`` as in :class:`ProviderOptions`.
    """

    name = NAME
    auth_style = "basic"

    def __init__(self, provider: ProviderConfig, config: Config, **options: Unpack[ProviderOptions]) -> None:
        super().__init__(provider, config, **options)
        self._reason = self._token_problem or _NOT_CHECKED
        self._budget = SlidingWindow(REQUESTS_PER_MINUTE, 60.0, clock=self._clock)
        self._nfce_schema: DocumentSchema | None = None
        self._reachable = False
        self.schemas: tuple[DocumentSchema, ...] = ()

    # -- capability check --------------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            issues_nfce=self._nfce_schema is not None,
            needs_client_numbering=False,
            can_query=False,  # no idempotency key: a lost answer cannot be looked up
            returns_danfe_pdf=False,
            reason="" if self._nfce_schema is not None else self._reason,
        )

    async def check_capabilities(self) -> Capabilities:
        """Ask the account for its document schemas and decide whether it issues NFC-e."""
        if not self._has_token:
            return self.capabilities
        exchange = await self._http.request(
            "GET", "document_schemas", budgets=(Budget(self._budget, "company"),)
        )
        self._reachable = exchange.failure is None and exchange.status not in (401, 403)
        if exchange.failure is not None or exchange.response is None:
            self._nfce_schema = None
            self._reason = f"Fast Notas inacessível; capacidade não verificada ({exchange.detail})."
            return self.capabilities
        if exchange.status in (401, 403):
            self._nfce_schema = None
            self._reason = "Fast Notas recusou a chave da API; verifique o token."
            return self.capabilities
        schemas = _schemas_in(parse_json(exchange.response))
        if schemas is None:
            self._nfce_schema = None
            self._reason = f"Resposta inesperada do Fast Notas ao listar esquemas (HTTP {exchange.status})."
            return self.capabilities
        self.schemas = tuple(schemas)
        usable = [s for s in schemas if s.active and s.is_consumer_receipt]
        self._nfce_schema = usable[0] if usable else None
        if self._nfce_schema is None:
            kinds = ", ".join(sorted({s.type for s in schemas})) or "nenhum"
            self._reason = (
                "A conta Fast Notas não emite NFC-e: seus esquemas de documento são de outro tipo "
                f"({kinds}); a API pública do Fast Notas documenta apenas NFS-e."
            )
        return self.capabilities

    # -- port --------------------------------------------------------------------------

    def prepare_issue(self, context: IssueContext) -> PreparedIssue:
        schema = self._nfce_schema
        if schema is None:
            raise BackendUnsupported(
                f"fastnotas cannot issue NFC-e: {self._reason}", user_message=self._reason
            )
        sale = context.sale
        issued_on = (context.emitted_at or self._now()).date().isoformat()
        body: dict[str, Any] = {
            "document_schema_id": schema.id,
            "issue_on": issued_on,
            "document_items": [
                {
                    "item_id": item.code,
                    "description": item.description,
                    "quantity": decimal_text(item.quantity, min_places=2, max_places=4),
                    "amount": money_text(item.net_total),
                }
                for item in sale.items
            ],
        }
        if sale.customer is not None:
            body["customer"] = {"registry_code": sale.customer.document, "name": sale.customer.name}
        return PreparedIssue(
            backend=NAME,
            reference=context.reference,
            payload=json_bytes(body),
            meta={"document_schema_id": schema.id},
        )

    async def send_issue(self, prepared: PreparedIssue) -> IssueResult:
        if self._nfce_schema is None:
            return IssueResult(Outcome.NOT_SENT, NAME, errors=(self._reason,), detail="cannot issue NFC-e")
        exchange = await self._http.request(
            "POST", "documents", body=prepared.payload, budgets=(Budget(self._budget, "company"),)
        )
        if exchange.failure is not None:
            return self._failed(exchange)
        status = exchange.status or 0
        data = parse_json(exchange.response)
        document = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else data
        if status in (400, 404, 422) and isinstance(document, dict) and document:
            # Fast Notas's own refusal, read; a page or an empty body would be no verdict.
            return IssueResult(
                Outcome.REJECTED,
                NAME,
                errors=messages_of(document.get("errors") or document.get("message")) or ("Recusado.",),
                raw_response=exchange.raw_text,
                detail=f"HTTP {status}",
            )
        if not isinstance(document, dict) or not 200 <= status < 300:
            return IssueResult(
                Outcome.IN_DOUBT, NAME, raw_response=exchange.raw_text, detail=f"HTTP {status}"
            )
        return self._from_document(document, exchange.raw_text)

    async def query_issue(self, prepared: PreparedIssue) -> IssueResult:
        return IssueResult(
            Outcome.IN_DOUBT, NAME, detail="Fast Notas has no idempotency key to look a request up by"
        )

    async def cancel(self, target: CancelTarget, motivo: str) -> CancelResult:
        check_motivo(motivo)
        return CancelResult(
            CancelOutcome.REFUSED,
            NAME,
            errors=("O Fast Notas não cancela NFC-e por esta integração.",),
            detail="no NFC-e cancel in the Fast Notas contract",
        )

    async def probe(self) -> Health:
        """Reachability, re-running the capability check (it costs one call)."""
        if not self._has_token:
            return Health.DOWN
        await self.check_capabilities()
        return Health.UP if self._reachable else Health.DOWN

    # -- helpers -----------------------------------------------------------------------

    def _from_document(self, document: Mapping[str, Any], raw: str | None) -> IssueResult:
        status = as_text(document.get("status")) or ""
        operation = document.get("last_operation")
        transaction = operation.get("last_transaction") if isinstance(operation, dict) else None
        messages = messages_of(transaction.get("messages")) if isinstance(transaction, dict) else ()
        fields = transaction.get("response_fields") if isinstance(transaction, dict) else None
        if status == "success":
            chave = None
            if isinstance(fields, dict):
                chave = chave_digits(fields.get("chave")) or chave_digits(fields.get("access_key"))
            if chave is None:
                return IssueResult(Outcome.IN_DOUBT, NAME, raw_response=raw, detail="success without a chave")
            return IssueResult(
                Outcome.AUTHORIZED,
                NAME,
                note=build_note(chave=chave, numero=None, serie=None, xml=None, now=self._now),
                raw_response=raw,
            )
        if status in ("rejected", "error"):
            return IssueResult(
                Outcome.REJECTED,
                NAME,
                errors=messages or (f"Documento {status} no Fast Notas.",),
                raw_response=raw,
                detail=status,
            )
        return IssueResult(Outcome.IN_DOUBT, NAME, raw_response=raw, detail=f"document status {status!r}")


def _schemas_in(data: object) -> list[DocumentSchema] | None:
    items: Sequence[object]
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict) and isinstance(data.get("document_schemas"), list):
        items = data["document_schemas"]
    else:
        return None
    schemas = []
    for item in items:
        if not isinstance(item, dict):
            continue
        schemas.append(
            DocumentSchema(
                id=as_text(item.get("id")) or "",
                type=as_text(item.get("type")) or "",
                name=as_text(item.get("name")) or "",
                active=(as_text(item.get("status")) or "active") == "active",
            )
        )
    return schemas
