"""One flow at a time: the decorator a checkout key's flow wears, and the base of the flow
classes the checkout window composes (the cart's keys, the sale's issue, the back office).

A flow is a coroutine started from a key. The window's guard is taken *synchronously* when
the key arrives (:meth:`MainWindow.start_flow <posapp.ui.main_window.MainWindow.start_flow>`),
so a double press cannot open two dialogs or write two audit rows; the flow classes only
hold the window and run their flows under that one guard.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from posapp.ui.main_window import MainWindow

SALE_OPEN = "Finalize ou descarte a venda (F7) antes de {what}."

FlowMaker = Callable[[], Coroutine[Any, Any, None]]


class FlowHost(Protocol):
    """What runs a key's flow: the window itself, or a flow class it composes."""

    def start_flow(self, name: str, make: FlowMaker) -> asyncio.Task[None] | None: ...


Host = TypeVar("Host", bound=FlowHost)


def checkout_flow(
    fn: Callable[[Host], Coroutine[Any, Any, None]],
) -> Callable[..., asyncio.Task[None] | None]:
    """A key's flow: refused at once while another runs (or the window is going away).

    The check and the claim happen in the key's own call, before any coroutine starts;
    qasync would otherwise start both coroutines of a double press before either ran.
    Returns the flow's task, or ``None`` when it was refused.
    """

    @functools.wraps(fn)
    def start(host: Host, *_signal_args: object) -> asyncio.Task[None] | None:
        return host.start_flow(fn.__name__, lambda: fn(host))

    return start


class WindowFlows:
    """Flows of the checkout window kept in a class of their own; they run under the
    window's guard and use its dialogs, messages and manager check."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def start_flow(self, name: str, make: FlowMaker) -> asyncio.Task[None] | None:
        return self.window.start_flow(name, make)
