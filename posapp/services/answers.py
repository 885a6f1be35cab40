"""Recording what an issuer answered, after checking it: the one place an answer becomes a
move of the lifecycle.

* **Verify before you trust.** An "authorized" counts only for a note that is provably this
  sale's (:func:`posapp.domain.verification.note_problems`); anything else leaves the sale in
  doubt with the reason, never authorized and never resent automatically.
* **Duplicidade is never adoption** of a note that is not provably ours: where we number,
  the número was taken by another note, so the sale gets the next one; where we do not, it
  needs attention.
* **Storage faults after a send** are in doubt, never "nothing was sent": the answer is kept in
  a side file (:mod:`posapp.services.pending_answers`) until the journal can record it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from posapp.domain import lifecycle
from posapp.domain.issuance import AuthorizedNote, IssueResult, Outcome
from posapp.domain.lifecycle import Happening, Move, Notice, SaleState
from posapp.domain.sale import Sale
from posapp.domain.verification import Expected, note_problems
from posapp.journal.errors import ChaveTaken, JournalError, StaleState
from posapp.journal.store import Journal, SaleRow
from posapp.services import pending_answers
from posapp.services.core import ServiceCore
from posapp.services.errors import AnswerNotRecorded
from posapp.services.results import IssueReport

log = logging.getLogger("posapp.services")

Reserved = tuple[int, int] | None  # (série, número) where we number


class Answers:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    @property
    def data_dir(self) -> Path:
        return self.core.journal.path.parent

    def expected(self, sale: Sale, reserved: Reserved) -> Expected:
        store = self.core.config.store
        serie, numero = reserved if reserved is not None else (None, None)
        items = tuple((item.code, item.quantity) for item in sale.items)
        return Expected(
            uf=store.uf, cnpj=store.cnpj, total=sale.total, serie=serie, numero=numero, items=items
        )

    async def record_issue(
        self, sale: Sale, attempt_id: int, result: IssueResult, reserved: Reserved
    ) -> IssueReport | None:
        """Record the answer to a send. ``None``: the reserved número was taken by another
        note (nothing of ours was issued); the caller reserves the next and sends again."""
        try:
            return await self._record_issue(sale, attempt_id, result, reserved)
        except (StaleState, AnswerNotRecorded):
            raise
        except JournalError as exc:
            # The issuer answered; the journal cannot say so. Keep the answer where catching
            # up will find it, and never tell anyone that nothing was sent.
            kept = await self.core.db(pending_answers.keep, self.data_dir, sale.sale_id, attempt_id, result)
            log.error("sale %s: answer not recorded (%s); kept in %s", sale.sale_id, exc, kept)
            raise AnswerNotRecorded(
                f"answer to sale {sale.sale_id} not recorded: {exc}",
                user_message=(
                    "O emissor respondeu, mas o diário de vendas não conseguiu gravar a resposta "
                    f"({exc.user_message}). A NFC-e pode ter sido emitida: NÃO emita esta venda de "
                    "novo. A resposta foi guardada e será registrada quando o problema for resolvido "
                    "(libere espaço em disco e rode 'posapp doctor' e 'posapp nfce drain')."
                ),
            ) from exc

    async def _record_issue(
        self, sale: Sale, attempt_id: int, result: IssueResult, reserved: Reserved
    ) -> IssueReport | None:
        core = self.core
        attempt = (attempt_id, result.outcome.value, result.raw_response)
        if result.duplicate:
            return await self._record_duplicate(sale, attempt_id, attempt, result, reserved)
        if result.outcome is Outcome.AUTHORIZED and result.note is not None:
            problems = note_problems(result.note, self.expected(sale, reserved))
            if problems:
                return await self._unverified(sale.sale_id, attempt_id, attempt, result, problems)
            return await self._authorize(
                sale.sale_id, attempt_id, attempt, result, result.note, Happening.ISSUE_AUTHORIZED
            )
        happening = lifecycle.after_issue(result.outcome)
        if result.outcome is Outcome.AUTHORIZED:  # "authorized" without a note: not a verdict
            happening = Happening.ISSUE_IN_DOUBT
        if happening is Happening.ISSUE_REJECTED:
            errors = result.errors or ("Rejeitada sem motivo informado pelo emissor.",)
            detail: dict[str, object] = {"backend": result.backend, "errors": list(errors)}
            step = await self._apply(sale.sale_id, happening, detail, attempt, attempt_id, "; ".join(errors))
            return core.report(sale.sale_id, step.notice, step.target, result.backend, tuple(errors))
        reason = result.detail or "resposta não recebida"
        step = await self._apply(
            sale.sale_id,
            happening,
            {"backend": result.backend, "detail": reason},
            attempt,
            attempt_id,
            reason,
        )
        return core.report(sale.sale_id, step.notice, step.target, result.backend, (reason, *result.errors))

    async def _record_duplicate(
        self,
        sale: Sale,
        attempt_id: int,
        attempt: tuple[int, str, str | None],
        result: IssueResult,
        reserved: Reserved,
    ) -> IssueReport | None:
        """The issuer says this série/número (or reference) already exists. Adopt the existing
        note only with its XML and every check passed (a chave alone cannot show the total);
        where we number, take the next número only when the existing note is shown to be
        another one; anything unproven stays in doubt, to be reconciled — never a resend that
        could issue the sale twice (our own earlier request may be that note)."""
        core = self.core
        note = result.note
        problems = note_problems(note, self.expected(sale, reserved)) if note is not None else ()
        if note is not None and note.xml is not None and not problems:
            log.warning("sale %s: the issuer's existing note %s is provably ours", sale.sale_id, note.chave)
            return await self._authorize(
                sale.sale_id, attempt_id, attempt, result, note, Happening.ISSUE_AUTHORIZED
            )
        if note is not None and reserved is not None and _is_another_sales(note, problems, reserved):
            serie, _ = reserved
            await core.db(
                core.journal.apply,
                sale.sale_id,
                Happening.NUMBER_TAKEN,
                core.now(),
                {"backend": result.backend, "reserved": list(reserved), "taken_by": note.chave},
                attempt=attempt,
                expect_attempt=attempt_id,
                last_error=lifecycle.notice_text(Notice.NUMBER_TAKEN),
            )
            await core.db(core.journal.release_number, result.backend, serie, sale.sale_id)
            return None
        if note is not None and problems:
            why = (
                "o emissor diz que esta venda já existe lá, com uma nota que não confere com ela",
                *problems,
            )
            return await self._unverified(sale.sale_id, attempt_id, attempt, result, why)
        reason = "o emissor diz que esta nota já existe; não foi possível confirmar se é desta venda"
        step = await self._apply(
            sale.sale_id,
            Happening.ISSUE_IN_DOUBT,
            {"backend": result.backend, "detail": reason, "duplicate": True},
            attempt,
            attempt_id,
            reason,
        )
        return core.report(sale.sale_id, step.notice, step.target, result.backend, (reason, *result.errors))

    async def record_query(
        self, row: SaleRow, result: IssueResult, *, told_of_another: bool | None = None
    ) -> IssueReport:
        """Record what a query about an in-doubt request found. The in-doubt attempt keeps its
        own outcome; the events record this answer. An inconclusive query changes nothing."""
        core = self.core
        happening = lifecycle.after_query(result.outcome)
        # An issuer that once answered with a note that was not this sale's, or said "already
        # exists" without showing whose, has shown another note may hold this sale's reference:
        # "not found" is no proof nothing was issued (it may be searching for the lie), and a
        # note without its XML cannot show the total and items.
        claimed_before = (
            told_of_another
            if told_of_another is not None  # the caller read the events already
            else await core.db(told_of_another_note, core.journal, row.sale_id)
        )
        if claimed_before and (
            result.outcome is Outcome.NOT_SENT
            or (result.outcome is Outcome.AUTHORIZED and result.note is not None and result.note.xml is None)
        ):
            return core.report_from_row(row, Notice.STILL_IN_DOUBT)
        if result.outcome is Outcome.AUTHORIZED and result.note is not None:
            problems = note_problems(result.note, self.expected(row.sale, row.reserved))
            if not problems:
                try:
                    await core.db(
                        core.journal.record_authorized,
                        row.sale_id,
                        result.note,
                        core.now(),
                        Happening.RECONCILED_AUTHORIZED,
                        attempt=None,
                        expect_attempt=row.attempt_id,
                    )
                    return core.report_authorized(row.sale_id, result.backend, result.note)
                except ChaveTaken as exc:
                    problems = (exc.user_message,)
            await core.db(
                core.journal.apply,
                row.sale_id,
                Happening.RECONCILED_UNVERIFIED,
                core.now(),
                {"backend": result.backend, "problems": list(problems), "chave": result.note.chave},
                expect_attempt=row.attempt_id,
            )
            return core.report(row.sale_id, Notice.UNVERIFIED, SaleState.IN_DOUBT, result.backend, problems)
        if happening is Happening.RECONCILED_REJECTED:
            step = await core.db(
                core.journal.apply,
                row.sale_id,
                happening,
                core.now(),
                {"errors": list(result.errors)},
                expect_attempt=row.attempt_id,
                last_error="; ".join(result.errors),
            )
            return core.report(row.sale_id, step.notice, step.target, result.backend, result.errors)
        if happening is Happening.RECONCILED_NOT_FOUND:
            step = await core.db(
                core.journal.apply,
                row.sale_id,
                happening,
                core.now(),
                {"backend": result.backend},
                expect_attempt=row.attempt_id,
                last_error=None,
            )
            return core.report(row.sale_id, step.notice, step.target, result.backend)
        return core.report_from_row(row, Notice.STILL_IN_DOUBT)

    async def replay_pending(self) -> int:
        """Record the answers kept while the journal could not (see the module docstring);
        each exactly once. Returns how many were settled. Call it under the issue lock."""
        core = self.core
        settled = 0
        for answer in await core.db(pending_answers.pending, self.data_dir):
            try:
                row = await core.db(core.journal.get_sale, answer.sale_id)
                if row.attempt_id == answer.attempt_id and lifecycle.takes_issue_answer(row.state):
                    await self._record_issue(row.sale, answer.attempt_id, answer.result, row.reserved)
                    settled += 1
            except JournalError:
                log.exception("pending answer %s not recorded yet", answer.path.name)
                continue
            answer.path.unlink(missing_ok=True)  # recorded, or the sale had moved on already
        return settled

    # -- helpers ------------------------------------------------------------------------

    async def _apply(
        self,
        sale_id: str,
        happening: Happening,
        detail: dict[str, object],
        attempt: tuple[int, str, str | None],
        attempt_id: int,
        last_error: str,
    ) -> Move:
        core = self.core
        return await core.db(
            core.journal.apply,
            sale_id,
            happening,
            core.now(),
            detail,
            attempt=attempt,
            expect_attempt=attempt_id,
            last_error=last_error,
        )

    async def _authorize(
        self,
        sale_id: str,
        attempt_id: int,
        attempt: tuple[int, str, str | None],
        result: IssueResult,
        note: AuthorizedNote,
        happening: Happening,
    ) -> IssueReport:
        core = self.core
        try:
            await core.db(
                core.journal.record_authorized,
                sale_id,
                note,
                core.now(),
                happening,
                attempt=attempt,
                expect_attempt=attempt_id,
            )
        except ChaveTaken as exc:
            return await self._unverified(sale_id, attempt_id, attempt, result, (exc.user_message,))
        if core.policy.clock_behind(note.authorized_at, core.now()):
            log.warning("local clock is behind the authorization time of %s", note.chave)
        return core.report_authorized(sale_id, result.backend, note)

    async def _unverified(
        self,
        sale_id: str,
        attempt_id: int,
        attempt: tuple[int, str, str | None],
        result: IssueResult,
        problems: tuple[str, ...],
    ) -> IssueReport:
        claimed = result.note.chave if result.note is not None else None
        log.error(
            "sale %s: %s answered with a note that is not this sale's: %s", sale_id, result.backend, problems
        )
        step = await self._apply(
            sale_id,
            Happening.ISSUE_UNVERIFIED,
            {"backend": result.backend, "problems": list(problems), "chave": claimed},
            attempt,
            attempt_id,
            "Nota não confere: " + "; ".join(problems),
        )
        return self.core.report(sale_id, step.notice, step.target, result.backend, problems)


def _is_another_sales(note: AuthorizedNote, problems: tuple[str, ...], reserved: tuple[int, int]) -> bool:
    """Proof that the note holding our série/número is another sale's: it is at that série
    and número (a note elsewhere cannot be what holds it: the issuer is telling something
    else than what it has), its XML could be read, and it differs (total or items). Anything
    less (no XML, an unreadable one, another number) proves nothing."""
    serie, numero = reserved
    return (
        (note.serie, note.numero) == (serie, numero)
        and note.xml is not None
        and bool(problems)
        and not any("ilegível" in p for p in problems)
    )


def told_of_another_note(journal: Journal, sale_id: str) -> bool:
    """The issuer once answered this sale with a note that was not provably its own (an
    unverified note, or "already exists" without showing whose): its later answers about the
    sale settle it only with a note that passes every check, XML included."""
    unverified = {Happening.ISSUE_UNVERIFIED.value, Happening.RECONCILED_UNVERIFIED.value}
    return any(
        event.kind in unverified
        or (event.kind == Happening.ISSUE_IN_DOUBT.value and event.detail.get("duplicate"))
        for event in journal.events(sale_id)
    )
