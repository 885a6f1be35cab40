"""What the use cases answer: plain frozen data the CLI prints and the GUI shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from posapp.domain.issuance import CancelOutcome
from posapp.domain.lifecycle import Notice, SaleState, state_notice


@dataclass(frozen=True, slots=True)
class NoteInfo:
    chave: str
    numero: int
    serie: int
    protocolo: str | None
    authorized_at: datetime
    contingency: bool = False


@dataclass(frozen=True, slots=True)
class IssueReport:
    """The outcome of an issue (or resend, or reconcile) of one sale."""

    sale_id: str
    state: SaleState
    backend: str | None
    note: NoteInfo | None = None
    cancel_deadline: datetime | None = None
    errors: tuple[str, ...] = ()  # Portuguese, for the cashier/manager
    message: str = ""  # one Portuguese sentence: what happened and what to do
    printed: bool | None = None  # None: not asked to print
    print_error: str | None = None
    receipt: bytes | None = None  # the ESC/POS bytes sent (the GUI previews them)
    notice: Notice | None = None  # what the last move told the person (None: what the state says)

    @property
    def verdict(self) -> Notice:
        return self.notice or state_notice(self.state)


@dataclass(frozen=True, slots=True)
class CancelReport:
    sale_id: str
    state: SaleState  # CANCELLED, or AUTHORIZED when refused, CANCELLING when in doubt
    backend: str | None
    outcome: CancelOutcome
    protocolo: str | None = None
    cancelled_at: datetime | None = None
    errors: tuple[str, ...] = ()
    message: str = ""
    notice: Notice | None = None

    @property
    def verdict(self) -> Notice:
        return self.notice or state_notice(self.state)


@dataclass(frozen=True, slots=True)
class SaleSummary:
    """One row of the sales history."""

    sale_id: str
    created_at: datetime
    state: SaleState
    total: Decimal
    operator: str | None
    backend: str | None
    chave: str | None
    numero: int | None
    serie: int | None
    authorized_at: datetime | None
    cancel_deadline: datetime | None
    last_error: str | None = None
    had_cash: bool = False
    payments: tuple[tuple[str, Decimal], ...] = field(default=())  # (tPag code, amount)
    pinned_backend: str | None = None  # an issuer that may still hold it: resend only there
    archived: str | None = None  # "YYYY-MM": its documents are in that month's archive file
    #: An offline-contingency note not yet authorized: its cancel window has not started
    #: (``cancel_deadline`` is None) and a cancel is not refused locally.
    window_pending: bool = False


@dataclass(frozen=True, slots=True)
class DrainReport:
    attempted: int
    authorized: int
    rejected: int
    still_queued: int
    in_doubt: int


@dataclass(frozen=True, slots=True)
class CatchUpReport:
    """One round of catching up: in-doubt sales asked about, then the queue drained."""

    reconciled: tuple[IssueReport, ...]
    drained: DrainReport | None  # None: nothing was queued, or no issuer answered a probe

    @property
    def settled(self) -> int:
        """In-doubt sales whose outcome is now known (authorized, rejected, or back in the queue)."""
        return sum(1 for r in self.reconciled if r.state is not SaleState.IN_DOUBT)

    @property
    def still_in_doubt(self) -> int:
        return sum(1 for r in self.reconciled if r.state is SaleState.IN_DOUBT)


@dataclass(frozen=True, slots=True)
class QueueStatus:
    queued: int
    in_doubt: int
    oldest_queued_at: datetime | None
    contingency_deadline_warning: bool  # the oldest is close to the contingency limit
