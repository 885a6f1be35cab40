"""``posapp restore``: a backup file (:mod:`posapp.services.backup`) back into the data folder.

Restoring checks the file (manifest, digests, integrity, a journal schema this posapp can
read), refuses while another posapp runs on the folder, refuses to replace a journal that
holds events the backup lacks (or another till's journal) unless forced, and keeps the
replaced files in ``replaced-<time>/`` in the data folder. A sale that was ISSUING when the
backup was taken becomes IN_DOUBT at the next start and is reconciled like any interrupted
sale. Blocking: call it off the GUI thread.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from posapp.journal.backup import CopyFacts, copy_facts
from posapp.journal.lockfile import ProcessLock
from posapp.journal.schema import SCHEMA_VERSION
from posapp.journal.store import JOURNAL_FILENAME
from posapp.services.backup_format import (
    ARCHIVE_NAME,
    BACKUP_FILES,
    FORMAT,
    MANIFEST,
    PRIVATE_MODE,
    databases,
    fsync_dir,
    sha256_of,
    stamp,
)
from posapp.services.errors import RestoreRefused


@dataclass(frozen=True, slots=True)
class RestoreReport:
    restored: tuple[str, ...]
    replaced_dir: Path | None
    taken_at: datetime
    sales: int


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
                if name not in BACKUP_FILES and not ARCHIVE_NAME.fullmatch(name):
                    raise bad(f"arquivo inesperado {name!r}")
                archive.extract(name, work)
    except FileNotFoundError as exc:
        raise RestoreRefused(f"{file} not found", user_message=f"O arquivo {file} não existe.") from exc
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise bad(f"arquivo danificado: {exc}") from exc
    for name, info in manifest["files"].items():
        if sha256_of(work / name) != info.get("sha256"):
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
            fsync_dir(data_dir)
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
        for name in databases(data_dir)
        for suffix in ("", "-wal", "-shm")
        if (data_dir / f"{name}{suffix}").exists()
    ]
    if not present:
        return None
    aside = data_dir / f"replaced-{stamp(now)}"
    aside.mkdir(mode=0o700)
    for name in present:
        (aside / name).parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(data_dir / name, aside / name)
    fsync_dir(data_dir)
    return aside


__all__ = ["RestoreReport", "restore_backup"]
