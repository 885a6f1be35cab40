"""Applying new settings to a running till: the fiscal service is rebuilt from them and
swapped in, without a moment when the data folder looks free to another process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from posapp.config import Config
from posapp.services.pos import PosService

log = logging.getLogger("posapp.services")


async def replace_service(
    current: PosService,
    build: Callable[[Config], PosService],
    config: Config,
    persist: Callable[[Config], None],
) -> PosService:
    """Build a service from ``config``, save ``config`` with ``persist``, then close ``current``.

    The caller stops whatever uses the service in the background first (the drainer).
    Building opens SQLite and may read the OS keyring, and saving writes a file, so both run
    off the event loop. The new service joins the data folder's lock *without* recovering
    (start-up recovery is once per process) before the old one lets go of it, so another
    process never sees the folder free while this till is sending. If building or saving
    fails, nothing changed and ``current`` stays in use."""
    new = await asyncio.to_thread(build, config)
    await new.start(recover=False)
    try:
        await asyncio.to_thread(persist, config)
    except BaseException:
        await new.aclose()
        raise
    try:
        await current.aclose()
    except Exception:  # the new service is in place; a failed close must not undo that
        log.exception("closing the previous fiscal service failed")
    return new
