"""Shared plumbing of the loopback HTTP simulators (Focus NFe, Integra Notas, ...).

A simulator is a real HTTP/1.1 server (stdlib ``ThreadingHTTPServer`` in a thread) bound to
127.0.0.1, so the real httpx clients talk to it over real sockets, timeouts and all. The
subclass says what a request means (:meth:`HttpSimulator.handle`) and how it is
authenticated (:meth:`HttpSimulator.authorized`); this module adds what every provider
shares: the request log, the ground truth (:mod:`posapp.sim.truth`), the token check, and
the fault knobs tests turn on and off (:class:`SimFaults`):

``slow_s``              sleep before answering (still answers)
``hang``                read the request, never answer (the client's read timeout fires)
``status_5xx``          answer every request with this 5xx status, *unprocessed*
``rate_limit``          answer 429 with ``Retry-After`` and ``Rate-Limit-*`` headers, unprocessed
``drop_after_accept``   process an issue or cancel (the note *is* issued), then close the
                        connection without a byte of answer: the case that must end IN_DOUBT
                        and be reconciled, never resent blindly
``error_after_accept``  process an issue or cancel, then answer this status (500, 502, 503)
                        with the provider's error body instead of the real answer
``refuse_query``        answer the *query* routes (Focus ``GET /v2/nfce/REF``; Integra
                        ``GET /nfce/{chave}``, ``POST /nfce/busca``) with this status (401 or
                        403), the token refused, while issuing and cancelling still work
``garbage``             process the request, then spoil every answer: ``"html"`` (an HTML
                        page with the same status), ``"truncated"`` (the JSON cut in half) or
                        ``"huge_numbers"`` (its numbers written as ``1e999999``)
``lying_chave``         issue the real note but tell another one in every answer about it
                        (one of :data:`posapp.sim.lies.LIE_MODES`)
``duplicidade``         ``"foreign"``: another till's sale already holds this Focus ``ref`` or
                        Integra série/número when the request arrives (the simulator issues
                        it first, marked ``foreign`` in the ground truth), so the answer is the
                        provider's "already exists"; ``"own"``: the note is issued for this
                        request, and the answer still says "already exists"
``duplicate_detail``    what an Integra duplicidade answer carries about the existing note:
                        ``"chave"`` (its chave, also in the message), ``"full"`` (chave,
                        número, série, protocol and XML) or ``"none"`` (only the message)
``missing_files``       Focus: the XML files under ``/arquivos`` answer 404 (not in the
                        storage yet) while the API answers normally
``cancel_race``         ``"573"`` or ``"218"``: the second cancel of a note is answered with
                        that SEFAZ code ("Duplicidade de evento" / "já está cancelada"), and the
                        answer to the first (the one that won, 135) is held back until the
                        second's has gone out (at most ``cancel_race_wait_s``): two concurrent
                        cancels both processed, the loser heard first

What the next issue answers is scripted with :meth:`HttpSimulator.queue_outcome` from the
provider's own ``outcomes``; both provider simulators read items in the same NF-e product
fields (:func:`issued_item`) and build the note's XML with the same builder.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

from posapp.domain.documents import parse_chave
from posapp.domain.errors import InvalidDocument
from posapp.sim import nfce_xml
from posapp.sim.errors import SimulatorError
from posapp.sim.lies import LIE_MODES, Lie, lie_about
from posapp.sim.nfce_xml import SANDBOX_EMITTER, SimEmitter, SimItem, SimNote, SimPayment
from posapp.sim.truth import GroundTruth, TruthNote

logger = logging.getLogger(__name__)

MAX_SIM_BODY = 16 * 1024 * 1024
BRASILIA = timezone(timedelta(hours=-3), "BRT")
# The item fields both providers require, and those that must be exact decimals, not floats.
ITEM_REQUIRED_FIELDS = (
    "codigo_produto",
    "descricao",
    "codigo_ncm",
    "cfop",
    "quantidade_comercial",
    "valor_bruto",
)
ITEM_DECIMAL_FIELDS = ("quantidade_comercial", "valor_unitario_comercial", "valor_bruto")


GARBAGE_MODES = ("html", "truncated", "huge_numbers")
DUPLICIDADE_MODES = ("foreign", "own")
DUPLICATE_DETAILS = ("chave", "full", "none")
CANCEL_RACE_MODES = ("573", "218")
_CHOICES: dict[str, tuple[str, ...]] = {
    "garbage": GARBAGE_MODES,
    "duplicidade": DUPLICIDADE_MODES,
    "duplicate_detail": DUPLICATE_DETAILS,
    "cancel_race": CANCEL_RACE_MODES,
    "lying_chave": LIE_MODES,
}


@dataclass
class SimFaults:
    """Fault knobs, read on every request; set them from the test thread at any time (see
    the module docstring). A mode knob refuses a value it does not know, at once."""

    slow_s: float = 0.0
    hang: bool = False
    status_5xx: int | None = None
    rate_limit: bool = False
    retry_after_s: int = 2
    drop_after_accept: bool = False
    error_after_accept: int | None = None
    refuse_query: int | None = None
    garbage: str | None = None
    lying_chave: str | None = None
    duplicidade: str | None = None
    duplicate_detail: str = "chave"
    cancel_race: str | None = None
    cancel_race_wait_s: float = 2.0
    missing_files: bool = False

    def __setattr__(self, name: str, value: object) -> None:
        choices = _CHOICES.get(name)
        if choices is not None and value is not None and value not in choices:
            raise SimulatorError(f"{name}={value!r}: one of {', '.join(choices)} (or None)")
        if (
            name == "error_after_accept"
            and value is not None
            and not (isinstance(value, int) and 500 <= value <= 599)
        ):
            raise SimulatorError(f"error_after_accept={value!r}: a 5xx status")
        if name == "refuse_query" and value not in (None, 401, 403):
            raise SimulatorError(f"refuse_query={value!r}: 401, 403 or None")
        object.__setattr__(self, name, value)

    def clear(self) -> None:
        """Back to a well-behaved provider."""
        fresh = SimFaults()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))


@dataclass(frozen=True, slots=True)
class SimRequest:
    """One request as the simulator received it (headers with lower-case names)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    received_at: float

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True, slots=True)
class SimAnswer:
    """An answer as it was written, after every fault: the request it answered, its status
    and body."""

    request: SimRequest
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True, slots=True)
class SimResponse:
    """An answer; ``accepted`` marks one that issued or cancelled something (the
    ``*_after_accept`` knobs). ``hold``/``hold_s``: wait for that event (at most that long)
    before answering; ``on_sent``: called once the answer went out (the cancel race)."""

    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    accepted: bool = False
    hold: threading.Event | None = field(default=None, compare=False)
    hold_s: float = 0.0
    on_sent: Callable[[], None] | None = field(default=None, compare=False)

    @classmethod
    def json(
        cls,
        status: int,
        document: object,
        *,
        headers: Mapping[str, str] | None = None,
        accepted: bool = False,
    ) -> SimResponse:
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        return cls(status, body, headers=dict(headers or {}), accepted=accepted)

    def instead(self, other: SimResponse) -> SimResponse:
        """``other`` answered in this answer's place (same hold and hook)."""
        return replace(other, hold=self.hold, hold_s=self.hold_s, on_sent=self.on_sent)


GARBAGE_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    b"</center><hr><center>nginx</center></body></html>"
)
HUGE_NUMBER = "1e999999"


def garbled(response: SimResponse, mode: str) -> SimResponse:
    """``response`` spoilt the way the ``garbage`` knob says (status kept)."""
    if mode == "html":
        return replace(response, body=GARBAGE_HTML, content_type="text/html")
    if mode == "truncated":
        return replace(response, body=response.body[: max(len(response.body) // 2, 1)])
    return replace(response, body=huge_numbers(response.body))


def huge_numbers(body: bytes) -> bytes:
    """A JSON body whose numbers (and short digit strings: número, série, cStat...) are
    ``1e999999``, plus an ``"id": 1e999999``: valid JSON that costs seconds of CPU, or a
    MemoryError, to whoever turns it into an integer without a bound."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        document = {}
    marker = "\x00huge\x00"

    def walk(value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, (int, float)):
            return marker
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
            return marker
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    spoilt = walk(document)
    if isinstance(spoilt, dict):
        spoilt = {"id": marker, **spoilt}
    return json.dumps(spoilt, ensure_ascii=False).replace(json.dumps(marker), HUGE_NUMBER).encode("utf-8")


class HttpSimulator(ABC):
    """Base of the provider simulators. Subclasses implement :meth:`handle`/:meth:`authorized`.

    ``token=None`` accepts any non-empty credential (the demo); a string must match exactly.
    """

    name: ClassVar[str] = "http"
    path_prefix: ClassVar[str] = ""
    max_body_bytes: ClassVar[int | None] = None  # larger bodies get 413 before being read
    outcomes: ClassVar[tuple[str, ...]] = ("autorizado",)  # what an issue may be scripted to answer

    def __init__(self, *, token: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.clock = clock
        self.faults = SimFaults()
        self.truth = GroundTruth()
        self.lock = threading.RLock()
        self._requests: list[SimRequest] = []
        self._answers: list[SimAnswer] = []
        self._outcomes: deque[str] = deque()
        self._races: dict[str, threading.Event] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.host = "127.0.0.1"
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Bind and serve in a daemon thread; returns the bound port."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} simulator already started")
        server = ThreadingHTTPServer((host, port), _make_handler(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self.host, self.port = host, int(server.server_address[1])
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sim-{self.name}", daemon=True
        )
        self._thread.start()
        logger.info("%s simulator listening on %s", self.name, self.url)
        return self.port

    def stop(self) -> None:
        """Stop serving; hanging handlers are released and their connections closed."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL a client is configured with (includes the provider's path prefix)."""
        return f"http://{self.host}:{self.port}{self.path_prefix}"

    # -- request log -------------------------------------------------------------------

    @property
    def requests(self) -> list[SimRequest]:
        with self.lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[SimRequest]:
        """Logged requests with this method and path; a path ending in ``/`` is a prefix."""
        if path.endswith("/"):
            return [r for r in self.requests if r.method == method and r.path.startswith(path)]
        return [r for r in self.requests if r.method == method and r.path == path]

    def clear_requests(self) -> None:
        with self.lock:
            self._requests.clear()
            self._answers.clear()

    @property
    def answers(self) -> list[SimAnswer]:
        """The answers that went out whole (processed or not), in the order they were written
        (a dropped or hung request has none)."""
        with self.lock:
            return list(self._answers)

    # -- scripted outcomes -------------------------------------------------------------

    def queue_outcome(self, *outcomes: str) -> None:
        """Script what the next issues answer, in order; then ``autorizado`` again."""
        for outcome in outcomes:
            if outcome not in self.outcomes:
                raise ValueError(f"unknown outcome {outcome!r}; one of {self.outcomes}")
        with self.lock:
            self._outcomes.extend(outcomes)

    def next_outcome(self) -> str:
        """The scripted answer for this issue (``autorizado`` when none is queued)."""
        with self.lock:
            return self._outcomes.popleft() if self._outcomes else "autorizado"

    # -- for subclasses ----------------------------------------------------------------

    @abstractmethod
    def authorized(self, request: SimRequest) -> bool:
        """Whether the request carries the provider's kind of valid token."""

    @abstractmethod
    def handle(self, request: SimRequest) -> SimResponse:
        """The provider's answer to one request (routes, faults already applied)."""

    def is_query(self, request: SimRequest) -> bool:
        """Whether ``request`` only asks about a note (what ``refuse_query`` refuses)."""
        return False

    def unauthorized(self, status: int = 401) -> SimResponse:
        return SimResponse.json(status, {"codigo": "nao_autorizado", "mensagem": "Token inválido"})

    def rate_limited(self) -> SimResponse:
        seconds = str(self.faults.retry_after_s)
        headers = {
            "Retry-After": seconds,
            "Rate-Limit-Limit": "100",
            "Rate-Limit-Remaining": "0",
            "Rate-Limit-Reset": seconds,
        }
        return SimResponse.json(
            429,
            {"codigo": "muitas_requisicoes", "mensagem": "Limite de requisições atingido"},
            headers=headers,
        )

    def server_error(self, status: int) -> SimResponse:
        return SimResponse.json(status, {"codigo": "erro_interno", "mensagem": "Erro interno do servidor"})

    def too_large(self) -> SimResponse:
        return SimResponse.json(413, {"sucesso": False, "mensagem": "Requisição maior que o permitido"})

    def matches_token(self, presented: str | None) -> bool:
        if not presented:
            return False
        return self.token is None or presented == self.token

    # -- dispatch (runs on handler threads) -------------------------------------------

    def _wait(self, seconds: float | None) -> None:
        self._stopping.wait(seconds)

    # -- the cancel race (called under ``lock``) ----------------------------------------

    def _race_winner(self, response: SimResponse, key: str) -> SimResponse:
        """The answer of a cancel that took effect: with ``cancel_race`` on, held back until
        the losing cancel of the same note has been answered (or ``cancel_race_wait_s``)."""
        if self.faults.cancel_race is None:
            return response
        hold = threading.Event()
        self._races[key] = hold
        return replace(response, hold=hold, hold_s=self.faults.cancel_race_wait_s)

    def _race_loser(self, response: SimResponse, key: str) -> SimResponse:
        """The answer of a cancel that lost: once it is out, the winner's may go."""
        hold = self._races.pop(key, None)
        return response if hold is None else replace(response, on_sent=hold.set)

    def _record(self, request: SimRequest) -> None:
        with self.lock:
            self._requests.append(request)

    def _answered(self, request: SimRequest, response: SimResponse) -> None:
        with self.lock:
            self._answers.append(SimAnswer(request, response.status, response.body))


class _Handler(BaseHTTPRequestHandler):
    """One connection; ``simulator`` is set on the per-simulator subclass."""

    simulator: ClassVar[HttpSimulator]
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection does not pin a thread forever
    server_version = "posapp-sim"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: " + format, self.simulator.name, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        sim = self.simulator
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length", "0") or "0")
        limit = sim.max_body_bytes
        if limit is not None and length > limit:
            # Refused unprocessed. The body is drained first (as nginx does) so the client is
            # not reset mid-upload and actually reads the 413.
            remaining = min(length, MAX_SIM_BODY)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)
            refused = SimRequest(self.command, parts.path, {}, headers, b"", sim.clock())
            sim._record(refused)
            self.close_connection = True
            self._reply(refused, sim.too_large())
            return
        body = self.rfile.read(min(length, MAX_SIM_BODY)) if length else b""
        request = SimRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            received_at=sim.clock(),
        )
        sim._record(request)
        faults = sim.faults
        if faults.hang:
            sim._wait(None)  # until stop(): the client's read timeout fires first
            self.close_connection = True
            return
        if faults.slow_s > 0:
            sim._wait(faults.slow_s)
        if not sim.authorized(request):
            self._reply(request, sim.unauthorized())
            return
        if faults.refuse_query is not None and sim.is_query(request):
            self._reply(request, sim.unauthorized(faults.refuse_query))
            return
        if faults.rate_limit:
            self._reply(request, sim.rate_limited())
            return
        if faults.status_5xx is not None:
            self._reply(request, sim.server_error(faults.status_5xx))
            return
        try:
            response = sim.handle(request)
        except Exception:  # a simulator bug answers 500, and the log shows it
            logger.exception("%s simulator failed on %s %s", sim.name, self.command, parts.path)
            response = sim.server_error(500)
        if response.accepted and faults.drop_after_accept:
            # The note is issued; the answer is lost on the way back.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            if response.on_sent is not None:
                response.on_sent()
            return
        error = faults.error_after_accept
        if response.accepted and error is not None:
            response = response.instead(sim.server_error(error))  # issued, and a 5xx says otherwise
        if faults.garbage is not None:
            response = garbled(response, faults.garbage)
        if response.hold is not None:
            response.hold.wait(response.hold_s)
        self._reply(request, response)
        if response.on_sent is not None:
            response.on_sent()

    def _reply(self, request: SimRequest, response: SimResponse) -> None:
        if self._send(response):
            self.simulator._answered(request, response)

    def _send(self, response: SimResponse) -> bool:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(response.body)
        except OSError:  # the client went away; nothing to answer to
            self.close_connection = True
            return False
        return True


def _make_handler(simulator: HttpSimulator) -> type[_Handler]:
    return type(f"{type(simulator).__name__}Handler", (_Handler,), {"simulator": simulator})


# -- command line -------------------------------------------------------------------------


def sim_arguments(args: argparse.Namespace | Sequence[str] | None, prog: str) -> argparse.Namespace:
    """``--host``, ``--port``, ``--port-file``, ``--token``, ``--crt`` (the emitter's tax
    regime the provider knows) from a parsed namespace or argv."""
    if isinstance(args, argparse.Namespace):
        return argparse.Namespace(
            host=getattr(args, "host", "127.0.0.1"),
            port=int(getattr(args, "port", 0) or 0),
            port_file=getattr(args, "port_file", None),
            token=getattr(args, "token", None) or os.environ.get("POSAPP_SIM_TOKEN") or None,
            crt=int(getattr(args, "crt", 1) or 1),
        )
    parser = argparse.ArgumentParser(prog=prog, description="simulador de loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    parser.add_argument("--token", default=os.environ.get("POSAPP_SIM_TOKEN") or None)
    parser.add_argument("--crt", type=int, choices=[1, 2, 3, 4], default=1)
    return parser.parse_args(list(args) if args is not None else None)


def run_until_signal(simulator: HttpSimulator, options: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; write the bound port to ``--port-file`` once listening."""
    try:
        port = simulator.start(options.host, options.port)
    except OSError as exc:
        print(f"não foi possível abrir {options.host}:{options.port}: {exc}")
        return 2
    if options.port_file is not None:
        target = Path(options.port_file)
        partial = target.with_name(target.name + ".tmp")
        partial.write_text(f"{port}\n", encoding="ascii")
        partial.replace(target)  # readers never see a half-written file
    print(f"{simulator.name} simulator listening on {simulator.url}", flush=True)
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not done.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        simulator.stop()
    return 0


# -- the issued note and its XML -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedItem:
    code: str
    description: str
    ncm: str
    cfop: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    gross: Decimal
    discount: Decimal = Decimal("0.00")
    gtin: str = "SEM GTIN"
    approx_tax: Decimal = Decimal("0.00")  # Lei 12.741, as the request sent it (vTotTrib)


@dataclass(frozen=True, slots=True)
class IssuedNote:
    """What a provider simulator knows about a note it issued, provider-neutral.

    Both simulators turn their own JSON into this, and :func:`note_xml` turns it into the
    nfeProc XML with the shared builder in :mod:`posapp.sim.nfce_xml`.
    """

    chave: str
    serie: int
    numero: int
    emitted_at: datetime
    authorized_at: datetime
    protocolo: str | None
    cnpj: str
    uf: str
    items: tuple[IssuedItem, ...]
    payments: tuple[tuple[str, Decimal], ...]
    change: Decimal | None = None
    customer: str | None = None
    contingency: bool = False
    model: str = "65"

    @property
    def total(self) -> Decimal:
        """``vNF``: what the items come to after their discounts."""
        return sum((item.gross - item.discount for item in self.items), Decimal("0.00"))


def issued_item(item: Mapping[str, Any]) -> IssuedItem:
    """An item as both providers' JSON carries it (the NF-e product fields, same names)."""
    return IssuedItem(
        code=str(item["codigo_produto"]),
        description=str(item["descricao"]),
        ncm=str(item["codigo_ncm"]),
        cfop=str(item["cfop"]),
        unit=str(item["unidade_comercial"]),
        quantity=Decimal(str(item["quantidade_comercial"])),
        unit_price=Decimal(str(item["valor_unitario_comercial"])),
        gross=Decimal(str(item["valor_bruto"])),
        discount=Decimal(str(item.get("valor_desconto", "0.00"))),
        gtin=str(item.get("codigo_barras_comercial", "SEM GTIN")),
        approx_tax=_approx_tax(item),
    )


def _approx_tax(item: Mapping[str, Any]) -> Decimal:
    """The item's Lei 12.741 value: Focus's ``valor_total_tributos``, Integra's
    ``imposto.valor_aproximado_tributos``; zero when the request had none."""
    imposto = item.get("imposto")
    value = item.get("valor_total_tributos")
    if value is None and isinstance(imposto, Mapping):
        value = imposto.get("valor_aproximado_tributos")
    try:
        return Decimal(str(value)) if value is not None else Decimal("0.00")
    except ArithmeticError:
        return Decimal("0.00")


def emitter_for(cnpj: str, uf: str) -> SimEmitter:
    """The simulated emitter: the sandbox's, with the account's CNPJ and UF."""
    return replace(SANDBOX_EMITTER, cnpj=cnpj, uf=uf)


def make_chave(
    *, uf: str, emitted_at: datetime, cnpj: str, serie: int, numero: int, contingency: bool, code: int
) -> str:
    """A valid chave for a simulated note, consistent with the XML the builder writes."""
    return nfce_xml.make_chave(
        emitter=emitter_for(cnpj, uf),
        serie=serie,
        numero=numero,
        emitted_at=emitted_at,
        code=f"{code % 100_000_000:08d}",
        tp_emis=9 if contingency else 1,
    )


def content_code(*parts: object) -> int:
    """A ``cNF`` derived from what a request says (items, payments, consumer): the same sale
    sent again gets the same chave, another sale at the same number another one, which is
    what tells SEFAZ's 204 ("Duplicidade de NF-e") from 539 ("... com diferença na Chave")."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16) % 100_000_000


def _is_chave(text: str) -> bool:
    try:
        parse_chave(text)
    except InvalidDocument:
        return False
    return True


def documented(shown: IssuedNote, real: IssuedNote) -> IssuedNote:
    """The note a document (XML, event) can tell: the lie when it is a chave at all."""
    return shown if _is_chave(shown.chave) else real


def told_note(note: IssuedNote, mode: str) -> tuple[IssuedNote, bytes]:
    """The note a ``lying_chave`` answer tells instead of ``note``, and the XML that goes with
    it (the lie's own, consistent XML; the real one when no XML can carry the lie)."""
    lie: Lie = lie_about(
        mode,
        chave=note.chave,
        emitter=emitter_for(note.cnpj, note.uf),
        serie=note.serie,
        numero=note.numero,
        emitted_at=note.emitted_at,
        tp_emis=9 if note.contingency else 1,
    )
    told = replace(
        note,
        chave=lie.chave,
        cnpj=lie.emitter.cnpj,
        uf=lie.emitter.uf,
        serie=lie.serie,
        numero=lie.numero,
        model=lie.model,
    )
    return told, note_xml(told if lie.consistent else note)


def foreign_items(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Another till's sale for the ``duplicidade="foreign"`` knob: the first item only, one
    unit more, so its total (and its chave) differ from the request's."""
    first = dict(items[0])
    quantity = Decimal(str(first["quantidade_comercial"])) + 1
    unit_price = Decimal(str(first["valor_unitario_comercial"]))
    first["quantidade_comercial"] = f"{quantity:f}"
    first["valor_bruto"] = f"{(quantity * unit_price).quantize(Decimal('0.01')):f}"
    first.pop("valor_desconto", None)
    return [first]


def truth_note(
    issuer: str,
    note: IssuedNote,
    *,
    status: str,
    reference: str | None,
    foreign: bool = False,
    told: IssuedNote | None = None,
) -> TruthNote:
    return TruthNote(
        issuer=issuer,
        chave=note.chave,
        serie=note.serie,
        numero=note.numero,
        total=note.total,
        status=status,
        issued_at=note.authorized_at,
        reference=reference,
        foreign=foreign,
        told_chave=told.chave if told is not None else None,
    )


def note_xml(note: IssuedNote) -> bytes:
    """The nfeProc XML of ``note`` (the bare signed NFe for an untransmitted contingency)."""
    sim_note = SimNote(
        chave=note.chave,
        numero=note.numero,
        serie=note.serie,
        emitted_at=note.emitted_at,
        authorized_at=note.authorized_at,
        protocolo=note.protocolo,
        emitter=emitter_for(note.cnpj, note.uf),
        items=tuple(
            SimItem(
                code=item.code,
                description=item.description,
                ncm=item.ncm,
                quantity=item.quantity,
                unit_price=item.unit_price,
                gtin=item.gtin,
                cfop=item.cfop,
                unit=item.unit,
                gross_total=item.gross,
                discount=item.discount,
                approx_tax=item.approx_tax,
            )
            for item in note.items
        ),
        payments=tuple(SimPayment(tpag=tpag, amount=amount) for tpag, amount in note.payments),
        tp_emis=9 if note.contingency else 1,
        change=note.change,
        customer_document=note.customer,
        model=note.model,
    )
    return nfce_xml.build_nfeproc_xml(sim_note)


def cancel_xml(note: IssuedNote, *, protocolo: str, motivo: str, at: datetime) -> bytes:
    """The registered cancel event (procEventoNFe, 110111, cStat 135) for ``note``."""
    if not _is_chave(note.chave):
        raise SimulatorError(f"no event can name chave {note.chave}")
    return nfce_xml.nfe_cancel_event_xml(
        chave=note.chave,
        note_protocolo=note.protocolo or "",
        cancel_protocolo=protocolo,
        motivo=motivo,
        cancelled_at=at,
        cnpj=note.cnpj,
    )


def local_time(epoch: float) -> datetime:
    """A simulated instant in Brasília time, as SEFAZ stamps NFC-e."""
    return datetime.fromtimestamp(epoch, tz=BRASILIA)
