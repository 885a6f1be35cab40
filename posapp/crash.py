"""The last line of defence: an exception nobody caught is written to the log and the user is told where.

A cashier cannot read a traceback, and a technician cannot fix what was never written
down. :func:`install_crash_handler` hooks the three places an uncaught exception can end
up in this app: the main thread (``sys.excepthook``, which PySide6 also calls for an
exception raised inside a slot), other threads (``threading.excepthook``) and the asyncio
loop that qasync runs (``loop.set_exception_handler``). Each writes the traceback through
the redaction of :mod:`posapp.logging_setup` (no tokens, no full CPFs) to the log file and
then calls ``show_message`` with a short Portuguese text that names the log file.

``faulthandler`` is pointed at ``<log>.fault`` as well, so a hard crash inside Qt or a C
library (which no Python hook sees) still leaves the Python stacks behind. Every file written
here is ``0600`` in a ``0700`` folder (:mod:`posapp.files`), like the log itself.
"""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from posapp.files import private_dir, private_opener
from posapp.logging_setup import redact

if TYPE_CHECKING:  # annotations only: asyncio costs ~15 ms at every start
    import asyncio

__all__ = ["CrashHandler", "crash_message", "install_crash_handler"]

log = logging.getLogger("posapp.crash")

ShowMessage = Callable[[str], None]


def crash_message(log_path: Path) -> str:
    """What the user reads after a crash, in Portuguese, naming the log file."""
    return (
        "O posapp encontrou um erro inesperado.\n"
        "Nenhuma venda já registrada foi perdida: as vendas ficam gravadas no diário.\n"
        f"Os detalhes técnicos foram gravados em:\n{log_path}\n"
        "Envie esse arquivo ao suporte técnico."
    )


def _format(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> str:
    return "".join(traceback.format_exception(exc_type, exc, tb))


@dataclass
class CrashHandler:
    """The installed hooks; :meth:`uninstall` puts the previous ones back (tests, shutdown)."""

    log_path: Path
    show_message: ShowMessage | None
    _previous_excepthook: Callable[..., Any] = field(default=sys.excepthook, repr=False)
    _previous_threading_hook: Callable[..., Any] = field(default=threading.excepthook, repr=False)
    _fault_file: IO[str] | None = field(default=None, repr=False)
    _loops: list[asyncio.AbstractEventLoop] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- writing ------------------------------------------------------------------------

    def report(
        self, title: str, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        """Write ``title`` and the redacted traceback to the log, then tell the user."""
        text = _format(exc_type, exc, tb)
        with self._lock:
            self._write(f"{title}\n{text}")
        self._tell_user()

    def _write(self, text: str) -> None:
        """Through logging when a handler writes our file (keeps rotation sane); else directly."""
        if self._logging_reaches_file():
            log.critical("%s", text.rstrip("\n"))
            for handler in logging.getLogger().handlers:
                handler.flush()
            return
        try:
            private_dir(self.log_path.parent)
            with open(self.log_path, "a", encoding="utf-8", opener=private_opener) as stream:
                stream.write(redact(text))
                if not text.endswith("\n"):
                    stream.write("\n")
        except OSError:  # the disk is gone: stderr is all that is left
            sys.stderr.write(redact(text))

    def _logging_reaches_file(self) -> bool:
        if not log.isEnabledFor(logging.CRITICAL):
            return False
        target = str(self.log_path.resolve())
        return any(
            getattr(handler, "baseFilename", None) == target for handler in logging.getLogger().handlers
        )

    def _tell_user(self) -> None:
        message = crash_message(self.log_path)
        if self.show_message is None:
            sys.stderr.write(message + "\n")
            return
        try:
            self.show_message(message)
        except Exception:  # the dialog itself failed (no display, Qt torn down): fall back
            sys.stderr.write(message + "\n")

    # --- hooks ----------------------------------------------------------------------------

    def _excepthook(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):  # Ctrl+C is a request, not a crash
            self._previous_excepthook(exc_type, exc, tb)
            return
        self.report("Uncaught exception (main thread)", exc_type, exc, tb)

    def _threading_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "?"
        self.report(f"Uncaught exception in thread {name}", args.exc_type, args.exc_value, args.exc_traceback)

    def asyncio_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """``loop.set_exception_handler`` target: a task or callback failed with nobody awaiting it."""
        exc = context.get("exception")
        where = redact(str(context.get("message", "asyncio error")))
        if isinstance(exc, BaseException):
            self.report(f"Unhandled exception in asyncio: {where}", type(exc), exc, exc.__traceback__)
            return
        # No exception object (e.g. "Task was destroyed but it is pending"): log, no dialog.
        details = ", ".join(f"{k}={v!r}" for k, v in context.items() if k != "message")
        with self._lock:
            self._write(f"asyncio: {where} {details}")

    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Route a loop's unhandled exceptions here (call once the qasync loop exists)."""
        loop.set_exception_handler(self.asyncio_handler)
        self._loops.append(loop)

    def install(
        self, loop: asyncio.AbstractEventLoop | None = None, *, enable_faulthandler: bool = True
    ) -> None:
        self._previous_excepthook = sys.excepthook
        self._previous_threading_hook = threading.excepthook
        sys.excepthook = self._excepthook
        threading.excepthook = self._threading_hook
        if loop is not None:
            self.attach_loop(loop)
        if enable_faulthandler:
            self._enable_faulthandler()

    def _enable_faulthandler(self) -> None:
        try:
            private_dir(self.log_path.parent)
            self._fault_file = open(  # noqa: SIM115 - must stay open for the process lifetime
                self.log_path.with_name(self.log_path.name + ".fault"),
                "a",
                encoding="utf-8",
                opener=private_opener,
            )
            faulthandler.enable(self._fault_file, all_threads=True)
        except (OSError, RuntimeError, ValueError):
            self._fault_file = None  # no stderr fileno under some GUI launchers: skip

    def uninstall(self) -> None:
        sys.excepthook = self._previous_excepthook
        threading.excepthook = self._previous_threading_hook
        for loop in self._loops:
            if not loop.is_closed():
                loop.set_exception_handler(None)
        self._loops.clear()
        if self._fault_file is not None:
            faulthandler.disable()
            self._fault_file.close()
            self._fault_file = None


def install_crash_handler(
    log_path: Path,
    show_message: ShowMessage | None = None,
    *,
    loop: asyncio.AbstractEventLoop | None = None,
    enable_faulthandler: bool = True,
) -> CrashHandler:
    """Install the hooks and return them.

    ``log_path`` is normally what :func:`posapp.logging_setup.setup_logging` returned.
    ``show_message`` shows the text to the user (the GUI passes a ``QMessageBox``); when
    ``None`` the text goes to stderr. Pass ``loop`` (or call :meth:`CrashHandler.attach_loop`
    later) to cover exceptions of asyncio tasks nobody awaits.

    ``show_message`` may be called from any thread (``threading.excepthook`` runs in the
    failing thread): a Qt caller must hand the text to the GUI thread (a queued signal)
    rather than open a dialog directly. ``enable_faulthandler=False`` leaves
    :mod:`faulthandler` alone (for test runners that own it).
    """
    handler = CrashHandler(log_path=log_path, show_message=show_message)
    handler.install(loop, enable_faulthandler=enable_faulthandler)
    _installed[:] = [handler]
    return handler


_installed: list[CrashHandler] = []  # the one the process entry installed, if any


def installed_handler() -> CrashHandler | None:
    """The handler the process entry installed, so the GUI can attach its event loop."""
    return _installed[-1] if _installed else None
