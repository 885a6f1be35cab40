"""Background catch-up: reconcile in-doubt sales and drain the queue when an issuer is back.

Runs on the application's event loop (the GUI's qasync loop). Every round is cheap when
there is nothing to do (two counts in the journal); when sales are waiting it probes the
issuers first and drains only if one answers, so an outage costs one connect attempt per
round, not one per queued sale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from posapp.services.pos import PosService
from posapp.services.results import DrainReport

log = logging.getLogger("posapp.services.drainer")


class QueueDrainer:
    def __init__(
        self,
        service: PosService,
        *,
        interval_s: float = 15.0,
        max_interval_s: float = 120.0,
        on_round: Callable[[DrainReport | None], None] | None = None,
    ) -> None:
        self._service = service
        self._interval = interval_s
        self._max_interval = max_interval_s
        self._on_round = on_round
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="posapp-queue-drainer")

    def poke(self) -> None:
        """Run a round now (a sale was just queued, or the manager asked)."""
        self._wake.set()

    async def stop(self, *, grace_s: float = 120.0) -> None:
        """Stop after the sale being sent, if any, has its answer (a cancelled send would
        leave it in doubt). Cancels only if that takes longer than ``grace_s``."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace_s)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        finally:
            self._task = None
            self._stopping = False

    async def run_once(self) -> DrainReport | None:
        """One round of the service's catch-up: reconcile, then drain if anything waits and
        an issuer answers a probe. ``None`` when nothing was queued."""
        report = await self._service.catch_up(probe_first=True, stop=lambda: self._stopping)
        if report.drained is not None:
            return report.drained
        status = await self._service.queue_status()
        return DrainReport(0, 0, 0, status.queued, 0) if status.queued else None

    async def _run(self) -> None:
        delay = self._interval
        while not self._stopping:
            try:
                report = await self.run_once()
                delay = (
                    self._interval
                    if report is None or report.still_queued == 0
                    else min(delay * 2, self._max_interval)
                )
                if self._on_round is not None:
                    self._on_round(report)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug here must not stop the catch-up forever; log it and try later.
                log.exception("queue drain round failed")
                delay = min(delay * 2, self._max_interval)
            if self._stopping:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
