"""Shared httpx plumbing for the online providers: one exchange, classified.

The second promise (no sale issued twice) rests on one question asked after every failed
HTTP call: *could the provider have acted on our request?* This module answers it once,
for every adapter, and returns an :class:`Exchange` that is either a response or a failure
already labelled ``NOT_SENT`` (safe to send anywhere) or ``IN_DOUBT`` (reconcile first).

How we know whether the request left
------------------------------------
A provider can only act on a *complete* request: for a JSON POST that means every byte of
the ``Content-Length`` body. :class:`TrackedBody` is the request stream and holds the final
byte back: httpcore asks for the next chunk only after the previous write returned, so the
last byte is released to the connection only once everything before it was written, and
``last_byte_released`` is set at that moment. Until then the server holds an incomplete
message it cannot act on, whatever happened on the wire.

Why not simply "the writes succeeded"? Because a successful write proves nothing: on
asyncio, anyio hands the bytes to the transport, which buffers them in user space and
keeps flushing after our coroutine has moved on, and anyio's ``send`` returns normally even
when the connection dies while it waits for the buffer to drain. So:

* ``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``: no connection: ``NOT_SENT``.
* ``WriteError`` / ``WriteTimeout`` (the subtle case). httpcore *swallows* a ``WriteError``
  while sending the body and goes on to read a response, because a server may answer early
  (Integra's 413 for a body over 2 MB) and close; so a failed write usually surfaces as an
  early response or a read-side error. A ``WriteTimeout`` (an upload that stalls) surfaces
  as itself. In every case the question is the same: was the last byte released? If not,
  ``NOT_SENT``, with certainty. If it was, we cannot tell whether it crossed the wire, so
  ``IN_DOUBT``.
* ``ReadTimeout``, ``ReadError``, ``RemoteProtocolError`` (peer closed without answering),
  our own overall deadline: the full request was released, so these are ``IN_DOUBT``; the
  provider may have issued the note.
* Requests without a body (GET) are reads: a failure is ``NOT_SENT`` only in the connect
  phase and ``IN_DOUBT`` otherwise; the adapters treat a failed *query* as "still unknown".

The rule errs only one way: a request the server never saw may be called ``IN_DOUBT`` (a
peer that resets the connection while the body is still buffered), which costs one query
to reconcile; a request the server could have acted on is never called ``NOT_SENT``.

Stale keep-alive connections would blur this (a pooled socket the server already closed
accepts our bytes, then reports a disconnect that looks exactly like a drop after accept),
so the client keeps no idle connections: every request opens its own. The fallback path
sends a few requests a minute; the extra handshake is cheap next to a duplicate NFC-e.

Reading answers: only a definite answer to the request we sent is a verdict, and the
adapters decide which ones are. What this module gives them for it: :func:`parse_json`, which
reads numbers bounded before any conversion (``1e999999`` makes the whole answer unreadable
at once, as it does for Emites in ``posapp.protocol.messages``), :func:`as_int`, which never
converts an unbounded number, and :func:`xml_of_another_chave`, for an answer that names one
chave and carries the XML of another.

Rate limits: a 429 answer is ``NOT_SENT`` (the provider refused before acting) with a
``retry_after_s`` from ``Retry-After`` / ``Rate-Limit-Reset``; the client then refuses
locally, without touching the network, until that moment. ``Rate-Limit-Remaining: 0``
blocks the same way before the provider has to say 429. Adapters add local sliding-window
budgets for limits that are documented but not signalled (Integra's 2 calls a minute per
chave). A 429 to a *query* proves nothing about the note: the adapters turn it into
``IN_DOUBT`` (``HttpProviderBackend._failed(exchange, Outcome.IN_DOUBT)``).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

from posapp import __version__
from posapp.domain.documents import parse_chave
from posapp.domain.errors import InvalidDocument
from posapp.domain.issuance import AuthorizedNote, Outcome
from posapp.domain.nfe_xml import NfeDocument, NfeXmlError, read_nfe
from posapp.fiscal.errors import FiscalError
from posapp.fiscal.secrets import SecretToken, redact

logger = logging.getLogger(__name__)

USER_AGENT = f"posapp/{__version__} (+httpx)"
MAX_RAW_RESPONSE_CHARS = 200_000  # what goes to the journal; a full XML answer fits
# Bounds on every number read from a provider's JSON, checked on the literal before any
# conversion (as posapp.protocol.messages does for Emites). A 44-digit chave sent as a number
# still fits; nothing a provider sends comes near 10^64. Without them ``1e999999`` costs
# seconds of CPU once something calls int() on it (a larger exponent, a MemoryError), on the
# event loop; with them such an answer is simply unreadable, so it is no verdict.
MAX_NUMBER_CHARS = 64
MAX_NUMBER_EXPONENT = 64

Clock = Callable[[], float]


class ProviderRequestError(FiscalError):
    """A request we refuse to build or send (bad reference, missing numbering, too large).
    Nothing was sent."""


# --------------------------------------------------------------------------- the exchange


@dataclass(frozen=True, slots=True)
class Exchange:
    """The result of one HTTP call: a response, or a failure already classified.

    ``failure`` is ``None`` when ``response`` holds an answer to act on; otherwise it is
    :attr:`Outcome.NOT_SENT` or :attr:`Outcome.IN_DOUBT` and ``detail`` says why (in English,
    for logs). A 429 comes back as a ``NOT_SENT`` failure *with* its response.
    """

    response: httpx.Response | None
    failure: Outcome | None = None
    detail: str = ""
    retry_after_s: float | None = None
    raw_text: str | None = None  # the body as text, token-redacted and size-capped

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class TrackedBody(httpx.AsyncByteStream):
    """A request body that holds its final byte back until everything before it was written.

    ``last_byte_released`` false proves the server cannot hold the complete request.
    """

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.last_byte_released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if len(self.payload) > 1:
            yield self.payload[:-1]
        # Resumed only after httpcore's write of the chunk above returned (for a one-byte
        # or empty body: after the request head was written).
        self.last_byte_released = True
        if self.payload:
            yield self.payload[-1:]


# --------------------------------------------------------------------------- rate limiting


class SlidingWindow:
    """``limit`` calls per ``window_s`` per key, counted locally before a call is made."""

    def __init__(self, limit: int, window_s: float, *, clock: Clock = time.monotonic) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}

    def wait_s(self, key: str) -> float:
        """Seconds until a call for ``key`` fits the budget (0: it fits now)."""
        now = self._clock()
        calls = self._calls.get(key)
        if calls is None:
            return 0.0
        while calls and calls[0] <= now - self.window_s:
            calls.popleft()
        if not calls:
            del self._calls[key]
            return 0.0
        if len(calls) < self.limit:
            return 0.0
        return max(calls[0] + self.window_s - now, 0.001)

    def take(self, key: str) -> None:
        self._calls.setdefault(key, deque()).append(self._clock())


@dataclass(frozen=True, slots=True)
class Budget:
    """A sliding window and the key one call is charged to."""

    window: SlidingWindow
    key: str


class RateGate:
    """Blocks announced by the provider (429, ``Rate-Limit-Remaining: 0``), per scope."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._blocked_until: dict[str, float] = {}

    def wait_s(self, scope: str) -> float:
        until = self._blocked_until.get(scope)
        if until is None:
            return 0.0
        remaining = until - self._clock()
        if remaining <= 0:
            del self._blocked_until[scope]
            return 0.0
        return remaining

    def block(self, scope: str, seconds: float) -> None:
        until = self._clock() + max(seconds, 0.0)
        self._blocked_until[scope] = max(until, self._blocked_until.get(scope, 0.0))


def parse_retry_after(headers: httpx.Headers, *, now_epoch: float | None = None) -> float | None:
    """Seconds to wait, from ``Retry-After`` (seconds or HTTP date) or ``Rate-Limit-Reset``.

    Focus documents ``Rate-Limit-Reset`` as seconds to the reset, Fast Notas as a Unix time;
    a value that can only be an epoch (above 10^9) is read as one.
    """
    now = time.time() if now_epoch is None else now_epoch
    value = headers.get("retry-after")
    if value:
        seconds = _parse_seconds_or_epoch(value, now)
        if seconds is None:
            try:
                moment = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                moment = None
            if moment is not None:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                seconds = max(moment.timestamp() - now, 0.0)
        if seconds is not None:
            return seconds
    reset = headers.get("rate-limit-reset")
    if reset:
        return _parse_seconds_or_epoch(reset, now)
    return None


def _parse_seconds_or_epoch(value: str, now: float) -> float | None:
    text = value.strip()
    if len(text) > MAX_NUMBER_CHARS:
        return None
    try:
        exact = Decimal(text)
    except ArithmeticError:
        return None
    if not exact.is_finite() or exact < 0 or exact.adjusted() > 11:  # beyond any epoch: nonsense
        return None
    number = float(exact)  # seconds, not money
    if number > 1e9:
        return max(number - now, 0.0)
    return number


# --------------------------------------------------------------------------- the client


class ProviderHttp:
    """One provider's HTTP client: auth, timeouts, no keep-alive, classified failures.

    ``timeout_s`` is the read timeout (Integra asks for at least 60 s); the connect timeout
    is the smaller of it and 10 s; a whole exchange is also bounded by an overall deadline so a
    server that drips one byte a minute cannot hold a sale forever.
    """

    def __init__(
        self,
        *,
        base_url: str,
        timeout_s: float,
        token: SecretToken | None,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        default_block_s: float = 60.0,
    ) -> None:
        self._token = token
        self._clock = clock
        self._wall_clock = wall_clock
        self.default_block_s = default_block_s
        self.gate = RateGate(clock=clock)
        connect_s = min(10.0, timeout_s)
        self.deadline_s = connect_s + timeout_s + 5.0
        if transport is None:
            transport = httpx.AsyncHTTPTransport(
                retries=0, limits=httpx.Limits(max_connections=4, max_keepalive_connections=0)
            )
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        all_headers.update(headers or {})
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            headers=all_headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_s, pool=connect_s),
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # a proxy variable must not reroute fiscal traffic silently
        )

    @property
    def base_url(self) -> httpx.URL:
        return self._client.base_url

    async def aclose(self) -> None:
        await self._client.aclose()

    def redact(self, text: str) -> str:
        return redact(text, self._token)

    def blocked_s(self, scopes: Iterable[str], budgets: Sequence[Budget] = ()) -> float:
        """How long before a call charged to these scopes/budgets may go (0: now)."""
        waits = [self.gate.wait_s(scope) for scope in scopes]
        waits += [b.window.wait_s(b.key) for b in budgets]
        return max(waits, default=0.0)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        scopes: Sequence[str] = ("*",),
        budgets: Sequence[Budget] = (),
        block_on_429_s: float | None = None,
    ) -> Exchange:
        """Send one request; never raises for network trouble (see the module docstring).

        ``scopes`` name the rate-limit blocks this call is subject to and extends on 429;
        ``budgets`` are local windows it is charged to. A blocked call returns ``NOT_SENT``
        with ``retry_after_s`` and touches nothing.
        """
        wait = self.blocked_s(scopes, budgets)
        if wait > 0:
            return Exchange(
                None,
                Outcome.NOT_SENT,
                f"{method} {path}: held back locally by the rate limit for {wait:.1f}s",
                retry_after_s=wait,
            )
        for budget in budgets:
            budget.window.take(budget.key)

        tracked: TrackedBody | None = None
        request_headers = dict(headers or {})
        if body is not None:
            tracked = TrackedBody(body)
            request_headers["Content-Length"] = str(len(body))
            request_headers.setdefault("Content-Type", "application/json")
        request = self._client.build_request(method, path, params=params, headers=request_headers)
        if tracked is not None:
            request.stream = tracked

        try:
            async with asyncio.timeout(self.deadline_s):
                response = await self._client.send(request)
                await response.aread()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return self._failed(method, path, Outcome.NOT_SENT, f"no connection: {type(exc).__name__}")
        except (httpx.HTTPError, TimeoutError) as exc:
            # TransportError, and also DecodingError/TooManyRedirects/...: any failure after
            # the body's last byte was handed over means the issuer may have the request.
            released = tracked.last_byte_released if tracked is not None else True
            outcome = Outcome.IN_DOUBT if released else Outcome.NOT_SENT
            phase = "after the request was written" if released else "before the request was complete"
            reason = f"{type(exc).__name__} {phase}: {self.redact(str(exc))}"
            return self._failed(method, path, outcome, reason)

        raw = self.redact(_body_text(response))[:MAX_RAW_RESPONSE_CHARS]
        logger.info("%s %s -> HTTP %d", method, _path_only(path), response.status_code)
        self._note_rate_headers(response, scopes)
        if response.status_code == 429:
            retry = parse_retry_after(response.headers, now_epoch=self._wall_clock())
            if retry is None:
                retry = self.default_block_s if block_on_429_s is None else block_on_429_s
            for scope in scopes:
                self.gate.block(scope, retry)
            return Exchange(
                response,
                Outcome.NOT_SENT,
                f"{method} {path}: HTTP 429, retry after {retry:.0f}s",
                retry_after_s=retry,
                raw_text=raw,
            )
        return Exchange(response, None, f"HTTP {response.status_code}", raw_text=raw)

    def _failed(self, method: str, path: str, outcome: Outcome, detail: str) -> Exchange:
        logger.warning("%s %s failed (%s): %s", method, _path_only(path), outcome.value, detail)
        return Exchange(None, outcome, f"{method} {_path_only(path)}: {detail}")

    def _note_rate_headers(self, response: httpx.Response, scopes: Sequence[str]) -> None:
        remaining = response.headers.get("rate-limit-remaining")
        if remaining is None or response.status_code == 429:
            return
        try:
            left = int(remaining.strip())
        except ValueError:
            return
        if left <= 0:
            reset = parse_retry_after(
                httpx.Headers({"rate-limit-reset": response.headers.get("rate-limit-reset", "")}),
                now_epoch=self._wall_clock(),
            )
            for scope in scopes:
                self.gate.block(scope, self.default_block_s if reset is None else reset)


def _body_text(response: httpx.Response) -> str:
    try:
        return response.content.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:
        return response.content.decode("utf-8", errors="replace")


def _path_only(path: str) -> str:
    return path.split("?", 1)[0]


# --------------------------------------------------------------------------- JSON


def json_bytes(document: Mapping[str, Any]) -> bytes:
    """The exact body bytes: compact UTF-8 JSON. Decimals must already be strings."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _AbsurdNumber(ValueError):
    """A JSON number (or constant) no provider answer carries."""


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _AbsurdNumber(f"JSON number of {len(text)} characters")
    return int(text)


def _bounded_decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise _AbsurdNumber(f"JSON number of {len(text)} characters")
    value = Decimal(text)  # exact and cheap: the exponent is only stored
    if not -MAX_NUMBER_EXPONENT <= value.adjusted() <= MAX_NUMBER_EXPONENT:
        raise _AbsurdNumber(f"JSON number {text} out of range")
    return value


def _refuse_constant(name: str) -> Any:
    raise _AbsurdNumber(f"JSON constant {name}")


def parse_json(response: httpx.Response | None) -> Any:
    """The response body as JSON (numbers as bounded int/Decimal, never float); ``None`` if
    it is not JSON, or carries a number no provider sends (``1e999999``, ``NaN``) or
    nesting deeper than the parser takes: an answer we cannot read is no verdict."""
    if response is None or not response.content:
        return None
    try:
        return json.loads(
            response.content,
            parse_float=_bounded_decimal,
            parse_int=_bounded_int,
            parse_constant=_refuse_constant,
        )
    except (ValueError, UnicodeDecodeError, RecursionError):  # _AbsurdNumber is a ValueError
        return None


def json_object(response: httpx.Response | None) -> Mapping[str, Any]:
    """The response body as a JSON object; empty when it is anything else.

    Providers answer objects; a list, a bare value or an HTML error page carries none of
    the fields the adapters read, so it reads as an object without them.
    """
    data = parse_json(response)
    return data if isinstance(data, dict) else {}


def money_text(value: Decimal) -> str:
    """Two decimals, the NF-e way (``"4.90"``)."""
    return f"{value.quantize(Decimal('0.01')):f}"


def decimal_text(value: Decimal, *, min_places: int = 2, max_places: int = 10) -> str:
    """A Decimal as plain text with between ``min_places`` and ``max_places`` decimals."""
    text = f"{value.quantize(Decimal(1).scaleb(-max_places), rounding=ROUND_HALF_UP):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(min_places, "0")
    return f"{whole}.{fraction}" if fraction else whole


def as_text(value: object) -> str | None:
    """A JSON scalar as stripped text; ``None`` for null, empty, lists and objects."""
    if value is None or isinstance(value, (list, dict, bool)):
        return None
    text = str(value).strip()
    return text or None


def as_int(value: object) -> int | None:
    """A JSON integer, or text of one (``"12"``), within 18 digits; ``None`` for anything
    else, including a number too large to mean anything (never converted unbounded)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**18 else None
    text = as_text(value)
    if text is None or len(text) > MAX_NUMBER_CHARS:
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(text)
    except ArithmeticError:
        return None
    if not number.is_finite() or number.adjusted() >= 18 or number != number.to_integral_value():
        return None
    return int(number)


def messages_of(value: object) -> tuple[str, ...]:
    """Provider ``erros``: a list of strings, or an object of field -> messages, or a string."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, dict):
        out: list[str] = []
        for key, item in value.items():
            for message in messages_of(item):
                out.append(f"{key}: {message}")
        return tuple(out)
    if isinstance(value, list):
        result: list[str] = []
        for item in value:
            if isinstance(item, dict):
                text = as_text(item.get("mensagem")) or as_text(item.get("message"))
                field = as_text(item.get("campo")) or as_text(item.get("field"))
                if text:
                    result.append(f"{field}: {text}" if field else text)
                    continue
            result.extend(messages_of(item))
        return tuple(result)
    text = as_text(value)
    return (text,) if text else ()


# --------------------------------------------------------------------------- the nfeProc XML


def read_nfeproc(xml: bytes) -> NfeDocument | None:
    """An nfeProc (or bare NFe) read by the one NF-e reader; ``None`` if it is not one we
    can read. The reader caps the size, refuses DTDs and entities and verifies the chave."""
    try:
        return read_nfe(xml)
    except NfeXmlError as exc:
        logger.info("provider XML not read as an NF-e: %s", exc.reason)
        return None


def chave_digits(value: object) -> str | None:
    """A 44-digit chave from ``NFe5318...`` or bare digits, check digit verified; ``None``
    when the value is no chave (an adapter then has no note to report, only a doubt)."""
    text = as_text(value)
    if text is None:
        return None
    text = text.removeprefix("NFCe")
    try:
        return parse_chave(text).digits
    except InvalidDocument:
        return None


def xml_of_another_chave(xml: bytes | None, chave: str) -> str | None:
    """The chave of ``xml`` when it is a readable note of *another* chave than the answer
    named: an answer that contradicts itself, which is no verdict. ``None`` otherwise (no
    XML, an unreadable one, which :func:`build_note` drops, or the same chave)."""
    facts = read_nfeproc(xml) if xml else None
    if facts is None or facts.chave == chave:
        return None
    return facts.chave


def build_note(
    *,
    chave: str,
    numero: int | None,
    serie: int | None,
    xml: bytes | None,
    protocolo: str | None = None,
    authorized_at: datetime | None = None,
    contingency: bool = False,
    danfe_pdf: bytes | None = None,
    now: Callable[[], datetime] | None = None,
) -> AuthorizedNote:
    """An :class:`AuthorizedNote` from what the provider said, completed from the XML.

    Número and série are the provider's own words when it said them (so that a claim that
    disagrees with the chave reaches the verification of the note as it was made), else the
    XML's, else the chave's digits. The XML wins for protocol and authorization time (it is
    the legal document), and the JSON fills what the XML lacks.
    An XML that cannot be read as an NF-e (malformed, a DTD, a chave that fails its check
    digit or disagrees with itself), or that is the XML of another chave, is neither used
    nor kept as this note's document: nothing in it can be trusted and it could not print
    this note's DANFE. The drop is logged; an XML carried in the answer's JSON (Integra)
    stays in the raw answer the journal keeps.
    """
    facts = read_nfeproc(xml) if xml else None
    if xml and (facts is None or facts.chave != chave):
        logger.warning(
            "XML for chave %s not kept: %s",
            chave,
            "unreadable" if facts is None else f"it is the XML of chave {facts.chave}",
        )
        xml, facts = None, None
    if facts is not None:
        protocolo = facts.protocolo or protocolo
        authorized_at = facts.authorized_at or authorized_at or facts.emitted_at
        numero = numero if numero is not None else facts.numero
        serie = serie if serie is not None else facts.serie
        if facts.tp_emis is not None and facts.tp_emis != 1 and facts.protocolo is None:
            contingency = True
    if numero is None:
        numero = int(chave[25:34])
    if serie is None:
        serie = int(chave[22:25])
    if authorized_at is None:
        authorized_at = (now or (lambda: datetime.now(UTC)))()
    return AuthorizedNote(
        chave=chave,
        numero=numero,
        serie=serie,
        authorized_at=authorized_at,
        protocolo=protocolo,
        xml=xml,
        danfe_pdf=danfe_pdf,
        contingency=contingency,
    )
