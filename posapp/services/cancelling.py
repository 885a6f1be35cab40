"""Cancelling an authorized note inside the legal window, and a manager's word on a cancel
whose answer never came.

The window and the *motivo* are checked before anything is stored or sent. The request and
CANCELLING (with the manager's audit row) are committed before the send; the answer is
recorded with the move the lifecycle makes of it. Resending a cancel whose answer never
came is harmless: SEFAZ answers "already cancelled" (218/573) if the first one landed, and
the lifecycle reads that as cancelled.
"""

from __future__ import annotations

import json
from datetime import timedelta

from posapp.domain import lifecycle
from posapp.domain.audit import Action, AuditRecord
from posapp.domain.cancel import check_motivo, window_start
from posapp.domain.errors import DomainError
from posapp.domain.issuance import CancelOutcome, CancelTarget
from posapp.domain.lifecycle import Happening, Notice, SaleState, notice_text
from posapp.fiscal.errors import FiscalError
from posapp.journal.errors import StaleState
from posapp.protocol.text import clean_text
from posapp.services.core import Authorization, ServiceCore
from posapp.services.errors import NothingToDo, ServiceError
from posapp.services.results import CancelReport

IN_FLIGHT_MARGIN_S = 30  # past the issuer's answer time, another's cancel counts as unanswered

_CANCEL_OUTCOME = {
    SaleState.CANCELLED: CancelOutcome.CANCELLED,
    SaleState.CANCELLING: CancelOutcome.IN_DOUBT,
}


class Cancelling:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    async def cancel(self, sale_id: str, motivo: str, *, by: Authorization) -> CancelReport:
        """Cancel an authorized note inside the window (raises ``CancelRefused`` before
        anything is stored or sent). One cancel at a time: the state is read under the lock,
        so two clicks send one. The *motivo* is checked as it will travel (after the text
        policy folds or drops what ISO-8859-1 cannot carry)."""
        core = self.core
        motivo = check_motivo(clean_text(motivo, core.config.emites.text_policy), original=motivo)
        async with core.cancel_lock:
            return await self._cancel(sale_id, motivo, by)

    async def _cancel(self, sale_id: str, motivo: str, by: Authorization) -> CancelReport:
        core = self.core
        row = await core.db(core.journal.get_sale, sale_id)
        if not lifecycle.can_cancel(row.state) or row.chave is None or row.authorized_at is None:
            raise NothingToDo(
                f"sale {sale_id} is {row.state}; only authorized notes are cancelled",
                user_message=f"Só NFC-e autorizadas podem ser canceladas (esta está '{row.state.label}').",
            )
        start = window_start(row.authorized_at, contingency=row.contingency, protocol=row.protocolo)
        if start is not None:  # an offline note not yet authorized: its window has not started
            core.policy.check_window(start, core.now())
        if row.backend is None:
            raise ServiceError(
                f"sale {sale_id} has no issuer recorded",
                user_message="Esta venda não tem emissor registrado; não é possível cancelá-la daqui.",
            )
        backend = core.router.get(row.backend)
        retry = lifecycle.cancel_unanswered(row.state)
        if retry and await self._in_flight_elsewhere(sale_id):
            return self._being_cancelled(sale_id, row.backend)
        # The issuers know the note by the reference its issue request carried.
        issued_as = await core.db(core.journal.attempt, row.attempt_id) if row.attempt_id else None
        target = CancelTarget(
            sale_id=sale_id,
            reference=issued_as.reference if issued_as is not None else sale_id,
            chave=row.chave,
            numero=row.numero,
            serie=row.serie,
            protocolo=row.protocolo,
        )
        request = json.dumps({"chave_acesso": row.chave, "motivo": motivo}, ensure_ascii=False).encode()
        try:
            attempt_id = await core.db(
                core.journal.begin_cancel,
                sale_id,
                Happening.CANCEL_RESENT if retry else Happening.CANCEL_SENT,
                backend.name,
                request,
                motivo,
                core.now(),
                audit=AuditRecord(Action.CANCEL_SALE, by.operator, by.authorized_by, motivo[:250]),
            )
        except StaleState:
            # Another till or process started cancelling this note between our read and our
            # write: exactly one cancel goes out; say what became of it, send nothing.
            return await self._after_lost_race(sale_id)
        try:
            result = await backend.cancel(target, motivo)
        except (DomainError, FiscalError) as exc:
            # The adapter refused before sending (its own validation): nothing left.
            await core.db(
                core.journal.apply,
                sale_id,
                lifecycle.after_unsent_cancel(retry),
                core.now(),
                {"errors": [exc.user_message]},
                attempt=(attempt_id, CancelOutcome.NOT_SENT.value, None),
                audit=AuditRecord(
                    Action.CANCEL_REFUSED, by.operator, by.authorized_by, exc.user_message[:200]
                ),
                last_error=exc.user_message,
            )
            raise
        core.router.record(backend.name, result.outcome, retry_after_s=result.retry_after_s)
        now = core.now()
        attempt = (attempt_id, result.outcome.value, result.raw_response)
        happening = lifecycle.after_cancel(result.outcome, result.errors)
        if happening is Happening.CANCEL_NOT_SENT:
            happening = lifecycle.after_unsent_cancel(retry)
        if happening in (Happening.CANCEL_CONFIRMED, Happening.CANCEL_ALREADY_DONE):
            cancelled_at = result.cancelled_at or now
            step = await core.db(
                core.journal.apply,
                sale_id,
                happening,
                now,
                {"protocolo": result.protocolo},
                attempt=attempt,
                documents={"cancel_xml": result.xml} if result.xml else None,
                cancel_protocolo=result.protocolo,
                cancelled_at=cancelled_at.isoformat(),
                last_error=None,
            )
            return CancelReport(
                sale_id,
                step.target,
                backend.name,
                CancelOutcome.CANCELLED,
                result.protocolo,
                cancelled_at,
                message=notice_text(step.notice),
                notice=step.notice,
            )
        if happening is Happening.CANCEL_IN_DOUBT:
            detail = result.detail or "sem resposta do emissor"
            step = await core.db(
                core.journal.apply, sale_id, happening, now, {"detail": detail}, attempt=attempt
            )
            return CancelReport(
                sale_id,
                step.target,
                backend.name,
                _CANCEL_OUTCOME.get(step.target, CancelOutcome.IN_DOUBT),
                errors=(detail,),
                message=notice_text(step.notice),
                notice=step.notice,
            )
        errors = result.errors or ((result.detail,) if result.detail else ("Emissor indisponível.",))
        step = await core.db(
            core.journal.apply,
            sale_id,
            happening,
            now,
            {"errors": list(errors)},
            attempt=attempt,
            audit=AuditRecord(Action.CANCEL_REFUSED, by.operator, by.authorized_by, "; ".join(errors)[:200]),
            last_error="; ".join(errors),
        )
        return CancelReport(
            sale_id,
            step.target,
            backend.name,
            _CANCEL_OUTCOME.get(step.target, result.outcome),
            errors=tuple(errors),
            message=notice_text(step.notice),
            notice=step.notice,
        )

    async def _in_flight_elsewhere(self, sale_id: str) -> bool:
        """A cancel of this note sent by someone else, still waiting for its answer (not one
        whose answer never came: that one may be resent)."""
        core = self.core
        cancels = [a for a in await core.db(core.journal.attempts, sale_id) if a.kind == "cancel"]
        if not cancels or cancels[-1].outcome is not None:
            return False
        return core.now() - cancels[-1].created_at < timedelta(seconds=self._longest_wait_s())

    def _longest_wait_s(self) -> float:
        config = self.core.config
        waits = [config.emites.response_timeout_s, *(p.timeout_s for p in config.providers)]
        return max(waits) + IN_FLIGHT_MARGIN_S

    def _being_cancelled(self, sale_id: str, backend: str | None) -> CancelReport:
        return CancelReport(
            sale_id,
            SaleState.CANCELLING,
            backend,
            CancelOutcome.IN_DOUBT,
            message=(
                "Esta NFC-e já está sendo cancelada (por outro caixa ou processo). Não é preciso "
                "cancelar de novo: aguarde a resposta e confira no histórico (F12)."
            ),
            notice=Notice.CANCELLING,
        )

    async def _after_lost_race(self, sale_id: str) -> CancelReport:
        core = self.core
        row = await core.db(core.journal.get_sale, sale_id)
        if lifecycle.has_cancel_event(row.state):
            return CancelReport(
                sale_id,
                SaleState.CANCELLED,
                row.backend,
                CancelOutcome.CANCELLED,
                row.cancel_protocolo,
                row.cancelled_at,
                message=notice_text(Notice.CANCELLED),
                notice=Notice.CANCELLED,
            )
        return self._being_cancelled(sale_id, row.backend)

    async def resolve_cancelling(
        self, sale_id: str, *, cancelled: bool, protocolo: str | None, by: Authorization
    ) -> CancelReport:
        """A manager's word on a cancel whose answer never came (the note is CANCELLING and
        the window may have closed, so it cannot simply be retried): after checking the
        issuer or the SEFAZ portal, record that it was cancelled (with the cancel protocol)
        or that it was not (the note stays authorized)."""
        core = self.core
        async with core.cancel_lock:
            row = await core.db(core.journal.get_sale, sale_id)
            if not lifecycle.can_resolve_cancel(row.state):
                raise NothingToDo(
                    f"sale {sale_id} is {row.state}", user_message="Esta venda não tem cancelamento pendente."
                )
            now = core.now()
            detail = {"operator": by.who, "protocolo": protocolo}
            if cancelled:
                step = await core.db(
                    core.journal.apply,
                    sale_id,
                    Happening.RESOLVED_CANCELLED,
                    now,
                    detail,
                    audit=AuditRecord(
                        Action.CANCEL_SALE, by.operator, by.authorized_by, "conferido: cancelada"
                    ),
                    cancel_protocolo=protocolo,
                    cancelled_at=now.isoformat(),
                    last_error=None,
                )
                outcome = CancelOutcome.CANCELLED
            else:
                step = await core.db(
                    core.journal.apply,
                    sale_id,
                    Happening.RESOLVED_NOT_CANCELLED,
                    now,
                    detail,
                    audit=AuditRecord(
                        Action.CANCEL_REFUSED, by.operator, by.authorized_by, "conferido: não cancelada"
                    ),
                    last_error=None,
                )
                outcome = CancelOutcome.REFUSED
            return CancelReport(
                sale_id,
                step.target,
                row.backend,
                outcome,
                protocolo if cancelled else None,
                now if cancelled else None,
                message=notice_text(step.notice),
                notice=step.notice,
            )
