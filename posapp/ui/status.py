"""The status bar: issuer state (online / contingency / offline / não responde), queued and
in-doubt sales, printer state, the serial scanner's state, operator and clock.

The issuer's badge follows what the service actually saw, not only the probes: a probe
only opens a TCP connection, so a daemon that accepts connections but never answers looks
"up" to it. An issue that ended in doubt (the request went out, no answer came) turns the
badge to **NÃO RESPONDE** (:meth:`StatusPanel.saw_issue`), and it stays so through "up"
probes until an issuer gives a verdict again (an authorized or rejected sale, at the
counter or from the queue); a probe that finds every issuer down says OFFLINE. A sale that
ends queued says OFFLINE at once. When the queue drains, the bar says so ("3 vendas da fila
emitidas") for a while, and where their DANFEs are (:func:`drain_news`).

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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from posapp.config import Config
from posapp.domain.issuance import Health
from posapp.domain.lifecycle import SaleState
from posapp.errors import PosappError
from posapp.services.drainer import QueueDrainer
from posapp.services.results import DrainReport, IssueReport
from posapp.ui.context import AppContext
from posapp.ui.formatting import clock_text
from posapp.ui.qt import (
    QDialog,
    QKeyEvent,
    QKeySequence,
    QLabel,
    QPushButton,
    QShortcut,
    QStatusBar,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    repolish,
    tr,
)
from posapp.ui.tasks import remember, run_dialog, spawn
from posapp.ui.widgets import ElidedLabel, set_role

if TYPE_CHECKING:
    from posapp.services.store_sync import StoreSync, SyncState
    from posapp.ui.demo import DemoControls  # the demo's module loads in demo mode only

log = logging.getLogger("posapp.ui")

QUEUE_POLL_MS = 5000
DEMO_KEY = "Ctrl+Shift+D"  # demo mode only: the issuer scenarios
NEWS_MS = 120_000  # how long "3 vendas da fila emitidas" stays on the bar


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
    "not_answering": "Emissor: NÃO RESPONDE",
}
_STATE_STYLE = {"not_answering": "offline"}  # red, like offline: sales are not being issued

_STATE_TIP = {
    "online": "O emissor está respondendo: as vendas saem com NFC-e.",
    "contingency": "O emissor está emitindo em contingência: a NFC-e sai e é transmitida depois.",
    "offline": (
        "Nenhum emissor atende. As vendas ficam na fila, com um comprovante provisório, "
        "e são emitidas sozinhas quando ele voltar."
    ),
    "not_answering": (
        "O emissor recebe as vendas mas não responde. Cada venda fica em dúvida, com um "
        "comprovante provisório: chame o gerente para conferir no histórico (F12)."
    ),
}


def state_after_probe(health: dict[str, Health], *, not_answering: bool) -> str:
    """The badge after a probe: a probe that finds an issuer up does not clear a silence
    the last issue saw (the connection opens; the answer never comes)."""
    state = issuer_state(health)
    if state == "online" and not_answering:
        return "not_answering"
    return state


def drain_news(report: DrainReport, *, has_printer: bool) -> str:
    """What the cashier reads when a round sent sales of the queue ("" when it sent none)."""
    parts: list[str] = []
    if report.authorized:
        n = report.authorized
        parts.append(f"{n} venda da fila emitida" if n == 1 else f"{n} vendas da fila emitidas")
        if has_printer:
            parts.append("DANFE impresso" if n == 1 else "DANFEs impressos")
        else:
            parts.append("DANFE em Vendas (F12)" if n == 1 else "DANFEs em Vendas (F12)")
    if report.rejected:
        n = report.rejected
        parts.append(f"{n} rejeitada (F12)" if n == 1 else f"{n} rejeitadas (F12)")
    return "; ".join(parts)


class StatusPanel(QStatusBar):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.state = "offline"
        self.queued = 0
        self.in_doubt = 0
        self.badge = QLabel(tr(_STATE_TEXT["offline"]), self)
        self.badge.setObjectName("statusBadge")
        self._set_badge("offline")  # before the bar lays it out (and polishes it): no re-polish
        # Texts elide (whole in the tooltip) and never widen the window; the queue keeps
        # its counts in view ("Fila: 12  ·  Em dúvida: 3").
        self.queue_label = ElidedLabel("", self, keep=28)
        self.printer_label = ElidedLabel("", self, keep=19)  # "Impressora: na tela", "...: ERRO — "
        self.scanner_label = ElidedLabel("", self)
        self.operator_label = ElidedLabel("", self)
        self.clock_label = QLabel("", self)
        for label in (
            self.queue_label,
            self.printer_label,
            self.scanner_label,
            self.operator_label,
            self.clock_label,
        ):
            label.setContentsMargins(6, 0, 6, 0)
        # A long device error elides within its share (the whole text is in its tooltip and in
        # the checkout's message line) rather than pushing the operator's name off the bar.
        self.printer_label.setMaximumWidth(300)
        self.scanner_label.setMaximumWidth(260)
        # [store_server] (issue 16): the store server's sync state; hidden on a till alone.
        self.store_label = ElidedLabel("", self, keep=len("Loja: offline"))
        self.store_label.setContentsMargins(6, 0, 6, 0)
        self.store_label.setMaximumWidth(260)
        self.store_label.setVisible(ctx.config.store_server is not None)
        self.store_sync: StoreSync | None = None
        # Told the version of the store's settings in force after each sync (the window
        # applies a new one between sales).
        self.on_store_settings: Callable[[int], None] | None = None
        self.addWidget(self.badge)
        self.addWidget(self.queue_label)
        self.addWidget(self.printer_label)
        self.addWidget(self.scanner_label)
        self.addWidget(self.store_label)
        self.addPermanentWidget(self.operator_label)
        self.addPermanentWidget(self.clock_label)
        self.not_answering = False  # the last verdict-less issue: sent, and no answer came
        self.news = ""  # "3 vendas da fila emitidas; DANFEs impressos", for NEWS_MS
        self.demo_controls: DemoControls | None = None  # demo mode: the simulated issuer
        self._demo_open = False
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
        self._news = QTimer(self)
        self._news.setSingleShot(True)
        self._news.setInterval(NEWS_MS)
        self._news.timeout.connect(lambda: self.show_news(""))
        self.tick_clock()
        self.show_operator()
        self.show_printer()
        self.show_queue()

    def start(self) -> None:
        """The clock, at once (the window shows it from its first paint)."""
        self._clock.start()

    def start_background(self) -> None:
        """The issuer probes, the queue's polls and drainer, the store sync: the window calls
        it once it is on screen (their first round would otherwise compete with the first
        paint). Until their first answer the bar says what it said at start-up (OFFLINE,
        ``Fila: 0``), as it did while a probe was on its way."""
        if self._stopped:
            return
        for timer in (self._health, self._queue):
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
        self._start_store_sync()

    def _start_store_sync(self) -> None:
        """With [store_server], replicate and refresh in the background (never on the sale
        path); the label follows its state. psycopg is imported only here, only then."""
        if self.store_sync is not None or self.ctx.config.store_server is None:
            return
        from posapp.services.store_sync import StoreSync

        self.store_sync = StoreSync(
            self.ctx.config, self.ctx.data_dir, service=self.ctx.service, on_state=self._store_state
        )
        self.store_sync.start()
        self._store_state(self.store_sync.state)

    def _store_state(self, state: SyncState) -> None:
        if self._stopped:
            return
        with contextlib.suppress(RuntimeError):  # the widgets may be gone at shutdown
            self.store_label.setVisible(True)
            self.store_label.setText(state.text)
            self.store_label.setToolTip(state.detail)
        if self.on_store_settings is not None and state.settings_version:
            self.on_store_settings(state.settings_version)

    async def stop_drainer(self) -> None:
        if self.drainer is not None:
            drainer, self.drainer = self.drainer, None
            await drainer.stop()
        if self.store_sync is not None:
            sync, self.store_sync = self.store_sync, None
            await sync.aclose()

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
        if report is not None and not self._stopped:
            with contextlib.suppress(RuntimeError):  # the widgets may be gone at shutdown
                self.saw_drain(report)
        self.poll_queue()

    def saw_issue(self, report: IssueReport) -> None:
        """The badge follows the outcome of a sale just sent at the counter."""
        state = report.state
        if state is SaleState.IN_DOUBT:
            self.not_answering = True
            self._set_badge("not_answering")
        elif state is SaleState.QUEUED:
            self.not_answering = False
            self._set_badge("offline")
        elif state in (SaleState.AUTHORIZED, SaleState.REJECTED):
            self.not_answering = False
            contingency = report.note is not None and report.note.contingency
            self._set_badge("contingency" if contingency else "online")

    def saw_drain(self, report: DrainReport) -> None:
        """A catch-up round: a verdict clears a silence, a new doubt starts one; the news."""
        if report.authorized or report.rejected:
            self.not_answering = False
            if self.state in ("offline", "not_answering"):
                self._set_badge("online")
        if report.in_doubt:
            self.not_answering = True
            self._set_badge("not_answering")
        news = drain_news(report, has_printer=self.ctx.config.printer.uri != "none")
        if news:
            self.show_news(news)

    def show_news(self, text: str) -> None:
        """Shown after the queue's counts (kept for :data:`NEWS_MS`; ``""`` clears it)."""
        self.news = text
        self.show_queue()
        if text:
            self._news.start()

    async def stop(self) -> None:
        """Stop timers and polls; safe to call twice, or after Qt deleted the widgets."""
        self._stopped = True
        with contextlib.suppress(RuntimeError):  # the C++ timers may already be gone
            for timer in (self._clock, self._health, self._queue, self._news):
                timer.stop()
        await self.stop_drainer()
        await self._cancel_polls()

    async def _cancel_polls(self) -> None:
        for task in (self._health_task, self._queue_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- demo mode: training for an outage -----------------------------------------------

    def attach_demo(self, controls: DemoControls) -> QPushButton:
        """Demo mode only: Ctrl+Shift+D opens the scenarios, and so does the button returned,
        which the window places where there is room (the status bar has none at 1024 px)."""
        self.demo_controls = controls
        self.demo_button = QPushButton(tr("MODO TREINO · Simular falha (") + DEMO_KEY + ")", self)
        self.demo_button.setObjectName("demoButton")
        self.demo_button.setToolTip(tr("Demonstração: simula o emissor fora do ar, lento, sem resposta..."))
        self.demo_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.demo_button.clicked.connect(self.open_demo)
        self.demo_shortcut = QShortcut(QKeySequence(DEMO_KEY), self)
        self.demo_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.demo_shortcut.activated.connect(self.open_demo)
        return self.demo_button

    def open_demo(self) -> None:
        if self.demo_controls is None or self._demo_open:
            return
        remember(self, spawn(self._run_demo_dialog()))

    async def _run_demo_dialog(self) -> None:
        controls = self.demo_controls
        if controls is None:
            return
        self._demo_open = True
        try:
            dialog = DemoScenarioDialog(controls.scenario, self.window())
            if await run_dialog(dialog) != QDialog.DialogCode.Accepted or dialog.chosen is None:
                return
            await controls.set_scenario(dialog.chosen)
            self.not_answering = False  # the trainer changed the world: probe it afresh
            log.info("demo: issuer scenario %s", dialog.chosen)
            self.show_operator()
            self.poll_health()
        finally:
            self._demo_open = False

    # -- display ---------------------------------------------------------------------------

    def tick_clock(self) -> None:
        # The store's time (the DANFE's), not the machine's zone.
        self.clock_label.setText(clock_text(datetime.now(UTC), self.ctx.config.store.tz))

    def show_operator(self) -> None:
        operator = self.ctx.operator
        text = tr("Operador: ") + (f"{operator.name} ({tr(operator.role.label)})" if operator else "—")
        if self.ctx.demo:
            text += tr("  ·  DEMONSTRAÇÃO")
            controls = self.demo_controls
            if controls is not None and controls.scenario != "normal":
                text += tr(" (emissor: ") + controls.scenario + ")"
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
        if self.news:
            text += "  ·  " + tr(self.news)
        self.queue_label.setText(text)
        self.queue_label.setToolTip(text)

    def _set_badge(self, state: str) -> None:
        self.state = state
        self.badge.setText(tr(_STATE_TEXT[state]))
        self.badge.setToolTip(tr(_STATE_TIP[state]))
        self.badge.setProperty("status", _STATE_STYLE.get(state, state))
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
        state = state_after_probe(health, not_answering=self.not_answering)
        if state == "offline":
            self.not_answering = False  # nothing even accepts a connection: offline says more
        with contextlib.suppress(RuntimeError):  # the widgets went away during the await
            self._set_badge(state)

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


class DemoScenarioDialog(QDialog):
    """The demo's issuer scenarios, one key each (1-5); Esc leaves things as they are."""

    def __init__(self, current: str, parent: QWidget | None = None) -> None:
        from posapp.ui.demo import DEMO_SCENARIOS

        super().__init__(parent)
        self.setWindowTitle(tr("Demonstração: simular o emissor"))
        self.chosen: str | None = None
        box = QVBoxLayout(self)
        intro = QLabel(
            tr(
                "Treino de queda do emissor. Escolha como o emissor simulado se comporta "
                "(tecla 1 a 5; Esc fecha sem mudar):"
            ),
            self,
        )
        intro.setWordWrap(True)
        box.addWidget(intro)
        self.buttons: dict[str, QPushButton] = {}
        for number, (name, text) in enumerate(DEMO_SCENARIOS.items(), start=1):
            mark = "  ✔" if name == current else ""
            button = QPushButton(f"{number}  {tr(text)}{mark}", self)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, n=name: self.choose(n))
            box.addWidget(button)
            self.buttons[name] = button
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def choose(self, name: str) -> None:
        self.chosen = name
        self.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        names = list(self.buttons)  # in DEMO_SCENARIOS' order
        if text.isdigit() and 1 <= int(text) <= len(names):
            self.choose(names[int(text) - 1])
            event.accept()
            return
        super().keyPressEvent(event)
