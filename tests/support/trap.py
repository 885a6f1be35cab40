"""Hold an issuer's answer after it has acted on a request: "the request was sent".

The crash test must kill the app at the one instant the crash points cannot reach from
inside: the request is on the issuer's side (and the note issued) but the answer has not
come back. An :class:`AnswerTrap` is armed for the *n*-th issue request; the simulator
processes that request as usual and then, instead of answering, signals ``caught`` and
waits until the test has killed the client and calls :meth:`AnswerTrap.release`. The
answer then goes to a dead socket, which the simulators already tolerate.

The wrappers below add the trap to each simulator without touching its code: the HTTP
simulators through a subclass of ``handle`` (the fault knobs run before ``handle``, so
``slow_s`` would delay the request *before* the note exists), the Emites simulator by
wrapping its engine's ``handle`` (``handle`` runs in an executor thread, so blocking there is safe).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime

from posapp.sim.emites_engine import CREATE_NFCE, Answer, EmitesEngine
from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.sim.http_sim import SimRequest, SimResponse
from posapp.sim.integranotas import IntegraNotasSimulator

_PDV_REF = re.compile(r"PDV-REF:[0-9A-Za-z_-]+")
HOLD_LIMIT_S = 30.0  # a trap never holds a handler longer than this, whatever the test does


@dataclass
class Caught:
    """The request a trap caught."""

    issuer: str
    detail: str  # the request line or identifier, for the failure message


class AnswerTrap:
    """Armed for the ``nth`` issue request seen after :meth:`arm`; one catch per arming."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = 0
        self.caught = threading.Event()
        self._release = threading.Event()
        self.last: Caught | None = None

    def arm(self, nth: int) -> None:
        with self._lock:
            self._remaining = nth
            self.caught.clear()
            self._release.clear()
            self.last = None

    def release(self) -> None:
        with self._lock:
            self._remaining = 0
        self._release.set()

    def after_issue(self, issuer: str, detail: str) -> None:
        """Called by a simulator once it has acted on an issue request."""
        with self._lock:
            if self._remaining <= 0:
                return
            self._remaining -= 1
            if self._remaining:
                return
            self.last = Caught(issuer, detail)
        self.caught.set()
        self._release.wait(HOLD_LIMIT_S)


class TrappedFocus(FocusNfeSimulator):
    def __init__(self, trap: AnswerTrap, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.trap = trap

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        if request.method == "POST" and request.path == "/v2/nfce" and response.accepted:
            self.trap.after_issue(self.name, f"POST /v2/nfce?ref={request.query.get('ref')}")
        return response


class TrappedIntegra(IntegraNotasSimulator):
    def __init__(self, trap: AnswerTrap, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.trap = trap

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        if request.method == "POST" and request.path == "/v1/nfce" and response.accepted:
            self.trap.after_issue(self.name, "POST /v1/nfce")
        return response


def trap_engine(engine: EmitesEngine, trap: AnswerTrap) -> None:
    """Make the Emites simulator's engine hold the answer of a trapped CREATE_NFCE.

    The engine's ``handle`` is wrapped on the instance, so everything else the simulator
    reads from its engine (faults, notes, serie) is untouched."""
    original = engine.handle

    def handle(identifier: str, payload: bytes, now: datetime) -> Answer:
        answer = original(identifier, payload, now)
        if identifier == CREATE_NFCE:
            reference = _PDV_REF.search(payload.decode("latin-1"))
            trap.after_issue("emites", f"CREATE_NFCE {reference.group(0) if reference else ''}")
        return answer

    engine.handle = handle  # type: ignore[method-assign]
