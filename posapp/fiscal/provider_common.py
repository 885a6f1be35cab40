"""What the online-provider adapters (Focus NFe, Integra Notas, Fast Notas) share.

Each adapter speaks its own JSON dialect and reads its own answers; that stays in its
module. What is the same for all three lives here, once:

* :class:`HttpProviderBackend`, the base: it checks that it was given its own provider
  entry, finds the token (a missing one is a *capability*, reported, not a crash), builds
  the :class:`~posapp.fiscal.http_base.ProviderHttp` client with the provider's auth style,
  and turns a classified network failure or a missing token into the port's result types.
* The NF-e product and payment fields that Focus and Integra name alike (both APIs mirror
  the NF-e layout), so a sale's item or card reaches either provider through one piece of
  code and the two cannot drift apart on rounding or on which card fields are sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypedDict, Unpack

import httpx

from posapp.config import Config, ProviderConfig
from posapp.domain.issuance import (
    CancelOutcome,
    CancelResult,
    IssueContext,
    IssueResult,
    Outcome,
    PreparedIssue,
)
from posapp.domain.sale import Item, Payment
from posapp.domain.taxes import (
    ApproxTaxes,
    IcmsValues,
    ItemTax,
    RateValues,
    RetainedSt,
    approx_taxes,
    contribution,
    icms_values,
    retained_st,
)
from posapp.fiscal.errors import BackendMisconfigured
from posapp.fiscal.http_base import (
    Clock,
    Exchange,
    ProviderHttp,
    ProviderRequestError,
    decimal_text,
    money_text,
)
from posapp.fiscal.secrets import token_or_problem


class ProviderOptions(TypedDict, total=False):
    """The keyword arguments every provider adapter accepts (all optional).

    ``token`` overrides the environment/keyring lookup (tests, the demo); ``transport``
    replaces httpx's; ``clock`` drives rate windows and blocks, ``wall_clock`` reads
    epoch-valued ``Rate-Limit-Reset`` headers, ``now`` stamps notes that lack a time.
    """

    token: str | None
    transport: httpx.AsyncBaseTransport | None
    clock: Clock
    wall_clock: Clock
    now: Callable[[], datetime] | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HttpProviderBackend:
    """Base of the HTTP provider adapters; subclasses set ``name`` and implement the port.

    ``auth_style`` says how the token travels: ``"basic"`` as the HTTP Basic user with an
    empty password (Focus, Fast Notas), ``"header"`` as the bare ``Authorization`` value
    (Integra). ``default_block_s`` is how long a 429 without ``Retry-After`` blocks.
    """

    name: str
    auth_style: ClassVar[Literal["basic", "header"]] = "basic"
    default_block_s: ClassVar[float] = 60.0

    def __init__(
        self,
        provider: ProviderConfig,
        config: Config,
        *,
        timeout_s: float | None = None,
        **options: Unpack[ProviderOptions],
    ) -> None:
        unknown = options.keys() - ProviderOptions.__optional_keys__
        if unknown:  # a typo must not silently fall back to a default (a real token, say)
            raise TypeError(f"{type(self).__name__}() got unexpected options: {', '.join(sorted(unknown))}")
        if provider.name != self.name:
            raise BackendMisconfigured(f"{type(self).__name__} given provider {provider.name!r}")
        self._provider = provider
        self._config = config
        self._clock = options.get("clock") or time.monotonic
        self._now = options.get("now") or _utc_now
        secret, self._token_problem = token_or_problem(provider, options.get("token"))
        self._has_token = secret is not None
        auth: httpx.Auth | None = None
        headers: dict[str, str] | None = None
        if secret is not None and self.auth_style == "basic":
            auth = httpx.BasicAuth(secret.reveal(), "")
        elif secret is not None:
            headers = {"Authorization": secret.reveal()}
        self._http = ProviderHttp(
            base_url=provider.base_url,
            timeout_s=provider.timeout_s if timeout_s is None else timeout_s,
            token=secret,
            auth=auth,
            headers=headers,
            transport=options.get("transport"),
            clock=self._clock,
            wall_clock=options.get("wall_clock") or time.time,
            default_block_s=self.default_block_s,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- for subclasses ----------------------------------------------------------------

    def _emission_time(self, context: IssueContext) -> datetime:
        """``context.emitted_at`` (or now); the NFC-e's ``data_emissao`` must carry an offset."""
        emitted_at = context.emitted_at or self._now()
        if emitted_at.tzinfo is None:
            raise ProviderRequestError("emitted_at must carry a timezone")
        return emitted_at

    def _check_prepared(self, prepared: PreparedIssue) -> None:
        """A request prepared by another issuer must never be sent here (its ref or number
        belongs to that issuer)."""
        if prepared.backend != self.name:
            raise ProviderRequestError(
                f"a request prepared for {prepared.backend!r} was given to {self.name}"
            )

    def _token_missing(self, outcome: Outcome) -> IssueResult:
        """No token: nothing can be sent (``NOT_SENT``) or asked (``IN_DOUBT``)."""
        return IssueResult(outcome, self.name, detail=f"token missing: {self._token_problem}")

    def _token_missing_cancel(self) -> CancelResult:
        return CancelResult(CancelOutcome.NOT_SENT, self.name, detail=f"token missing: {self._token_problem}")

    def _failed(self, exchange: Exchange, outcome: Outcome | None = None) -> IssueResult:
        """An exchange that brought no answer to act on, as the port's result.

        ``outcome`` defaults to the exchange's own classification; a query passes
        ``IN_DOUBT``, because failing to *ask* never proves the request was not received.
        """
        if outcome is None:
            outcome = exchange.failure or Outcome.IN_DOUBT
        return IssueResult(
            outcome,
            self.name,
            raw_response=exchange.raw_text,
            detail=exchange.detail,
            retry_after_s=exchange.retry_after_s,
        )

    def _no_verdict(self, raw: str | None, detail: str, *errors: str) -> IssueResult:
        """An answer that came but decides nothing (a 5xx, a body we cannot read, a refused
        query): the request may have been acted on, so the sale stays in doubt."""
        return IssueResult(Outcome.IN_DOUBT, self.name, errors=errors, raw_response=raw, detail=detail)

    def _unusable_chave(self, claimed: str, raw: str | None) -> IssueResult:
        """An "authorized" answer whose chave is no chave (not 44 digits, a wrong check
        digit): no note can be recorded from it, and the sale needs a person."""
        shown = claimed[:60]
        return self._no_verdict(
            raw,
            f"authorized with an unusable chave {shown!r}",
            f"O emissor respondeu 'autorizada' com uma chave de acesso inválida ({shown}); "
            "confira a nota no portal da SEFAZ antes de qualquer nova emissão.",
        )

    def _self_contradiction(self, chave: str, xml_chave: str, raw: str | None) -> IssueResult:
        """An answer naming one chave and carrying the XML of another."""
        return self._no_verdict(
            raw,
            f"answer names chave {chave} but its XML is of chave {xml_chave}",
            f"O emissor respondeu a chave {chave}, mas o XML devolvido é da chave {xml_chave}; "
            "confira a nota no portal da SEFAZ antes de qualquer nova emissão.",
        )

    def _failed_cancel(self, exchange: Exchange) -> CancelResult:
        return CancelResult(
            CancelOutcome((exchange.failure or Outcome.IN_DOUBT).value),
            self.name,
            raw_response=exchange.raw_text,
            detail=exchange.detail,
            retry_after_s=exchange.retry_after_s,
        )


# -- the NF-e fields both JSON dialects name alike ----------------------------------------


def item_line(number: int, item: Item, taxes: Mapping[str, Any]) -> dict[str, Any]:
    """One item: the NF-e ``prod`` fields in layout order, the provider's ``taxes``, then
    discount and CEST when present. Quantities keep up to 4 places, unit prices up to 10,
    money exactly 2, all as strings (never through ``float``)."""
    quantity = decimal_text(item.quantity, min_places=2, max_places=4)
    unit_price = decimal_text(item.unit_price)
    line: dict[str, Any] = {
        "numero_item": str(number),
        "codigo_produto": item.code,
        "descricao": item.description,
        "codigo_ncm": item.ncm,
        "cfop": item.cfop,
        "codigo_barras_comercial": item.gtin,
        "unidade_comercial": item.unit,
        "quantidade_comercial": quantity,
        "valor_unitario_comercial": unit_price,
        "valor_bruto": money_text(item.gross_total),
        "codigo_barras_tributavel": item.gtin,
        "unidade_tributavel": item.unit,
        "quantidade_tributavel": quantity,
        "valor_unitario_tributavel": unit_price,
        **taxes,
    }
    if item.discount > 0:
        line["valor_desconto"] = money_text(item.discount)
    if item.cest:
        line["cest"] = item.cest
    return line


@dataclass(frozen=True, slots=True)
class PaymentFields:
    """A provider's names for the payment fields that differ between dialects."""

    method: str
    amount: str
    brand: str
    authorization: str
    description: str  # xPag of a tPag 99 payment


def payment_line(payment: Payment, fields: PaymentFields) -> dict[str, Any]:
    """One payment (``detPag``): tPag and amount; for cards, the integration type (2, a
    POS terminal apart, when nothing says otherwise) and whatever card details are known."""
    entry: dict[str, Any] = {fields.method: payment.method.value, fields.amount: money_text(payment.amount)}
    if payment.description is not None:  # tPag 99 only (checked by the sale): xPag
        entry[fields.description] = payment.description
    card = payment.card
    if payment.method.is_card or card is not None:
        entry["tipo_integracao"] = str(card.integration if card else 2)
        if card is not None and card.acquirer_cnpj:
            entry["cnpj_credenciadora"] = card.acquirer_cnpj
        if card is not None and card.brand:
            entry[fields.brand] = card.brand
        if card is not None and card.authorization:
            entry[fields.authorization] = card.authorization
    return entry


# -- the item's taxes, computed once for both dialects ----------------------------------------


@dataclass(frozen=True, slots=True)
class TaxFigures:
    """What an online provider needs of one item's taxes: the codes of the store's regime
    and the values they carry, computed with ``Decimal`` (``domain/taxes.py``)."""

    origin: int
    icms_code: str  # CST (regime normal) or CSOSN (Simples)
    icms: IcmsValues | None  # CST 00/20
    icms_reduction: Decimal | None  # pRedBC (CST 20)
    st: RetainedSt | None  # CST 60 / CSOSN 500
    pis_cst: str
    pis: RateValues | None
    cofins_cst: str
    cofins: RateValues | None
    ibs_cbs: tuple[str, str] | None  # (CST, cClassTrib)
    approx: ApproxTaxes | None  # Lei 12.741


def tax_figures(item: Item, config: Config) -> TaxFigures:
    """The item's tax registry (the store's ``[taxes]`` where the item says nothing, as for
    a sale queued before its registry existed) as values; never a fixed code."""
    tax = (item.tax or ItemTax()).merged_over(config.tax_defaults)
    crt = config.store.regime
    code = tax.icms_code_for(crt)
    if code is None or tax.pis_cst is None or tax.cofins_cst is None:
        raise ProviderRequestError(
            f"item {item.code} has no ICMS/PIS/COFINS code",
            user_message=(
                f"O item {item.code} não tem CST/CSOSN do ICMS ou CST de PIS/COFINS: cadastre-os "
                "no produto ou em [taxes] na configuração."
            ),
        )
    net = item.gross_total - item.discount
    return TaxFigures(
        origin=item.origin,
        icms_code=code,
        icms=icms_values(tax, net, crt),
        icms_reduction=tax.icms_base_reduction if code == "20" else None,
        st=retained_st(tax, item.quantity, crt),
        pis_cst=tax.pis_cst,
        pis=contribution(tax.pis_cst, tax.pis_rate, net),
        cofins_cst=tax.cofins_cst,
        cofins=contribution(tax.cofins_cst, tax.cofins_rate, net),
        ibs_cbs=(tax.ibs_cbs_cst, tax.cclass_trib) if tax.ibs_cbs_cst and tax.cclass_trib else None,
        approx=approx_taxes(tax, net),
    )


def rate_text(value: Decimal) -> str:
    """A rate as the layout writes it (``pICMS`` 3v2-4): 2 to 4 places."""
    return decimal_text(value, min_places=2, max_places=4)
