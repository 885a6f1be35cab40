"""The daily automatic backup, run by the GUI while the till is open (issue 15 item 4).

Every ``CHECK_EVERY_S`` it asks :func:`posapp.services.backup.daily_backup` (in a worker
thread: the copy reads the whole journal and writes to a USB disk or a network share, never on
the GUI thread) whether a backup is due, which takes one when this till's newest backup in
``[backup] folder`` is a day old and applies the retention. A failure (the disk unplugged) is
logged, told to the till (``on_failure``: the checkout's message line) and tried again at the next
check; ``posapp doctor`` warns after two days without one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from posapp.config import BackupConfig, Config
from posapp.errors import PosappError, user_text
from posapp.services.backup import BackupReport, daily_backup

log = logging.getLogger("posapp.ui.backup")

CHECK_EVERY_S = 3600.0
FIRST_CHECK_S = 60.0  # not during start-up, when the till opens its files

DailyBackup = Callable[[BackupConfig, Path, datetime], BackupReport | None]


async def run_daily_backups(
    config: Callable[[], Config],
    data_dir: Path,
    *,
    first_s: float = FIRST_CHECK_S,
    every_s: float = CHECK_EVERY_S,
    backup: DailyBackup = daily_backup,
    on_failure: Callable[[str], None] | None = None,
) -> None:
    """Until cancelled. ``config`` is read at each check (the settings may change it);
    ``on_failure`` gets a Portuguese sentence for the person at the till when one fails."""
    await asyncio.sleep(first_s)
    while True:
        settings = config().backup
        if settings.folder is not None:
            try:
                report = await asyncio.to_thread(backup, settings, data_dir, datetime.now().astimezone())
            except PosappError as exc:
                log.warning("daily backup failed: %s", exc)
                _tell(on_failure, user_text(exc))
            except Exception as exc:
                _tell(on_failure, user_text(exc, logger=log, context="daily backup"))
            else:
                if report is not None:
                    log.info("daily backup written to %s (%d sales)", report.path, report.sales)
        await asyncio.sleep(every_s)


def _tell(on_failure: Callable[[str], None] | None, why: str) -> None:
    if on_failure is not None:
        on_failure(f"A cópia de segurança diária não foi feita: {why} Será tentada de novo em uma hora.")


__all__ = ["run_daily_backups"]
