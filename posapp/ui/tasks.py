"""Running coroutines from Qt without losing them.

qasync 0.28's ``asyncSlot`` does not keep a reference to the task it starts (the loop only
holds a weak one), so a slot's coroutine can be garbage-collected mid-flight. Here every
task is kept in :data:`_RUNNING` until it ends, and an exception is reported through
``sys.excepthook`` (which pytest-qt turns into a test failure, and the app logs).

:func:`run_dialog` opens a dialog *window-modally* with ``open()`` and awaits its result:
no nested ``exec()`` loop, so the asyncio loop keeps running (timers, network, the status
bar) while the dialog is up. :func:`open_dialog` is the same without the wait: the dialog is
open when it returns (so an error right after can close it again at once).

Every task an :func:`async_slot` starts is also remembered by the object it belongs to, so
a closed dialog is deleted (:func:`dispose_when_idle`) only once its own work is over:
Qt must not free a widget a coroutine is about to touch.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from posapp.ui.qt import QDialog, QObject

log = logging.getLogger("posapp.ui")

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")

_RUNNING: set[asyncio.Task[Any]] = set()
_OWNED = "_posapp_async_tasks"  # attribute holding the tasks an object's async slots started


def _finished(task: asyncio.Task[Any]) -> None:
    _RUNNING.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("unhandled error in a UI task", exc_info=exc)
        sys.excepthook(type(exc), exc, exc.__traceback__)


def spawn(coro: Coroutine[Any, Any, R]) -> asyncio.Task[R]:
    """Start ``coro`` on the running loop and keep it alive until it ends."""
    task = asyncio.ensure_future(coro)
    _RUNNING.add(task)
    task.add_done_callback(_finished)
    return task


def running_tasks() -> int:
    return len(_RUNNING)


def async_slot(
    fn: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], asyncio.Task[R]]:
    """Turn ``async def method(self, ...)`` into a Qt-connectable method returning its Task.

    Extra arguments a signal passes (``clicked(bool)``) are dropped to fit the method's
    signature, as qasync does.
    """
    params = list(inspect.signature(fn).parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        arity: int | None = None
    else:
        arity = sum(
            1
            for p in params
            if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        )

    @functools.wraps(fn)
    def wrapper(self: S, *args: P.args, **kwargs: P.kwargs) -> asyncio.Task[R]:
        trimmed: Any = args if arity is None else args[:arity]
        task = spawn(fn(self, *trimmed, **kwargs))
        remember(self, task)
        return task

    return cast("Callable[Concatenate[S, P], asyncio.Task[R]]", wrapper)


def remember(owner: object, task: asyncio.Task[Any]) -> None:
    """Note that ``task`` works for ``owner`` (until it ends)."""
    owned: set[asyncio.Task[Any]] | None = getattr(owner, _OWNED, None)
    if owned is None:
        owned = set()
        try:
            setattr(owner, _OWNED, owned)
        except (AttributeError, TypeError):  # an object without a __dict__: nothing to track
            return
    owned.add(task)
    task.add_done_callback(owned.discard)


def pending_tasks(owner: object) -> list[asyncio.Task[Any]]:
    """The tasks ``owner``'s async slots started that have not ended yet."""
    owned: set[asyncio.Task[Any]] = getattr(owner, _OWNED, set())
    return [task for task in owned if not task.done()]


def dispose_when_idle(widget: QObject) -> asyncio.Task[None]:
    """``deleteLater()`` once none of ``widget``'s own async slots is still running.

    A dialog parented to the main window lives as long as the window unless it is deleted;
    deleting it while one of its coroutines is mid-flight would make that coroutine touch a
    freed C++ object. The returned task ends when the widget was handed to Qt for deletion.
    """
    return spawn(_dispose(widget))


async def _dispose(widget: QObject) -> None:
    while pending := pending_tasks(widget):
        await asyncio.wait(pending)
    with contextlib.suppress(RuntimeError):  # Qt already deleted it (its parent went first)
        widget.deleteLater()


def open_dialog(dialog: QDialog) -> asyncio.Future[int]:
    """Show ``dialog`` window-modal *now* and return a future of its result code.

    The dialog is open when this returns, so a caller that must close it again (an error
    right after) can simply ``reject()`` it and await the future.
    """
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def done(result: int) -> None:
        if not future.done():
            future.set_result(result)

    def finished(_future: asyncio.Future[int]) -> None:
        with contextlib.suppress(RuntimeError):  # the dialog may be gone already
            dialog.finished.disconnect(done)
            parent = dialog.parentWidget()
            if parent is not None and parent.isVisible():
                parent.window().activateWindow()  # the keyboard goes back where it was

    dialog.finished.connect(done)
    future.add_done_callback(finished)
    dialog.open()
    dialog.activateWindow()  # a parentless dialog (login) must take the keyboard too
    return future


async def run_dialog(dialog: QDialog) -> int:
    """Show ``dialog`` window-modal and await ``accept()``/``reject()`` (returns the code)."""
    return await open_dialog(dialog)
