"""The store's fiscal month for the accountant (issue 15 item 1): one ZIP with every NFC-e
emitted in the month as the issuer returned it, the cancel events, the inutilizações, a
summary, the totals, the number gaps and what is still pending. Qt-free: ``posapp fiscal
export`` and the GUI's fiscal month dialog call :func:`plan_month` and :func:`export_month`.

**The month is the store's** (``[store] timezone``): a note belongs to the month of its
emission (``dhEmi``, read from its XML), in the store's zone; a sale still pending (queued,
in doubt, rejected, being issued, a cancel in doubt) to the month it was made in.

**Documents are read only through** ``Journal.authorized_xml`` / ``cancel_event_xml`` and
written byte for byte: the signature is never touched, so the accountant's tools can check
it. The ZIP is written to a temporary file next to the target, read back and compared
(every XML entry's bytes against the journal's, and parsed), then renamed into place: a
crash or a full disk leaves no half-written export under the requested name.

**Layout.** ``NFCe/<chave>-nfce.xml`` (``nfeProc``; cancelled notes too, they were
authorized), ``Eventos/<chave>-cancelamento.xml`` (``procEventoNFe``),
``Inutilizacoes/<série>-<first>-<last>.xml`` (``procInutNFe``), ``resumo.csv``,
``totais.csv``, ``lacunas.csv``, ``pendencias.csv`` and ``LEIAME.txt``. The CSVs are what a
Brazilian spreadsheet opens as is: UTF-8 with a BOM, ``;`` between fields, decimal comma;
times in ISO 8601 with the store's offset.

Reading happens on the journal's thread in small batches, writing on a worker thread, so a
till that sells during an export is not held up, and the GUI thread never blocks.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import logging
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path

from posapp.domain import lifecycle
from posapp.domain.audit import Action, AuditRecord
from posapp.domain.errors import DomainError
from posapp.domain.lifecycle import SaleState
from posapp.domain.money import ZERO
from posapp.domain.nfe_xml import NfeXmlError, read_nfe
from posapp.domain.payments import PaymentMethod
from posapp.journal.inutilizacoes import InutilizacaoRow
from posapp.journal.store import Journal, SaleRow
from posapp.services.core import Authorization, ServiceCore
from posapp.services.errors import ServiceError
from posapp.services.inutilizacao import ALL_SALES, Inutilizacoes, SerieGaps, rows_since

log = logging.getLogger("posapp.services")

# Sales made this long before the month are read too: a queued sale, or a note emitted in
# offline contingency, may be emitted (dhEmi) in a later month than it was made.
LOOKBACK = timedelta(days=62)
BATCH = 200  # documents read from the journal per call
_MONTH = re.compile(r"(\d{4})-(\d{2})")

Progress = Callable[[int, int], None]  # (done, total), called from a worker thread


class ExportError(ServiceError):
    """The export could not be written (bad month, a folder that cannot be written...)."""


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


@dataclass(frozen=True, slots=True)
class ExportReport:
    plan: MonthPlan
    path: Path | None  # None: not written (pending sales without --allow-pending)
    sha256: str | None = None
    entries: int = 0
    verified: bool = False
    warnings: tuple[str, ...] = field(default=())


# -- planning -----------------------------------------------------------------------------


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


# -- the files ------------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def _when(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else ""


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


SUMMARY_HEADER = (
    "chave",
    "numero",
    "serie",
    "emissao",
    "autorizacao",
    "total",
    "situacao",
    "emissor",
    "caixa",
    "protocolo",
    "cancelamento_protocolo",
    "venda",
)


def summary_csv(plan: MonthPlan, tz: tzinfo) -> bytes:
    return _csv(
        SUMMARY_HEADER,
        [
            (
                n.chave,
                n.numero,
                n.serie,
                _when(n.emitted_at, tz),
                _when(n.authorized_at, tz),
                _money(n.total),
                n.status,
                n.backend or "",
                plan.till_id,
                n.protocolo or "",
                n.cancel_protocolo or "",
                n.sale_id,
            )
            for n in plan.notes
        ],
    )


def _method_label(code: str) -> str:
    try:
        return PaymentMethod(code).label
    except ValueError:
        return f"Forma {code}"


def totals_csv(plan: MonthPlan, tz: tzinfo) -> bytes:
    """Per day and per payment method (tPag), authorized notes only (a cancelled note's money
    went back); cash net of the change given, as the day close counts it."""
    by_day: dict[date, dict[str, tuple[int, Decimal]]] = {}
    for note in plan.notes:
        if lifecycle.has_cancel_event(note.state):
            continue
        day = note.emitted_at.astimezone(tz).date()
        methods = by_day.setdefault(day, {})
        change = note.change
        for code, amount in note.payments:
            net = amount
            if code == PaymentMethod.DINHEIRO.value and change > 0:
                given = min(change, amount)
                net -= given
                change -= given
            count, total = methods.get(code, (0, ZERO))
            methods[code] = (count + 1, total + net)
    rows: list[tuple[object, ...]] = []
    month_methods: dict[str, tuple[int, Decimal]] = {}
    for day in sorted(by_day):
        day_total = ZERO
        for code, (count, amount) in sorted(by_day[day].items()):
            rows.append((day.isoformat(), code, _method_label(code), count, _money(amount)))
            day_total += amount
            month_count, month_amount = month_methods.get(code, (0, ZERO))
            month_methods[code] = (month_count + count, month_amount + amount)
        notes_that_day = sum(
            1
            for n in plan.notes
            if not lifecycle.has_cancel_event(n.state) and n.emitted_at.astimezone(tz).date() == day
        )
        rows.append((day.isoformat(), "", "TOTAL DO DIA", notes_that_day, _money(day_total)))
    for code, (count, amount) in sorted(month_methods.items()):
        rows.append((plan.month.text, code, _method_label(code), count, _money(amount)))
    month_total = sum((amount for _count, amount in month_methods.values()), ZERO)
    rows.append((plan.month.text, "", "TOTAL DO MÊS", plan.authorized_count, _money(month_total)))
    return _csv(("dia", "tpag", "forma_pagamento", "quantidade", "valor"), rows)


def gaps_csv(plan: MonthPlan) -> bytes:
    rows: list[tuple[object, ...]] = []
    for serie in plan.gaps:
        for first, last in serie.gaps:
            rows.append(
                (
                    serie.serie,
                    first,
                    last,
                    last - first + 1,
                    "a inutilizar",
                    ",".join(serie.backends),
                    serie.note(),
                )
            )
        for inut in serie.in_flight:
            rows.append(
                (
                    serie.serie,
                    inut.range.first,
                    inut.range.last,
                    inut.range.size,
                    f"inutilização {inut.state.label} (nº {inut.inut_id})",
                    inut.backend,
                    "consultar o emissor antes de qualquer novo pedido",
                )
            )
        for use in serie.pending:
            rows.append(
                (
                    serie.serie,
                    use.numero,
                    use.numero,
                    1,
                    "reservado (venda pendente)",
                    ",".join(serie.backends),
                    f"venda {use.sale_id} {use.state.label if use.state else ''}".strip(),
                )
            )
    for inut in plan.inutilizacoes:
        rows.append(
            (
                inut.range.serie,
                inut.range.first,
                inut.range.last,
                inut.range.size,
                "inutilizada",
                inut.backend,
                f"protocolo {inut.protocolo or 'não informado'}",
            )
        )
    return _csv(
        ("serie", "numero_inicial", "numero_final", "quantidade", "situacao", "emissor", "observacao"), rows
    )


def pending_csv(plan: MonthPlan, tz: tzinfo) -> bytes:
    return _csv(
        ("venda", "criada_em", "situacao", "total", "emissor", "chave", "o_que_fazer"),
        [
            (
                p.sale_id,
                _when(p.created_at, tz),
                p.state.label,
                _money(p.total),
                p.backend or "",
                p.chave or "",
                p.why,
            )
            for p in plan.pending
        ],
    )


def readme(plan: MonthPlan, tz: tzinfo, generated_at: datetime, warnings: Sequence[str]) -> bytes:
    lines = [
        f"posapp — NFC-e do mês {plan.month.text} (fuso da loja: {plan.tz_name})",
        f"Caixa: {plan.till_id}",
        f"Período: {_when(plan.start, tz)} a {_when(plan.end, tz)} (exclusive)",
        f"Gerado em: {_when(generated_at, tz)}",
        "",
        f"NFC-e autorizadas: {plan.authorized_count} (pasta NFCe/, XML nfeProc como o emissor devolveu)",
        f"NFC-e canceladas: {plan.cancelled_count} (NFCe/ e o evento em Eventos/)",
        f"Inutilizações homologadas no mês: {len(plan.inutilizacoes)} (Inutilizacoes/)",
        f"Vendas pendentes: {len(plan.pending)} (pendencias.csv)",
        "resumo.csv: uma linha por nota; totais.csv: por dia e forma de pagamento;",
        "lacunas.csv: números pulados, inutilizações e reservas pendentes.",
        "CSV: UTF-8, separador ';', vírgula decimal.",
    ]
    if warnings:
        lines += ["", "AVISOS:", *(f"- {w}" for w in warnings)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


# -- export ---------------------------------------------------------------------------------


def _xml_ok(data: bytes) -> bool:
    try:
        ET.fromstring(data)  # noqa: S314 - our own journal's bytes, checked again: well-formedness only
    except ET.ParseError:
        return False
    return True


class _Writer:
    """The ZIP under construction, on worker threads one call at a time."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.temp = target.with_name(f".{target.name}.{os.getpid()}.partial")
        self.zip = zipfile.ZipFile(self.temp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self.digests: dict[str, str] = {}

    def add(self, name: str, data: bytes) -> None:
        self.zip.writestr(name, data)
        if name.endswith(".xml"):
            self.digests[name] = hashlib.sha256(data).hexdigest()

    def finish(self) -> tuple[str, int, list[str]]:
        """Close, read back and check every XML, fsync, rename into place."""
        self.zip.close()
        problems = []
        with zipfile.ZipFile(self.temp) as check:
            bad = check.testzip()
            if bad is not None:
                problems.append(f"entrada corrompida no ZIP: {bad}")
            for name, digest in self.digests.items():
                data = check.read(name)
                if hashlib.sha256(data).hexdigest() != digest:
                    problems.append(f"{name}: conteúdo diferente do diário")
                elif not _xml_ok(data):
                    problems.append(f"{name}: XML malformado (como o emissor devolveu)")
            entries = len(check.namelist())
        with open(self.temp, "rb") as handle:
            sha = hashlib.file_digest(handle, "sha256").hexdigest()
            os.fsync(handle.fileno())
        os.replace(self.temp, self.target)
        return sha, entries, problems

    def abort(self) -> None:
        try:
            self.zip.close()
        finally:
            self.temp.unlink(missing_ok=True)


def _folder_problem(out: Path) -> str | None:
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        return f"a pasta {folder} não existe"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"sem permissão de escrita em {folder}"
    if out.is_dir():
        return f"{out} é uma pasta; dê o nome do arquivo .zip"
    return None


async def export_month(
    core: ServiceCore,
    inutilizacoes: Inutilizacoes,
    month: Month,
    out: Path,
    *,
    by: Authorization,
    allow_pending: bool = False,
    plan: MonthPlan | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    """Write the month's ZIP to ``out``. With sales still pending and no ``allow_pending``,
    nothing is written (``path`` None): the caller says what is pending."""
    problem = await asyncio.to_thread(_folder_problem, out)
    if problem is not None:
        raise ExportError(
            f"cannot write {out}: {problem}",
            user_message=f"Não é possível gravar {out}: {problem}. Escolha outro destino.",
        )
    plan = plan or await plan_month(core, inutilizacoes, month)
    if plan.pending and not allow_pending:
        return ExportReport(plan, None)
    tz = core.config.store.tz
    warnings = list(plan.problems)
    if plan.pending:
        warnings.append(f"{len(plan.pending)} venda(s) pendente(s) no mês: veja pendencias.csv")
    writer = await asyncio.to_thread(_Writer, out)
    done, total = 0, len(plan.notes) + len(plan.inutilizacoes) + 1
    try:
        for start in range(0, len(plan.notes), BATCH):
            batch = plan.notes[start : start + BATCH]
            documents = await core.db(_documents, core.journal, batch)
            await asyncio.to_thread(_add_documents, writer, documents)
            done += len(batch)
            if progress is not None:
                progress(done, total)
        for inut in plan.inutilizacoes:
            if inut.xml is not None:
                name = f"Inutilizacoes/{inut.range.serie}-{inut.range.first}-{inut.range.last}.xml"
                await asyncio.to_thread(writer.add, name, inut.xml)
            else:
                warnings.append(f"inutilização nº {inut.inut_id} sem XML (protocolo {inut.protocolo or '?'})")
        generated_at = core.now()
        files = {
            "resumo.csv": summary_csv(plan, tz),
            "totais.csv": totals_csv(plan, tz),
            "lacunas.csv": gaps_csv(plan),
        }
        if plan.pending:
            files["pendencias.csv"] = pending_csv(plan, tz)
        files["LEIAME.txt"] = readme(plan, tz, generated_at, warnings)
        for name, data in files.items():
            await asyncio.to_thread(writer.add, name, data)
        sha, entries, broken = await asyncio.to_thread(writer.finish)
    except BaseException:
        await asyncio.to_thread(writer.abort)
        raise
    if progress is not None:
        progress(total, total)
    verified = not broken
    warnings.extend(broken)
    book = await inutilizacoes.book()
    where = await asyncio.to_thread(out.resolve)
    audit = AuditRecord(
        Action.FISCAL_EXPORT,
        by.operator,
        by.authorized_by,
        f"{month.text}: {len(plan.notes)} notas em {out.name}",
    )
    await core.db(
        book.record_export,
        month.text,
        where,
        sha,
        notes=len(plan.notes),
        pending=len(plan.pending),
        verified=verified,
        at=generated_at,
        audit=audit,
    )
    log.info("fiscal export %s: %d notes, %d entries, sha256 %s", month.text, len(plan.notes), entries, sha)
    return ExportReport(plan, out, sha, entries, verified, tuple(warnings))


def _documents(journal: Journal, notes: Sequence[NoteEntry]) -> list[tuple[str, bytes | None, bytes | None]]:
    return [
        (
            n.chave,
            journal.authorized_xml(n.sale_id),
            journal.cancel_event_xml(n.sale_id) if lifecycle.has_cancel_event(n.state) else None,
        )
        for n in notes
    ]


def _add_documents(writer: _Writer, documents: Sequence[tuple[str, bytes | None, bytes | None]]) -> None:
    for chave, xml, cancel_xml in documents:
        if xml is not None:
            writer.add(f"NFCe/{chave}-nfce.xml", xml)
        if cancel_xml is not None:
            writer.add(f"Eventos/{chave}-cancelamento.xml", cancel_xml)
