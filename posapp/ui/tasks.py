"""Running coroutines from Qt without losing them.

qasync 0.28's ``asyncSlot`` does not keep a reference to the task it starts (the loop only
holds a weak one), so a slot's coroutine can be garbage-collected mid-flight. Here every
task is kept in :data:`_RUNNING` until it ends, and an exception is reported through
``sys.excepthook`` (which pytest-qt turns into a test failure, and the app logs).

:func:`run_dialog` opens a dialog *window-modally* with ``open()`` and awaits its result:
no nested ``exec()`` loop, so the asyncio loop keeps running (timers, network, the status
bar) while the dialog is up.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from posapp.ui.qt import QDialog

log = logging.getLogger("posapp.ui")

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")

_RUNNING: set[asyncio.Task[Any]] = set()


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
        return spawn(fn(self, *trimmed, **kwargs))

    return cast("Callable[Concatenate[S, P], asyncio.Task[R]]", wrapper)


async def run_dialog(dialog: QDialog) -> int:
    """Show ``dialog`` window-modal and await ``accept()``/``reject()`` (returns the code)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()

    def done(result: int) -> None:
        if not future.done():
            future.set_result(result)

    dialog.finished.connect(done)
    dialog.open()
    dialog.activateWindow()  # a parentless dialog (login) must take the keyboard too
    try:
        return await future
    finally:
        dialog.finished.disconnect(done)
        parent = dialog.parentWidget()
        if parent is not None and parent.isVisible():
            parent.window().activateWindow()  # the keyboard goes back where it was
