"""Issuing a sale: a new one, a queued one, a corrected rejected one; and voiding one that
will never be issued.

* **No sale is lost.** Before a byte goes to an issuer, :meth:`Journal.begin_issue`
  commits the sale, the exact request and ISSUING. Every answer is recorded in one
  transaction with the move the lifecycle makes of it.
* **No sale is issued twice.** A sale moves to another issuer only when the previous one
  answered ``NOT_SENT`` (we know the request never left). In-doubt sales stay with the
  issuer that got them (:mod:`posapp.services.catching_up`).
"""

from __future__ import annotations

import asyncio
import logging

from posapp.domain import lifecycle
from posapp.domain.audit import Action, AuditRecord
from posapp.domain.errors import DomainError, InvalidSale
from posapp.domain.issuance import IssueContext, Outcome, PreparedIssue, idempotency_reference
from posapp.domain.lifecycle import Happening, Notice, SaleState
from posapp.domain.sale import Sale
from posapp.domain.sale_rules import check_sale_for_store
from posapp.domain.sale_taxes import with_store_taxes
from posapp.fiscal.errors import FiscalError
from posapp.fiscal.port import FiscalBackend
from posapp.journal.errors import JournalUnavailable
from posapp.protocol.errors import LocalProtocolError
from posapp.services.answers import Answers
from posapp.services.core import Authorization, ServiceCore
from posapp.services.crashpoints import crash_point
from posapp.services.errors import NothingToDo
from posapp.services.results import IssueReport

log = logging.getLogger("posapp.services")

MAX_NUMBER_TRIES = 5  # números found taken at the issuer before the sale waits in the queue


class Issuing:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.answers = Answers(core)

    async def issue(self, sale: Sale) -> IssueReport:
        """Issue a new sale. Bad input raises :class:`InvalidSale` with nothing stored."""
        core = self.core
        sale = self._under_regime(sale)  # refused before anything is stored or sent
        async with core.issue_lock:
            if await core.db(core.journal.exists, sale.sale_id):
                raise InvalidSale(
                    f"sale {sale.sale_id} already in the journal",
                    user_message=(
                        f"Esta venda ({sale.sale_id}) já está registrada: outro caixa ou processo a está "
                        "emitindo ou já a emitiu. Confira com 'posapp nfce list' (ou F12) antes de "
                        "qualquer reenvio."
                    ),
                )
            return await self._issue(sale, new_sale=True)

    def _under_regime(self, sale: Sale) -> Sale:
        """The sale with the store's tax defaults, checked against its regime (CRT) and its
        state's rules (card details, an identified consumer): :class:`InvalidSale` naming
        what is missing, before a número is reserved (where we number, a refused sale would
        otherwise leave a gap to inutilize). The adapters check again before sending."""
        config = self.core.config
        sale = with_store_taxes(sale, crt=config.store.regime, defaults=config.tax_defaults)
        return check_sale_for_store(sale, uf=config.store.uf)

    async def resend(
        self, sale_id: str, sale: Sale | None = None, *, by: Authorization | None = None
    ) -> IssueReport:
        """Send again a QUEUED sale, or a REJECTED one (optionally corrected)."""
        core = self.core
        async with core.issue_lock:
            # Checked under the lock: a drain and a manager's resend cannot both pass it.
            row = await core.db(core.journal.get_sale, sale_id)
            if not lifecycle.can_resend(row.state):
                raise NothingToDo(
                    f"sale {sale_id} is {row.state}; only queued or rejected sales are resent",
                    user_message=(
                        "Só vendas na fila ou rejeitadas podem ser reenviadas "
                        f"(esta está '{row.state.label}')."
                    ),
                )
            if by is not None:
                audit = AuditRecord(Action.RESEND, by.operator, by.authorized_by, "corrigida" if sale else "")
                await core.db(core.journal.add_event, sale_id, core.now(), "resend_requested", audit=audit)
            fixed = (
                row.sale if sale is None else self._under_regime(sale.model_copy(update={"sale_id": sale_id}))
            )
            return await self._issue(
                fixed,
                new_sale=False,
                pinned=row.pinned_backend,
                store_if_unsent=row.state is SaleState.REJECTED or sale is not None,
            )

    async def void(self, sale_id: str, *, by: Authorization, reason: str) -> IssueReport:
        """A manager discards a sale that was never authorized (QUEUED or REJECTED): it will
        not be sent again. Nothing is sent now either. (A client-numbered issuer's number
        used by a rejected note must still be *inutilizado* at the issuer's portal.)"""
        core = self.core
        async with core.issue_lock:
            row = await core.db(core.journal.get_sale, sale_id)
            if row.pinned_backend is not None:
                raise NothingToDo(
                    f"sale {sale_id} is pinned to {row.pinned_backend}",
                    user_message=(
                        f"Esta venda já chegou uma vez ao emissor '{row.pinned_backend}', que ainda pode "
                        "autorizá-la: ela não pode ser descartada; será reenviada a ele quando voltar."
                    ),
                )
            if not lifecycle.can_void(row.state, pinned=False):
                raise NothingToDo(
                    f"sale {sale_id} is {row.state}; only queued or rejected sales are voided",
                    user_message=(
                        "Só vendas na fila ou rejeitadas podem ser descartadas "
                        f"(esta está '{row.state.label}')."
                    ),
                )
            step = await core.db(
                core.journal.apply,
                sale_id,
                Happening.VOIDED,
                core.now(),
                {"operator": by.who, "reason": reason},
                audit=AuditRecord(Action.ABORT_SALE, by.operator, by.authorized_by, reason[:200]),
                last_error=None,
            )
        return core.report(sale_id, step.notice, step.target, row.backend)

    # -- the send loop ------------------------------------------------------------------

    def _candidates(self, pinned: str | None) -> list[FiscalBackend]:
        """Issuers to try, in order. A pinned sale (its request reached that issuer once and
        a later query found nothing) goes back only to that issuer, never elsewhere."""
        available = self.core.router.ordered_for_issue()
        if pinned is None:
            return available
        return [b for b in available if b.name == pinned]

    async def _issue(
        self, sale: Sale, *, new_sale: bool, pinned: str | None = None, store_if_unsent: bool = False
    ) -> IssueReport:
        core = self.core
        stored = not new_sale
        last_detail = "nenhum emissor configurado ou disponível"
        for backend in self._candidates(pinned):
            # Where we number, a número the issuer already holds (another till's) is refused
            # as a duplicate: the sale takes the next one, a few times at most.
            for _ in range(MAX_NUMBER_TRIES):
                try:
                    prepared, reserved = await self._prepare(backend, sale)
                except (DomainError, LocalProtocolError, FiscalError) as exc:
                    if not stored:  # a new sale the first issuer cannot take: bad input, nothing stored
                        raise InvalidSale(str(exc), user_message=exc.user_message) from exc
                    # A stored sale (drain, resend) must not block the queue: try the next issuer.
                    log.warning("%s cannot prepare sale %s: %s", backend.name, sale.sale_id, exc)
                    last_detail = f"{backend.name}: {exc.user_message}"
                    break
                try:
                    attempt_id = await core.db(
                        core.journal.begin_issue,
                        sale,
                        prepared,
                        core.now(),
                        new_sale=not stored,
                        reserved=reserved,
                    )
                except JournalUnavailable as exc:  # before the send: nothing left, and we can say so
                    raise JournalUnavailable(
                        str(exc), user_message=f"{exc.user_message} Nada foi enviado ao emissor."
                    ) from exc
                stored = True
                crash_point("after_journal")
                raw_answer: str | None = None
                try:
                    result = await backend.send_issue(prepared)
                    raw_answer = result.raw_response
                    crash_point("after_answer")
                    # An issuer that says "this already exists" answered, and is up: not a failure.
                    health = Outcome.REJECTED if result.duplicate else result.outcome
                    core.router.record(backend.name, health, retry_after_s=result.retry_after_s)
                    if result.outcome is not Outcome.NOT_SENT:
                        report = await self.answers.record_issue(sale, attempt_id, result, reserved)
                        if report is not None:
                            return report
                        last_detail = lifecycle.notice_text(Notice.NUMBER_TAKEN)
                        continue  # the número was taken: reserve the next one
                    # Known unsent: safe to offer to the next issuer. Pass through QUEUED so the
                    # event log shows exactly where each attempt went.
                    last_detail = result.detail or "emissor indisponível"
                    await core.db(
                        core.journal.apply,
                        sale.sale_id,
                        Happening.ISSUE_NOT_SENT,
                        core.now(),
                        {"backend": backend.name, "detail": last_detail},
                        attempt=(attempt_id, result.outcome.value, result.raw_response),
                        expect_attempt=attempt_id,
                        last_error=last_detail,
                    )
                    break
                except BaseException as exc:
                    # Anything unexpected after the request may have left (a bug, a decoding
                    # error, the task cancelled, the journal full): never leave it ISSUING.
                    await asyncio.shield(self._abandon_attempt(sale.sale_id, attempt_id, exc, raw_answer))
                    raise
        if not stored:
            await core.db(core.journal.queue_new_sale, sale, core.now(), last_detail)
        elif store_if_unsent:
            # A corrected REJECTED sale with no issuer available now: store the correction and
            # queue it, so the drainer sends *that* version later.
            await core.db(core.journal.requeue, sale, core.now(), last_detail)
        return core.report(sale.sale_id, Notice.QUEUED, SaleState.QUEUED, None, (last_detail,))

    async def _abandon_attempt(
        self, sale_id: str, attempt_id: int, exc: BaseException, raw_answer: str | None
    ) -> None:
        """Never leave a sale ISSUING after a failure; keep the issuer's answer if one came
        (an authorized note whose recording failed can be rebuilt from it)."""
        core = self.core
        detail = f"falha inesperada após o envio: {type(exc).__name__}"
        try:
            await core.db(
                core.journal.apply,
                sale_id,
                Happening.FAILED_AFTER_SEND,
                core.now(),
                {"detail": detail, "error": repr(exc)[:500]},
                attempt=(attempt_id, "error", raw_answer),
                expect_attempt=attempt_id,
                last_error=detail,
            )
            log.error("sale %s is IN_DOUBT after %r", sale_id, exc)
        except Exception:
            # The journal itself failed: the sale stays ISSUING and becomes IN_DOUBT at the
            # next start (recover_interrupted). Nothing is resent meanwhile.
            log.exception("could not record the failure of sale %s", sale_id)

    async def _prepare(
        self, backend: FiscalBackend, sale: Sale
    ) -> tuple[PreparedIssue, tuple[int, int] | None]:
        core = self.core
        reserved: tuple[int, int] | None = None
        serie = numero = None
        if backend.capabilities.needs_client_numbering:
            serie = core.config.nfce.serie
            numero = await core.db(core.journal.reserve_number, backend.name, serie, sale.sale_id, core.now())
            reserved = (serie, numero)
        reference = idempotency_reference(await core.till_id(), sale.sale_id)
        context = IssueContext(
            sale=sale, reference=reference, serie=serie, numero=numero, emitted_at=core.now()
        )
        return backend.prepare_issue(context), reserved
