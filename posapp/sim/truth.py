"""What a simulated issuer really did, whatever it answered: the ground truth of a soak.

Every simulator records here each note it actually issued (a number consumed at "SEFAZ")
and each event it actually registered (a cancel), at the moment it happens and before any
fault decides what the client hears: an answer that is lost, garbled, a 5xx, a lie about the
chave or a "duplicidade" changes nothing in this record. A soak test compares its sales with
it: a sale with no note here was lost, a sale with two was issued twice.

``foreign`` marks a note a fault knob issued on behalf of *another* till (the
``duplicidade="foreign"`` knob), so that it is not counted against the client under test.
``told_chave`` is the chave the answers told instead of the real one while the
``lying_chave`` knob was on.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

_PDV_REF = re.compile(r"PDV-REF:([A-Za-z0-9_-]{1,64})")


@dataclass(frozen=True, slots=True)
class TruthNote:
    """One note the simulated issuer really issued."""

    issuer: str  # "emites", "focusnfe", "integranotas"
    chave: str  # the real chave
    serie: int
    numero: int
    total: Decimal  # vNF: the items' net total
    status: str  # "autorizado", "contingencia", "denegado" or "processando" when issued
    issued_at: datetime
    reference: str | None = None  # Focus ref, or the PDV-REF tag the request carried
    foreign: bool = False  # issued by a knob for another till's sale
    told_chave: str | None = None  # what the answers said instead (lying_chave)


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """One event the simulated issuer really registered (cStat 135)."""

    issuer: str
    chave: str  # the real chave of the note
    kind: str  # "cancelamento"
    protocolo: str
    at: datetime


class GroundTruth:
    """A thread-safe, append-only record of notes issued and events registered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._notes: list[TruthNote] = []
        self._events: list[TruthEvent] = []

    def note(self, note: TruthNote) -> None:
        with self._lock:
            self._notes.append(note)

    def event(self, event: TruthEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def notes(self) -> list[TruthNote]:
        """Every note issued, in order (foreign ones included; filter on ``foreign``)."""
        with self._lock:
            return list(self._notes)

    @property
    def events(self) -> list[TruthEvent]:
        with self._lock:
            return list(self._events)

    def cancelled(self, chave: str) -> int:
        """How many cancel events were registered for ``chave`` (SEFAZ allows one)."""
        return sum(1 for e in self.events if e.chave == chave and e.kind == "cancelamento")


def pdv_reference(text: object) -> str | None:
    """The ``PDV-REF:<id>`` tag a request's free text carries, if any."""
    if not isinstance(text, str):
        return None
    match = _PDV_REF.search(text)
    return match.group(1) if match else None
