"""Private by default: every folder posapp makes is ``0700`` and every file ``0600``, whatever
the umask (issue 12, item 8).

A till's data folder holds consumers' documents (the journal's sale JSON carries a CPF when
one was asked for), its log holds the operators' names and the technician's details, and the
machine is often shared (a back-office login, a remote-support account). So nothing posapp
writes is readable by another user of the machine. One place per kind does it:

* :func:`private_dir` makes a folder (and any missing parent) ``0700`` and tightens an existing
  one that group or others can reach (their bits are removed, the owner's left alone), logging
  that it did;
* :func:`private_file` makes an empty file ``0600`` (or tightens an existing one the same way);
  :func:`private_opener` is the ``opener=`` for :func:`open` that creates a file ``0600``;
* :func:`private_sqlite` prepares a SQLite database: its folder, the main file created ``0600``
  *before* SQLite opens it, and any ``-wal``/``-shm``/``-journal`` left behind tightened;
  :func:`switch_to_wal` then turns WAL on even while other processes open the same new file.

Why no umask juggling for SQLite: measured on Linux (SQLite 3.4x, unix VFS), SQLite creates
the ``-wal`` and ``-shm`` files lazily, at the first write or read in WAL mode, and gives them
the *main file's* permission bits (``findCreateFileMode``), whatever the umask is then. A main
file created ``0600`` therefore gives ``0600`` sidecars under umask 022, 002 and 000, while a
main file SQLite creates itself is ``0644`` even under umask 000. The umask is also
process-wide, so changing it around a connect would race every other thread that creates a
file. Sidecars that already exist (left by a crash, made by an older posapp) keep their mode,
so they are tightened here too.

On Windows the permission bits mean nothing (the user's profile folders are private by their
ACL), so these functions only create what is missing there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sqlite3 only where a database is opened: logging imports this module too
    import sqlite3

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "SQLITE_SIDECARS",
    "private_dir",
    "private_file",
    "private_opener",
    "private_sqlite",
    "switch_to_wal",
]

log = logging.getLogger("posapp.files")

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")

_POSIX = os.name == "posix"


def _tighten(path: Path, what: str) -> None:
    """Take group's and others' bits off ``path`` when it has any; log when it did.

    Only ever removes bits: a folder the owner made read-only stays read-only (and then
    says so when written). A file we do not own (a shared folder set up by an administrator)
    cannot be changed: that is logged and left alone, the open goes on."""
    if not _POSIX:
        return
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if current & 0o077 == 0:
        return
    tightened = current & ~0o077
    try:
        os.chmod(path, tightened)
    except OSError as exc:
        log.warning("cannot make the %s %s private (mode %o): %s", what, path, current, exc)
        return
    log.warning("the %s %s was readable by other users (mode %o): now %o", what, path, current, tightened)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and any missing parent) as ``0700``; tighten it if it exists looser.

    Parents that already exist are not touched (``~/.local/share`` is not ours); the folder
    itself is, even when it already existed: a data folder made by an older posapp, or by an
    installer under a permissive umask, is tightened the first time it is opened."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        # mode & ~umask: never a bit for group or others. Another process may make it first.
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")
    _tighten(path, "folder")
    return path


def private_opener(path: str | os.PathLike[str], flags: int) -> int:
    """``opener=`` for :func:`open`: a file it creates is ``0600`` (less the umask: never a
    bit for group or others). An existing file keeps its mode: :func:`private_file` first."""
    return os.open(path, flags, PRIVATE_FILE_MODE)


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists and is private: created empty ``0600`` if missing (its folder
    must exist), else group's and others' bits taken off."""
    path = Path(path)
    if path.exists():
        _tighten(path, "file")
    else:
        os.close(private_opener(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)))
    return path


def private_sqlite(path: Path) -> Path:
    """Prepare ``path`` for :func:`sqlite3.connect` so that it and its sidecars stay private.

    The folder becomes ``0700``; the database file is created ``0600`` before SQLite sees it
    (SQLite copies its mode onto the ``-wal`` and ``-shm`` it makes later), or tightened if
    it exists; sidecars already on disk are tightened too."""
    path = Path(path)
    private_dir(path.parent)
    private_file(path)
    for suffix in SQLITE_SIDECARS:
        _tighten(path.with_name(path.name + suffix), "file")
    return path


def switch_to_wal(conn: sqlite3.Connection, *, timeout_s: float) -> str:
    """``PRAGMA journal_mode=WAL``, retried while another process holds the file; returns the
    mode in force.

    Several processes opening a *fresh* data folder at once (the till's GUI and a command
    line, two tills started by one script) race to switch the new file from the rollback
    journal to WAL. That switch needs an exclusive lock, and SQLite answers "database is
    locked" at once instead of calling the busy handler, so ``busy_timeout`` alone does not
    help: measured with 16 processes started together, about 1 start in 200 failed. The
    switch is retried here (5 ms, doubling to 100 ms) until ``timeout_s`` has passed. A file
    that stays in another mode (a read-only file answers its current mode) is logged; the
    first write then says what is wrong."""
    import sqlite3

    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            row = conn.execute("PRAGMA journal_mode=WAL").fetchone()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
            continue
        mode = str(row[0]).lower() if row else ""
        if mode != "wal":
            log.warning("SQLite kept journal_mode=%s instead of WAL", mode or "?")
        return mode
