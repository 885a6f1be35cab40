"""OS locks on the data folder: which processes are alive on this journal.

Start-up recovery turns sales left ISSUING into IN_DOUBT, which is right only if no live
process is still sending them. So every running service holds a *shared* lock on
``journal.sqlite3.lock`` for its whole life, and recovery runs only after a non-blocking
*exclusive* lock succeeded, i.e. when no other service is alive (the till's GUI, another
command line). The kernel drops a process's locks when it dies, even by ``kill -9``.

On Windows (``msvcrt`` has no shared locks) the first process holds an exclusive lock and
is the only one that recovers; later ones run without recovering.

A file system that cannot lock at all (some network mounts) is logged and treated as
"alone": recovery then depends on the store running one till per data folder, as it should.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path

from posapp.files import PRIVATE_FILE_MODE, private_file
from posapp.journal.errors import JournalUnavailable

log = logging.getLogger("posapp.journal.lock")

# "Someone else holds it" (flock: EWOULDBLOCK; msvcrt: EACCES or EDEADLOCK).
_HELD_ELSEWHERE = {errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, errno.EDEADLK}


class ProcessLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _open(self) -> int:
        if self._fd is None:
            try:
                private_file(self.path)  # 0600 like the journal (tightened if an older posapp made it 0644)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
            except OSError as exc:
                raise JournalUnavailable(
                    f"cannot open the lock file {self.path}: {exc}",
                    user_message=(
                        f"Não foi possível abrir {self.path} ({exc.strerror}). Verifique as permissões da "
                        "pasta de dados e rode 'posapp doctor'."
                    ),
                ) from exc
        return self._fd

    def acquire(self) -> bool:
        """Hold the lock for this process's life. Returns True when no other process holds
        it, i.e. when this one may run start-up recovery."""
        fd = self._open()
        try:
            alone = _try_exclusive(fd)
        except OSError as exc:
            log.warning("cannot lock %s (%s); assuming this is the only posapp here", self.path, exc)
            return True
        if alone:
            return True
        _shared(fd)
        return False

    def share(self) -> None:
        """Hold the lock without asking to be alone (a service rebuilt in a running app)."""
        fd = self._open()
        try:
            _shared(fd)
        except OSError as exc:
            log.warning("cannot lock %s (%s)", self.path, exc)

    def downgrade(self) -> None:
        """After recovery: let other processes start (they will not recover)."""
        if self._fd is not None:
            try:
                _shared(self._fd)
            except OSError as exc:
                log.warning("cannot downgrade the lock on %s (%s)", self.path, exc)

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            _unlock(self._fd)
        except OSError:
            pass
        finally:
            os.close(self._fd)
            self._fd = None


def _try_exclusive(fd: int) -> bool:
    try:
        _exclusive(fd)
    except OSError as exc:
        if exc.errno in _HELD_ELSEWHERE:
            return False
        raise
    return True


if sys.platform == "win32":
    import msvcrt

    def _exclusive(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _shared(fd: int) -> None:
        """No shared locks here: a second process simply runs without one."""

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _exclusive(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _shared(fd: int) -> None:
        # Blocking: an exclusive holder is another process's start-up recovery, a moment.
        fcntl.flock(fd, fcntl.LOCK_SH)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
