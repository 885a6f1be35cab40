"""The números of each série as this till's journal knows them, and the gaps among them
(issue 15 item 2). Pure: the use case (:mod:`posapp.services.inutilizacao`) reads the journal
and hands the rows here.

For a série we number (the client-numbered providers, ``[nfce] serie``), every número from 1
to the last one handed out must end as a note, a reservation still pending (queued, in doubt,
rejected: it may still be issued with that número), a número another note took, or an
inutilização. For séries the issuers number for us (Emites-Client, Focus NFe), only the
números we have seen are known: the gaps between them may be another till's notes, and are
shown as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from posapp.domain import lifecycle
from posapp.domain.inutilizacao import InutState, InvalidInutilizacao, NumberRange, gaps, subtract
from posapp.domain.lifecycle import SaleState
from posapp.journal.inutilizacoes import InutilizacaoRow, Reservation
from posapp.journal.store import SaleRow


@dataclass(frozen=True, slots=True)
class NumberUse:
    """What one número of a série is, as far as this journal knows."""

    numero: int
    kind: str  # "note", "pending", "taken"
    sale_id: str | None = None
    chave: str | None = None
    state: SaleState | None = None


@dataclass(frozen=True, slots=True)
class SerieGaps:
    serie: int
    numbered_by_us: bool  # a série we number (client-numbered issuer): the gaps are certain
    backends: tuple[str, ...]  # the issuers that hold notes or reservations in it
    highest: int  # the last número used or handed out
    gaps: tuple[tuple[int, int], ...]  # to inutilize (minus homologated and in-flight ones)
    inutilizadas: tuple[InutilizacaoRow, ...]
    in_flight: tuple[InutilizacaoRow, ...]  # sending / in doubt
    pending: tuple[NumberUse, ...]  # reserved for sales still open (not gaps yet)

    @property
    def gap_count(self) -> int:
        return sum(last - first + 1 for first, last in self.gaps)

    def note(self) -> str:
        if self.numbered_by_us:
            return "numerada por este caixa: as lacunas devem ser inutilizadas até o dia 10 do mês seguinte"
        return (
            "numerada pelo emissor: as lacunas podem ser notas de outro caixa; confira no emissor "
            "antes de inutilizar"
        )


@dataclass
class NumberUsage:
    """The números of every série this journal knows of, and who issued in each."""

    by_serie: dict[int, dict[int, NumberUse]] = field(default_factory=dict)
    backends: dict[int, set[str]] = field(default_factory=dict)
    ours: dict[int, int] = field(default_factory=dict)  # série we number -> last número handed out

    def add(self, serie: int, use: NumberUse, backend: str | None) -> None:
        numbers = self.by_serie.setdefault(serie, {})
        if use.kind == "note" or use.numero not in numbers:
            numbers[use.numero] = use
        if backend:
            self.backends.setdefault(serie, set()).add(backend)


def usage_of(
    rows: Sequence[SaleRow], reservations: Sequence[Reservation], last: dict[tuple[str, int], int]
) -> NumberUsage:
    usage = NumberUsage()
    states = {r.sale_id: r for r in rows}
    for reservation in reservations:
        if reservation.sale_id is None:
            usage.add(reservation.serie, NumberUse(reservation.numero, "taken"), reservation.backend)
            continue
        row = states.get(reservation.sale_id)
        # A reservation whose sale may still be issued with it: not a gap, not to inutilize.
        if row is not None and lifecycle.may_still_be_issued(row.state):
            use = NumberUse(reservation.numero, "pending", row.sale_id, None, row.state)
            usage.add(reservation.serie, use, reservation.backend)
        else:
            usage.backends.setdefault(reservation.serie, set()).add(reservation.backend)
    for (backend, serie), numero in last.items():
        usage.ours[serie] = max(usage.ours.get(serie, 0), numero)
        usage.backends.setdefault(serie, set()).add(backend)
    for row in rows:
        if row.chave is not None and row.numero is not None and row.serie is not None:
            use = NumberUse(row.numero, "note", row.sale_id, row.chave, row.state)
            usage.add(row.serie, use, row.backend)
    return usage


def serie_gaps(usage: NumberUsage, inuts: Sequence[InutilizacaoRow]) -> list[SerieGaps]:
    """Per série: the gaps left to inutilize once the homologated and in-flight
    inutilizações are taken out, and the números still reserved for open sales."""
    result = []
    for serie in sorted(set(usage.by_serie) | set(usage.ours)):
        numbers = usage.by_serie.get(serie, {})
        ours = serie in usage.ours
        highest = max([usage.ours.get(serie, 0), *numbers])
        if highest <= 0:
            continue
        if ours:
            found = gaps(numbers, up_to=highest)
        else:
            start = min(numbers)  # an issuer's série: from the first número we saw
            found = gaps(numbers, up_to=highest, start=start)
        mine = [r for r in inuts if r.range.serie == serie]
        done = tuple(r for r in mine if r.state is InutState.DONE)
        flying = tuple(r for r in mine if r.state in (InutState.SENDING, InutState.IN_DOUBT))
        left = subtract(found, [(r.range.first, r.range.last) for r in (*done, *flying)])
        result.append(
            SerieGaps(
                serie=serie,
                numbered_by_us=ours,
                backends=tuple(sorted(usage.backends.get(serie, ()))),
                highest=highest,
                gaps=tuple(left),
                inutilizadas=done,
                in_flight=flying,
                pending=tuple(
                    u for u in sorted(numbers.values(), key=lambda u: u.numero) if u.kind == "pending"
                ),
            )
        )
    return result


def check_inutilizable(numbers: NumberRange, usage: NumberUsage) -> None:
    """Refuse (InvalidInutilizacao, in Portuguese, before anything is sent) a range holding a
    note, a número reserved for a sale still open, or one past the highest used."""
    serie = numbers.serie
    known = usage.by_serie.get(serie, {})
    highest = max([usage.ours.get(serie, 0), *known])
    if highest <= 0:
        raise InvalidInutilizacao(
            f"no número known in serie {serie}",
            user_message=(
                f"Este caixa não tem nenhuma nota nem número reservado na série {serie}: "
                "confira a série. Só se inutiliza número pulado."
            ),
        )
    if numbers.last > highest:
        raise InvalidInutilizacao(
            f"range beyond the highest número {highest} of serie {serie}",
            user_message=(
                f"O maior número usado na série {serie} é {highest}: números acima dele ainda serão "
                "usados pelas próximas vendas e não podem ser inutilizados. Nada foi enviado."
            ),
        )
    for numero in range(numbers.first, numbers.last + 1):
        use = known.get(numero)
        if use is None:
            continue
        if use.kind == "note":
            raise InvalidInutilizacao(
                f"numero {numero} holds note {use.chave}",
                user_message=(
                    f"O número {numero} da série {serie} é de uma nota emitida (chave {use.chave}, "
                    f"venda {use.sale_id}). Nada foi enviado: corrija a faixa."
                ),
            )
        if use.kind == "pending":
            state = use.state.label if use.state else "?"
            raise InvalidInutilizacao(
                f"numero {numero} reserved for open sale {use.sale_id}",
                user_message=(
                    f"O número {numero} da série {serie} está reservado para a venda {use.sale_id} "
                    f"({state}), que ainda pode ser emitida com ele. Resolva a venda antes. "
                    "Nada foi enviado."
                ),
            )
        raise InvalidInutilizacao(
            f"numero {numero} used by another note at the issuer",
            user_message=(
                f"O número {numero} da série {serie} já foi usado por outra nota no emissor. "
                "Nada foi enviado: corrija a faixa."
            ),
        )
