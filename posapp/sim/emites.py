"""A loopback Emites-Client: a real TCP peer speaking ``Size:Identifier:Payload``.

``posapp demo`` issues against it and the test-suite uses it as the daemon. Framing is the
simulator's own sans-IO codec (:mod:`posapp.sim.wire`, independent of the client's
:mod:`posapp.protocol`, so a bug shared by both cannot pass a loopback test); payloads are
ISO-8859-1 both ways; what is answered is decided by :class:`~posapp.sim.emites_engine.EmitesEngine`
(see there for the behaviour of ``CREATE_NFCE`` and ``CANCEL_NFCE``).

Use it as an async context manager, or ``start()``/``stop()``::

    async with EmitesSimulator() as sim:        # 127.0.0.1, a free port
        ...connect to sim.port...
        sim.faults.hang = True                  # the next answers never come
        sim.advance_clock(timedelta(minutes=31))

For tests it keeps evidence: :attr:`EmitesSimulator.requests` lists every frame received
(``(identifier, raw payload bytes)``, untouched, so a UTF-8 payload is detectable with
:attr:`ReceivedRequest.utf8_suspect`), :attr:`EmitesSimulator.notes` every note issued,
:attr:`EmitesSimulator.pipelined` how many requests arrived before the previous answer
went out (the protocol forbids that), :attr:`EmitesSimulator.protocol_errors` frames it
could not decode.

Wire faults (:class:`~posapp.sim.emites_engine.EmitesFaults`) apply to the *answer*; the
request is processed first, so the note exists even when the client never hears of it:

* ``delay_s``: answer after that many seconds;
* ``hang``: never answer (the connection stays open until the client or :meth:`stop` closes it);
* ``close_mid_answer``: write the first half of the answer frame, then close;
* ``garbage``: write bytes that are not a frame (an HTTP error page), then close;
* ``invalid_json``: a correct frame whose JSON is broken the way the vendor's published
  example is (``"valor": 1,.00``);
* ``huge_numbers``: a correct frame whose JSON numbers are ``1e999999`` (valid JSON that
  costs seconds of CPU, or a MemoryError, to a reader that converts it unbounded).

With ``cancel_race`` on, the answer of the cancel that took effect waits until the answer of
a second, losing cancel of the same note has been written (at most ``cancel_race_wait_s``):
two concurrent cancels, the loser heard first. :attr:`EmitesSimulator.truth` is the ground
truth of notes issued and cancels registered (:mod:`posapp.sim.truth`).

Several connections are served at once; each is served one request at a time, in order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Self

from posapp.sim.emites_engine import Answer, EmitesEngine, EmitesFaults, IssuedNote
from posapp.sim.errors import SimulatorError, WireError
from posapp.sim.jsonwire import dumps_decimal
from posapp.sim.nfce_xml import SANDBOX_EMITTER, SimEmitter
from posapp.sim.truth import GroundTruth
from posapp.sim.wire import ENCODING, MAX_FRAME_SIZE, FrameDecoder, encode_frame

DEFAULT_PORT = 3434  # EmitesConfig's default: `posapp sim emites` and `posapp nfce emit` meet there
READ_CHUNK = 64 * 1024
HUGE_NUMBER = "1e999999"
_JSON_NUMBER_VALUE = re.compile(r'(": ?)-?\d+(?:\.\d+)?(?=[,}\]])')
GARBAGE = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n\r\n<html><body>Bad Gateway</body></html>"
_DECIMAL_IN_JSON = re.compile(r'(": )(\d+)\.(\d+)')

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ReceivedRequest(NamedTuple):
    """One request frame as it arrived: the identifier and the payload bytes, untouched."""

    identifier: str
    payload: bytes

    @property
    def utf8_suspect(self) -> bool:
        """The payload has multibyte UTF-8 sequences (``"Pão"`` sent as ``P\\xc3\\xa3o``):
        the daemon reads ISO-8859-1, so they turn into mojibake (``"PÃ£o"``)."""
        if self.payload.isascii():
            return False
        try:
            self.payload.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True


def huge_numbers(text: str) -> str:
    """Every number value of an answer as ``1e999999`` (an ``"id"`` one at least)."""
    spoilt, count = _JSON_NUMBER_VALUE.subn(lambda m: m.group(1) + HUGE_NUMBER, text)
    return spoilt if count else "{" + f'"id": {HUGE_NUMBER}, ' + text.lstrip()[1:]


def break_json(text: str) -> str:
    """Corrupt a JSON text the way the vendor's ``nfce_response.json`` is (``1,.00``)."""
    broken, count = _DECIMAL_IN_JSON.subn(r"\1\2,.\3", text, count=1)
    return broken if count else text[: max(len(text) - 2, 1)] + ",}"


class EmitesSimulator:
    """The simulated daemon. Constructor arguments configure the engine (see
    :class:`~posapp.sim.emites_engine.EmitesEngine`); ``clock`` returns the current time
    (tz-aware) and :meth:`advance_clock` moves it, so a test can age a note past the
    cancel window without waiting."""

    def __init__(
        self,
        *,
        emitter: SimEmitter = SANDBOX_EMITTER,
        serie: int = 1,
        environment: int = 2,
        strict_schema: bool = False,
        faults: EmitesFaults | None = None,
        clock: Clock = _utc_now,
        seed: int | None = None,
        max_frame_size: int = MAX_FRAME_SIZE,
    ) -> None:
        self.engine = EmitesEngine(
            emitter=emitter,
            serie=serie,
            environment=environment,
            strict_schema=strict_schema,
            faults=faults if faults is not None else EmitesFaults(),
            seed=seed,
        )
        self.clock: Clock = clock
        self.clock_offset = timedelta(0)
        self.requests: list[ReceivedRequest] = []
        self.protocol_errors: list[str] = []
        self.internal_errors: list[str] = []
        self.pipelined = 0
        self._max_frame_size = max_frame_size
        self._server: asyncio.Server | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None
        self._closing = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._races: dict[str, asyncio.Event] = {}  # real chave -> "the loser was answered"

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        if self._port is None:
            raise SimulatorError("the Emites simulator is not listening; call start() first")
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        return self._host, self.port

    @property
    def faults(self) -> EmitesFaults:
        """The knobs (shared with the engine); change fields, or assign a new object."""
        return self.engine.faults

    @faults.setter
    def faults(self, faults: EmitesFaults) -> None:
        self.engine.faults = faults

    @property
    def serie(self) -> int:
        """The series the next note is issued in; numbers restart at 1 in a new series."""
        return self.engine.serie

    @serie.setter
    def serie(self, serie: int) -> None:
        self.engine.serie = serie

    @property
    def notes(self) -> dict[str, IssuedNote]:
        """Every note issued, by (real) chave, in issue order."""
        return self.engine.notes

    @property
    def truth(self) -> GroundTruth:
        """What was really issued and cancelled, whatever the answers said."""
        return self.engine.truth

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (``0``: any free port) and return the bound port.

        Give a numeric address: a name that resolves to several (``localhost``: IPv4 and
        IPv6) would get a different free port on each, and only the first is reported."""
        if self._server is not None:
            raise SimulatorError("the Emites simulator is already listening")
        self._closing = asyncio.Event()
        self._server = await asyncio.start_server(self._on_connect, host, port)
        sockets = self._server.sockets
        self._host = host
        self._port = int(sockets[0].getsockname()[1])
        return self._port

    async def stop(self) -> None:
        """Stop listening, close every connection (hanging ones included), wait for handlers."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self._closing.set()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=5)
            for task in pending:  # still sleeping in a fault (a delay, a held cancel race)
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1)
        for writer in list(self._writers):
            # Whatever is left drops its socket now: a transport left open to the garbage
            # collector warns (ResourceWarning) in whoever happens to run then.
            writer.transport.abort()
        await asyncio.sleep(0)  # the transports close their sockets in a loop callback
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ clock

    def now(self) -> datetime:
        """The simulator's idea of *now*: ``clock()`` plus the offset :meth:`advance_clock` added."""
        return self.clock() + self.clock_offset

    def advance_clock(self, delta: timedelta) -> None:
        self.clock_offset += delta

    # ------------------------------------------------------------------ serving

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder(max_frame_size=self._max_frame_size)
        try:
            while not self._closing.is_set():
                frame = decoder.next_frame()
                if frame is None:
                    chunk = await reader.read(READ_CHUNK)
                    decoder.feed(chunk)
                    if not chunk:
                        decoder.close()
                        return
                    continue
                if decoder.buffered:
                    self.pipelined += 1
                self.requests.append(ReceivedRequest(frame.identifier, frame.payload))
                if not await self._answer(frame.identifier, frame.payload, writer):
                    return
        except WireError as exc:
            self.protocol_errors.append(str(exc))
        except (ConnectionError, OSError):
            return

    async def _answer(self, identifier: str, payload: bytes, writer: asyncio.StreamWriter) -> bool:
        """Process one request and write its answer (faults permitting). False: close."""
        loop = asyncio.get_running_loop()
        try:
            answer = await loop.run_in_executor(None, self.engine.handle, identifier, payload, self.now())
        except Exception as exc:  # a simulator bug: say so on the wire and in the record
            self.internal_errors.append(f"{type(exc).__name__}: {exc}")
            answer = Answer(identifier, {"status": "erro", "erros": [f"Erro interno do simulador: {exc}"]})
        faults = self.faults
        if faults.delay_s > 0:
            await asyncio.sleep(faults.delay_s)
        if faults.hang:
            await self._closing.wait()
            return False
        text = dumps_decimal(answer.body)
        if faults.invalid_json:
            text = break_json(text)
        if faults.huge_numbers:
            text = huge_numbers(text)
        data = encode_frame(answer.identifier, text.encode(ENCODING))
        if answer.race is not None and answer.race[0] == "won":
            # Held back until the losing cancel of this note has been answered.
            race = self._races.setdefault(answer.race[1], asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(race.wait(), faults.cancel_race_wait_s)
        if faults.garbage:
            writer.write(GARBAGE)
            await writer.drain()
            self._race_lost(answer)
            return False
        if faults.close_mid_answer:
            writer.write(data[: len(data) // 2])
            await writer.drain()
            self._race_lost(answer)
            return False
        writer.write(data)
        await writer.drain()
        self._race_lost(answer)
        return True

    def _race_lost(self, answer: Answer) -> None:
        """The losing cancel's answer is out: the winner's may go."""
        if answer.race is not None and answer.race[0] == "lost":
            self._races.setdefault(answer.race[1], asyncio.Event()).set()


# --------------------------------------------------------------------------- command line


def _write_port_file(path: Path, port: int) -> None:
    """Atomically: a reader polling for the file never sees it half written."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(f"{port}\n", encoding="ascii")
    os.replace(temporary, path)


async def serve_forever(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    port_file: Path | None = None,
    *,
    simulator: EmitesSimulator | None = None,
) -> None:
    """Run a simulator until SIGINT/SIGTERM (or cancellation), then stop it cleanly.

    Once listening, writes the bound port to ``port_file`` (if given) and prints one line
    to stdout, so scripts can wait for either.
    """
    sim = simulator or EmitesSimulator()
    bound = await sim.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C arrives as KeyboardInterrupt
            pass
    try:
        if port_file is not None:
            await asyncio.to_thread(_write_port_file, port_file, bound)
        print(f"Simulador do Emites-Client ouvindo em {host}:{bound}", flush=True)
        await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        await sim.stop()


def add_sim_emites_arguments(parser: argparse.ArgumentParser) -> None:
    """``[--host] [--port] [--port-file PATH]`` as the README's command line lists them."""
    parser.add_argument("--host", default="127.0.0.1", help="endereço de escuta (padrão 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="porta (0: qualquer porta livre)")
    parser.add_argument("--port-file", type=Path, help="grava aqui a porta escolhida, quando já ouvindo")


def main_sim_emites(args: argparse.Namespace) -> int:
    """``posapp sim emites``: serve until Ctrl-C/SIGTERM. 0 on a clean stop, 1 if it cannot listen."""
    host = getattr(args, "host", None) or "127.0.0.1"
    given = getattr(args, "port", None)
    port = DEFAULT_PORT if given is None else int(given)
    port_file = getattr(args, "port_file", None)
    try:
        asyncio.run(serve_forever(host, port, port_file))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(
            f"Não foi possível iniciar o simulador do Emites-Client em {host}:{port}: {exc}", file=sys.stderr
        )
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m posapp.sim.emites``: the same as ``posapp sim emites``."""
    parser = argparse.ArgumentParser(prog="posapp sim emites", description="Simulador do Emites-Client")
    add_sim_emites_arguments(parser)
    return main_sim_emites(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
