"""The states of a sale and the only moves between them (DESIGN §4).

``QUEUED`` means *nothing left this machine*: safe to send anywhere, later.
``IN_DOUBT`` means *a request left and no definitive answer came back*: it must be
reconciled with the issuer that got it before anything else is sent. Only ``QUEUED``
and ``REJECTED`` may be sent again; that rule lives here, as a table.
"""

from __future__ import annotations

from enum import StrEnum

from posapp.domain.errors import IllegalTransition


class SaleState(StrEnum):
    OPEN = "open"
    ISSUING = "issuing"
    AUTHORIZED = "authorized"
    REJECTED = "rejected"
    QUEUED = "queued"
    IN_DOUBT = "in_doubt"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    VOIDED = "voided"  # a never-issued sale abandoned by a manager

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    SaleState.OPEN: "Em aberto",
    SaleState.ISSUING: "Emitindo",
    SaleState.AUTHORIZED: "Autorizada",
    SaleState.REJECTED: "Rejeitada",
    SaleState.QUEUED: "Na fila",
    SaleState.IN_DOUBT: "Em dúvida",
    SaleState.CANCELLING: "Cancelando",
    SaleState.CANCELLED: "Cancelada",
    SaleState.VOIDED: "Descartada",
}

S = SaleState
TRANSITIONS: dict[SaleState, frozenset[SaleState]] = {
    S.OPEN: frozenset({S.ISSUING, S.QUEUED, S.VOIDED}),
    # An issue attempt ends in exactly one of these.
    S.ISSUING: frozenset({S.AUTHORIZED, S.REJECTED, S.QUEUED, S.IN_DOUBT}),
    # Safe to resend: nothing reached an issuer (QUEUED) or the issuer said no (REJECTED).
    S.QUEUED: frozenset({S.ISSUING, S.VOIDED}),
    S.REJECTED: frozenset({S.ISSUING, S.QUEUED, S.VOIDED}),  # QUEUED: corrected, no issuer now
    # Reconciliation with the issuer that got the request decides; never a blind resend.
    S.IN_DOUBT: frozenset({S.AUTHORIZED, S.REJECTED, S.QUEUED, S.CANCELLED}),
    S.AUTHORIZED: frozenset({S.CANCELLING}),
    # A cancel whose answer was lost stays CANCELLING; resending a cancel is harmless.
    S.CANCELLING: frozenset({S.CANCELLED, S.AUTHORIZED}),
    S.CANCELLED: frozenset(),
    S.VOIDED: frozenset(),
}

RESENDABLE = frozenset({S.QUEUED, S.REJECTED})
FINAL = frozenset({S.CANCELLED, S.VOIDED})
NEEDS_ATTENTION = frozenset({S.REJECTED, S.IN_DOUBT, S.CANCELLING})


def check_transition(current: SaleState, new: SaleState) -> None:
    """Raise :class:`IllegalTransition` unless the table allows ``current -> new``."""
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(
            f"illegal sale transition {current} -> {new}",
            user_message=f"Operação não permitida: venda está '{current.label}'.",
        )
