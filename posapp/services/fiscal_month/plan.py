"""Planning the fiscal month from the journal: the notes emitted in it, the sales of the
month still pending, the number gaps and the inutilizações (:func:`plan_month`). Nothing is
written here: the GUI shows the plan before anything is exported.

**The month is the store's** (``[store] timezone``): a note belongs to the month of its
emission (``dhEmi``, read from its XML), in the store's zone; a sale still pending (queued,
in doubt, rejected, being issued, a cancel in doubt) to the month it was made in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from posapp.domain import lifecycle
from posapp.domain.errors import DomainError
from posapp.domain.lifecycle import SaleState
from posapp.domain.money import ZERO
from posapp.domain.nfe_xml import NfeXmlError, read_nfe
from posapp.journal.inutilizacoes import InutilizacaoRow
from posapp.journal.store import Journal, SaleRow
from posapp.services.core import ServiceCore
from posapp.services.inutilizacao import ALL_SALES, Inutilizacoes, SerieGaps, rows_since

# Sales made this long before the month are read too: a queued sale, or a note emitted in
# offline contingency, may be emitted (dhEmi) in a later month than it was made.
LOOKBACK = timedelta(days=62)
_MONTH = re.compile(r"(\d{4})-(\d{2})")


class InvalidMonth(DomainError):
    """``--month`` is not ``YYYY-MM``."""


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.fullmatch(text.strip())
        if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
            raise InvalidMonth(
                f"bad month {text!r}",
                user_message=f"Mês inválido ({text!r}): use AAAA-MM, por exemplo 2026-01.",
            )
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def text(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """The store's midnight of the 1st and of the next month's 1st."""
        following = self.next()
        return (
            datetime.combine(date(self.year, self.month, 1), time(0, 0), tzinfo=tz),
            datetime.combine(date(following.year, following.month, 1), time(0, 0), tzinfo=tz),
        )


@dataclass(frozen=True, slots=True)
class NoteEntry:
    sale_id: str
    chave: str
    numero: int
    serie: int
    emitted_at: datetime
    authorized_at: datetime | None
    total: Decimal
    state: SaleState
    backend: str | None
    protocolo: str | None
    cancel_protocolo: str | None
    cancelled_at: datetime | None
    payments: tuple[tuple[str, Decimal], ...]
    change: Decimal
    has_xml: bool
    has_cancel_xml: bool

    @property
    def status(self) -> str:
        return {
            SaleState.AUTHORIZED: "autorizada",
            SaleState.CANCELLED: "cancelada",
            SaleState.CANCELLING: "cancelamento em dúvida",
        }.get(self.state, self.state.value)


@dataclass(frozen=True, slots=True)
class PendingEntry:
    sale_id: str
    created_at: datetime
    state: SaleState
    total: Decimal
    backend: str | None
    chave: str | None
    why: str

    @property
    def outcome_unknown(self) -> bool:
        return lifecycle.outcome_unknown(self.state)


@dataclass(frozen=True, slots=True)
class MonthPlan:
    month: Month
    tz_name: str
    till_id: str
    start: datetime
    end: datetime
    notes: tuple[NoteEntry, ...]
    pending: tuple[PendingEntry, ...]
    gaps: tuple[SerieGaps, ...]
    inutilizacoes: tuple[InutilizacaoRow, ...]
    problems: tuple[str, ...]  # Portuguese: notes without XML, unreadable rows...

    @property
    def authorized_count(self) -> int:
        return sum(1 for n in self.notes if not lifecycle.has_cancel_event(n.state))

    @property
    def cancelled_count(self) -> int:
        return sum(1 for n in self.notes if lifecycle.has_cancel_event(n.state))


def _pending_why(row: SaleRow) -> str:
    return {
        SaleState.QUEUED: "na fila: a NFC-e ainda não foi emitida",
        SaleState.IN_DOUBT: "em dúvida: conferir com o emissor (F12 ou 'posapp nfce reconcile')",
        SaleState.ISSUING: "sendo emitida (ou interrompida): conferir",
        SaleState.REJECTED: "rejeitada: corrigir e reenviar",
        SaleState.OPEN: "aberta",
        SaleState.CANCELLING: "cancelamento sem resposta: conferir antes de enviar ao contador",
    }.get(row.state, row.state.value)


def _read_candidates(
    journal: Journal, start: datetime, end: datetime, tz: tzinfo
) -> tuple[list[NoteEntry], list[PendingEntry], list[str]]:
    """On the journal thread: every note emitted in ``[start, end)`` and every sale of the
    month still pending, from the documents' own facts."""
    rows = journal.list_sales(since=start - LOOKBACK, until=end, limit=ALL_SALES, oldest_first=True)
    notes: list[NoteEntry] = []
    pending: list[PendingEntry] = []
    problems: list[str] = []
    for row in rows:
        if row.unreadable is not None:
            if row.created_at >= start - timedelta(days=1):
                problems.append(f"venda {row.sale_id} ilegível no diário ({row.unreadable}): não exportada")
            continue
        made_in_month = start <= row.created_at < end
        if lifecycle.has_note(row.state) and row.chave is not None:
            entry = _note_entry(journal, row, problems)
            if entry is not None and start <= entry.emitted_at < end:
                notes.append(entry)
                if lifecycle.cancel_unanswered(row.state):
                    pending.append(_pending(row))
            continue
        if lifecycle.may_still_be_issued(row.state) and made_in_month:
            pending.append(_pending(row))
    notes.sort(key=lambda n: (n.serie, n.numero, n.emitted_at))
    return notes, pending, problems


def _pending(row: SaleRow) -> PendingEntry:
    return PendingEntry(
        row.sale_id, row.created_at, row.state, row.total, row.backend, row.chave, _pending_why(row)
    )


def _note_entry(journal: Journal, row: SaleRow, problems: list[str]) -> NoteEntry | None:
    assert row.chave is not None
    xml = journal.authorized_xml(row.sale_id)
    cancel_xml = journal.cancel_event_xml(row.sale_id) if lifecycle.has_cancel_event(row.state) else None
    emitted_at = row.authorized_at or row.created_at
    authorized_at = row.authorized_at
    payments: tuple[tuple[str, Decimal], ...] = tuple((p.method.value, p.amount) for p in row.sale.payments)
    change = ZERO
    total = row.total
    if xml is None:
        problems.append(f"NFC-e {row.chave} (venda {row.sale_id}) sem XML no diário: baixe-a no emissor")
    else:
        try:
            doc = read_nfe(xml)
        except NfeXmlError as exc:
            problems.append(f"NFC-e {row.chave}: XML ilegível ({exc.user_message}); exportado como está")
        else:
            emitted_at = doc.emitted_at
            authorized_at = doc.authorized_at or authorized_at
            total = doc.total
            if doc.payments:
                payments = tuple((p.code, p.amount) for p in doc.payments)
            change = doc.change
            if doc.protocolo is None:
                problems.append(f"NFC-e {row.chave}: XML sem protocolo de autorização (nfeProc)")
    if lifecycle.has_cancel_event(row.state) and cancel_xml is None:
        problems.append(
            f"NFC-e {row.chave} cancelada sem o XML do evento no diário (protocolo "
            f"{row.cancel_protocolo or 'não informado'}): baixe-o no emissor"
        )
    return NoteEntry(
        sale_id=row.sale_id,
        chave=row.chave,
        numero=row.numero or 0,
        serie=row.serie or 0,
        emitted_at=emitted_at,
        authorized_at=authorized_at,
        total=total,
        state=row.state,
        backend=row.backend,
        protocolo=row.protocolo,
        cancel_protocolo=row.cancel_protocolo,
        cancelled_at=row.cancelled_at,
        payments=payments,
        change=change,
        has_xml=xml is not None,
        has_cancel_xml=cancel_xml is not None,
    )


async def plan_month(core: ServiceCore, inutilizacoes: Inutilizacoes, month: Month) -> MonthPlan:
    """What the month's export holds, without writing anything (the GUI shows it first)."""
    tz = core.config.store.tz
    start, end = month.bounds(tz)
    notes, pending, problems = await core.db(_read_candidates, core.journal, start, end, tz)
    gaps = await inutilizacoes.gaps()
    inuts = rows_since(await inutilizacoes.rows(), start, end)
    return MonthPlan(
        month=month,
        tz_name=core.config.store.timezone_name,
        till_id=await core.till_id(),
        start=start,
        end=end,
        notes=tuple(notes),
        pending=tuple(pending),
        gaps=tuple(g for g in gaps if g.gaps or g.in_flight or g.pending),
        inutilizacoes=tuple(inuts),
        problems=tuple(problems),
    )
