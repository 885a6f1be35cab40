"""Number gaps per série, and the inutilização of a range (issue 15 item 2). Qt-free: the
command line (``posapp fiscal``) and the GUI's fiscal month dialog call these.

**Gaps.** SEFAZ numbers per CNPJ, model and série, whichever issuer sent the note. What a
número is and which are gaps is computed, pure, in :mod:`posapp.services.number_gaps`; this
module reads the journal for it.

**Inutilização** keeps the issuing discipline: the range is checked against what the journal
knows (a número used or still pending is refused locally, nothing sent), the exact request is
committed ``sending`` before a byte leaves, the answer is recorded by compare-and-set; a lost
answer (timeout, dropped connection, 5xx, a crash mid-send) leaves it IN DOUBT until the
issuer is asked (:meth:`Inutilizacoes.settle`), and only a "not there" answer lets the very
same request go again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from posapp.domain.audit import Action, AuditRecord
from posapp.domain.inutilizacao import (
    InutOutcome,
    InutResult,
    InutState,
    NumberRange,
    check_justificativa,
    check_range,
)
from posapp.fiscal.inutilizacao import Inutilizador
from posapp.journal.errors import JournalError
from posapp.journal.inutilizacoes import InutilizacaoBook, InutilizacaoRow
from posapp.services.core import Authorization, ServiceCore
from posapp.services.crashpoints import crash_point
from posapp.services.errors import ServiceError
from posapp.services.number_gaps import (
    NumberUsage,
    NumberUse,
    SerieGaps,
    check_inutilizable,
    serie_gaps,
    usage_of,
)

# NumberUse and SerieGaps live in number_gaps; still importable from here (fiscal_month does).
__all__ = [
    "ALL_SALES",
    "InutReport",
    "InutilizacaoNotRecorded",
    "Inutilizacoes",
    "NoInutilizador",
    "NumberUse",
    "SerieGaps",
    "rows_since",
]

log = logging.getLogger("posapp.services")

ALL_SALES = 10**9  # list_sales' limit when every sale must be read


class NoInutilizador(ServiceError):
    """No configured issuer can inutilizar (only Focus NFe and Integra Notas document it)."""


class InutilizacaoNotRecorded(ServiceError):
    """The issuer answered and the journal could not record it: the range may be
    inutilizado; it stays 'sending' (in doubt at the next start) and must be asked about."""


@dataclass(frozen=True, slots=True)
class InutReport:
    inut_id: int
    backend: str
    range: NumberRange
    state: InutState
    protocolo: str | None
    message: str  # Portuguese, for the manager
    errors: tuple[str, ...] = ()
    outcome: InutOutcome | None = None  # what the issuer said this time (None: not asked)


class Inutilizacoes:
    """The use case; ``aclose`` closes its journal connection."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self._book: InutilizacaoBook | None = None

    async def book(self) -> InutilizacaoBook:
        if self._book is None:
            self._book = await self.core.db(InutilizacaoBook, self.core.journal.path)
        return self._book

    async def aclose(self) -> None:
        if self._book is not None:
            await self.core.db(self._book.close)
            self._book = None

    def inutilizadores(self) -> list[Inutilizador]:
        return [b for b in self.core.router.backends if isinstance(b, Inutilizador)]

    # -- reading ------------------------------------------------------------------------

    async def rows(self) -> list[InutilizacaoRow]:
        book = await self.book()
        return await self.core.db(book.rows)

    async def _read_usage(self) -> tuple[NumberUsage, list[InutilizacaoRow]]:
        book = await self.book()
        core = self.core

        def read() -> tuple[NumberUsage, list[InutilizacaoRow]]:
            rows = core.journal.list_sales(limit=ALL_SALES)
            return usage_of(rows, book.reservations(), book.last_numbers()), book.rows()

        return await core.db(read)

    async def gaps(self) -> list[SerieGaps]:
        usage, inuts = await self._read_usage()
        return serie_gaps(usage, inuts)

    # -- inutilizar ---------------------------------------------------------------------

    def _choose(self, via: str | None, serie_backends: Sequence[str]) -> Inutilizador:
        able = self.inutilizadores()
        if not able:
            raise NoInutilizador(
                "no configured issuer can inutilizar",
                user_message=(
                    "Nenhum emissor configurado faz inutilização: configure o Focus NFe ou o Integra "
                    "Notas em [[providers]] (o Emites-Client não tem esse pedido)."
                ),
            )
        if via is not None:
            for backend in able:
                if backend.name == via:
                    return backend
            names = ", ".join(b.name for b in able)
            raise NoInutilizador(
                f"{via} cannot inutilizar",
                user_message=f"O emissor {via!r} não faz inutilização aqui. Use um destes: {names}.",
            )
        for backend in able:  # the issuer of the série first, else the first in order
            if backend.name in serie_backends:
                return backend
        return able[0]

    async def request(
        self,
        serie: int,
        first: int,
        last: int,
        justificativa: str,
        *,
        by: Authorization,
        via: str | None = None,
    ) -> InutReport:
        """Inutilize ``first``-``last`` of ``serie``. Raises a ``PosappError`` with a Portuguese
        message when refused locally (nothing sent); otherwise reports what the issuer said."""
        numbers = check_range(serie, first, last)
        text = check_justificativa(justificativa)
        usage, _rows = await self._read_usage()
        check_inutilizable(numbers, usage)
        backend = self._choose(via, tuple(usage.backends.get(serie, ())))
        request = backend.inutilizacao_request(numbers, text)
        book = await self.book()
        core = self.core
        audit = AuditRecord(
            Action.INUTILIZACAO, by.operator, by.authorized_by, f"{numbers.text()} via {backend.name}"
        )
        inut_id = await core.db(book.begin, backend.name, numbers, text, request, core.now(), audit=audit)
        crash_point("inut_after_journal")
        result = await backend.inutilizar(request)
        crash_point("inut_after_send")
        return await self._record(inut_id, backend.name, numbers, result, expect=(InutState.SENDING,))

    async def _record(
        self,
        inut_id: int,
        backend: str,
        numbers: NumberRange,
        result: InutResult,
        *,
        expect: Sequence[InutState],
    ) -> InutReport:
        book = await self.book()
        core = self.core
        state, message = _verdict(result, numbers)
        log.info(
            "inutilizacao %s %s via %s: %s (%s)", inut_id, numbers, backend, result.outcome, result.detail
        )
        errors = result.errors
        if result.outcome is InutOutcome.NOT_SENT:
            errors = (*errors, "Não enviada: o emissor não foi alcançado; nada foi inutilizado.")
        try:
            await core.db(
                book.finish,
                inut_id,
                expect,
                state,
                core.now(),
                protocolo=result.protocolo,
                done_at=(result.done_at or core.now()) if state is InutState.DONE else None,
                xml=result.xml,
                response=result.raw_response,
                errors=errors,
            )
        except JournalError as exc:
            if result.outcome is InutOutcome.NOT_SENT:
                raise
            raise InutilizacaoNotRecorded(
                f"inutilizacao {inut_id}: answer {result.outcome} not recorded: {exc}",
                user_message=(
                    f"O emissor respondeu à inutilização nº {inut_id} ({numbers.text()}), mas o diário não "
                    "pôde registrar a resposta. Os números podem ter sido inutilizados: NÃO repita o pedido; "
                    "libere espaço em disco e rode 'posapp fiscal inutilizacoes --consultar'."
                ),
            ) from exc
        return InutReport(inut_id, backend, numbers, state, result.protocolo, message, errors, result.outcome)

    # -- settling -----------------------------------------------------------------------

    async def recover_interrupted(self) -> list[int]:
        """Requests left 'sending' by a process that died become IN DOUBT — only when no
        other posapp is alive on the folder (a live one may be sending them right now)."""
        book = await self.book()
        core = self.core

        def recover() -> list[int]:
            if not core.owner_lock.acquire():
                return []
            try:
                return book.interrupted_to_doubt(core.now())
            finally:
                core.owner_lock.downgrade()

        return await core.db(recover)

    async def settle(self) -> list[InutReport]:
        """Ask the issuer about every inutilização in doubt: homologated (its protocol kept),
        refused, still unknown; one the issuer does not have is sent again, the same bytes."""
        await self.recover_interrupted()
        reports = []
        for row in await self.core.db((await self.book()).rows, states=(InutState.IN_DOUBT,)):
            reports.append(await self._settle_one(row))
        return reports

    async def _settle_one(self, row: InutilizacaoRow) -> InutReport:
        backend = next((b for b in self.inutilizadores() if b.name == row.backend), None)
        if backend is None:
            return InutReport(
                row.inut_id,
                row.backend,
                row.range,
                row.state,
                None,
                f"O emissor {row.backend} não está configurado: a inutilização nº {row.inut_id} "
                "segue em dúvida; configure-o de novo para consultá-la.",
            )
        answer = await backend.query_inutilizacao(row.request)
        if answer.outcome is not InutOutcome.NOT_SENT:
            return await self._record(
                row.inut_id, row.backend, row.range, answer, expect=(InutState.IN_DOUBT,)
            )
        # The issuer has none: the request never took effect. The same bytes go again,
        # journaled 'sending' first (a crash now is in doubt again, never lost).
        book = await self.book()
        core = self.core
        await core.db(book.finish, row.inut_id, (InutState.IN_DOUBT,), InutState.SENDING, core.now())
        result = await backend.inutilizar(row.request)
        return await self._record(row.inut_id, row.backend, row.range, result, expect=(InutState.SENDING,))


def _verdict(result: InutResult, numbers: NumberRange) -> tuple[InutState, str]:
    what = numbers.text()
    if result.outcome is InutOutcome.DONE:
        proof = (
            f"protocolo {result.protocolo}" if result.protocolo else "protocolo não informado pelo emissor"
        )
        return InutState.DONE, f"Inutilização homologada: {what} ({proof})."
    if result.outcome is InutOutcome.REFUSED:
        why = "; ".join(result.errors) or "recusada"
        return InutState.REFUSED, f"Inutilização recusada: {what}: {why}."
    if result.outcome is InutOutcome.NOT_SENT:
        return (
            InutState.REFUSED,
            f"Inutilização não enviada ({what}): o emissor não foi alcançado. Tente de novo.",
        )
    return (
        InutState.IN_DOUBT,
        f"Inutilização em dúvida ({what}): o emissor não respondeu de forma definitiva. Não repita: "
        "consulte com 'posapp fiscal inutilizacoes --consultar' (ou no diálogo Fiscal do mês).",
    )


def rows_since(rows: Sequence[InutilizacaoRow], start: datetime, end: datetime) -> list[InutilizacaoRow]:
    """Homologated inutilizações whose homologation falls in ``[start, end)``."""
    return [
        r for r in rows if r.state is InutState.DONE and r.done_at is not None and start <= r.done_at < end
    ]
