"""The backup file's format, shared by taking a backup (:mod:`posapp.services.backup`) and
restoring one (:mod:`posapp.services.restore`): a ZIP of the data folder's SQLite files and a
``manifest.json`` naming each with its SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from posapp.catalog.storedb import STORE_FILENAME
from posapp.journal.store import JOURNAL_FILENAME

MANIFEST = "manifest.json"
FORMAT = "posapp-backup-1"
PRIVATE_MODE = 0o600  # backups and restored files, like the journal (posapp/files.py)
BACKUP_FILES = (JOURNAL_FILENAME, STORE_FILENAME)
ARCHIVE_NAME = re.compile(
    r"archive/journal-\d{4}-\d{2}\.sqlite3"
)  # closed months (posapp/journal/archive.py)


def databases(data_dir: Path) -> list[str]:
    """The SQLite files a backup holds, relative to the data folder."""
    names = [name for name in BACKUP_FILES if (data_dir / name).exists()]
    archived = sorted((data_dir / "archive").glob("journal-*.sqlite3"))
    return names + [f"archive/{p.name}" for p in archived if ARCHIVE_NAME.fullmatch(f"archive/{p.name}")]


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(folder: Path) -> None:
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
