"""Start the GUI: a QApplication, one qasync loop on the GUI thread, the operator login,
then the checkout window until it is closed.

Start-up order: open ``store.sqlite3`` and the journal (off the GUI thread), recover
interrupted issues (``PosService.start``, here and only here: a settings change later
builds a new service but does not recover again), ask for the operator (or create the first
manager), show the checkout. Shutdown reverses it: stop polls and scanners, close the
service (issuers, printer spool) and the store.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from posapp.config import Config
from posapp.ui.context import AppContext, ServiceFactory
from posapp.ui.main_window import MainWindow, demo_hint
from posapp.ui.qt import QApplication, QDialog, QEventLoop, QIcon, known_binding_problem
from posapp.ui.tasks import dispose_when_idle, run_dialog
from posapp.ui.widgets import fill_screen

log = logging.getLogger("posapp.ui")


def default_config_path() -> Path:
    """Where the settings dialog saves (the command line reads the same file)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("posapp", appauthor=False)) / "posapp.toml"


def ensure_app() -> QApplication:
    """The QApplication, with the counter theme; created once per process."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("posapp")
    app.setOrganizationName("posapp")
    app.setQuitOnLastWindowClosed(False)  # the login dialog closing must not end the loop
    problem = known_binding_problem()
    if problem:
        log.error("%s", problem)
    try:
        from posapp.resources import icon_path, load_stylesheet

        app.setStyleSheet(load_stylesheet())
        app.setWindowIcon(QIcon(str(icon_path(256))))
    except Exception as exc:  # a missing theme is ugly, not fatal
        log.warning("theme not loaded: %s", exc)
    return app


async def login(ctx: AppContext) -> bool:
    """Ask who is at the counter; the first start creates the manager."""
    from posapp.ui.dialogs import FirstManagerDialog, LoginDialog

    if not await ctx.store.run(ctx.operators.has_any):
        first = FirstManagerDialog(ctx.store, ctx.operators)
        created = await run_dialog(first) == QDialog.DialogCode.Accepted
        dispose_when_idle(first)
        if not created:
            return False
    dialog = LoginDialog(ctx.store, ctx.operators, hint=demo_hint(ctx), at_start=True)
    accepted = await run_dialog(dialog) == QDialog.DialogCode.Accepted
    operator = dialog.operator
    dispose_when_idle(dialog)  # parentless: nothing else would ever delete it
    if not accepted or operator is None:
        return False
    ctx.operator = operator
    return True


async def open_context(
    config: Config,
    data_dir: Path,
    *,
    service_factory: ServiceFactory,
    demo: bool = False,
    config_path: Path | None = None,
) -> AppContext:
    ctx = await asyncio.to_thread(
        AppContext.open,
        config,
        data_dir,
        service_factory=service_factory,
        config_path=config_path,
        demo=demo,
    )
    try:
        moved = await ctx.start()
    except BaseException:
        await ctx.aclose()
        raise
    for sale_id in moved:
        log.warning("sale %s was interrupted by a crash and is now in doubt", sale_id)
    return ctx


async def gui_main(
    config: Config,
    data_dir: Path,
    *,
    service_factory: ServiceFactory,
    demo: bool = False,
    config_path: Path | None = None,
    on_window: Callable[[MainWindow], Awaitable[None]] | None = None,
) -> int:
    ctx = await open_context(
        config,
        data_dir,
        service_factory=service_factory,
        demo=demo,
        config_path=config_path,
    )
    try:
        if not await login(ctx):
            return 0
        window = MainWindow(ctx)
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_closed() -> None:
            if not closed.done():
                closed.set_result(None)

        window.closed.connect(on_closed)
        fill_screen(window)  # a till's screen is the checkout's (1024x768 is common)
        window.showMaximized()
        window.start()
        from posapp.ui.daily_backup import run_daily_backups  # its first check is a minute away

        # The daily backup to [backup] folder, in a worker thread (posapp/ui/daily_backup.py).
        backups = asyncio.ensure_future(
            run_daily_backups(
                lambda: ctx.config, data_dir, on_failure=lambda text: window.say(text, "warning")
            )
        )
        try:
            if on_window is not None:
                await on_window(window)
            await closed
        finally:
            backups.cancel()
        await window.shutdown()
        window.deleteLater()
    finally:
        await ctx.aclose()
    return 0


def run_loop(main: Callable[[], Awaitable[int]]) -> int:
    """Run ``main()`` on a qasync loop over the QApplication."""
    # What is alive now is the program itself (modules, classes, the configuration): the
    # collector need not walk it again at every full collection, the first of which would
    # otherwise fall in the middle of opening the till (~10 ms) and later ones between scans.
    gc.freeze()
    app = ensure_app()
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    from posapp.crash import installed_handler  # the entry (cli.run) has imported it already

    handler = installed_handler()
    if handler is not None:  # exceptions of tasks nobody awaits reach the log too
        handler.attach_loop(loop)
    try:
        with loop:
            return int(loop.run_until_complete(main()))
    finally:
        asyncio.set_event_loop(None)
