"""Backups of the data folder: ``posapp backup``, ``posapp restore`` and the daily one.

A backup is one ZIP file holding an online copy (SQLite's backup API, taken while the till
sells) of ``journal.sqlite3`` and ``store.sqlite3``, each checked (``integrity_check``)
before it goes in, and a ``manifest.json`` (when, which till, schema versions, SHA-256 of each
file). It is written beside its destination and renamed into place, so a backup file is
either whole or absent.

A sale is committed to the journal (ISSUING, with its exact request) before its request
leaves, so a backup taken during a sale holds it: restored, that sale becomes IN_DOUBT at the
next start and is reconciled like any interrupted sale, never lost and never resent blindly.

Restoring checks the file (manifest, digests, integrity, a journal schema this posapp can
read), refuses while another posapp runs on the folder, refuses to replace a journal that
holds events the backup lacks (or another till's journal) unless forced, and keeps the
replaced files in ``replaced-<time>/`` in the data folder. Blocking: call it off the GUI thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from posapp import __version__
from posapp.catalog.storedb import STORE_FILENAME
from posapp.config import BackupConfig
from posapp.journal.backup import CopyFacts, copy_facts, online_copy
from posapp.journal.lockfile import ProcessLock
from posapp.journal.schema import SCHEMA_VERSION
from posapp.journal.store import JOURNAL_FILENAME
from posapp.services.errors import BackupFailed, RestoreRefused

log = logging.getLogger("posapp.services.backup")

MANIFEST = "manifest.json"
FORMAT = "posapp-backup-1"
PREFIX = "posapp-backup-"
LAST_BACKUP_FILE = "backup-last.json"  # in the data folder: when and where the last one went
PRIVATE_MODE = 0o600  # backups and restored files, like the journal (posapp/files.py)
DAILY_EVERY = timedelta(hours=24)
STALE_AFTER = timedelta(days=2)  # posapp doctor warns after this
_FILES = (JOURNAL_FILENAME, STORE_FILENAME)
_ARCHIVE = re.compile(r"archive/journal-\d{4}-\d{2}\.sqlite3")  # closed months (posapp/journal/archive.py)


def _databases(data_dir: Path) -> list[str]:
    """The SQLite files a backup holds, relative to the data folder."""
    names = [name for name in _FILES if (data_dir / name).exists()]
    archived = sorted((data_dir / "archive").glob("journal-*.sqlite3"))
    return names + [f"archive/{p.name}" for p in archived if _ARCHIVE.fullmatch(f"archive/{p.name}")]


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    taken_at: datetime
    files: dict[str, int]  # name -> bytes of the copy
    sales: int


@dataclass(frozen=True, slots=True)
class RestoreReport:
    restored: tuple[str, ...]
    replaced_dir: Path | None
    taken_at: datetime
    sales: int


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows: folders cannot be opened; the rename is durable enough there
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# -- taking one ------------------------------------------------------------------------------


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
        for name in _databases(data_dir):
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
                "sha256": _sha256(copy),
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
        _fsync_dir(out.parent)
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
    report = take_backup(data_dir, folder / f"{PREFIX}{till}-{_stamp(now)}.zip", now)
    for taken, path in _ours(folder, till)[:-1]:
        if now - taken > timedelta(days=settings.keep_days):
            try:
                path.unlink()
            except OSError as exc:
                log.warning("cannot remove the old backup %s: %s", path, exc)
    return report


# -- restoring -------------------------------------------------------------------------------


@contextmanager
def _alone(data_dir: Path) -> Iterator[None]:
    """No other posapp may run on the folder while its files are swapped."""
    lock = ProcessLock(data_dir / f"{JOURNAL_FILENAME}.lock")
    if not lock.acquire():
        lock.release()
        raise RestoreRefused(
            "another posapp is running on this data folder",
            user_message=(
                "Outro posapp está aberto nesta pasta de dados (o caixa ou outro comando): feche-o e "
                "rode 'posapp restore' de novo."
            ),
        )
    try:
        yield
    finally:
        lock.release()


def _read_backup(file: Path, work: Path) -> dict[str, Any]:
    def bad(why: str) -> RestoreRefused:
        return RestoreRefused(
            f"{file} is not a usable posapp backup: {why}",
            user_message=f"{file} não é uma cópia de segurança do posapp que possa ser restaurada ({why}).",
        )

    try:
        with zipfile.ZipFile(file) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            if manifest.get("format") != FORMAT or JOURNAL_FILENAME not in manifest.get("files", {}):
                raise bad("formato desconhecido")
            for name in manifest["files"]:
                if name not in _FILES and not _ARCHIVE.fullmatch(name):
                    raise bad(f"arquivo inesperado {name!r}")
                archive.extract(name, work)
    except FileNotFoundError as exc:
        raise RestoreRefused(f"{file} not found", user_message=f"O arquivo {file} não existe.") from exc
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise bad(f"arquivo danificado: {exc}") from exc
    for name, info in manifest["files"].items():
        if _sha256(work / name) != info.get("sha256"):
            raise bad(f"{name} não confere com o resumo SHA-256 da cópia")
        found = copy_facts(work / name)
        if found.integrity != "ok":
            raise bad(f"{name}: {found.integrity}")
    version = copy_facts(work / JOURNAL_FILENAME).user_version
    if version > SCHEMA_VERSION:
        raise RestoreRefused(
            f"backup journal schema {version} is newer than this posapp ({SCHEMA_VERSION})",
            user_message=(
                "A cópia foi feita por uma versão mais nova do posapp: atualize o programa e tente de novo."
            ),
        )
    return dict(manifest)


def _would_lose(current: CopyFacts, restored: CopyFacts) -> str | None:
    """Why replacing ``current`` with ``restored`` would lose something, or None."""
    if not current.sales and not current.last_event_id:
        return None  # a fresh folder (a reinstalled till): nothing in it to lose
    if current.till_id and restored.till_id and current.till_id != restored.till_id:
        return "a cópia é de outro caixa (outra identidade de caixa)"
    if (current.last_event_id or 0) > (restored.last_event_id or 0):
        newer = (current.last_event_id or 0) - (restored.last_event_id or 0)
        return f"o diário atual tem {newer} registro(s) mais novo(s) que a cópia"
    return None


def restore_backup(data_dir: Path, file: Path, now: datetime, *, force: bool = False) -> RestoreReport:
    """Bring the backup ``file`` back into ``data_dir`` (see the module's docstring)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".posapp-restore-", dir=data_dir))
    try:
        manifest = _read_backup(file.resolve(), work)
        with _alone(data_dir):
            live = data_dir / JOURNAL_FILENAME
            if live.exists() and not force:
                why = _would_lose(copy_facts(live), copy_facts(work / JOURNAL_FILENAME))
                if why is not None:
                    raise RestoreRefused(
                        f"restoring {file} would lose data: {why}",
                        user_message=(
                            f"Restauração recusada: {why}. Nada foi alterado. Se é isso mesmo que quer, rode "
                            "de novo com --force (os arquivos atuais ficam guardados em replaced-…)."
                        ),
                    )
            replaced = _set_aside(data_dir, now)
            for name in manifest["files"]:
                (data_dir / name).parent.mkdir(mode=0o700, exist_ok=True)
                os.chmod(work / name, PRIVATE_MODE)
                os.replace(work / name, data_dir / name)
            _fsync_dir(data_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return RestoreReport(
        tuple(manifest["files"]),
        replaced,
        datetime.fromisoformat(manifest["taken_at"]),
        int(manifest.get("sales") or 0),
    )


def _set_aside(data_dir: Path, now: datetime) -> Path | None:
    """Move the current databases (and their -wal/-shm) into ``replaced-<time>/``."""
    present = [
        f"{name}{suffix}"
        for name in _databases(data_dir)
        for suffix in ("", "-wal", "-shm")
        if (data_dir / f"{name}{suffix}").exists()
    ]
    if not present:
        return None
    aside = data_dir / f"replaced-{_stamp(now)}"
    aside.mkdir(mode=0o700)
    for name in present:
        (aside / name).parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(data_dir / name, aside / name)
    _fsync_dir(data_dir)
    return aside


__all__ = [
    "LAST_BACKUP_FILE",
    "STALE_AFTER",
    "BackupReport",
    "RestoreReport",
    "daily_backup",
    "last_backup",
    "restore_backup",
    "take_backup",
]
