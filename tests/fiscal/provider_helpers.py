"""What the provider adapter tests share: a hand-moved clock and short ways to drive a backend.

Every backend here talks to a real loopback simulator; these helpers only remove the
event-loop and close-the-client boilerplate around that, so each test reads as its scenario.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import aclosing
from typing import Any, TypeVar

from posapp.domain.issuance import IssueContext, IssueResult
from posapp.fiscal.port import FiscalBackend

T = TypeVar("T")

__all__ = ["FakeClock", "issue_once", "run"]


class FakeClock:
    """A monotonic (or epoch) clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one scenario on a fresh event loop (the adapters' clients live and die inside it)."""
    return asyncio.run(coro)


async def issue_once(backend: FiscalBackend, context: IssueContext) -> IssueResult:
    """Prepare and send one issue, then close the backend's client whatever happened."""
    async with aclosing(backend):
        return await backend.send_issue(backend.prepare_issue(context))
