"""Archiving a closed, exported month out of the live journal (issue 15 item 3).

``posapp archive --month YYYY-MM`` moves the documents and the issue/cancel attempts of the
month's final sales (AUTHORIZED or CANCELLED) into ``archive/journal-YYYY-MM.sqlite3``
(:mod:`posapp.journal.archive`); the sales rows, their events, the audit, the numbering and
everything else the lifecycle reads stay live. Reprint, history and the export read an
archived sale through the same ``Journal`` methods.

Nothing is archived that was not exported and verified: the month must be over (in the
store's time zone), have an export recorded as verified (``posapp fiscal export`` reads its
ZIP back before recording it), that ZIP must still be where it was written with the same
SHA-256, and a sale leaves only when its note's XML (and its cancel event's, if cancelled)
is in that ZIP byte for byte (compared by SHA-256). Blocking: call it off the GUI thread.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from posapp.journal.archive import file_name
from posapp.journal.store import Journal
from posapp.services.errors import ArchiveRefused
from posapp.services.fiscal_month import Month


@dataclass(frozen=True, slots=True)
class ArchiveReport:
    month: str
    archived: int  # sales moved now
    file: str  # relative to the data folder
    export: Path


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entry_hashes(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as export:
        return {
            hashlib.sha256(export.read(info)).hexdigest() for info in export.infolist() if not info.is_dir()
        }


def archive_month(journal: Journal, text: str, tz: tzinfo, now: datetime) -> ArchiveReport:
    month = Month.parse(text)
    _, over_at = month.bounds(tz)
    if now < over_at:
        raise ArchiveRefused(
            f"month {month.text} is not over",
            user_message=f"O mês {month.text} ainda não terminou: só meses fechados são arquivados.",
        )
    found = journal.verified_export(month.text)
    if found is None:
        raise ArchiveRefused(
            f"month {month.text} has no verified export",
            user_message=(
                f"O mês {month.text} não tem exportação conferida: exporte-o primeiro "
                f"('posapp fiscal export --month {month.text} --out ARQUIVO.zip') e guarde o arquivo."
            ),
        )
    export_id, path, sha = found
    try:
        same = path.is_file() and _file_sha256(path) == sha
        hashes = _entry_hashes(path) if same else set()
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveRefused(
            f"export {path} cannot be read: {exc}",
            user_message=(
                f"A exportação de {month.text} ({path}) não pode ser lida ({exc}): exporte o mês de novo."
            ),
        ) from exc
    if not same:
        raise ArchiveRefused(
            f"export {path} is missing or changed",
            user_message=(
                f"A exportação de {month.text} não está mais em {path} ou foi alterada depois de conferida: "
                "exporte o mês de novo antes de arquivar."
            ),
        )
    sale_ids = journal.archivable(hashes)
    moved = journal.archive_sales(month.text, sale_ids, export_id, now) if sale_ids else 0
    return ArchiveReport(month.text, moved, file_name(month.text), path)


__all__ = ["ArchiveReport", "archive_month"]
