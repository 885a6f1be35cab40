"""The lifecycle table, walked pair by pair: every (state, happening) either makes the move
the table names or raises IllegalMove; the promises follow from the table itself."""

from __future__ import annotations

import itertools

import pytest

from posapp.domain import lifecycle
from posapp.domain.errors import IllegalMove
from posapp.domain.issuance import CancelOutcome, Outcome
from posapp.domain.lifecycle import (
    NOTICE_EXIT_CODES,
    NOTICE_TEXTS,
    STATE_LABELS,
    ExitCode,
    Happening,
    Notice,
    Pin,
    SaleState,
)

S, H = SaleState, Happening

# The whole table, written out again by hand: a change to the lifecycle must be made twice,
# here and there, on purpose.
EXPECTED: dict[tuple[SaleState, Happening], tuple[SaleState, Pin]] = {
    (S.OPEN, H.NO_ISSUER): (S.QUEUED, Pin.KEEP),
    (S.OPEN, H.SEND_STARTED): (S.ISSUING, Pin.KEEP),
    (S.QUEUED, H.SEND_STARTED): (S.ISSUING, Pin.KEEP),
    (S.REJECTED, H.SEND_STARTED): (S.ISSUING, Pin.KEEP),
    (S.ISSUING, H.ISSUE_AUTHORIZED): (S.AUTHORIZED, Pin.CLEAR),
    (S.ISSUING, H.ISSUE_REJECTED): (S.REJECTED, Pin.CLEAR),
    (S.ISSUING, H.ISSUE_NOT_SENT): (S.QUEUED, Pin.KEEP),
    (S.ISSUING, H.ISSUE_IN_DOUBT): (S.IN_DOUBT, Pin.KEEP),
    (S.ISSUING, H.FAILED_AFTER_SEND): (S.IN_DOUBT, Pin.KEEP),
    (S.ISSUING, H.RECOVERED_AFTER_CRASH): (S.IN_DOUBT, Pin.KEEP),
    (S.ISSUING, H.ISSUE_UNVERIFIED): (S.IN_DOUBT, Pin.KEEP),
    (S.ISSUING, H.NUMBER_TAKEN): (S.QUEUED, Pin.CLEAR),
    (S.IN_DOUBT, H.ISSUE_UNVERIFIED): (S.IN_DOUBT, Pin.KEEP),
    (S.IN_DOUBT, H.NUMBER_TAKEN): (S.QUEUED, Pin.CLEAR),
    (S.IN_DOUBT, H.RECONCILED_UNVERIFIED): (S.IN_DOUBT, Pin.KEEP),
    (S.IN_DOUBT, H.ISSUE_AUTHORIZED): (S.AUTHORIZED, Pin.CLEAR),
    (S.IN_DOUBT, H.ISSUE_REJECTED): (S.REJECTED, Pin.CLEAR),
    (S.IN_DOUBT, H.ISSUE_NOT_SENT): (S.QUEUED, Pin.KEEP),
    (S.IN_DOUBT, H.ISSUE_IN_DOUBT): (S.IN_DOUBT, Pin.KEEP),
    (S.IN_DOUBT, H.FAILED_AFTER_SEND): (S.IN_DOUBT, Pin.KEEP),
    (S.REJECTED, H.CORRECTED_NO_ISSUER): (S.QUEUED, Pin.KEEP),
    (S.QUEUED, H.CORRECTED_NO_ISSUER): (S.QUEUED, Pin.KEEP),
    (S.IN_DOUBT, H.RECONCILED_AUTHORIZED): (S.AUTHORIZED, Pin.CLEAR),
    (S.IN_DOUBT, H.RECONCILED_REJECTED): (S.REJECTED, Pin.CLEAR),
    (S.IN_DOUBT, H.RECONCILED_NOT_FOUND): (S.QUEUED, Pin.SET),
    (S.IN_DOUBT, H.RECONCILE_INCONCLUSIVE): (S.IN_DOUBT, Pin.KEEP),
    (S.IN_DOUBT, H.RESOLVED_ISSUED): (S.AUTHORIZED, Pin.CLEAR),
    (S.IN_DOUBT, H.RESOLVED_NOT_ISSUED): (S.QUEUED, Pin.SET),
    (S.QUEUED, H.VOIDED): (S.VOIDED, Pin.KEEP),
    (S.REJECTED, H.VOIDED): (S.VOIDED, Pin.KEEP),
    (S.AUTHORIZED, H.CANCEL_SENT): (S.CANCELLING, Pin.KEEP),
    (S.CANCELLING, H.CANCEL_RESENT): (S.CANCELLING, Pin.KEEP),
    (S.CANCELLING, H.CANCEL_CONFIRMED): (S.CANCELLED, Pin.KEEP),
    (S.CANCELLING, H.CANCEL_ALREADY_DONE): (S.CANCELLED, Pin.KEEP),
    (S.CANCELLING, H.CANCEL_REFUSED): (S.AUTHORIZED, Pin.KEEP),
    (S.CANCELLING, H.CANCEL_NOT_SENT): (S.AUTHORIZED, Pin.KEEP),
    (S.CANCELLING, H.CANCEL_IN_DOUBT): (S.CANCELLING, Pin.KEEP),
    (S.CANCELLING, H.RESOLVED_CANCELLED): (S.CANCELLED, Pin.KEEP),
    (S.CANCELLING, H.RESOLVED_NOT_CANCELLED): (S.AUTHORIZED, Pin.KEEP),
    (S.AUTHORIZED, H.CANCEL_CONFIRMED): (S.CANCELLED, Pin.KEEP),
    (S.AUTHORIZED, H.CANCEL_ALREADY_DONE): (S.CANCELLED, Pin.KEEP),
    (S.CANCELLED, H.CANCEL_CONFIRMED): (S.CANCELLED, Pin.KEEP),
    (S.CANCELLED, H.CANCEL_ALREADY_DONE): (S.CANCELLED, Pin.KEEP),
    (S.CANCELLED, H.CANCEL_REFUSED): (S.CANCELLED, Pin.KEEP),
    (S.CANCELLED, H.CANCEL_NOT_SENT): (S.CANCELLED, Pin.KEEP),
    (S.CANCELLED, H.CANCEL_IN_DOUBT): (S.CANCELLED, Pin.KEEP),
}


@pytest.mark.parametrize(("state", "happening"), list(itertools.product(SaleState, Happening)))
def test_every_pair_moves_as_the_table_says_or_is_refused(state: SaleState, happening: Happening) -> None:
    expected = EXPECTED.get((state, happening))
    if expected is None:
        assert not lifecycle.accepts(state, happening)
        with pytest.raises(IllegalMove) as info:
            lifecycle.move(state, happening)
        assert state.label in info.value.user_message  # Portuguese, names the state
        return
    step = lifecycle.move(state, happening)
    assert (step.target, step.pin) == expected
    assert step.source is state and step.happening is happening
    assert step.event == happening.value
    assert step.notice in NOTICE_TEXTS


def test_the_table_has_no_move_the_test_does_not_know() -> None:
    assert {(m.source, m.happening) for m in lifecycle.moves()} == set(EXPECTED)


def test_only_queued_and_rejected_are_sent_again() -> None:
    # The second promise: ISSUING is entered only from OPEN (a new sale) or a resendable state.
    assert lifecycle.sources_of(Happening.SEND_STARTED) == {S.OPEN, S.QUEUED, S.REJECTED}
    assert {s for s in SaleState if lifecycle.can_resend(s)} == {S.QUEUED, S.REJECTED}
    # IN_DOUBT never goes straight back to issuing: it is reconciled or resolved first.
    assert not lifecycle.accepts(S.IN_DOUBT, Happening.SEND_STARTED)


def test_final_states_accept_nothing_that_leaves_them() -> None:
    for state, happening in itertools.product((S.CANCELLED, S.VOIDED), Happening):
        if lifecycle.accepts(state, happening):
            assert lifecycle.move(state, happening).target is state


def test_a_sale_that_reached_an_issuer_is_pinned_and_cannot_be_voided() -> None:
    for happening in (Happening.RECONCILED_NOT_FOUND, Happening.RESOLVED_NOT_ISSUED):
        assert lifecycle.move(S.IN_DOUBT, happening).pin is Pin.SET
    assert lifecycle.can_void(S.QUEUED, pinned=False)
    assert not lifecycle.can_void(S.QUEUED, pinned=True)
    assert not lifecycle.can_void(S.IN_DOUBT, pinned=False)


def test_only_authorizing_happenings_bring_a_note() -> None:
    authorizing = {h for h in Happening if lifecycle.move_authorizes(h)}
    assert authorizing == {
        H.ISSUE_AUTHORIZED,
        H.RECONCILED_AUTHORIZED,
        H.RESOLVED_ISSUED,
    }


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_issue_and_query_outcome_has_a_happening(outcome: Outcome) -> None:
    assert lifecycle.accepts(S.ISSUING, lifecycle.after_issue(outcome))
    assert lifecycle.accepts(S.IN_DOUBT, lifecycle.after_query(outcome))


@pytest.mark.parametrize(
    ("outcome", "errors", "expected"),
    [
        (CancelOutcome.CANCELLED, (), H.CANCEL_CONFIRMED),
        (CancelOutcome.REFUSED, ("Rejeição 501: prazo de cancelamento superior",), H.CANCEL_REFUSED),
        (CancelOutcome.REFUSED, ("218 - NF-e já está cancelada",), H.CANCEL_ALREADY_DONE),
        (CancelOutcome.REFUSED, ("Rejeicao: Duplicidade de evento [573]",), H.CANCEL_ALREADY_DONE),
        (CancelOutcome.NOT_SENT, (), H.CANCEL_NOT_SENT),
        (CancelOutcome.IN_DOUBT, (), H.CANCEL_IN_DOUBT),
    ],
)
def test_cancel_answers(outcome: CancelOutcome, errors: tuple[str, ...], expected: Happening) -> None:
    assert lifecycle.after_cancel(outcome, errors) is expected


def test_an_unsent_retry_of_an_unanswered_cancel_stays_in_doubt() -> None:
    # The first cancel may have landed: the note must not go back to plain AUTHORIZED.
    assert lifecycle.after_unsent_cancel(had_unanswered_cancel=True) is H.CANCEL_IN_DOUBT
    assert lifecycle.move(S.CANCELLING, lifecycle.after_unsent_cancel(True)).target is S.CANCELLING
    assert lifecycle.move(S.CANCELLING, lifecycle.after_unsent_cancel(False)).target is S.AUTHORIZED


def test_a_confirmed_cancel_wins_a_race() -> None:
    # Another answer moved the note back to AUTHORIZED (or already to CANCELLED) first.
    assert lifecycle.move(S.AUTHORIZED, H.CANCEL_CONFIRMED).target is S.CANCELLED
    for happening in (H.CANCEL_REFUSED, H.CANCEL_NOT_SENT, H.CANCEL_IN_DOUBT):
        assert lifecycle.move(S.CANCELLED, happening).target is S.CANCELLED


def test_texts_and_exit_codes_cover_every_state_and_notice() -> None:
    assert set(STATE_LABELS) == set(SaleState)
    assert set(NOTICE_TEXTS) == set(Notice) == set(NOTICE_EXIT_CODES)
    for state in SaleState:
        assert lifecycle.state_text(state)
    assert lifecycle.exit_code(Notice.AUTHORIZED) is ExitCode.DONE
    assert lifecycle.exit_code(lifecycle.state_notice(S.REJECTED)) == 3
    assert lifecycle.exit_code(lifecycle.state_notice(S.QUEUED)) == 4
    assert lifecycle.exit_code(lifecycle.state_notice(S.IN_DOUBT)) == 5
    assert lifecycle.exit_code(Notice.CANCEL_REFUSED) == 3


def test_predicates() -> None:
    assert {s for s in SaleState if lifecycle.can_cancel(s)} == {S.AUTHORIZED, S.CANCELLING}
    assert {s for s in SaleState if lifecycle.can_reprint(s)} == {S.AUTHORIZED, S.CANCELLING, S.CANCELLED}
    assert {s for s in SaleState if lifecycle.needs_attention(s)} == {S.REJECTED, S.IN_DOUBT, S.CANCELLING}
    assert {s for s in SaleState if lifecycle.is_final(s)} == {S.CANCELLED, S.VOIDED}
