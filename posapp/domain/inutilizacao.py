"""Number gaps and the *inutilização* of a range of NFC-e numbers: pure rules and value types.

SEFAZ numbers notes per CNPJ, model and série. A número that was skipped (reserved and never
sent, taken by a sale that went to another issuer, lost by an issuer) must be *inutilizado*
by the 10th of the next month (Ajuste SINIEF 19/16, cl. 16ª). An inutilização is a fiscal
act at SEFAZ like an issue: it is journaled before it is sent, and a lost answer leaves it
IN_DOUBT until the issuer is asked (never sent again blindly).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from posapp.domain.errors import DomainError

JUSTIFICATIVA_MIN = 15
JUSTIFICATIVA_MAX = 255
MAX_NUMERO = 999_999_999  # nNF has nine digits
MAX_SERIE = 999
MAX_RANGE = 10_000  # more than this in one request is a typing mistake, not a gap


class InvalidInutilizacao(DomainError):
    """A range or justificativa that cannot be sent. Nothing was stored or sent."""


class InutOutcome(StrEnum):
    """What an issuer said about one inutilização request."""

    DONE = "done"  # SEFAZ homologated it (cStat 102): the protocol is the proof
    REFUSED = "refused"  # a definite no (a number already used, a range already inutilizada...)
    NOT_SENT = "not_sent"  # certainly never left (connection refused, token missing)
    IN_DOUBT = "in_doubt"  # sent, no definite answer: ask before anything else


class InutState(StrEnum):
    """The journal's states of an inutilização."""

    SENDING = "sending"  # committed, being sent (a crash here leaves it in doubt)
    IN_DOUBT = "in_doubt"
    DONE = "done"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        return {
            InutState.SENDING: "enviando",
            InutState.IN_DOUBT: "em dúvida",
            InutState.DONE: "homologada",
            InutState.REFUSED: "recusada",
        }[self]

    @property
    def holds_range(self) -> bool:
        """Whether the range may be (or is) inutilizado: another request over it must wait."""
        return self is not InutState.REFUSED


@dataclass(frozen=True, slots=True)
class NumberRange:
    serie: int
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def overlaps(self, other: NumberRange) -> bool:
        return self.serie == other.serie and self.first <= other.last and other.first <= self.last

    def __contains__(self, numero: object) -> bool:
        return isinstance(numero, int) and self.first <= numero <= self.last

    def text(self) -> str:
        numbers = f"{self.first}" if self.first == self.last else f"{self.first} a {self.last}"
        return f"série {self.serie}, números {numbers}"


@dataclass(frozen=True, slots=True)
class InutResult:
    """An issuer's answer to an inutilização request, or to a question about one."""

    outcome: InutOutcome
    backend: str
    protocolo: str | None = None
    done_at: datetime | None = None
    xml: bytes | None = None  # procInutNFe / retInutNFe, as the issuer returned it
    errors: tuple[str, ...] = ()
    raw_response: str | None = None
    detail: str = ""


def check_range(serie: int, first: int, last: int) -> NumberRange:
    """The range as SEFAZ takes it: série 0-999, números 1-999999999, first <= last."""
    if not 0 <= serie <= MAX_SERIE:
        raise InvalidInutilizacao(
            f"serie {serie} out of range", user_message=f"Série {serie} inválida: use de 0 a {MAX_SERIE}."
        )
    if not (1 <= first <= MAX_NUMERO and 1 <= last <= MAX_NUMERO):
        raise InvalidInutilizacao(
            f"numbers {first}-{last} out of range",
            user_message=f"Números inválidos ({first} a {last}): use de 1 a {MAX_NUMERO}.",
        )
    if first > last:
        raise InvalidInutilizacao(
            f"first {first} > last {last}",
            user_message=f"O número inicial ({first}) é maior que o final ({last}): inverta a faixa.",
        )
    if last - first + 1 > MAX_RANGE:
        raise InvalidInutilizacao(
            f"range of {last - first + 1} numbers",
            user_message=(
                f"Faixa de {last - first + 1} números: o limite é {MAX_RANGE} por pedido. "
                "Confira os números digitados."
            ),
        )
    return NumberRange(serie, first, last)


def check_justificativa(text: str) -> str:
    """Strip and check the 15-255 character justificativa (xJust); returns the cleaned text."""
    cleaned = " ".join(text.split())
    if not JUSTIFICATIVA_MIN <= len(cleaned) <= JUSTIFICATIVA_MAX:
        raise InvalidInutilizacao(
            f"justificativa has {len(cleaned)} characters",
            user_message=(
                f"A justificativa deve ter de {JUSTIFICATIVA_MIN} a {JUSTIFICATIVA_MAX} caracteres "
                f"(tem {len(cleaned)}). Escreva por que os números não foram usados."
            ),
        )
    return cleaned


def gaps(used: Iterable[int], *, up_to: int | None = None, start: int = 1) -> list[tuple[int, int]]:
    """The ranges of numbers in ``[start, up_to]`` that are not in ``used`` (``up_to``
    defaults to the highest used), in order, each as ``(first, last)``."""
    numbers = sorted({n for n in used if n >= start})
    top = up_to if up_to is not None else (numbers[-1] if numbers else start - 1)
    found: list[tuple[int, int]] = []
    expected = start
    for n in numbers:
        if n > top:
            break
        if n > expected:
            found.append((expected, n - 1))
        expected = n + 1
    if expected <= top:
        found.append((expected, top))
    return found


def subtract(ranges: Iterable[tuple[int, int]], covered: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` minus the numbers in ``covered`` (both as inclusive ``(first, last)``)."""
    result = list(ranges)
    for c_first, c_last in covered:
        next_result: list[tuple[int, int]] = []
        for first, last in result:
            if c_last < first or c_first > last:
                next_result.append((first, last))
                continue
            if first < c_first:
                next_result.append((first, c_first - 1))
            if c_last < last:
                next_result.append((c_last + 1, last))
        result = next_result
    return result
