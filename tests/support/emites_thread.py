"""The Emites-Client simulator on its own event loop, in a background thread.

The service under test runs its own loop (``asyncio.run`` in the test, or a subprocess
for the crash test), so the simulator must not share it: a test that blocks its loop, or a
worker that is SIGKILLed, must not take the daemon down with it. The simulator can be
stopped (connections refused: "Emites-Client down") and started again on the same port
without losing the notes it issued, which is what an outage looks like from the till.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from posapp.sim.emites import EmitesSimulator, ReceivedRequest
from posapp.sim.emites_engine import EmitesFaults, IssuedNote

T = TypeVar("T")


class EmitesInThread:
    """Owns a loop thread and one :class:`EmitesSimulator` served on it."""

    def __init__(self, simulator: EmitesSimulator | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-emites-loop", daemon=True)
        self._thread.start()
        # Built on the loop's thread: asyncio objects inside it belong to that loop.
        self.simulator = simulator if simulator is not None else self._call(_make_simulator)
        self.port = 0
        self.up = False

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> int:
        """Listen (on the port used before, if any) and return it."""
        self.port = self._run(self.simulator.start("127.0.0.1", self.port))
        self.up = True
        return self.port

    def stop(self) -> None:
        """Close the listener and every connection: new connects are refused."""
        if self.up:
            self._run(self.simulator.stop())
            self.up = False

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- evidence ----------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    @property
    def faults(self) -> EmitesFaults:
        return self.simulator.faults

    def notes(self) -> list[IssuedNote]:
        """Every note issued so far (a copy, taken on the simulator's loop)."""
        return self._call(lambda: list(self.simulator.notes.values()))

    def requests(self) -> list[ReceivedRequest]:
        return self._call(lambda: list(self.simulator.requests))

    # -- plumbing ----------------------------------------------------------------------

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _call(self, fn: Callable[[], T]) -> T:
        async def on_loop() -> T:
            return fn()

        return self._run(on_loop())


def _make_simulator() -> EmitesSimulator:
    return EmitesSimulator()
