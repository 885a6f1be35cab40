"""Absurd numbers in an Emites answer are refused at once, as an unreadable answer.

Before the bound, ``{"id": 1e999999}`` made the answer reader spend about 23 s of CPU
building a million-digit integer (on the event loop, so the response timeout could not
fire) and a larger exponent raised MemoryError. Now every number literal is bounded
before it is converted, and such an answer is a RemoteProtocolError: outcome unknown
(IN_DOUBT), exactly like any other answer we cannot read.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from posapp.domain.issuance import Outcome
from posapp.fiscal.emites import EmitesBackend
from posapp.protocol.errors import RemoteProtocolError
from posapp.protocol.framing import Frame, FrameDecoder, encode_frame
from posapp.protocol.messages import (
    CREATE_NFCE,
    MAX_NUMBER_CHARS,
    MAX_NUMBER_EXPONENT,
    parse_request,
    parse_response,
)
from tests.protocol.emites_samples import ANSWER_CHAVE, config, context

QUICK_S = 0.25  # "well under a second", with room for a loaded machine

ABSURD = [
    b"1e999999",
    b"1E999999999999999999",
    b"-1e999999",
    b"1e-999999",
    b"0e-999999",
    b"9.99e+100000",
    b"1" + b"0" * 5000,  # an integer literal of 5001 digits
    b"1" + b"0" * 5_000_000,  # 5 MB of digits: refused by its length, not by int()
    b"0." + b"0" * 100 + b"1",
]


def sucesso_with(field: bytes, number: bytes) -> bytes:
    return b'{"status": "sucesso", ' + field + b": " + number + b', "resposta_emissao": {}}'


@pytest.mark.parametrize("number", ABSURD, ids=lambda n: n[:24].decode() + ("..." if len(n) > 24 else ""))
@pytest.mark.parametrize(
    "field",
    [b'"id"', b'"nfe_numero"', b'"serie"', b'"forma_de_pagamento": [{"valor_do_pagamento"'],
)
def test_absurd_numbers_are_remote_errors_quickly(field: bytes, number: bytes) -> None:
    payload = sucesso_with(field, number)
    if field.startswith(b'"forma'):
        payload = payload.replace(b', "resposta_emissao"', b'}], "resposta_emissao"')
    started = time.perf_counter()
    with pytest.raises(RemoteProtocolError):
        parse_response(Frame(CREATE_NFCE, payload))
    assert time.perf_counter() - started < QUICK_S


def test_the_same_bound_holds_for_requests_a_simulator_reads() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_request(Frame(CREATE_NFCE, b'{"valor": 1e999999}'))


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (b"603.90", Decimal("603.90")),
        (b"0.4086", Decimal("0.4086")),
        (b"1.0E+2", Decimal("100")),
        (b"0.0000000001", Decimal("1E-10")),
        (b"1e64", Decimal("1e64")),
        (b"1e-64", Decimal("1e-64")),
        (b"-12.5", Decimal("-12.5")),
    ],
)
def test_ordinary_numbers_still_read_exactly(literal: bytes, expected: Decimal) -> None:
    payload = b'{"status": "sucesso", "forma_de_pagamento": [{"valor_do_pagamento": ' + literal + b"}]}"
    response = parse_response(Frame(CREATE_NFCE, payload))
    assert response.payments[0].valor_do_pagamento == expected


def test_the_bounds_leave_room_for_a_chave_sent_as_a_number() -> None:
    assert MAX_NUMBER_CHARS >= 44 and MAX_NUMBER_EXPONENT >= 44
    payload = b'{"status": "sucesso", "resposta_emissao": {"chave_acesso": ' + ANSWER_CHAVE.encode() + b"}}"
    assert parse_response(Frame(CREATE_NFCE, payload)).chave == ANSWER_CHAVE
    too_long = b'{"status": "sucesso", "id": ' + b"1" * (MAX_NUMBER_CHARS + 1) + b"}"
    with pytest.raises(RemoteProtocolError, match="characters"):
        parse_response(Frame(CREATE_NFCE, too_long))


def test_the_backend_reports_in_doubt_within_its_timeout() -> None:
    """End to end: a real loopback peer answers ``"id": 1e999999``; the sale is IN_DOUBT
    (the daemon has the request) and the answer is dealt with in well under a second,
    not after the 5 s response timeout, nor after 23 s of CPU."""

    async def scenario() -> tuple[Outcome, str, float]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            decoder = FrameDecoder()
            while decoder.next_frame() is None:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                decoder.feed(chunk)
            writer.write(encode_frame(CREATE_NFCE, b'{"status": "sucesso", "id": 1e999999}'))
            await writer.drain()
            await reader.read()  # hold the connection until the client closes it
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        backend = EmitesBackend(config(port=port, response_timeout_s=5.0))
        try:
            prepared = backend.prepare_issue(context("bounds-1"))
            started = time.perf_counter()
            result = await backend.send_issue(prepared)
            elapsed = time.perf_counter() - started
        finally:
            await backend.aclose()
            server.close()
            await server.wait_closed()
        return result.outcome, result.detail, elapsed

    outcome, detail, elapsed = asyncio.run(scenario())
    assert outcome is Outcome.IN_DOUBT
    assert "unreadable answer" in detail and "out of range" in detail
    assert elapsed < QUICK_S * 2  # includes connecting and writing the request over loopback
