"""Writing the month's export (:func:`export_month`): the documents, the files of
:mod:`.files`, the ZIP verified and renamed into place, and the export recorded with its
audit row.

**Documents are read only through** ``Journal.authorized_xml`` / ``cancel_event_xml`` and
written byte for byte: the signature is never touched, so the accountant's tools can check
it. The ZIP is written to a temporary file next to the target, read back and compared
(every XML entry's bytes against the journal's, and parsed), then renamed into place: a
crash or a full disk leaves no half-written export under the requested name.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from posapp.domain import lifecycle
from posapp.domain.audit import Action, AuditRecord
from posapp.journal.store import Journal
from posapp.services.core import Authorization, ServiceCore
from posapp.services.errors import ServiceError
from posapp.services.fiscal_month.files import gaps_csv, pending_csv, readme, summary_csv, totals_csv
from posapp.services.fiscal_month.plan import Month, MonthPlan, NoteEntry, plan_month
from posapp.services.inutilizacao import Inutilizacoes

log = logging.getLogger("posapp.services")

BATCH = 200  # documents read from the journal per call

Progress = Callable[[int, int], None]  # (done, total), called from a worker thread


class ExportError(ServiceError):
    """The export could not be written (bad month, a folder that cannot be written...)."""


@dataclass(frozen=True, slots=True)
class ExportReport:
    plan: MonthPlan
    path: Path | None  # None: not written (pending sales without --allow-pending)
    sha256: str | None = None
    entries: int = 0
    verified: bool = False
    warnings: tuple[str, ...] = field(default=())


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
