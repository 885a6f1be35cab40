"""The ``FiscalBackend`` port: what every issuer (Emites-Client, Focus NFe, Integra Notas)
offers the services. Its value types (outcomes, notes, prepared requests) are domain types:
:mod:`posapp.domain.issuance`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from posapp.domain.issuance import (
    CancelResult,
    CancelTarget,
    Capabilities,
    Health,
    IssueContext,
    IssueResult,
    PreparedIssue,
)


@runtime_checkable
class FiscalBackend(Protocol):
    """An issuer. ``name`` is stable and stored with every request it was sent."""

    name: str

    @property
    def capabilities(self) -> Capabilities: ...

    def prepare_issue(self, context: IssueContext) -> PreparedIssue:
        """Build the exact request. Pure; raises a :class:`~posapp.domain.errors.DomainError`
        subclass or a protocol ``LocalProtocolError`` on input it cannot send."""
        ...

    async def send_issue(self, prepared: PreparedIssue) -> IssueResult:
        """Send a prepared request. Never raises for network trouble: it answers
        ``NOT_SENT`` only when sure no byte of the request left."""
        ...

    async def query_issue(self, prepared: PreparedIssue) -> IssueResult:
        """Reconcile a request whose answer was lost: ask the issuer what became of it.
        ``NOT_SENT`` here means the issuer says it never got it (safe to resend)."""
        ...

    async def cancel(self, target: CancelTarget, motivo: str) -> CancelResult: ...

    async def probe(self) -> Health:
        """A cheap reachability check for the circuit breaker and the status bar."""
        ...

    async def aclose(self) -> None: ...
