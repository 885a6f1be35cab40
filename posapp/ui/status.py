"""The status bar: issuer state (online / contingency / offline), queued and in-doubt
sales, printer state, the serial scanner's state, operator and clock.

Polls run as tasks on the loop (the service answers off the GUI thread); a poll never
starts while the previous one is still running, so a hanging issuer cannot pile tasks
up. The service's :class:`~posapp.services.drainer.QueueDrainer` runs here too: when
sales wait in the queue and an issuer answers, they go out by themselves while the
cashier keeps selling.

A change of fiscal or printer settings swaps the service (:meth:`StatusPanel.replace_service`):
the drainer stops first (its current round ends), polls pause, the new service is built off
the GUI thread, the old one is closed, and the drainer starts again on the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from posapp.config import Config
from posapp.domain.issuance import Health
from posapp.errors import PosappError
from posapp.services.drainer import QueueDrainer
from posapp.services.results import DrainReport
from posapp.ui.context import AppContext
from posapp.ui.qt import QLabel, QStatusBar, QTimer, QWidget, repolish, tr
from posapp.ui.tasks import spawn
from posapp.ui.widgets import set_role

log = logging.getLogger("posapp.ui")

QUEUE_POLL_MS = 5000


def issuer_state(health: dict[str, Health]) -> str:
    """``online`` if any issuer is up, ``contingency`` if one issues offline, else ``offline``."""
    values = set(health.values())
    if Health.UP in values:
        return "online"
    if Health.CONTINGENCY in values:
        return "contingency"
    return "offline"


_STATE_TEXT = {
    "online": "Emissor: ONLINE",
    "contingency": "Emissor: CONTINGÊNCIA",
    "offline": "Emissor: OFFLINE",
}


class StatusPanel(QStatusBar):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.state = "offline"
        self.queued = 0
        self.in_doubt = 0
        self.badge = QLabel(tr(_STATE_TEXT["offline"]), self)
        self.badge.setObjectName("statusBadge")
        self.queue_label = QLabel("", self)
        self.printer_label = QLabel("", self)
        self.scanner_label = QLabel("", self)
        self.operator_label = QLabel("", self)
        self.clock_label = QLabel("", self)
        for label in (
            self.queue_label,
            self.printer_label,
            self.scanner_label,
            self.operator_label,
            self.clock_label,
        ):
            label.setContentsMargins(12, 0, 12, 0)
        self.addWidget(self.badge)
        self.addWidget(self.queue_label)
        self.addWidget(self.printer_label)
        self.addWidget(self.scanner_label)
        self.addPermanentWidget(self.operator_label)
        self.addPermanentWidget(self.clock_label)
        self._health_task: asyncio.Task[None] | None = None
        self._queue_task: asyncio.Task[None] | None = None
        self.drainer: QueueDrainer | None = None
        self._paused = False  # while the service is being replaced: no polls
        self._stopped = False  # the window is closing: a poll that ends now shows nothing
        self._poll_failing = False  # log an unexpected poll failure once, not every 5 s
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.tick_clock)
        self._health = QTimer(self)
        self._health.setInterval(int(ctx.terminal.health_poll_s * 1000))
        self._health.timeout.connect(self.poll_health)
        self._queue = QTimer(self)
        self._queue.setInterval(QUEUE_POLL_MS)
        self._queue.timeout.connect(self.poll_queue)
        self._set_badge("offline")
        self.tick_clock()
        self.show_operator()
        self.show_printer()
        self.show_queue()

    def start(self) -> None:
        for timer in (self._clock, self._health, self._queue):
            timer.start()
        self.start_drainer()
        self.poll_health()
        self.poll_queue()

    def start_drainer(self) -> None:
        """Start the queue catch-up on the current service (no-op if one runs)."""
        if self.drainer is not None:
            return
        self.drainer = QueueDrainer(
            self.ctx.service, interval_s=self.ctx.terminal.drain_every_s, on_round=self._drained
        )
        self.drainer.start()

    async def stop_drainer(self) -> None:
        if self.drainer is not None:
            drainer, self.drainer = self.drainer, None
            await drainer.stop()

    async def replace_service(self, config: Config) -> None:
        """Swap the fiscal service for one built from ``config`` (see the module docstring).

        Whatever happens, the drainer runs again afterwards, on the new service if it was
        built, else on the old one (which is then still in place).
        """
        self._paused = True
        try:
            await self.stop_drainer()
            await self._cancel_polls()
            await self.ctx.apply_config(config)
        finally:
            self._paused = False
            self.start_drainer()

    def poke_drainer(self) -> None:
        if self.drainer is not None:
            self.drainer.poke()

    def _drained(self, report: DrainReport | None) -> None:
        if report is not None and report.attempted:
            log.info("queue catch-up: %s", report)
        self.poll_queue()

    async def stop(self) -> None:
        """Stop timers and polls; safe to call twice, or after Qt deleted the widgets."""
        self._stopped = True
        with contextlib.suppress(RuntimeError):  # the C++ timers may already be gone
            for timer in (self._clock, self._health, self._queue):
                timer.stop()
        await self.stop_drainer()
        await self._cancel_polls()

    async def _cancel_polls(self) -> None:
        for task in (self._health_task, self._queue_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- display ---------------------------------------------------------------------------

    def tick_clock(self) -> None:
        self.clock_label.setText(datetime.now().astimezone().strftime("%d/%m/%Y %H:%M:%S"))

    def show_operator(self) -> None:
        operator = self.ctx.operator
        text = tr("Operador: ") + (f"{operator.name} ({tr(operator.role.label)})" if operator else "—")
        if self.ctx.demo:
            text += tr("  ·  DEMONSTRAÇÃO")
        self.operator_label.setText(text)

    def show_printer(self) -> None:
        uri = self.ctx.config.printer.uri
        if uri == "none":
            text = tr("Impressora: nenhuma")
        elif self.ctx.last_print_ok is False:
            text = tr("Impressora: ERRO — ") + (self.ctx.last_print_error or "")
        elif uri == "preview":
            text = tr("Impressora: na tela")
        else:
            text = tr("Impressora: ") + (tr("OK") if self.ctx.last_print_ok else uri)
        self.printer_label.setText(text)

    def show_scanner(self, connected: bool, text: str) -> None:
        """The serial scanner's state (only its changes are reported)."""
        self.scanner_label.setText(text)
        set_role(self.scanner_label, None if connected else "warning")

    def show_queue(self) -> None:
        text = tr("Fila: ") + str(self.queued)
        if self.in_doubt:
            text += tr("  ·  Em dúvida: ") + str(self.in_doubt)
        self.queue_label.setText(text)

    def _set_badge(self, state: str) -> None:
        self.state = state
        self.badge.setText(tr(_STATE_TEXT[state]))
        self.badge.setProperty("status", state)
        repolish(self.badge)

    # -- polls -----------------------------------------------------------------------------

    def poll_health(self) -> None:
        if self._paused:
            return
        if self._health_task is None or self._health_task.done():
            self._health_task = spawn(self.refresh_health())

    def poll_queue(self) -> None:
        if self._paused:
            return
        if self._queue_task is None or self._queue_task.done():
            self._queue_task = spawn(self.refresh_queue())

    def _poll_failed(self, what: str, exc: Exception) -> None:
        """Known errors are logged as warnings; a bug once (with its traceback), not every poll."""
        if isinstance(exc, PosappError):
            log.warning("%s poll failed: %s", what, exc)
        elif not self._poll_failing:
            self._poll_failing = True
            log.error("%s poll failed unexpectedly", what, exc_info=exc)

    async def refresh_health(self) -> None:
        try:
            health = await self.ctx.service.issuer_health()
        except Exception as exc:
            self._poll_failed("health", exc)
            health = {}
        if self._stopped:
            return
        with contextlib.suppress(RuntimeError):  # the widgets went away during the await
            self._set_badge(issuer_state(health))

    async def refresh_queue(self) -> None:
        try:
            status = await self.ctx.service.queue_status()
        except Exception as exc:
            self._poll_failed("queue", exc)
            return
        self._poll_failing = False
        self.queued, self.in_doubt = status.queued, status.in_doubt
        if self._stopped:
            return
        with contextlib.suppress(RuntimeError):  # the widgets went away during the await
            self.show_queue()
            if status.contingency_deadline_warning:
                self.queue_label.setText(
                    self.queue_label.text() + tr("  ·  ATENÇÃO: fila antiga, chame o gerente")
                )
