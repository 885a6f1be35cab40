"""A raw Emites-Client peer for the simulator tests: asyncio sockets and the framing codec.

Deliberately *not* :mod:`posapp.fiscal.emites` (the real client, tested on its own): these
tests look at the exact bytes the simulator answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import importlib.util
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from posapp.protocol.framing import Frame, FrameDecoder, encode_frame
from posapp.sim.emites import EmitesSimulator
from posapp.sim.jsonwire import dumps_decimal

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "emites"
EXAMPLES = (
    "nfce_request.json",
    "nfce_request_minimal.json",
    "nfce_request_international.json",
    "nfce_request_mfe.json",
)
NFE = "{http://www.portalfiscal.inf.br/nfe}"
HAS_REPORTLAB = importlib.util.find_spec("reportlab") is not None  # optional: the DANFE PDFs


def example_text(name: str = "nfce_request_minimal.json") -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def example(name: str = "nfce_request_minimal.json") -> dict[str, Any]:
    return copy.deepcopy(json.loads(example_text(name), parse_float=Decimal))


def latin1(obj: dict[str, Any]) -> bytes:
    return dumps_decimal(obj).encode("iso-8859-1")


def answer_of(frame: Frame) -> dict[str, Any]:
    """The answer JSON read as the protocol says: ISO-8859-1, exact decimals."""
    data = json.loads(frame.payload.decode("iso-8859-1"), parse_float=Decimal)
    assert isinstance(data, dict)
    return data


class Wire:
    """One client connection: write frames, read frames (or raw bytes) back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = FrameDecoder()

    @classmethod
    async def open(cls, port: int) -> Wire:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def __aenter__(self) -> Wire:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()

    async def send(self, identifier: str, payload: bytes) -> None:
        self.writer.write(encode_frame(identifier, payload))
        await self.writer.drain()

    async def read_frame(self, wait_s: float = 10) -> Frame:
        async with asyncio.timeout(wait_s):
            while (frame := self.decoder.next_frame()) is None:
                chunk = await self.reader.read(65536)
                self.decoder.feed(chunk)
                if not chunk:
                    self.decoder.close()
                    raise EOFError("connection closed between frames")
            return frame

    async def read_all(self, wait_s: float = 10) -> bytes:
        """Every byte until the peer closes."""
        async with asyncio.timeout(wait_s):
            return await self.reader.read()

    async def request(self, identifier: str, payload: bytes | dict[str, Any]) -> tuple[Frame, dict[str, Any]]:
        await self.send(identifier, payload if isinstance(payload, bytes) else latin1(payload))
        frame = await self.read_frame()
        return frame, answer_of(frame)


async def ask(port: int, identifier: str, payload: bytes | dict[str, Any]) -> dict[str, Any]:
    """One request on a fresh connection; the decoded answer."""
    async with await Wire.open(port) as wire:
        _, answer = await wire.request(identifier, payload)
        return answer


def with_sim(
    scenario: Callable[[EmitesSimulator], Awaitable[None]],
    *,
    clean: bool = True,
    **options: Any,
) -> EmitesSimulator:
    """Run ``scenario(sim)`` against a fresh simulator on 127.0.0.1:0 in a new event loop.

    ``clean``: also assert the simulator saw no undecodable frame and had no internal error.
    """

    async def main() -> EmitesSimulator:
        async with EmitesSimulator(seed=7, **options) as sim:
            await scenario(sim)
        return sim

    sim = asyncio.run(main())
    if clean:
        assert sim.protocol_errors == []
        assert sim.internal_errors == []
    return sim
