"""The lifecycle of a sale, in one table: every state, every move, and what a person is told.

Everything else asks this module. The journal persists a :class:`Move` (with a
compare-and-set); the services turn what happened into a :class:`Happening` and apply it;
the GUI and the CLI ask the predicates (:func:`can_resend`, :func:`can_cancel`, ...) and
read the Portuguese texts and exit codes from the tables at the bottom. A (state, happening)
pair the table does not name raises :class:`IllegalMove` and changes nothing.

The two promises, as the table keeps them:

* **No sale is lost.** A sale enters the table already stored (``OPEN``); every move
  appends an event in the same transaction.
* **No sale is issued twice.** Only ``QUEUED`` and ``REJECTED`` sales may be sent again.
  ``QUEUED`` means *nothing left this machine*: safe to send anywhere, later. ``IN_DOUBT``
  means *a request left and no definitive answer came back*: it must be reconciled with the
  issuer that got it. A sale that did reach an issuer once and came back to the queue
  (not found by a query, or a manager's word) is *pinned* to that issuer: it is resent only
  there, and cannot be voided, because that issuer may still authorize it.

::

    OPEN ──send──▶ ISSUING ──▶ AUTHORIZED ──cancel──▶ CANCELLING ──▶ CANCELLED
      │              │  │  └─▶ REJECTED ─(fix)─▶ ISSUING        └──▶ AUTHORIZED (refused)
      │              │  └────▶ QUEUED ──▶ ISSUING (any issuer, or the pinned one)
      │              └───────▶ IN_DOUBT ─(reconcile / manager)─▶ AUTHORIZED | REJECTED | QUEUED(pinned)
      └─(no issuer)─▶ QUEUED;   QUEUED | REJECTED ──void──▶ VOIDED (never sent again)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from posapp.domain.errors import IllegalMove
from posapp.domain.issuance import CancelOutcome, Outcome


class SaleState(StrEnum):
    OPEN = "open"
    ISSUING = "issuing"
    AUTHORIZED = "authorized"
    REJECTED = "rejected"
    QUEUED = "queued"
    IN_DOUBT = "in_doubt"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    VOIDED = "voided"  # a never-authorized sale abandoned by a manager

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


class Happening(StrEnum):
    """What happened to a sale. The value is the kind of the event appended."""

    # Issuing a sale.
    NO_ISSUER = "queued"  # a new sale nothing could be sent for
    SEND_STARTED = "issuing"  # the exact request is stored; it is about to leave
    ISSUE_AUTHORIZED = "authorized"
    ISSUE_REJECTED = "rejected"
    ISSUE_NOT_SENT = "not_sent"  # the request never left: free to try elsewhere
    ISSUE_IN_DOUBT = "in_doubt"  # it left; no definitive answer came back
    FAILED_AFTER_SEND = "failed_after_send"  # a bug, a storage fault, a cancelled task after the send
    RECOVERED_AFTER_CRASH = "recovered_in_doubt"  # found ISSUING at start-up
    CORRECTED_NO_ISSUER = "requeued"  # a corrected sale stored and queued: no issuer now
    # "Authorized", with a note that is not provably this sale's (another CNPJ, UF, model,
    # série/número, total, a bad check digit...): never trusted, never resent automatically.
    ISSUE_UNVERIFIED = "unverified_answer"
    # The série/número we reserved is already used at the issuer by another note: the request
    # was refused as a duplicate, nothing of ours was issued; send again with the next number.
    NUMBER_TAKEN = "number_taken"
    # Catching up with an issuer that got the request.
    RECONCILED_AUTHORIZED = "reconciled_authorized"
    RECONCILED_REJECTED = "reconciled_rejected"
    RECONCILED_NOT_FOUND = "reconciled_not_found"
    RECONCILE_INCONCLUSIVE = "reconcile_inconclusive"
    RECONCILED_UNVERIFIED = "reconciled_unverified"
    # A manager's word on a sale the issuer cannot be asked about.
    RESOLVED_ISSUED = "resolved_authorized"
    RESOLVED_NOT_ISSUED = "resolved_not_issued"
    VOIDED = "voided"
    # Cancelling an authorized note.
    CANCEL_SENT = "cancelling"
    CANCEL_RESENT = "cancel_retry"  # again, after a cancel whose answer never came
    CANCEL_CONFIRMED = "cancelled"
    CANCEL_ALREADY_DONE = "cancel_already_done"  # the issuer says the note is already cancelled
    CANCEL_REFUSED = "cancel_refused"
    CANCEL_NOT_SENT = "cancel_not_sent"
    CANCEL_IN_DOUBT = "cancel_in_doubt"
    RESOLVED_CANCELLED = "resolved_cancelled"
    RESOLVED_NOT_CANCELLED = "resolved_not_cancelled"


class Pin(StrEnum):
    """What a move does to the issuer a sale is tied to."""

    KEEP = "keep"
    SET = "set"  # tie it to the issuer that got its last request
    CLEAR = "clear"


class Notice(StrEnum):
    """What the person is told after a move; the texts are in :data:`NOTICE_TEXTS`."""

    ISSUING = "issuing"
    AUTHORIZED = "authorized"
    REJECTED = "rejected"
    QUEUED = "queued"
    IN_DOUBT = "in_doubt"
    INTERRUPTED = "interrupted"
    UNVERIFIED = "unverified"
    NUMBER_TAKEN = "number_taken"
    STILL_IN_DOUBT = "still_in_doubt"
    RETURNED_TO_QUEUE = "returned_to_queue"
    VOIDED = "voided"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    CANCEL_REFUSED = "cancel_refused"
    CANCEL_NOT_SENT = "cancel_not_sent"
    CANCEL_IN_DOUBT = "cancel_in_doubt"
    CANCEL_RECORDED = "cancel_recorded"
    STILL_AUTHORIZED = "still_authorized"


@dataclass(frozen=True, slots=True)
class Move:
    """One move of a sale: where it goes, the event appended, the pin, the notice."""

    source: SaleState
    happening: Happening
    target: SaleState
    pin: Pin
    notice: Notice

    @property
    def event(self) -> str:
        return self.happening.value

    @property
    def changes_state(self) -> bool:
        return self.source is not self.target


S = SaleState
H = Happening
N = Notice
# (state, happening) -> (next state, pin, notice). The whole lifecycle; nothing else decides.
_TABLE: dict[tuple[SaleState, Happening], tuple[SaleState, Pin, Notice]] = {
    # -- issuing -------------------------------------------------------------------------
    (S.OPEN, H.NO_ISSUER): (S.QUEUED, Pin.KEEP, N.QUEUED),
    (S.OPEN, H.SEND_STARTED): (S.ISSUING, Pin.KEEP, N.ISSUING),
    (S.QUEUED, H.SEND_STARTED): (S.ISSUING, Pin.KEEP, N.ISSUING),
    (S.REJECTED, H.SEND_STARTED): (S.ISSUING, Pin.KEEP, N.ISSUING),
    (S.ISSUING, H.ISSUE_AUTHORIZED): (S.AUTHORIZED, Pin.CLEAR, N.AUTHORIZED),
    (S.ISSUING, H.ISSUE_REJECTED): (S.REJECTED, Pin.CLEAR, N.REJECTED),
    # Known unsent: the sale waits in the queue, still tied to an issuer it was tied to.
    (S.ISSUING, H.ISSUE_NOT_SENT): (S.QUEUED, Pin.KEEP, N.QUEUED),
    (S.ISSUING, H.ISSUE_IN_DOUBT): (S.IN_DOUBT, Pin.KEEP, N.IN_DOUBT),
    (S.ISSUING, H.FAILED_AFTER_SEND): (S.IN_DOUBT, Pin.KEEP, N.IN_DOUBT),
    (S.ISSUING, H.RECOVERED_AFTER_CRASH): (S.IN_DOUBT, Pin.KEEP, N.INTERRUPTED),
    (S.ISSUING, H.ISSUE_UNVERIFIED): (S.IN_DOUBT, Pin.KEEP, N.UNVERIFIED),
    (S.ISSUING, H.NUMBER_TAKEN): (S.QUEUED, Pin.CLEAR, N.NUMBER_TAKEN),
    # Another process's start-up recovery guessed IN_DOUBT while the answer was on its way:
    # the issuer's real answer beats the guess.
    (S.IN_DOUBT, H.ISSUE_AUTHORIZED): (S.AUTHORIZED, Pin.CLEAR, N.AUTHORIZED),
    (S.IN_DOUBT, H.ISSUE_REJECTED): (S.REJECTED, Pin.CLEAR, N.REJECTED),
    (S.IN_DOUBT, H.ISSUE_NOT_SENT): (S.QUEUED, Pin.KEEP, N.QUEUED),
    (S.IN_DOUBT, H.ISSUE_IN_DOUBT): (S.IN_DOUBT, Pin.KEEP, N.IN_DOUBT),
    (S.IN_DOUBT, H.FAILED_AFTER_SEND): (S.IN_DOUBT, Pin.KEEP, N.IN_DOUBT),
    (S.IN_DOUBT, H.ISSUE_UNVERIFIED): (S.IN_DOUBT, Pin.KEEP, N.UNVERIFIED),
    (S.IN_DOUBT, H.NUMBER_TAKEN): (S.QUEUED, Pin.CLEAR, N.NUMBER_TAKEN),
    # A corrected sale (after a rejection) stored and queued because no issuer is up now.
    (S.REJECTED, H.CORRECTED_NO_ISSUER): (S.QUEUED, Pin.KEEP, N.QUEUED),
    (S.QUEUED, H.CORRECTED_NO_ISSUER): (S.QUEUED, Pin.KEEP, N.QUEUED),
    # -- catching up with the issuer that got the request ----------------------------------
    (S.IN_DOUBT, H.RECONCILED_AUTHORIZED): (S.AUTHORIZED, Pin.CLEAR, N.AUTHORIZED),
    (S.IN_DOUBT, H.RECONCILED_REJECTED): (S.REJECTED, Pin.CLEAR, N.REJECTED),
    # Not found *now*: the request did leave and may still be processed there, so the sale
    # goes back to the queue pinned to that issuer, never sent anywhere else.
    (S.IN_DOUBT, H.RECONCILED_NOT_FOUND): (S.QUEUED, Pin.SET, N.RETURNED_TO_QUEUE),
    (S.IN_DOUBT, H.RECONCILE_INCONCLUSIVE): (S.IN_DOUBT, Pin.KEEP, N.STILL_IN_DOUBT),
    (S.IN_DOUBT, H.RECONCILED_UNVERIFIED): (S.IN_DOUBT, Pin.KEEP, N.UNVERIFIED),
    # -- a manager's word -------------------------------------------------------------------
    (S.IN_DOUBT, H.RESOLVED_ISSUED): (S.AUTHORIZED, Pin.CLEAR, N.AUTHORIZED),
    (S.IN_DOUBT, H.RESOLVED_NOT_ISSUED): (S.QUEUED, Pin.SET, N.RETURNED_TO_QUEUE),
    (S.QUEUED, H.VOIDED): (S.VOIDED, Pin.KEEP, N.VOIDED),
    (S.REJECTED, H.VOIDED): (S.VOIDED, Pin.KEEP, N.VOIDED),
    # -- cancelling ----------------------------------------------------------------------
    (S.AUTHORIZED, H.CANCEL_SENT): (S.CANCELLING, Pin.KEEP, N.CANCELLING),
    # Resending a cancel whose answer never came is harmless: a second one that lands is
    # answered "already cancelled".
    (S.CANCELLING, H.CANCEL_RESENT): (S.CANCELLING, Pin.KEEP, N.CANCELLING),
    (S.CANCELLING, H.CANCEL_CONFIRMED): (S.CANCELLED, Pin.KEEP, N.CANCELLED),
    (S.CANCELLING, H.CANCEL_ALREADY_DONE): (S.CANCELLED, Pin.KEEP, N.CANCELLED),
    (S.CANCELLING, H.CANCEL_REFUSED): (S.AUTHORIZED, Pin.KEEP, N.CANCEL_REFUSED),
    (S.CANCELLING, H.CANCEL_NOT_SENT): (S.AUTHORIZED, Pin.KEEP, N.CANCEL_NOT_SENT),
    (S.CANCELLING, H.CANCEL_IN_DOUBT): (S.CANCELLING, Pin.KEEP, N.CANCEL_IN_DOUBT),
    (S.CANCELLING, H.RESOLVED_CANCELLED): (S.CANCELLED, Pin.KEEP, N.CANCEL_RECORDED),
    (S.CANCELLING, H.RESOLVED_NOT_CANCELLED): (S.AUTHORIZED, Pin.KEEP, N.STILL_AUTHORIZED),
    # Two cancels of one note raced (two tills, two processes): the issuer's word that the
    # note is cancelled wins over whatever the other answer made of it, and once CANCELLED,
    # no later answer can undo it.
    (S.AUTHORIZED, H.CANCEL_CONFIRMED): (S.CANCELLED, Pin.KEEP, N.CANCELLED),
    (S.AUTHORIZED, H.CANCEL_ALREADY_DONE): (S.CANCELLED, Pin.KEEP, N.CANCELLED),
    (S.CANCELLED, H.CANCEL_CONFIRMED): (S.CANCELLED, Pin.KEEP, N.CANCELLED),
    (S.CANCELLED, H.CANCEL_ALREADY_DONE): (S.CANCELLED, Pin.KEEP, N.CANCELLED),
    (S.CANCELLED, H.CANCEL_REFUSED): (S.CANCELLED, Pin.KEEP, N.CANCELLED),
    (S.CANCELLED, H.CANCEL_NOT_SENT): (S.CANCELLED, Pin.KEEP, N.CANCELLED),
    (S.CANCELLED, H.CANCEL_IN_DOUBT): (S.CANCELLED, Pin.KEEP, N.CANCELLED),
}
del S, H, N


def move(state: SaleState, happening: Happening) -> Move:
    """The move ``happening`` makes from ``state``; :class:`IllegalMove` if there is none."""
    try:
        target, pin, notice = _TABLE[(state, happening)]
    except KeyError:
        raise IllegalMove(
            f"no move for {happening.value!r} from {state.value!r}",
            user_message=f"Operação não permitida: a venda está '{state.label}'.",
        ) from None
    return Move(state, happening, target, pin, notice)


def accepts(state: SaleState, happening: Happening) -> bool:
    return (state, happening) in _TABLE


def sources_of(happening: Happening) -> frozenset[SaleState]:
    """The states a happening may come from (the journal's compare-and-set reads this)."""
    return frozenset(state for (state, h) in _TABLE if h is happening)


def move_authorizes(happening: Happening) -> bool:
    """Whether ``happening`` authorizes a sale that had no note (it brings one to store);
    a cancel found not to have happened also ends AUTHORIZED, but brings no note."""
    steps = [(source, target) for (source, h), (target, _, _) in _TABLE.items() if h is happening]
    return bool(steps) and all(
        target is SaleState.AUTHORIZED and source not in _HAS_NOTE for source, target in steps
    )


def moves() -> Iterable[Move]:
    """Every move of the table (for the diagram and the table-driven tests)."""
    return (move(state, happening) for (state, happening) in _TABLE)


# -- from an issuer's answer to a happening ------------------------------------------------

_AFTER_ISSUE = {
    Outcome.AUTHORIZED: Happening.ISSUE_AUTHORIZED,
    Outcome.REJECTED: Happening.ISSUE_REJECTED,
    Outcome.NOT_SENT: Happening.ISSUE_NOT_SENT,
    Outcome.IN_DOUBT: Happening.ISSUE_IN_DOUBT,
}
_AFTER_QUERY = {
    Outcome.AUTHORIZED: Happening.RECONCILED_AUTHORIZED,
    Outcome.REJECTED: Happening.RECONCILED_REJECTED,
    Outcome.NOT_SENT: Happening.RECONCILED_NOT_FOUND,
    Outcome.IN_DOUBT: Happening.RECONCILE_INCONCLUSIVE,
}

# SEFAZ's answers to a cancel of a note that is already cancelled: 218 "NF-e já está
# cancelada", 573 "Duplicidade de evento". They mean the cancel took effect.
_ALREADY_CANCELLED = re.compile(r"\b(218|573)\b|j[aá] est[aá] cancelad|duplicidade de evento", re.IGNORECASE)


def after_issue(outcome: Outcome) -> Happening:
    return _AFTER_ISSUE[outcome]


def after_query(outcome: Outcome) -> Happening:
    return _AFTER_QUERY[outcome]


def says_already_cancelled(errors: Iterable[str]) -> bool:
    return any(_ALREADY_CANCELLED.search(error) for error in errors)


def after_cancel(outcome: CancelOutcome, errors: Iterable[str] = ()) -> Happening:
    """What a cancel's answer means. A refusal that says the note is already cancelled (an
    earlier cancel of ours, or another till's, landed) is a cancel."""
    if outcome is CancelOutcome.CANCELLED:
        return Happening.CANCEL_CONFIRMED
    if outcome is CancelOutcome.REFUSED:
        return Happening.CANCEL_ALREADY_DONE if says_already_cancelled(errors) else Happening.CANCEL_REFUSED
    if outcome is CancelOutcome.NOT_SENT:
        return Happening.CANCEL_NOT_SENT
    return Happening.CANCEL_IN_DOUBT


def after_unsent_cancel(had_unanswered_cancel: bool) -> Happening:
    """A cancel that never left. If an earlier one went unanswered it may have landed: the
    note stays CANCELLING (in doubt), never back to plain AUTHORIZED."""
    return Happening.CANCEL_IN_DOUBT if had_unanswered_cancel else Happening.CANCEL_NOT_SENT


# -- predicates: what may be done with a sale in a state ---------------------------------

_RESENDABLE = frozenset({SaleState.QUEUED, SaleState.REJECTED})
_HAS_NOTE = frozenset({SaleState.AUTHORIZED, SaleState.CANCELLING, SaleState.CANCELLED})
_NEEDS_ATTENTION = frozenset({SaleState.REJECTED, SaleState.IN_DOUBT, SaleState.CANCELLING})
_FINAL = frozenset({SaleState.CANCELLED, SaleState.VOIDED})
_UNISSUED = frozenset({SaleState.QUEUED, SaleState.IN_DOUBT, SaleState.ISSUING})
_MAY_BE_ISSUED = frozenset(
    {SaleState.OPEN, SaleState.ISSUING, SaleState.QUEUED, SaleState.IN_DOUBT, SaleState.REJECTED}
)
_OUTCOME_UNKNOWN = frozenset({SaleState.ISSUING, SaleState.IN_DOUBT, SaleState.CANCELLING})
_RECEIVED = frozenset({SaleState.AUTHORIZED, SaleState.QUEUED, SaleState.IN_DOUBT, SaleState.CANCELLING})


def can_resend(state: SaleState) -> bool:
    """Safe to send (again): nothing reached an issuer, or the issuer said no."""
    return state in _RESENDABLE


def can_void(state: SaleState, pinned: bool) -> bool:
    """A manager may discard a sale never authorized, unless an issuer may still hold it."""
    return state in _RESENDABLE and not pinned


def can_cancel(state: SaleState) -> bool:
    """AUTHORIZED, or CANCELLING (to resend a cancel whose answer never came)."""
    return state in (SaleState.AUTHORIZED, SaleState.CANCELLING)


def can_reprint(state: SaleState) -> bool:
    return state in _HAS_NOTE


def has_note(state: SaleState) -> bool:
    return state in _HAS_NOTE


def takes_issue_answer(state: SaleState) -> bool:
    """Whether an issuer's answer to a send may still be recorded (ISSUING, or IN_DOUBT when
    recovery guessed first: the real answer beats the guess)."""
    return accepts(state, Happening.ISSUE_IN_DOUBT)


def can_resolve_issue(state: SaleState) -> bool:
    return state is SaleState.IN_DOUBT


def can_resolve_cancel(state: SaleState) -> bool:
    return state is SaleState.CANCELLING


def can_reconcile(state: SaleState) -> bool:
    return state is SaleState.IN_DOUBT


def needs_attention(state: SaleState) -> bool:
    """A person must look: rejected, in doubt, or a cancel whose answer never came."""
    return state in _NEEDS_ATTENTION


def is_final(state: SaleState) -> bool:
    return state in _FINAL


def can_archive(state: SaleState) -> bool:
    """Settled with a note for good (authorized, or cancelled): nothing can still happen to it
    that would need its documents in the live journal."""
    return state in (SaleState.AUTHORIZED, SaleState.CANCELLED)


def may_still_be_issued(state: SaleState) -> bool:
    """No note yet, and one may still come (open, being sent, queued, in doubt, rejected to be
    fixed): its série/número is not a gap, and its month's export lists it as pending."""
    return state in _MAY_BE_ISSUED


def outcome_unknown(state: SaleState) -> bool:
    """What the issuer did is not known yet (a send or a cancel without its answer)."""
    return state in _OUTCOME_UNKNOWN


def archivable_states() -> tuple[SaleState, ...]:
    """The states :func:`can_archive` accepts, for a storage query."""
    return tuple(s for s in SaleState if can_archive(s))


def cancel_unanswered(state: SaleState) -> bool:
    """A cancel was sent and its answer never came: cancelling again is a retry of it."""
    return state is SaleState.CANCELLING


def has_cancel_event(state: SaleState) -> bool:
    """Its note's cancel event is registered (the event XML belongs with the note)."""
    return state is SaleState.CANCELLED


def money_received(state: SaleState) -> bool:
    """The customer paid and left: authorized, or its note still pending (queued, in doubt)
    or a cancel unanswered. Cancelled sales gave the money back; rejected ones wait for a fix."""
    return state in _RECEIVED


def awaiting_issue(state: SaleState) -> bool:
    """Sold, not yet known to be issued (the store's pending sales)."""
    return state in _UNISSUED


# -- what a person is told -----------------------------------------------------------------

STATE_LABELS: dict[SaleState, str] = {
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

NOTICE_TEXTS: dict[Notice, str] = {
    Notice.ISSUING: "Emitindo a NFC-e...",
    Notice.AUTHORIZED: "NFC-e autorizada.",
    Notice.REJECTED: "NFC-e rejeitada. Corrija a venda e reenvie.",
    Notice.QUEUED: (
        "Nenhum emissor disponível: a venda está salva na fila e será emitida automaticamente. "
        "Pode continuar vendendo."
    ),
    Notice.IN_DOUBT: (
        "O emissor recebeu a venda mas não respondeu a tempo: resultado desconhecido. "
        "A venda está salva; um gerente deve conferir antes de qualquer reenvio."
    ),
    Notice.INTERRUPTED: "O programa foi interrompido durante a emissão; resultado desconhecido.",
    Notice.UNVERIFIED: (
        "O emissor respondeu com uma NFC-e que não confere com esta venda: ela NÃO foi dada como "
        "autorizada nem será reenviada. Um gerente deve conferir no emissor (F12)."
    ),
    Notice.NUMBER_TAKEN: (
        "O número reservado para esta venda já estava usado no emissor; ela será emitida com o "
        "próximo número."
    ),
    Notice.STILL_IN_DOUBT: (
        "O emissor ainda não informou o resultado desta venda; ela continua em dúvida e será "
        "conferida de novo."
    ),
    Notice.RETURNED_TO_QUEUE: (
        "O emissor não tem esta NFC-e: a venda voltou para a fila e será reenviada somente a ele."
    ),
    Notice.VOIDED: "Venda descartada; não será emitida.",
    Notice.CANCELLING: "Cancelando a NFC-e...",
    Notice.CANCELLED: "NFC-e cancelada.",
    Notice.CANCEL_REFUSED: "O cancelamento foi recusado; a NFC-e continua autorizada.",
    Notice.CANCEL_NOT_SENT: (
        "Emissor indisponível: o cancelamento não foi enviado. Tente novamente dentro do prazo."
    ),
    Notice.CANCEL_IN_DOUBT: (
        "O cancelamento foi enviado mas não houve resposta. Confira e tente de novo (é seguro)."
    ),
    Notice.CANCEL_RECORDED: "Cancelamento registrado.",
    Notice.STILL_AUTHORIZED: "Registrado: a NFC-e continua autorizada.",
}

# What a sale's current state says, when no move has just been made (history, reports).
STATE_NOTICES: dict[SaleState, Notice] = {
    SaleState.ISSUING: Notice.ISSUING,
    SaleState.AUTHORIZED: Notice.AUTHORIZED,
    SaleState.REJECTED: Notice.REJECTED,
    SaleState.QUEUED: Notice.QUEUED,
    SaleState.IN_DOUBT: Notice.IN_DOUBT,
    SaleState.CANCELLING: Notice.CANCEL_IN_DOUBT,
    SaleState.CANCELLED: Notice.CANCELLED,
    SaleState.VOIDED: Notice.VOIDED,
}


def notice_text(notice: Notice) -> str:
    return NOTICE_TEXTS[notice]


def state_text(state: SaleState) -> str:
    return NOTICE_TEXTS[state_notice(state)]


class ExitCode(IntEnum):
    """The command line's exit codes (a stable contract: scripts rely on them)."""

    DONE = 0
    FAILED = 1  # a known failure outside a sale's outcome (journal, configuration, ...)
    BAD_INPUT = 2  # nothing sent, nothing stored
    REJECTED = 3  # stored; the issuer said no (to the note, or to its cancel)
    QUEUED = 4  # no issuer reachable; the sale (or the cancel) waits
    IN_DOUBT = 5  # outcome unknown; stored as IN_DOUBT (or CANCELLING)
    WINDOW_CLOSED = 6  # cancel refused locally: the window has closed; nothing sent
    PRINTER = 7  # the printer failed; nothing fiscal changed


# The exit code of a command whose last move told the person this.
NOTICE_EXIT_CODES: dict[Notice, ExitCode] = {
    Notice.ISSUING: ExitCode.IN_DOUBT,
    Notice.AUTHORIZED: ExitCode.DONE,
    Notice.REJECTED: ExitCode.REJECTED,
    Notice.QUEUED: ExitCode.QUEUED,
    Notice.IN_DOUBT: ExitCode.IN_DOUBT,
    Notice.INTERRUPTED: ExitCode.IN_DOUBT,
    Notice.UNVERIFIED: ExitCode.IN_DOUBT,
    Notice.NUMBER_TAKEN: ExitCode.QUEUED,
    Notice.STILL_IN_DOUBT: ExitCode.IN_DOUBT,
    Notice.RETURNED_TO_QUEUE: ExitCode.QUEUED,
    Notice.VOIDED: ExitCode.DONE,
    Notice.CANCELLING: ExitCode.IN_DOUBT,
    Notice.CANCELLED: ExitCode.DONE,
    Notice.CANCEL_REFUSED: ExitCode.REJECTED,
    Notice.CANCEL_NOT_SENT: ExitCode.QUEUED,
    Notice.CANCEL_IN_DOUBT: ExitCode.IN_DOUBT,
    Notice.CANCEL_RECORDED: ExitCode.DONE,
    Notice.STILL_AUTHORIZED: ExitCode.DONE,
}


def exit_code(notice: Notice) -> ExitCode:
    return NOTICE_EXIT_CODES[notice]


def state_notice(state: SaleState) -> Notice:
    """What a sale's state says when no move has just been made (an OPEN sale was stored
    and never sent: it is reported as being issued, the cautious reading)."""
    return STATE_NOTICES.get(state, Notice.ISSUING)
