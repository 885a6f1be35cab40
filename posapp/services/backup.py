"""Backups of the data folder: ``posapp backup`` and the daily one (restoring one is
:mod:`posapp.services.restore`; the file's format, :mod:`posapp.services.backup_format`).

A backup is one ZIP file holding an online copy (SQLite's backup API, taken while the till
sells) of ``journal.sqlite3`` and ``store.sqlite3``, each checked (``integrity_check``)
before it goes in, and a ``manifest.json`` (when, which till, schema versions, SHA-256 of each
file). It is written beside its destination and renamed into place, so a backup file is
either whole or absent.

A sale is committed to the journal (ISSUING, with its exact request) before its request
leaves, so a backup taken during a sale holds it: restored, that sale becomes IN_DOUBT at the
next start and is reconciled like any interrupted sale, never lost and never resent blindly.
Blocking: call it off the GUI thread.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from posapp import __version__
from posapp.config import BackupConfig
from posapp.journal.backup import CopyFacts, copy_facts, online_copy
from posapp.journal.store import JOURNAL_FILENAME
from posapp.services.backup_format import (
    FORMAT,
    MANIFEST,
    PRIVATE_MODE,
    databases,
    fsync_dir,
    sha256_of,
    stamp,
)
from posapp.services.errors import BackupFailed

log = logging.getLogger("posapp.services.backup")

PREFIX = "posapp-backup-"
LAST_BACKUP_FILE = "backup-last.json"  # in the data folder: when and where the last one went
DAILY_EVERY = timedelta(hours=24)
STALE_AFTER = timedelta(days=2)  # posapp doctor warns after this


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    taken_at: datetime
    files: dict[str, int]  # name -> bytes of the copy
    sales: int


def take_backup(data_dir: Path, out: Path, now: datetime) -> BackupReport:
    """Copy the journal and the store database of ``data_dir`` into the ZIP file ``out``."""
    journal = data_dir / JOURNAL_FILENAME
    if not journal.exists():
        raise BackupFailed(
            f"no journal in {data_dir}",
            user_message=f"Não há diário de vendas em {data_dir}: nada para copiar. Confira --data-dir.",
        )
    out = out.resolve()
    if out.is_dir():
        raise BackupFailed(
            f"{out} is a folder",
            user_message=(
                f"{out} é uma pasta: dê o nome do arquivo da cópia (por exemplo {out / 'caixa.zip'})."
            ),
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".posapp-backup-", dir=out.parent))
    except OSError as exc:
        raise _cannot_write(out, exc) from exc
    try:
        manifest: dict[str, Any] = {"format": FORMAT, "taken_at": now.isoformat(), "posapp": __version__}
        files: dict[str, Any] = {}
        facts: dict[str, CopyFacts] = {}
        for name in databases(data_dir):
            source = data_dir / name
            copy = work / name
            copy.parent.mkdir(exist_ok=True)
            online_copy(source, copy)
            found = copy_facts(copy)
            if found.integrity != "ok":
                raise BackupFailed(
                    f"the copy of {name} fails integrity_check: {found.integrity}",
                    user_message=(
                        f"A cópia de {name} saiu danificada ({found.integrity}): o arquivo original pode "
                        "estar corrompido. Rode 'posapp doctor' e chame o suporte."
                    ),
                )
            facts[name] = found
            files[name] = {
                "sha256": sha256_of(copy),
                "bytes": copy.stat().st_size,
                "user_version": found.user_version,
            }
        manifest["files"] = files
        manifest["till_id"] = facts[JOURNAL_FILENAME].till_id
        manifest["sales"] = facts[JOURNAL_FILENAME].sales
        manifest["last_event_id"] = facts[JOURNAL_FILENAME].last_event_id
        partial = work / "backup.zip"
        # 0600, as the journal: it holds consumers' CPFs.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
        with (
            os.fdopen(descriptor, "wb") as raw,
            zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive,
        ):
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
            for name in files:
                archive.write(work / name, name)  # "archive/…" keeps its folder
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, out)
        fsync_dir(out.parent)
    except OSError as exc:
        raise _cannot_write(out, exc) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _record_last(data_dir, out, now)
    sizes = {name: int(info["bytes"]) for name, info in files.items()}
    return BackupReport(out, now, sizes, int(manifest["sales"] or 0))


def _cannot_write(out: Path, exc: OSError) -> BackupFailed:
    return BackupFailed(
        f"cannot write the backup {out}: {exc}",
        user_message=(
            f"Não foi possível gravar a cópia de segurança em {out} ({exc.strerror or exc}). Confira se o "
            "disco ou a pasta de rede está conectado, tem espaço livre e permite gravação."
        ),
    )


def _record_last(data_dir: Path, out: Path, now: datetime) -> None:
    record = data_dir / LAST_BACKUP_FILE
    temporary = record.with_suffix(".tmp")
    try:
        temporary.write_text(json.dumps({"at": now.isoformat(), "path": str(out)}), encoding="utf-8")
        os.replace(temporary, record)
    except OSError as exc:  # the backup itself is whole; only doctor's hint is stale
        log.warning("cannot record the last backup in %s: %s", record, exc)


def last_backup(data_dir: Path) -> tuple[datetime, Path] | None:
    """When and where the last backup of this data folder went (None: never, or unknown)."""
    try:
        data = json.loads((data_dir / LAST_BACKUP_FILE).read_text(encoding="utf-8"))
        return datetime.fromisoformat(data["at"]), Path(data["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- the daily one ---------------------------------------------------------------------------


def _taken_at(path: Path) -> datetime | None:
    stamp = path.stem.rsplit("-", 1)[-1]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _ours(folder: Path, till: str) -> list[tuple[datetime, Path]]:
    found = []
    for path in folder.glob(f"{PREFIX}{till}-*.zip"):
        taken = _taken_at(path)
        if taken is not None:
            found.append((taken, path))
    return sorted(found)


def daily_backup(settings: BackupConfig, data_dir: Path, now: datetime) -> BackupReport | None:
    """The automatic backup: into ``[backup] folder`` when this till's newest one there is a day
    old (or there is none), then the ones older than ``keep_days`` are removed (the newest is
    always kept). None when nothing was due or no folder is configured."""
    if settings.folder is None:
        return None
    folder = settings.folder.expanduser()
    if not folder.is_dir():
        raise BackupFailed(
            f"backup folder {folder} is not there",
            user_message=(
                f"A pasta das cópias de segurança ({folder}) não está disponível: conecte o disco ou a "
                "pasta de rede, ou corrija [backup] folder na configuração."
            ),
        )
    till = (copy_facts(data_dir / JOURNAL_FILENAME).till_id or "caixa")[:16]
    existing = _ours(folder, till)
    if existing and now - existing[-1][0] < DAILY_EVERY:
        return None
    report = take_backup(data_dir, folder / f"{PREFIX}{till}-{stamp(now)}.zip", now)
    for taken, path in _ours(folder, till)[:-1]:
        if now - taken > timedelta(days=settings.keep_days):
            try:
                path.unlink()
            except OSError as exc:
                log.warning("cannot remove the old backup %s: %s", path, exc)
    return report


__all__ = [
    "LAST_BACKUP_FILE",
    "STALE_AFTER",
    "BackupReport",
    "daily_backup",
    "last_backup",
    "take_backup",
]
