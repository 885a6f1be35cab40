"""What the cashier or the scanner typed in the code field, and the queue that holds scans.

``3*7891000315507`` sells three; ``0,5*1020`` half a kilo. A scan that arrives while a
dialog is open (or while the previous sale is being issued) waits in :class:`ScanQueue`
and is handled, in order, once the checkout is ready again: nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from posapp.domain.money import round_quantity
from posapp.ui.errors import UiError
from posapp.ui.formatting import parse_decimal

_ENTRY = re.compile(r"^\s*(?:(?P<qty>[0-9]+(?:[.,][0-9]+)?)\s*\*\s*)?(?P<code>[^\s*]+)\s*$")
MAX_QUANTITY = Decimal(9999)
log = logging.getLogger("posapp.ui")


class EntryError(UiError, ValueError):
    """The typed entry cannot be read; the message is Portuguese and is the user message."""

    def __init__(self, message: str) -> None:
        super().__init__(message, user_message=message)


@dataclass(frozen=True, slots=True)
class Entry:
    code: str
    quantity: Decimal | None  # None: not given (1, or what a scale label says)


def parse_entry(text: str) -> Entry:
    match = _ENTRY.match(text)
    if not match:
        raise EntryError("Digite ou leia um código (ex.: 3*7891000315507).")
    quantity: Decimal | None = None
    if match["qty"] is not None:
        quantity = parse_decimal(match["qty"])
        if quantity is None or quantity <= 0:
            raise EntryError("Quantidade inválida.")
        if quantity > MAX_QUANTITY:
            raise EntryError(f"Quantidade máxima por item: {MAX_QUANTITY}.")
        if round_quantity(quantity) != quantity:
            raise EntryError("Quantidade aceita no máximo 4 casas decimais.")
    return Entry(match["code"], quantity)


_MULTIPLIER = re.compile(r"^\s*(?P<qty>[0-9]+(?:[.,][0-9]+)?)\s*\*\s*")


def split_multiplier(text: str) -> tuple[str, str]:
    """``"3*arroz"`` -> ``("3", "arroz")``; ``"3*"`` -> ``("3", "")``; no multiplier ->
    ``("", text)``. The quantity typed before a search (F2) applies to the product picked."""
    match = _MULTIPLIER.match(text)
    if match is None:
        return "", text
    return match["qty"], text[match.end() :]


def with_multiplier(quantity: str, code: str) -> str:
    """The code field's entry for ``code`` with the typed ``quantity`` (``3*1020``)."""
    return f"{quantity}*{code}" if quantity else code


class ScanQueue:
    """Codes in arrival order, handled one at a time while the gate is open.

    ``hold()``/``release()`` nest (a dialog over a dialog): the gate opens when the last
    holder releases. The gate stops the codes pushed *after* the first ``hold()``; codes
    already pushed are still handled, and a flow that reads the cart (pay, void, abort)
    awaits :meth:`wait_settled` after holding: the item scanned just before F10 is in that
    sale, not rung up into the next one once the payment is over.
    """

    def __init__(self, handler: Callable[[str], Awaitable[None]]) -> None:
        self._handler = handler
        self._queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self._gate = asyncio.Event()
        self._gate.set()
        self._holds = 0
        self._pushed = 0  # codes ever pushed (the next one's sequence number)
        self._handled = 0  # codes ever handled, in order
        self._barrier = 0  # codes numbered below this pass a closed gate
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def push(self, code: str) -> None:
        self._idle.clear()
        self._queue.put_nowait((self._pushed, code))
        self._pushed += 1

    @property
    def pending(self) -> int:
        """Codes pushed and not handled yet (waiting, or held at the gate)."""
        return self._pushed - self._handled

    @property
    def held(self) -> bool:
        return self._holds > 0

    def hold(self) -> None:
        if self._holds == 0:
            self._barrier = self._pushed  # what was scanned before the hold still counts
        self._holds += 1
        self._gate.clear()

    def release(self) -> None:
        self._holds = max(self._holds - 1, 0)
        if self._holds == 0:
            self._gate.set()

    async def wait_settled(self) -> None:
        """Until every code pushed before the current hold was handled (at once when not
        held). Only meaningful while the queue runs."""
        async with self._progress:
            await self._progress.wait_for(lambda: self._handled >= self._barrier or not self.held)

    async def wait_idle(self) -> None:
        """Until every pushed code was handled (tests and benchmarks)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            number, code = await self._queue.get()
            if number >= self._barrier:
                await self._gate.wait()
            try:
                await self._handler(code)
            except Exception as exc:  # a bug in one scan must not stop the scanner
                log.exception("scan %r failed", code)
                sys.excepthook(type(exc), exc, exc.__traceback__)
            finally:
                self._handled += 1
                if self._queue.empty():
                    self._idle.set()
            async with self._progress:
                self._progress.notify_all()
