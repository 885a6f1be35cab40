"""Catching up after an outage: ask the issuer that got each in-doubt request what became
of it, then send the queue, oldest first. One entry point, :meth:`CatchingUp.catch_up`,
serves the command line (``nfce drain``/``reconcile``), the history's "verificar pendentes"
and the background drainer; and a manager's word on an in-doubt sale the issuer cannot be
asked about (Emites-Client has no query).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from posapp.domain import lifecycle
from posapp.domain.audit import Action, AuditRecord
from posapp.domain.documents import parse_chave
from posapp.domain.errors import InvalidDocument
from posapp.domain.issuance import AuthorizedNote, Health, Outcome
from posapp.domain.lifecycle import Happening, SaleState
from posapp.domain.verification import note_problems
from posapp.fiscal.router import RateLimited
from posapp.journal.store import Journal, SaleRow
from posapp.services.answers import told_of_another_note
from posapp.services.core import Authorization, ServiceCore
from posapp.services.errors import NothingToDo
from posapp.services.issuing import Issuing
from posapp.services.results import CatchUpReport, DrainReport, IssueReport

log = logging.getLogger("posapp.services")

# A sale held for a manager (its issuer once told of a note that was not provably its own) is
# asked about again at most this often by one process: such answers rarely change, and each
# query spends the provider's budget (Focus: 100 a minute) that newer in-doubt sales need.
HELD_REQUERY_S = 120.0


class CatchingUp:
    def __init__(
        self,
        core: ServiceCore,
        issuing: Issuing,
        *,
        after_issue: Callable[[IssueReport], Awaitable[IssueReport]] | None = None,
    ) -> None:
        self.core = core
        self.issuing = issuing
        self.after_issue = after_issue  # a drained sale authorized: print its DANFE
        self._held_asked_at: dict[str, float] = {}  # sale id -> monotonic time of its last query
        self._clock = time.monotonic

    async def catch_up(
        self, *, probe_first: bool = False, stop: Callable[[], bool] | None = None, limit: int = 1000
    ) -> CatchUpReport:
        """Reconcile every in-doubt sale, then drain the queue. ``probe_first``: skip the
        drain when no issuer answers a probe (an outage costs one probe per round, not one
        connect per queued sale)."""
        core = self.core
        async with core.issue_lock:  # answers the journal could not record when they came
            await self.issuing.answers.replay_pending()
        counts = await core.db(core.journal.count_by_state)
        reconciled = tuple(await self.reconcile()) if counts.get(SaleState.IN_DOUBT) else ()
        if not counts.get(SaleState.QUEUED) and not any(r.state is SaleState.QUEUED for r in reconciled):
            return CatchUpReport(reconciled, None)
        if probe_first:
            health = await core.router.probe_all()
            if not any(h in (Health.UP, Health.CONTINGENCY) for h in health.values()):
                return CatchUpReport(reconciled, None)
        return CatchUpReport(reconciled, await self.drain(limit=limit, stop=stop))

    async def drain(self, *, limit: int = 1000, stop: Callable[[], bool] | None = None) -> DrainReport:
        """Send QUEUED sales, oldest first; stop when no issuer could take one.

        One sale's trouble (a bug, a journal error) is logged and skipped, so it never
        holds the rest of the queue past the contingency limit."""
        core = self.core
        queued = await core.db(
            core.journal.list_sales, states=[SaleState.QUEUED], limit=limit, oldest_first=True
        )
        counts = {SaleState.AUTHORIZED: 0, SaleState.REJECTED: 0, SaleState.IN_DOUBT: 0, SaleState.QUEUED: 0}
        attempted = 0
        for row in queued:
            if stop is not None and stop():
                break  # asked to stop: between two sales, never in the middle of one
            attempted += 1
            try:
                report = await self.issuing.resend(row.sale_id)
            except NothingToDo:
                continue  # someone else (a manager, another round) took it meanwhile
            except Exception:
                # One sale's trouble (even a bug) is logged and skipped, never the whole queue.
                log.exception("drain: sale %s skipped", row.sale_id)
                continue
            counts[report.state] = counts.get(report.state, 0) + 1
            if report.state is SaleState.AUTHORIZED and self.after_issue is not None:
                try:  # a print never changes fiscal state, nor stops the drain
                    await self.after_issue(report)
                except Exception:
                    log.exception("drain: DANFE of %s not printed", row.sale_id)
            if report.state is SaleState.QUEUED and not core.router.ordered_for_issue():
                break  # nothing reachable: the rest waits for the next round
        remaining = await core.db(core.journal.count_by_state)
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
        goes on with the next.

        Fair to every sale: those held for a manager go last and are asked again only every
        :data:`HELD_REQUERY_S` after an answer, and an issuer that asked us to wait (429) is not asked again
        this round, so a provider's budget goes to the sales a query can still settle."""
        core = self.core
        rows = await core.db(
            core.journal.list_sales, states=[SaleState.IN_DOUBT], limit=10_000, oldest_first=True
        )
        held = await core.db(_held, core.journal, rows)
        now = self._clock()
        reports = []
        for row in sorted(rows, key=lambda r: r.sale_id in held):  # stable: oldest first in each
            if row.backend is None or row.attempt_id is None or self._waits(row, held, now):
                reports.append(core.report_from_row(row))
                continue
            try:
                reports.append(await self._reconcile_one(row.sale_id, held=row.sale_id in held, now=now))
            except Exception:
                log.exception("reconcile: sale %s left in doubt", row.sale_id)
                reports.append(core.report_from_row(row))
        return reports

    def _waits(self, row: SaleRow, held: set[str], now: float) -> bool:
        """Not asked about this round: the issuer asked us to wait, or the sale is held for a
        manager and was asked about lately."""
        backend = next((b for b in self.core.router.backends if b.name == row.backend), None)
        if isinstance(backend, RateLimited) and backend.blocked_s() > 0:
            return True
        asked = self._held_asked_at.get(row.sale_id)
        return row.sale_id in held and asked is not None and now - asked < HELD_REQUERY_S

    async def _reconcile_one(self, sale_id: str, *, held: bool, now: float) -> IssueReport:
        core = self.core
        row = await core.db(core.journal.get_sale, sale_id)
        if not lifecycle.can_reconcile(row.state) or row.backend is None or row.attempt_id is None:
            return core.report_from_row(row)
        backend = core.router.get(row.backend)
        if not backend.capabilities.can_query:
            return core.report_from_row(row)
        attempt = await core.db(core.journal.attempt, row.attempt_id)
        result = await backend.query_issue(attempt.prepared())
        if held and result.outcome is not Outcome.IN_DOUBT:
            self._held_asked_at[sale_id] = now  # it answered; an unanswered query counts for nothing
        # Events only accumulate: "held" read before the query stays true, but "not held" may
        # have changed meanwhile (another process heard a lie), so that is read again.
        return await self.issuing.answers.record_query(row, result, told_of_another=True if held else None)

    async def resolve_in_doubt(
        self, sale_id: str, *, issued_chave: str | None, by: Authorization
    ) -> IssueReport:
        """A manager's decision for an IN_DOUBT sale the issuer cannot be asked about.

        ``issued_chave=None`` records that the manager checked the issuer and no note
        exists (the sale goes back to the queue, pinned to that issuer, which may still
        transmit a note it kept); a chave records that it was authorized."""
        core = self.core
        async with core.issue_lock:
            row = await core.db(core.journal.get_sale, sale_id)
            if not lifecycle.can_resolve_issue(row.state):
                raise NothingToDo(
                    f"sale {sale_id} is {row.state}", user_message="Esta venda não está em dúvida."
                )
            now = core.now()
            if issued_chave is None:
                step = await core.db(
                    core.journal.apply,
                    sale_id,
                    Happening.RESOLVED_NOT_ISSUED,
                    now,
                    {"operator": by.who},
                    expect_attempt=row.attempt_id,
                    audit=AuditRecord(
                        Action.RESOLVE, by.operator, by.authorized_by, "conferida: não emitida"
                    ),
                    last_error=None,
                )
                return core.report(sale_id, step.notice, step.target, row.backend)
            chave = parse_chave(issued_chave)
            expected = self.issuing.answers.expected(row.sale, row.reserved)
            note = AuthorizedNote(chave.digits, chave.number, chave.series, now)
            problems = note_problems(note, expected)
            if problems:
                raise InvalidDocument(
                    f"chave {chave.digits} is not this sale's: {problems}",
                    user_message="Esta chave não é desta venda: " + "; ".join(problems) + ".",
                )
            # The true authorization time is unknown; the request's time is the earliest it
            # can be, so the cancel deadline computed from it errs on the legal side.
            sent_at = (
                (await core.db(core.journal.attempt, row.attempt_id)).created_at if row.attempt_id else now
            )
            note = AuthorizedNote(
                chave=chave.digits,
                numero=chave.number,
                serie=chave.series,
                authorized_at=sent_at,
                contingency=chave.emission_type == 9,
            )
            await core.db(
                core.journal.record_authorized,
                sale_id,
                note,
                now,
                Happening.RESOLVED_ISSUED,
                attempt=None,
                expect_attempt=row.attempt_id,
                audit=AuditRecord(
                    Action.RESOLVE, by.operator, by.authorized_by, f"conferida: emitida {chave.digits}"
                ),
            )
            return core.report_authorized(sale_id, row.backend, note)


def _held(journal: Journal, rows: Sequence[SaleRow]) -> set[str]:
    return {row.sale_id for row in rows if told_of_another_note(journal, row.sale_id)}
