"""The pure number bookkeeping behind the inutilização (posapp/services/number_gaps.py), on
rows as the journal returns them: which números are notes, reserved or taken, the gaps left
after the inutilizações, and the local refusal of a range. The same rules against a real
journal and the issuers' simulators are in test_inutilizacao.py."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from posapp.domain.inutilizacao import InutState, InvalidInutilizacao, NumberRange
from posapp.domain.lifecycle import SaleState
from posapp.journal.inutilizacoes import InutilizacaoRow, Reservation
from posapp.journal.store import SaleRow
from posapp.services.number_gaps import NumberUsage, check_inutilizable, serie_gaps, usage_of
from tests.support.sales import make_sale

AT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
OURS = 7  # a série this till numbers (Integra Notas)
ISSUERS = 2  # a série the issuer numbers (Focus NFe)


def sale_row(index: int, state: SaleState, serie: int, numero: int, backend: str) -> SaleRow:
    sale = make_sale(index)
    chave = f"{index:044d}" if state in (SaleState.AUTHORIZED, SaleState.CANCELLED) else None
    return SaleRow(
        sale_id=sale.sale_id,
        created_at=AT,
        updated_at=AT,
        state=state,
        sale=sale,
        total=Decimal("9.98"),
        had_cash=True,
        operator=None,
        backend=backend,
        attempt_id=None,
        chave=chave,
        numero=numero if chave else None,
        serie=serie if chave else None,
        protocolo=None,
        authorized_at=AT if chave else None,
        contingency=False,
        cancel_motivo=None,
        cancel_protocolo=None,
        cancelled_at=None,
        last_error=None,
    )


def inut_row(inut_id: int, state: InutState, first: int, last: int) -> InutilizacaoRow:
    return InutilizacaoRow(
        inut_id=inut_id,
        backend="integranotas",
        range=NumberRange(OURS, first, last),
        justificativa="números pulados por falha do caixa",
        state=state,
        request=b"{}",
        created_at=AT,
        updated_at=AT,
        operator="gerente",
        authorized_by="gerente",
        protocolo="135260000000001" if state is InutState.DONE else None,
        done_at=AT if state is InutState.DONE else None,
        xml=None,
        errors=(),
    )


@pytest.fixture
def usage() -> NumberUsage:
    """Série 7 (ours, handed out up to 9): notes 1, 2 and 5, número 4 reserved for a queued
    sale, 8 taken by another note at the issuer, 6 reserved for a voided sale (a gap).
    Série 2 (the issuer's): notes 40 and 43 seen."""
    rows = [
        sale_row(1, SaleState.AUTHORIZED, OURS, 1, "integranotas"),
        sale_row(2, SaleState.CANCELLED, OURS, 2, "integranotas"),
        sale_row(3, SaleState.AUTHORIZED, OURS, 5, "integranotas"),
        sale_row(4, SaleState.QUEUED, OURS, 4, "integranotas"),
        sale_row(5, SaleState.VOIDED, OURS, 6, "integranotas"),
        sale_row(6, SaleState.AUTHORIZED, ISSUERS, 40, "focusnfe"),
        sale_row(7, SaleState.AUTHORIZED, ISSUERS, 43, "focusnfe"),
    ]
    reservations = [
        Reservation("integranotas", OURS, 4, rows[3].sale_id),
        Reservation("integranotas", OURS, 6, rows[4].sale_id),
        Reservation("integranotas", OURS, 8, None),
        Reservation("integranotas", OURS, 5, None),  # the issuer's word, and our note 5: the note wins
    ]
    return usage_of(rows, reservations, {("integranotas", OURS): 9})


def test_gaps_of_our_serie_leave_out_notes_reservations_taken_numbers_and_inutilizacoes(
    usage: NumberUsage,
) -> None:
    inuts = [inut_row(1, InutState.DONE, 3, 3), inut_row(2, InutState.REFUSED, 6, 6)]
    ours = next(g for g in serie_gaps(usage, inuts) if g.serie == OURS)
    assert ours.numbered_by_us and ours.highest == 9 and ours.backends == ("integranotas",)
    # 3 is inutilizada, 4 pending, 8 taken; the refused inutilização of 6 leaves it a gap.
    assert ours.gaps == ((6, 7), (9, 9)) and ours.gap_count == 3
    assert [u.numero for u in ours.pending] == [4]
    assert [r.inut_id for r in ours.inutilizadas] == [1] and ours.in_flight == ()


def test_an_inutilizacao_in_flight_is_not_a_gap_to_send_again(usage: NumberUsage) -> None:
    inuts = [inut_row(3, InutState.IN_DOUBT, 6, 7), inut_row(4, InutState.SENDING, 9, 9)]
    ours = next(g for g in serie_gaps(usage, inuts) if g.serie == OURS)
    assert ours.gaps == ((3, 3),)
    assert [r.inut_id for r in ours.in_flight] == [3, 4]


def test_an_issuers_serie_counts_gaps_only_from_the_first_numero_seen(usage: NumberUsage) -> None:
    theirs = next(g for g in serie_gaps(usage, []) if g.serie == ISSUERS)
    assert not theirs.numbered_by_us and theirs.highest == 43
    assert theirs.gaps == ((41, 42),)  # not 1-39: those may be other tills' notes
    assert "outro caixa" in theirs.note()


@pytest.mark.parametrize(
    ("first", "last", "why"),
    [
        (2, 3, "é de uma nota emitida"),
        (5, 5, "é de uma nota emitida"),
        (4, 4, "está reservado para a venda"),
        (8, 8, "já foi usado por outra nota no emissor"),
        (9, 10, "O maior número usado na série 7 é 9"),
    ],
)
def test_a_range_holding_a_used_or_future_numero_is_refused_in_portuguese(
    usage: NumberUsage, first: int, last: int, why: str
) -> None:
    with pytest.raises(InvalidInutilizacao) as refused:
        check_inutilizable(NumberRange(OURS, first, last), usage)
    assert why in (refused.value.user_message or "") and "Nada foi enviado" in (
        refused.value.user_message or ""
    )


def test_a_serie_this_till_never_used_is_refused(usage: NumberUsage) -> None:
    with pytest.raises(InvalidInutilizacao, match="no número known in serie 5"):
        check_inutilizable(NumberRange(5, 1, 1), usage)


def test_gaps_only_are_accepted(usage: NumberUsage) -> None:
    check_inutilizable(NumberRange(OURS, 6, 7), usage)  # the voided sale's número and a skipped one
    check_inutilizable(
        NumberRange(OURS, 3, 3), usage
    )  # the check is the journal's; the book refuses overlaps
