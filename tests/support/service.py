"""Running a real :class:`PosService` against the simulated issuers, in the test process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from posapp.app import build_service
from posapp.services.pos import PosService
from tests.support.issuers import Issuers


def service_for(issuers: Issuers, data_dir: Path, *, with_printer: bool = False, **config: Any) -> PosService:
    """What ``posapp`` builds from its configuration file, pointed at the simulators."""
    return build_service(issuers.config(**config), data_dir, with_printer=with_printer)


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, timeout_s: float = 20, every_s: float = 0.05
) -> float:
    """Poll ``condition`` until true; returns the seconds it took. Fails the test on timeout."""
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(every_s)
    return time.monotonic() - started
