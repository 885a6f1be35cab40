"""GUI test harness: a qasync loop marked running (pytest-qt drives it), a real store and
journal in ``tmp_path``, the real service over loopback, and helpers that drive the
window with the keyboard only (keys go to whatever widget has the focus).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from posapp.config import Config
from posapp.services.pos import PosService
from posapp.sim.emites import EmitesSimulator
from posapp.ui.context import AppContext
from posapp.ui.demo import prepare_demo_data
from posapp.ui.main_window import MainWindow
from posapp.ui.qt import QEventLoop

T = TypeVar("T")
W = TypeVar("W", bound=QWidget)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/gui/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def no_hidden_ui_errors(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The screens recover from unexpected errors (log, message, unlocked till), which would
    also hide bugs from the tests: an ERROR logged by ``posapp.ui`` fails the test unless it
    asked for ``expected_ui_errors``."""
    caplog.set_level(logging.WARNING, logger="posapp")
    yield
    if "expected_ui_errors" in request.fixturenames:
        return
    errors = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.get_records("call")
        if r.name.startswith("posapp.ui") and r.levelno >= logging.ERROR
    ]
    assert not errors, errors


@pytest.fixture
def expected_ui_errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """This test provokes errors on purpose; it inspects them through the returned caplog."""
    return caplog


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """qasync loop marked running: qtbot.wait*/keyClick spin it (notes §3.3 pattern 1)."""
    loop = QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    # Not loop.stop(): it calls QApplication.exit(), after which offscreen windows of the
    # next test no longer become active. Clearing the running flag is all close() needs.
    loop._QEventLoop__is_running = False
    loop.close()
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


def run(qtbot: QtBot, coro: Coroutine[Any, Any, T], timeout: int = 15000) -> T:
    """Run a coroutine on the (running) qasync loop while Qt keeps processing events."""
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


class Clock:
    """The service's clock: real time plus an offset a test can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def sim(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> Iterator[EmitesSimulator]:
    """The Emites-Client simulator on loopback, for the tests that issue through it."""
    simulator = EmitesSimulator()
    run(qtbot, simulator.start())
    yield simulator
    run(qtbot, simulator.stop())


def service_factory(
    data_dir: Path, clock: Clock, service_class: type[PosService] = PosService
) -> Callable[[Config], PosService]:
    """The production composition (journal, failover router, printer spool), with a clock
    (and, for tests that need one, a subclass that records or injects a bug)."""

    def build(config: Config) -> PosService:
        from posapp.app import build_backends, build_printer
        from posapp.fiscal.router import FailoverRouter
        from posapp.journal.store import Journal

        journal = Journal.in_dir(data_dir)
        return service_class(
            config=config,
            journal=journal,
            router=FailoverRouter(build_backends(config)),
            printer=build_printer(config, journal),
            clock=clock,
        )

    return build


@pytest.fixture
def clock() -> Clock:
    return Clock()


class MakeCtx(Protocol):
    """What the ``make_ctx`` fixture gives a test."""

    def __call__(
        self,
        config: Config,
        *,
        login: str = ...,
        factory: Callable[[Config], PosService] | None = ...,
    ) -> AppContext: ...


@pytest.fixture
def make_ctx(
    tmp_path: Path, qtbot: QtBot, qloop: asyncio.AbstractEventLoop, clock: Clock
) -> Iterator[MakeCtx]:
    """Build an AppContext on ``tmp_path`` (demo catalog and operators) for a config."""
    opened: list[AppContext] = []

    def make(
        config: Config,
        *,
        login: str = "caixa",
        factory: Callable[[Config], PosService] | None = None,
    ) -> AppContext:
        prepare_demo_data(tmp_path)
        ctx = AppContext.open(
            config,
            tmp_path,
            service_factory=factory or service_factory(tmp_path, clock),
            config_path=tmp_path / "posapp.toml",
        )
        opened.append(ctx)
        run(qtbot, ctx.start())
        ctx.operator = ctx.operators.get(login)
        return ctx

    yield make
    for ctx in opened:
        run(qtbot, ctx.aclose())


def open_window(qtbot: QtBot, ctx: AppContext) -> MainWindow:
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.start()
    window.focus_code()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.code)
    # The probes, drainer, store sync and serial scanner start once it has painted.
    qtbot.waitUntil(lambda: window.background_started)
    return window


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def press(qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """One key, to whatever has the focus (the keyboard-only rule). On the checkout itself
    it first waits for the previous flow to finish its last write, as a person would see the
    screen settle: a key pressed meanwhile is refused on purpose (double-press guard)."""
    window = focused().window()
    if isinstance(window, MainWindow):
        qtbot.waitUntil(lambda: window.flow is None)
    QTest.keyClick(focused(), key, modifier)


def type_text(qtbot: QtBot, text: str) -> None:
    """Keys as fast as the test can send them (a scanner's speed)."""
    QTest.keyClicks(focused(), text)


def type_like_a_person(qtbot: QtBot, text: str, gap_ms: int = 90) -> None:
    """Keys ``gap_ms`` apart: what a cashier typing a long number into a dialog does (a
    fast burst of 8+ digits and Enter there is taken as a scan)."""
    QTest.keyClicks(focused(), text, Qt.KeyboardModifier.NoModifier, gap_ms)


def scan(qtbot: QtBot, window: MainWindow, code: str) -> None:
    """What a keyboard-wedge scanner does: the digits, then Enter; then wait for the cart."""
    assert focused() is window.code
    type_text(qtbot, code)
    press(qtbot, Qt.Key.Key_Return)
    run(qtbot, window.vm.scans.wait_idle())


def wait_dialog(qtbot: QtBot, kind: type[W], timeout: int = 10000) -> W:
    """The visible top-level dialog of ``kind`` (and wait until it has the focus)."""
    found: list[W] = []

    def visible() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(visible, timeout=timeout)
    dialog = found[-1]
    qtbot.waitUntil(dialog.isActiveWindow, timeout=timeout)
    return dialog


def alive(widget: QWidget) -> bool:
    """The C++ side still exists (closed dialogs are deleted once their flow ends)."""
    return bool(shiboken6.isValid(widget))


def wait_closed(qtbot: QtBot, widget: QWidget, timeout: int = 10000) -> None:
    """Until ``widget`` closed (or was already deleted) and the keyboard went somewhere
    else (the window under it, or the next dialog)."""
    qtbot.waitUntil(lambda: not alive(widget) or not widget.isVisible(), timeout=timeout)
    if alive(widget) and widget.parentWidget() is None:
        return

    def focus_moved() -> bool:
        current = QApplication.focusWidget()
        return current is not None and current.window() is not widget and current.window().isVisible()

    qtbot.waitUntil(focus_moved, timeout=timeout)
