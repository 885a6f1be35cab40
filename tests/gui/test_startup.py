"""Start fast (issue 11 item 9): the checkout is on screen before anything it does not show
is loaded or started.

* A fresh process that opens a till and shows the checkout (what ``benchmarks/bench_gui.py``
  times) has imported none of the dialogs, the history, the printing stack, the demo or the
  daily backup, and has started no probe, drainer or scanner before its first paint; right
  after it, they start.
* The status bar still tells the truth once known: the issuer probe runs once the window
  has painted (against the Emites-Client simulator over loopback), or after a fallback when
  it never paints; a window shut down first starts nothing.
* Nothing asks for the style object at start-up, and the screen looks the same: a role set
  before a widget's first polish styles it as one set after, and an elided label paints its
  text pixel for pixel as ``QStyle.drawItemText`` did, with the counter's style sheet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from posapp.config import Config, EmitesConfig, PrinterConfig
from posapp.resources import load_stylesheet
from posapp.sim.emites import EmitesSimulator
from posapp.ui import main_window
from posapp.ui.main_window import MainWindow
from posapp.ui.widgets import ElidedLabel, set_role
from tests.gui.conftest import MakeCtx, run

ROOT = Path(__file__).resolve().parents[2]

#: Opened or started on first use only, never by the start of the checkout.
NOT_AT_START = (
    "posapp.ui.dialogs",
    "posapp.ui.history",
    "posapp.ui.issue_dialog",
    "posapp.ui.payment_dialog",
    "posapp.ui.search_dialog",
    "posapp.ui.discount_dialog",
    "posapp.ui.settings_dialog",
    "posapp.ui.fiscal_month_dialog",
    "posapp.ui.store_sales",
    "posapp.ui.store_publish",
    "posapp.ui.receipt_preview",
    "posapp.ui.report_print",
    "posapp.ui.daily_backup",
    "posapp.ui.scanner",
    "posapp.ui.demo",
    "posapp.printing",
    "posapp.services.day_close",
    "posapp.services.backup",
    "posapp.services.store_sync",
    "posapp.services.pending_slips",
    "posapp.catalog.csv_import",
    "posapp.sim",
)

# The bench's start-up child (benchmarks/bench_gui.py), reporting what it loaded and started
# by its first paint instead of timing it.
CHILD = r"""
import asyncio, gc, json, socket, sys
from pathlib import Path
from posapp.app import service_factory
from posapp.config import Config, EmitesConfig, PrinterConfig
from posapp.ui.main import open_context, run_loop
from posapp.ui.main_window import MainWindow

def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

report = {}

class Window(MainWindow):
    def paintEvent(self, event):
        if "loaded" not in report:  # the first paint: what is loaded and started by now
            report["loaded"] = sorted(m for m in sys.modules if m.startswith("posapp"))
            started = (self.status.drainer, self.scanner, self.background_started, self._filter_installed)
            report["started_before_paint"] = any(started)
        super().paintEvent(event)

async def main():
    data = Path(sys.argv[1])
    emites = EmitesConfig(host="127.0.0.1", port=closed_port())
    config = Config(emites=emites, printer=PrinterConfig(uri="none"))
    ctx = await open_context(config, data, service_factory=service_factory(data))
    ctx.operator = ctx.operators.get("caixa")
    window = Window(ctx)
    window.show()
    window.start()
    while "loaded" not in report:  # until the platform exposed it and Qt painted it once
        await asyncio.sleep(0)
    report["frozen"] = gc.get_freeze_count()
    for _ in range(25):  # well inside the 1 s fallback: the paint started it
        if window.background_started:
            break
        await asyncio.sleep(0.02)
    report["drainer_after_paint"] = window.status.drainer is not None
    await window.shutdown()
    await ctx.aclose()
    return 0

run_loop(main)
print(json.dumps(report))
"""


def test_the_checkout_starts_without_what_it_does_not_show(tmp_path: Path) -> None:
    from posapp.ui.demo import prepare_demo_data

    prepare_demo_data(tmp_path)  # the sample catalog and operators
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    loaded = report["loaded"]
    early = [m for m in loaded if any(m == lazy or m.startswith(lazy + ".") for lazy in NOT_AT_START)]
    assert early == [], f"loaded before the checkout needed them: {early}"
    assert "posapp.ui.main_window" in loaded and "posapp.ui.status" in loaded  # it did start
    assert report["started_before_paint"] is False
    assert report["drainer_after_paint"] is True
    assert report["frozen"] > 0  # start-up objects out of the collector's way


def sim_config(sim: EmitesSimulator) -> Config:
    return Config(
        emites=EmitesConfig(host="127.0.0.1", port=sim.port, connect_timeout_s=1, response_timeout_s=2),
        printer=PrinterConfig(uri="none"),
    )


def test_background_work_starts_at_the_first_paint_and_the_bar_then_tells_the_truth(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(main_window, "BACKGROUND_FALLBACK_MS", 600_000)  # only a paint starts it
    window = MainWindow(make_ctx(sim_config(sim)))
    qtbot.addWidget(window)
    window.start()  # before show(): nothing painted yet
    assert not window.background_started and window.status.drainer is None
    assert window.status.badge.text() == "Emissor: OFFLINE"  # what it says until a probe answers
    qtbot.wait(50)
    assert not window.background_started
    window.show()
    qtbot.waitUntil(lambda: window.background_started, timeout=5000)
    assert window.status.drainer is not None
    qtbot.waitUntil(lambda: window.status.badge.text() == "Emissor: ONLINE", timeout=5000)
    run(qtbot, window.shutdown())


def test_a_window_that_never_paints_starts_its_background_work_anyway(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(main_window, "BACKGROUND_FALLBACK_MS", 100)
    window = MainWindow(make_ctx(sim_config(sim)))
    qtbot.addWidget(window)
    started = time.monotonic()
    window.start()  # never shown (a till started minimized)
    qtbot.waitUntil(lambda: window.background_started, timeout=5000)
    assert time.monotonic() - started >= 0.09
    qtbot.waitUntil(lambda: window.status.badge.text() == "Emissor: ONLINE", timeout=5000)
    run(qtbot, window.shutdown())


def test_a_window_shut_down_before_its_first_paint_starts_nothing(
    qtbot: QtBot, make_ctx: MakeCtx, sim: EmitesSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(main_window, "BACKGROUND_FALLBACK_MS", 50)
    window = MainWindow(make_ctx(sim_config(sim)))
    qtbot.addWidget(window)
    window.start()
    run(qtbot, window.shutdown())
    window.show()
    window.repaint()
    qtbot.wait(300)  # past the fallback, and past the paint's turn
    assert not window.background_started
    assert window.status.drainer is None and window.scanner is None
    assert window.status.badge.text() == "Emissor: OFFLINE"  # no probe ran


class StyleDrawnLabel(ElidedLabel):
    """How ElidedLabel painted before start-up stopped asking for the style object."""

    def paintEvent(self, event: QPaintEvent) -> None:
        QFrame.paintEvent(self, event)
        painter = QPainter(self)
        rect = self.contentsRect().adjusted(self.margin(), self.margin(), -self.margin(), -self.margin())
        self.style().drawItemText(
            painter,
            rect,
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.elided(),
            QPalette.ColorRole.WindowText,
        )
        painter.end()


@pytest.fixture
def counter_theme(qapp: QApplication) -> Iterator[None]:
    qapp.setStyleSheet(load_stylesheet())
    yield
    qapp.setStyleSheet("")


@pytest.mark.usefixtures("counter_theme")
@pytest.mark.parametrize("role", [None, "warning", "error"])
@pytest.mark.parametrize("width", [600, 90])  # whole, and elided
def test_an_elided_label_paints_as_the_style_did(qtbot: QtBot, role: str | None, width: int) -> None:
    box = QWidget()
    qtbot.addWidget(box)
    row = QHBoxLayout(box)
    text = "Fila: 12  ·  Em dúvida: 3  ·  Impressora: ERRO — sem papel"
    ours, styles = ElidedLabel(text, box, keep=8), StyleDrawnLabel(text, box, keep=8)
    for label in (ours, styles):
        set_role(label, role)
        label.setFixedWidth(width)
        row.addWidget(label)
    box.show()
    qtbot.waitExposed(box)
    assert ours.elided().endswith("…") == (width == 90)
    assert ours.grab().toImage() == styles.grab().toImage()


@pytest.mark.usefixtures("counter_theme")
def test_a_role_set_before_the_first_polish_styles_the_widget(qtbot: QtBot) -> None:
    box = QWidget()
    qtbot.addWidget(box)
    row = QHBoxLayout(box)
    before, after, plain = (QPushButton("F10  Pagar", box) for _ in range(3))
    set_role(before, "primary")  # not polished yet: nothing re-polished
    for button in (before, after, plain):
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no focus ring on the first one
        button.setFixedSize(160, 48)
        row.addWidget(button)
    box.show()
    qtbot.waitExposed(box)
    set_role(after, "primary")  # polished: re-polished
    qtbot.wait(20)
    image = before.grab().toImage()
    assert image == after.grab().toImage()
    assert image != plain.grab().toImage()  # the role did style it
