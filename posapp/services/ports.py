"""What the services need from the edges, as small protocols (the adapters live elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from posapp.domain.issuance import CancelOutcome, Health, Outcome
from posapp.domain.taxes import ApproxTaxes
from posapp.fiscal.port import FiscalBackend


class IssuerRouter(Protocol):
    """Chooses issuers in configured order, skipping those whose circuit is open."""

    def ordered_for_issue(self) -> list[FiscalBackend]: ...

    def record(
        self, backend_name: str, outcome: Outcome | CancelOutcome, *, retry_after_s: float | None = None
    ) -> None: ...

    def get(self, name: str) -> FiscalBackend: ...

    @property
    def backends(self) -> Sequence[FiscalBackend]: ...

    async def probe_all(self) -> dict[str, Health]: ...


@dataclass(frozen=True, slots=True)
class CancelledMark:
    protocolo: str | None
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class PrintResult:
    ok: bool
    error: str | None  # Portuguese, for the cashier
    data: bytes | None  # the ESC/POS bytes rendered (for the on-screen preview)


class ReceiptPrinter(Protocol):
    """Renders and prints through the spool; never raises for printer trouble."""

    @property
    def uri(self) -> str: ...

    async def print_danfe(
        self,
        sale_id: str,
        *,
        xml: bytes | None,
        pdf: bytes | None,
        had_cash: bool,
        cancelled: CancelledMark | None = None,
        kind: str = "danfe",
        approx_taxes: ApproxTaxes | None = None,
    ) -> PrintResult: ...

    async def print_bytes(self, data: bytes, *, kind: str, sale_id: str | None = None) -> PrintResult: ...

    async def aclose(self) -> None: ...
