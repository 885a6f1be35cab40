"""The point-of-sale use cases: issue, resend, cancel, reprint, drain, reconcile, list.

Theory of operation (DESIGN §4):

* **No sale is lost.** Before a byte goes to an issuer, :meth:`Journal.begin_issue`
  commits the sale, the exact request and the ISSUING state. Every outcome is recorded
  in one transaction with the state it leads to.
* **No sale is issued twice.** A sale moves to another issuer only when the previous one
  answered ``NOT_SENT`` (we know the request never left). ``IN_DOUBT`` sales stay with the
  issuer that got them and are reconciled by asking it (:meth:`reconcile`); Emites-Client
  cannot be asked, so its in-doubt sales wait for a manager (:meth:`resolve_in_doubt`).

All journal calls run on one dedicated thread (SQLite with ``synchronous=FULL`` fsyncs);
nothing here blocks the event loop, so the Qt GUI stays responsive.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

from posapp.config import Config
from posapp.domain.cancel import CancelPolicy, check_motivo
from posapp.domain.documents import parse_chave
from posapp.domain.errors import DomainError, InvalidSale
from posapp.domain.issuance import (
    AuthorizedNote,
    CancelOutcome,
    CancelTarget,
    Health,
    IssueContext,
    IssueResult,
    Outcome,
    PreparedIssue,
)
from posapp.domain.sale import Sale
from posapp.domain.states import SaleState
from posapp.fiscal.errors import FiscalError
from posapp.fiscal.port import FiscalBackend
from posapp.journal.lockfile import ProcessLock
from posapp.journal.store import Journal, SaleRow
from posapp.protocol.errors import LocalProtocolError
from posapp.protocol.text import clean_text
from posapp.services.crashpoints import crash_point
from posapp.services.errors import NothingToDo, ServiceError
from posapp.services.ports import CancelledMark, IssuerRouter, PrintResult, ReceiptPrinter
from posapp.services.results import (
    CancelReport,
    DrainReport,
    IssueReport,
    NoteInfo,
    QueueStatus,
    SaleSummary,
)

log = logging.getLogger("posapp.services")

P = ParamSpec("P")
T = TypeVar("T")

# A send's answer is recorded if the sale is still on that attempt: ISSUING, or IN_DOUBT if
# another process's start-up recovery guessed first (the real answer beats the guess).
_SENDING = frozenset({SaleState.ISSUING, SaleState.IN_DOUBT})

_MESSAGES = {
    SaleState.AUTHORIZED: "NFC-e autorizada.",
    SaleState.REJECTED: "NFC-e rejeitada. Corrija a venda e reenvie.",
    SaleState.QUEUED: (
        "Nenhum emissor disponível: a venda está salva na fila e será emitida automaticamente. "
        "Pode continuar vendendo."
    ),
    SaleState.IN_DOUBT: (
        "O emissor recebeu a venda mas não respondeu a tempo: resultado desconhecido. "
        "A venda está salva; um gerente deve conferir antes de qualquer reenvio."
    ),
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class PosService:
    """The facade the CLI and the GUI call. Owns no I/O of its own beyond its ports."""

    def __init__(
        self,
        *,
        config: Config,
        journal: Journal,
        router: IssuerRouter,
        printer: ReceiptPrinter | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.journal = journal
        self.router = router
        self.printer = printer
        self._clock = clock
        self.policy = CancelPolicy(
            window=timedelta(minutes=config.nfce.cancel_window_min),
            safety_margin=timedelta(seconds=config.nfce.cancel_safety_margin_s),
        )
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posapp-journal")
        self._issue_lock = asyncio.Lock()  # one sale through the issuers at a time, in order
        self._cancel_lock = asyncio.Lock()  # one cancel at a time: a double click sends one
        self._owner_lock = ProcessLock(journal.path.with_name(journal.path.name + ".lock"))

    # -- plumbing -----------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    async def _db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_thread, lambda: fn(*args, **kwargs))

    def cancel_deadline(self, authorized_at: datetime) -> datetime:
        return self.policy.deadline(authorized_at)

    async def start(self, *, recover: bool = True) -> list[str]:
        """Join the data folder and, when alone there, run start-up recovery: sales left
        ISSUING by a crash become IN_DOUBT.

        Every started service holds the folder's shared lock; recovery needs the exclusive
        one, so a sale another live process (the till's GUI) is sending is never touched.
        ``recover=False`` joins without recovering (a service rebuilt inside a running app)."""
        if not recover:
            await self._db(self._owner_lock.share)
            return []
        if not await self._db(self._owner_lock.acquire):
            log.info("another posapp process is using %s; no start-up recovery", self.journal.path.parent)
            return []
        try:
            moved = await self._db(self.journal.recover_interrupted, self.now())
        finally:
            await self._db(self._owner_lock.downgrade)
        for sale_id in moved:
            log.warning("sale %s was being issued when the app stopped; now IN_DOUBT", sale_id)
        return moved

    async def aclose(self) -> None:
        for backend in self.router.backends:
            await backend.aclose()
        if self.printer is not None:
            await self.printer.aclose()
        # Waiting for the journal thread (an fsync may be in flight) must not block the loop.
        await asyncio.to_thread(self._db_thread.shutdown, wait=True)
        # Closing the last connection checkpoints the WAL (an fsync): not on the loop.
        await asyncio.to_thread(self.journal.close)
        self._owner_lock.release()

    async def void(self, sale_id: str, *, operator: str, reason: str) -> IssueReport:
        """A manager discards a sale that was never authorized (QUEUED or REJECTED): it will
        not be sent again. Nothing is sent now either. (A client-numbered issuer's number
        used by a rejected note must still be *inutilizado* at the issuer's portal.)"""
        row = await self._db(self.journal.get_sale, sale_id)
        if row.pinned_backend is not None:
            raise NothingToDo(
                f"sale {sale_id} is pinned to {row.pinned_backend}",
                user_message=(
                    f"Esta venda já chegou uma vez ao emissor '{row.pinned_backend}', que ainda pode "
                    "autorizá-la: ela não pode ser descartada; será reenviada a ele quando voltar."
                ),
            )
        if row.state not in (SaleState.QUEUED, SaleState.REJECTED):
            raise NothingToDo(
                f"sale {sale_id} is {row.state}; only queued or rejected sales are voided",
                user_message=(
                    f"Só vendas na fila ou rejeitadas podem ser descartadas (esta está '{row.state.label}')."
                ),
            )
        await self._db(
            self.journal.transition,
            sale_id,
            SaleState.VOIDED,
            self.now(),
            "voided",
            {"operator": operator, "reason": reason},
            expect=row.state,
            last_error=None,
        )
        return IssueReport(
            sale_id, SaleState.VOIDED, row.backend, message="Venda descartada; não será emitida."
        )

    # -- issuing ------------------------------------------------------------------------

    async def issue(self, sale: Sale, *, print_receipt: bool = True) -> IssueReport:
        """Issue a new sale. Bad input raises :class:`InvalidSale` with nothing stored."""
        async with self._issue_lock:
            if await self._db(self.journal.exists, sale.sale_id):
                raise InvalidSale(
                    f"sale {sale.sale_id} already in the journal",
                    user_message="Esta venda já foi registrada; use reenviar.",
                )
            report = await self._issue(sale, new_sale=True)
        return await self._maybe_print(report, print_receipt)

    async def resend(
        self, sale_id: str, sale: Sale | None = None, *, print_receipt: bool = True, at_counter: bool = False
    ) -> IssueReport:
        """Send again a QUEUED sale, or a REJECTED one (optionally corrected).

        ``at_counter``: the customer is still there (the cashier fixed a rejected sale), so
        the receipt is printed as a sale's first one, cash drawer included; otherwise (a
        manager issuing a queued sale later) it prints without kicking the drawer."""
        async with self._issue_lock:
            # Checked under the lock: a drain and a manager's resend cannot both pass it.
            row = await self._db(self.journal.get_sale, sale_id)
            if row.state not in (SaleState.QUEUED, SaleState.REJECTED):
                raise NothingToDo(
                    f"sale {sale_id} is {row.state}; only queued or rejected sales are resent",
                    user_message=(
                        "Só vendas na fila ou rejeitadas podem ser reenviadas "
                        f"(esta está '{row.state.label}')."
                    ),
                )
            fixed = row.sale if sale is None else sale.model_copy(update={"sale_id": sale_id})
            report = await self._issue(
                fixed,
                new_sale=False,
                pinned=row.pinned_backend,
                store_if_unsent=row.state is SaleState.REJECTED or sale is not None,
            )
        return await self._maybe_print(report, print_receipt, kind="danfe" if at_counter else "late_issue")

    def _candidates(self, pinned: str | None) -> list[FiscalBackend]:
        """Issuers to try, in order. A pinned sale (its request reached that issuer once and
        a later query found nothing) goes back only to that issuer, never elsewhere."""
        available = self.router.ordered_for_issue()
        if pinned is None:
            return available
        return [b for b in available if b.name == pinned]

    async def _issue(
        self, sale: Sale, *, new_sale: bool, pinned: str | None = None, store_if_unsent: bool = False
    ) -> IssueReport:
        stored = not new_sale
        last_detail = "nenhum emissor configurado ou disponível"
        for backend in self._candidates(pinned):
            try:
                prepared, reserved = await self._prepare(backend, sale)
            except (DomainError, LocalProtocolError, FiscalError) as exc:
                if not stored:  # a new sale the first issuer cannot take: bad input, nothing stored
                    raise InvalidSale(str(exc), user_message=exc.user_message) from exc
                # A stored sale (drain, resend) must not block the queue: try the next issuer.
                log.warning("%s cannot prepare sale %s: %s", backend.name, sale.sale_id, exc)
                last_detail = f"{backend.name}: {exc.user_message}"
                continue
            attempt_id = await self._db(
                self.journal.begin_issue, sale, prepared, self.now(), new_sale=not stored, reserved=reserved
            )
            stored = True
            crash_point("after_journal")
            raw_answer: str | None = None
            try:
                result = await backend.send_issue(prepared)
                raw_answer = result.raw_response
                crash_point("after_answer")
                self.router.record(backend.name, result.outcome, retry_after_s=result.retry_after_s)
                if result.outcome is not Outcome.NOT_SENT:
                    return await self._record_result(sale.sale_id, attempt_id, result)
                # Known unsent: safe to offer to the next issuer. Pass through QUEUED so the
                # event log shows exactly where each attempt went.
                last_detail = result.detail or "emissor indisponível"
                await self._db(
                    self.journal.transition,
                    sale.sale_id,
                    SaleState.QUEUED,
                    self.now(),
                    "not_sent",
                    {"backend": backend.name, "detail": last_detail},
                    attempt=(attempt_id, result.outcome.value, result.raw_response),
                    expect=_SENDING,
                    last_error=last_detail,
                )
            except BaseException as exc:
                # Anything unexpected after the request may have left (a bug, a decoding
                # error, the task cancelled, the journal full): never leave it ISSUING.
                await asyncio.shield(self._abandon_attempt(sale.sale_id, attempt_id, exc, raw_answer))
                raise
        if not stored:
            await self._db(self.journal.queue_new_sale, sale, self.now(), last_detail)
        elif store_if_unsent:
            # A corrected REJECTED sale with no issuer available now: store the correction and
            # queue it, so the drainer sends *that* version later.
            await self._db(self.journal.requeue, sale, self.now(), last_detail)
        return IssueReport(
            sale_id=sale.sale_id,
            state=SaleState.QUEUED,
            backend=None,
            errors=(last_detail,),
            message=_MESSAGES[SaleState.QUEUED],
        )

    async def _abandon_attempt(
        self, sale_id: str, attempt_id: int, exc: BaseException, raw_answer: str | None
    ) -> None:
        """Never leave a sale ISSUING after a failure; keep the issuer's answer if one came
        (an authorized note whose recording failed can be rebuilt from it)."""
        detail = f"falha inesperada após o envio: {type(exc).__name__}"
        try:
            await self._db(
                self.journal.transition,
                sale_id,
                SaleState.IN_DOUBT,
                self.now(),
                "in_doubt",
                {"detail": detail, "error": repr(exc)[:500]},
                attempt=(attempt_id, "error", raw_answer),
                expect=_SENDING,
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
        reserved: tuple[int, int] | None = None
        serie = numero = None
        if backend.capabilities.needs_client_numbering:
            serie = self.config.nfce.serie
            numero = await self._db(
                self.journal.reserve_number, backend.name, serie, sale.sale_id, self.now()
            )
            reserved = (serie, numero)
        context = IssueContext(
            sale=sale, reference=sale.sale_id, serie=serie, numero=numero, emitted_at=self.now()
        )
        return backend.prepare_issue(context), reserved

    async def _record_result(self, sale_id: str, attempt_id: int | None, result: IssueResult) -> IssueReport:
        attempt = None if attempt_id is None else (attempt_id, result.outcome.value, result.raw_response)
        now = self.now()
        if result.outcome is Outcome.AUTHORIZED and result.note is not None:
            note = result.note
            await self._db(
                self.journal.record_authorized, sale_id, note, now, attempt=attempt, expect=_SENDING
            )
            if self.policy.clock_behind(note.authorized_at, now):
                log.warning("local clock is behind the authorization time of %s", note.chave)
            return self._report_authorized(sale_id, result.backend, note)
        if result.outcome is Outcome.REJECTED:
            errors = result.errors or ("Rejeitada sem motivo informado pelo emissor.",)
            await self._db(
                self.journal.transition,
                sale_id,
                SaleState.REJECTED,
                now,
                "rejected",
                {"backend": result.backend, "errors": list(errors)},
                attempt=attempt,
                expect=_SENDING,
                last_error="; ".join(errors),
                pinned_backend=None,
            )
            return IssueReport(
                sale_id=sale_id,
                state=SaleState.REJECTED,
                backend=result.backend,
                errors=tuple(errors),
                message=_MESSAGES[SaleState.REJECTED],
            )
        detail = result.detail or "resposta não recebida"
        await self._db(
            self.journal.transition,
            sale_id,
            SaleState.IN_DOUBT,
            now,
            "in_doubt",
            {"backend": result.backend, "detail": detail},
            attempt=attempt,
            expect=_SENDING,
            last_error=detail,
        )
        return IssueReport(
            sale_id=sale_id,
            state=SaleState.IN_DOUBT,
            backend=result.backend,
            errors=(detail, *result.errors),
            message=_MESSAGES[SaleState.IN_DOUBT],
        )

    def _report_authorized(self, sale_id: str, backend: str | None, note: AuthorizedNote) -> IssueReport:
        return IssueReport(
            sale_id=sale_id,
            state=SaleState.AUTHORIZED,
            backend=backend,
            note=NoteInfo(
                chave=note.chave,
                numero=note.numero,
                serie=note.serie,
                protocolo=note.protocolo,
                authorized_at=note.authorized_at,
                contingency=note.contingency,
            ),
            cancel_deadline=self.cancel_deadline(note.authorized_at),
            message=_MESSAGES[SaleState.AUTHORIZED]
            + (" Emitida em contingência: será transmitida à SEFAZ." if note.contingency else ""),
        )

    async def _maybe_print(
        self, report: IssueReport, print_receipt: bool, kind: str = "danfe"
    ) -> IssueReport:
        if not print_receipt or report.state is not SaleState.AUTHORIZED or self.printer is None:
            return report
        crash_point("before_print")
        result = await self._print_sale(report.sale_id, kind=kind)
        return _with_print(report, result)

    async def _print_sale(self, sale_id: str, kind: str = "danfe") -> PrintResult:
        assert self.printer is not None
        row = await self._db(self.journal.get_sale, sale_id)
        xml = await self._db(self.journal.document, sale_id, "xml")
        pdf = await self._db(self.journal.document, sale_id, "danfe_pdf")
        cancelled = (
            CancelledMark(row.cancel_protocolo, row.cancelled_at)
            if row.state is SaleState.CANCELLED
            else None
        )
        # A print failure never changes the fiscal state: the spool records it, nothing else.
        return await self.printer.print_danfe(
            sale_id, xml=xml, pdf=pdf, had_cash=row.had_cash, cancelled=cancelled, kind=kind
        )

    async def reprint(self, sale_id: str) -> IssueReport:
        row = await self._db(self.journal.get_sale, sale_id)
        if row.state not in (SaleState.AUTHORIZED, SaleState.CANCELLED, SaleState.CANCELLING):
            raise NothingToDo(
                f"sale {sale_id} has no authorized note",
                user_message="Só é possível reimprimir vendas com NFC-e autorizada.",
            )
        report = self._summary_report(row)
        if self.printer is None:
            return _with_print(report, PrintResult(False, "Nenhuma impressora configurada.", None))
        return _with_print(report, await self._print_sale(sale_id, kind="reprint"))

    def _summary_report(self, row: SaleRow) -> IssueReport:
        note = None
        if row.chave and row.authorized_at and row.numero is not None and row.serie is not None:
            note = NoteInfo(
                row.chave, row.numero, row.serie, row.protocolo, row.authorized_at, row.contingency
            )
        return IssueReport(
            sale_id=row.sale_id,
            state=row.state,
            backend=row.backend,
            note=note,
            cancel_deadline=self.cancel_deadline(row.authorized_at) if row.authorized_at else None,
            errors=(row.last_error,) if row.last_error else (),
            message=_MESSAGES.get(row.state, row.state.label),
        )

    async def print_bytes(self, data: bytes, *, kind: str = "report") -> PrintResult:
        if self.printer is None:
            return PrintResult(False, "Nenhuma impressora configurada.", None)
        return await self.printer.print_bytes(data, kind=kind)

    # -- cancelling ---------------------------------------------------------------------

    async def find_by_chave(self, chave: str) -> SaleRow:
        digits = parse_chave(chave).digits
        return await self._db(self.journal.find_by_chave, digits)

    async def cancel(self, sale_id: str, motivo: str, *, operator: str | None = None) -> CancelReport:
        """Cancel an authorized note inside the window. The window and the *motivo* are
        checked here, before anything is stored or sent (raises ``CancelRefused``).
        One cancel at a time: the state is read under the lock, so two clicks send one.
        The *motivo* is checked as it will travel (after the issuer's text policy folds or
        drops what ISO-8859-1 cannot carry), so an issuer never refuses it after the fact."""
        motivo = check_motivo(clean_text(motivo, self.config.emites.text_policy))
        async with self._cancel_lock:
            return await self._cancel(sale_id, motivo, operator)

    async def _cancel(self, sale_id: str, motivo: str, operator: str | None) -> CancelReport:
        row = await self._db(self.journal.get_sale, sale_id)
        cancellable = (SaleState.AUTHORIZED, SaleState.CANCELLING)  # CANCELLING: retry an unanswered cancel
        if row.state not in cancellable or row.chave is None or row.authorized_at is None:
            raise NothingToDo(
                f"sale {sale_id} is {row.state}; only authorized notes are cancelled",
                user_message=f"Só NFC-e autorizadas podem ser canceladas (esta está '{row.state.label}').",
            )
        self.policy.check_window(row.authorized_at, self.now())
        if row.backend is None:
            raise ServiceError(f"sale {sale_id} has no issuer recorded")
        backend = self.router.get(row.backend)
        target = CancelTarget(
            sale_id=sale_id,
            reference=sale_id,
            chave=row.chave,
            numero=row.numero,
            serie=row.serie,
            protocolo=row.protocolo,
        )
        request = json.dumps({"chave_acesso": row.chave, "motivo": motivo}, ensure_ascii=False).encode()
        attempt_id = await self._db(
            self.journal.begin_cancel, sale_id, backend.name, request, motivo, self.now()
        )
        if operator:
            await self._db(
                self.journal.add_event, sale_id, self.now(), "cancel_requested", {"operator": operator}
            )
        try:
            result = await backend.cancel(target, motivo)
        except (DomainError, FiscalError) as exc:
            # The adapter refused before sending (its own validation): nothing left.
            await self._db(
                self.journal.transition,
                sale_id,
                SaleState.AUTHORIZED,
                self.now(),
                "cancel_not_sent",
                {"errors": [exc.user_message]},
                attempt=(attempt_id, CancelOutcome.NOT_SENT.value, None),
                expect=SaleState.CANCELLING,
                last_error=exc.user_message,
            )
            raise
        self.router.record(backend.name, result.outcome, retry_after_s=result.retry_after_s)
        now = self.now()
        attempt = (attempt_id, result.outcome.value, result.raw_response)
        retry = row.state is SaleState.CANCELLING
        if result.outcome is CancelOutcome.REFUSED and retry and _already_cancelled(result.errors):
            # A retry after an unanswered cancel: SEFAZ says the first one landed.
            result = replace(result, outcome=CancelOutcome.CANCELLED)
        if result.outcome is CancelOutcome.CANCELLED:
            cancelled_at = result.cancelled_at or now
            await self._db(
                self.journal.transition,
                sale_id,
                SaleState.CANCELLED,
                now,
                "cancelled",
                {"protocolo": result.protocolo},
                attempt=attempt,
                cancel_protocolo=result.protocolo,
                cancelled_at=cancelled_at.isoformat(),
                last_error=None,
            )
            if result.xml:
                await self._db(self.journal.put_document, sale_id, "cancel_xml", result.xml, now)
            return CancelReport(
                sale_id,
                SaleState.CANCELLED,
                backend.name,
                result.outcome,
                result.protocolo,
                cancelled_at,
                message="NFC-e cancelada.",
            )
        if result.outcome is CancelOutcome.IN_DOUBT:
            detail = result.detail or "sem resposta do emissor"
            await self._db(
                self.journal.finish_attempt, attempt_id, result.outcome.value, result.raw_response, now
            )
            return CancelReport(
                sale_id,
                SaleState.CANCELLING,
                backend.name,
                result.outcome,
                errors=(detail,),
                message=(
                    "O cancelamento foi enviado mas não houve resposta. Confira e tente de novo (é seguro)."
                ),
            )
        errors = result.errors or ((result.detail,) if result.detail else ("Emissor indisponível.",))
        await self._db(
            self.journal.transition,
            sale_id,
            SaleState.AUTHORIZED,
            now,
            "cancel_refused" if result.outcome is CancelOutcome.REFUSED else "cancel_not_sent",
            {"errors": list(errors)},
            attempt=attempt,
            last_error="; ".join(errors),
        )
        message = (
            "O cancelamento foi recusado; a NFC-e continua autorizada."
            if result.outcome is CancelOutcome.REFUSED
            else "Emissor indisponível: o cancelamento não foi enviado. Tente novamente dentro do prazo."
        )
        return CancelReport(
            sale_id, SaleState.AUTHORIZED, backend.name, result.outcome, errors=tuple(errors), message=message
        )

    async def resolve_cancelling(
        self, sale_id: str, *, cancelled: bool, protocolo: str | None, operator: str
    ) -> CancelReport:
        """A manager's word on a cancel whose answer never came (the note is CANCELLING and
        the window may have closed, so it cannot simply be retried): after checking the
        issuer or the SEFAZ portal, record that it was cancelled (with the cancel protocol)
        or that it was not (the note stays authorized)."""
        async with self._cancel_lock:
            row = await self._db(self.journal.get_sale, sale_id)
            if row.state is not SaleState.CANCELLING:
                raise NothingToDo(
                    f"sale {sale_id} is {row.state}", user_message="Esta venda não tem cancelamento pendente."
                )
            now = self.now()
            if cancelled:
                await self._db(
                    self.journal.transition,
                    sale_id,
                    SaleState.CANCELLED,
                    now,
                    "resolved_cancelled",
                    {"operator": operator, "protocolo": protocolo},
                    expect=SaleState.CANCELLING,
                    cancel_protocolo=protocolo,
                    cancelled_at=now.isoformat(),
                    last_error=None,
                )
                return CancelReport(
                    sale_id,
                    SaleState.CANCELLED,
                    row.backend,
                    CancelOutcome.CANCELLED,
                    protocolo,
                    now,
                    message="Cancelamento registrado.",
                )
            await self._db(
                self.journal.transition,
                sale_id,
                SaleState.AUTHORIZED,
                now,
                "resolved_not_cancelled",
                {"operator": operator},
                expect=SaleState.CANCELLING,
                last_error=None,
            )
            return CancelReport(
                sale_id,
                SaleState.AUTHORIZED,
                row.backend,
                CancelOutcome.REFUSED,
                message="Registrado: a NFC-e continua autorizada.",
            )

    # -- queue and reconciliation ----------------------------------------------------------

    async def drain(self, *, limit: int = 1000, stop: Callable[[], bool] | None = None) -> DrainReport:
        """Send QUEUED sales, oldest first; stop when no issuer could take one.

        One sale's trouble (a bug, a journal error) is logged and skipped, so it never
        holds the rest of the queue past the contingency limit."""
        queued = await self._db(
            self.journal.list_sales, states=[SaleState.QUEUED], limit=limit, oldest_first=True
        )
        counts = {SaleState.AUTHORIZED: 0, SaleState.REJECTED: 0, SaleState.IN_DOUBT: 0, SaleState.QUEUED: 0}
        attempted = 0
        for row in queued:
            if stop is not None and stop():
                break  # asked to stop: between two sales, never in the middle of one
            attempted += 1
            try:
                report = await self.resend(row.sale_id, print_receipt=False)
            except NothingToDo:
                continue  # someone else (a manager, another round) took it meanwhile
            except Exception:
                # One sale's trouble (even a bug) is logged and skipped, never the whole queue.
                log.exception("drain: sale %s skipped", row.sale_id)
                continue
            counts[report.state] = counts.get(report.state, 0) + 1
            if report.state is SaleState.QUEUED and not self.router.ordered_for_issue():
                break  # nothing reachable: the rest waits for the next round
        remaining = await self._db(self.journal.count_by_state)
        return DrainReport(
            attempted=attempted,
            authorized=counts[SaleState.AUTHORIZED],
            rejected=counts[SaleState.REJECTED],
            still_queued=remaining.get(SaleState.QUEUED, 0),
            in_doubt=counts[SaleState.IN_DOUBT],
        )

    async def reconcile(self) -> list[IssueReport]:
        """Ask the issuer that got each IN_DOUBT request what became of it.

        The query runs without the issue lock (a slow provider must not hold up the
        checkout); the answer is written with a compare-and-set (still IN_DOUBT, still on
        that attempt), so it cannot race a resend or a second reconcile. An issuer that is
        gone from the configuration, or a query that fails, leaves that sale IN_DOUBT and
        goes on with the next."""
        rows = await self._db(
            self.journal.list_sales, states=[SaleState.IN_DOUBT], limit=10_000, oldest_first=True
        )
        reports = []
        for row in rows:
            if row.backend is None or row.attempt_id is None:
                reports.append(self._summary_report(row))
                continue
            try:
                reports.append(await self._reconcile_one(row.sale_id))
            except Exception:
                log.exception("reconcile: sale %s left in doubt", row.sale_id)
                reports.append(self._summary_report(row))
        return reports

    async def _reconcile_one(self, sale_id: str) -> IssueReport:
        row = await self._db(self.journal.get_sale, sale_id)
        if row.state is not SaleState.IN_DOUBT or row.backend is None or row.attempt_id is None:
            return self._summary_report(row)
        backend = self.router.get(row.backend)
        if not backend.capabilities.can_query:
            return self._summary_report(row)
        attempt = await self._db(self.journal.attempt, row.attempt_id)
        result = await backend.query_issue(attempt.prepared())
        return await self._record_reconciled(row, result)

    async def _record_reconciled(self, row: SaleRow, result: IssueResult) -> IssueReport:
        now = self.now()
        attempt = None  # the in-doubt attempt keeps its own outcome; the events record this answer
        if result.outcome is Outcome.AUTHORIZED and result.note is not None:
            await self._db(
                self.journal.record_authorized,
                row.sale_id,
                result.note,
                now,
                attempt=attempt,
                kind="reconciled_authorized",
                expect=SaleState.IN_DOUBT,
                expect_attempt=row.attempt_id,
            )
            return self._report_authorized(row.sale_id, result.backend, result.note)
        if result.outcome is Outcome.REJECTED:
            await self._db(
                self.journal.transition,
                row.sale_id,
                SaleState.REJECTED,
                now,
                "reconciled_rejected",
                {"errors": list(result.errors)},
                attempt=attempt,
                expect=SaleState.IN_DOUBT,
                expect_attempt=row.attempt_id,
                last_error="; ".join(result.errors),
            )
            return IssueReport(
                row.sale_id,
                SaleState.REJECTED,
                result.backend,
                errors=result.errors,
                message=_MESSAGES[SaleState.REJECTED],
            )
        if result.outcome is Outcome.NOT_SENT:
            # The issuer that got the request has no such note *now*. The request did leave
            # this machine, though, and may still be processed there: the sale is queued but
            # pinned to that issuer, so it is never sent anywhere else.
            await self._db(
                self.journal.transition,
                row.sale_id,
                SaleState.QUEUED,
                now,
                "reconciled_not_found",
                {"backend": result.backend},
                attempt=attempt,
                expect=SaleState.IN_DOUBT,
                expect_attempt=row.attempt_id,
                last_error=None,
                pinned_backend=row.backend,
            )
            return IssueReport(
                row.sale_id, SaleState.QUEUED, result.backend, message=_MESSAGES[SaleState.QUEUED]
            )
        return self._summary_report(row)

    async def resolve_in_doubt(self, sale_id: str, *, issued_chave: str | None, operator: str) -> IssueReport:
        """A manager's decision for an IN_DOUBT sale the issuer cannot be asked about.

        ``issued_chave=None`` records that the manager checked the issuer and no note
        exists (the sale goes back to the queue); a chave records that it was authorized.
        """
        async with self._issue_lock:
            return await self._resolve_in_doubt(sale_id, issued_chave, operator)

    async def _resolve_in_doubt(self, sale_id: str, issued_chave: str | None, operator: str) -> IssueReport:
        row = await self._db(self.journal.get_sale, sale_id)
        if row.state is not SaleState.IN_DOUBT:
            raise NothingToDo(f"sale {sale_id} is {row.state}", user_message="Esta venda não está em dúvida.")
        now = self.now()
        if issued_chave is None:
            await self._db(
                self.journal.transition,
                sale_id,
                SaleState.QUEUED,
                now,
                "resolved_not_issued",
                {"operator": operator},
                expect=SaleState.IN_DOUBT,
                expect_attempt=row.attempt_id,
                last_error=None,
                # The request did reach that issuer once (it may still transmit a note it
                # kept, e.g. in its offline contingency): resend only there.
                pinned_backend=row.backend,
            )
            return IssueReport(sale_id, SaleState.QUEUED, row.backend, message=_MESSAGES[SaleState.QUEUED])
        chave = parse_chave(issued_chave)
        # The true authorization time is unknown; the request's time is the earliest it can
        # be, so the cancel deadline computed from it errs on the legal side.
        sent_at = (await self._db(self.journal.attempt, row.attempt_id)).created_at if row.attempt_id else now
        note = AuthorizedNote(
            chave=chave.digits,
            numero=chave.number,
            serie=chave.series,
            authorized_at=sent_at,
            contingency=chave.emission_type == 9,
        )
        await self._db(
            self.journal.record_authorized,
            sale_id,
            note,
            now,
            attempt=None,
            kind="resolved_authorized",
            expect=SaleState.IN_DOUBT,
            expect_attempt=row.attempt_id,
        )
        await self._db(self.journal.add_event, sale_id, now, "resolved_by", {"operator": operator})
        return self._report_authorized(sale_id, row.backend, note)

    # -- reading ------------------------------------------------------------------------

    def _summary(self, row: SaleRow) -> SaleSummary:
        return SaleSummary(
            sale_id=row.sale_id,
            created_at=row.created_at,
            state=row.state,
            total=row.total,
            operator=row.operator,
            backend=row.backend,
            chave=row.chave,
            numero=row.numero,
            serie=row.serie,
            authorized_at=row.authorized_at,
            cancel_deadline=self.cancel_deadline(row.authorized_at) if row.authorized_at else None,
            last_error=row.last_error,
            had_cash=row.had_cash,
            payments=tuple((p.method.value, p.amount) for p in row.sale.payments),
        )

    async def list_sales(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int = 500
    ) -> list[SaleSummary]:
        rows = await self._db(self.journal.list_sales, since=since, until=until, limit=limit)
        return [self._summary(r) for r in rows]

    async def state_of(self, sale_id: str) -> SaleState | None:
        """The sale's state, or ``None`` if it was never stored."""
        if not await self._db(self.journal.exists, sale_id):
            return None
        return (await self._db(self.journal.get_sale, sale_id)).state

    async def get_sale(self, sale_id: str) -> tuple[SaleSummary, Sale]:
        row = await self._db(self.journal.get_sale, sale_id)
        return self._summary(row), row.sale

    async def documents(self, sale_id: str) -> tuple[bytes | None, bytes | None]:
        xml = await self._db(self.journal.document, sale_id, "xml")
        pdf = await self._db(self.journal.document, sale_id, "danfe_pdf")
        return xml, pdf

    async def queue_status(self) -> QueueStatus:
        counts = await self._db(self.journal.count_by_state)
        oldest = await self._db(
            self.journal.list_sales, states=[SaleState.QUEUED], limit=1, oldest_first=True
        )
        oldest_at = oldest[0].created_at if oldest else None
        limit = timedelta(hours=self.config.nfce.contingency_limit_h)
        # Warn with a quarter of the limit still to go (6 h of 24 h).
        warning = oldest_at is not None and self.now() - oldest_at >= limit * 3 / 4
        return QueueStatus(
            queued=counts.get(SaleState.QUEUED, 0),
            in_doubt=counts.get(SaleState.IN_DOUBT, 0),
            oldest_queued_at=oldest_at,
            contingency_deadline_warning=warning,
        )

    async def issuer_health(self) -> dict[str, Health]:
        return await self.router.probe_all()


# SEFAZ answers to a second cancel of the same note: 218 "NF-e já está cancelada",
# 573 "Duplicidade de evento".
_ALREADY_CANCELLED = re.compile(r"\b(218|573)\b|j[aá] est[aá] cancelada|duplicidade de evento", re.IGNORECASE)


def _already_cancelled(errors: tuple[str, ...]) -> bool:
    return any(_ALREADY_CANCELLED.search(error) for error in errors)


def _with_print(report: IssueReport, result: PrintResult) -> IssueReport:
    return replace(report, printed=result.ok, print_error=result.error, receipt=result.data)
