"""The real :class:`EmitesBackend` against real, misbehaving TCP servers on 127.0.0.1.

Each test starts an asyncio server that plays Emites-Client the way it is scripted to:
answer, refuse, hang, hang up halfway, talk garbage. The backend is the production
class with small timeouts; what the server received is decoded and checked too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from posapp.config import Config
from posapp.domain.documents import build_chave
from posapp.domain.errors import CancelRefused
from posapp.domain.issuance import CancelOutcome, CancelTarget, Health, IssueResult, Outcome, PreparedIssue
from posapp.fiscal.emites import EmitesBackend
from posapp.fiscal.errors import FiscalError
from posapp.fiscal.port import FiscalBackend
from posapp.protocol.framing import Frame, FrameDecoder, encode_frame
from posapp.protocol.messages import CANCEL_NFCE, CREATE_CFE, CREATE_NFCE, encode_response
from tests.protocol.emites_samples import (
    ANSWER_CHAVE,
    PUBLISHED_CANCELADA,
    PUBLISHED_SUCESSO,
    REPAIRED_SUCESSO,
    XML_CHAVE,
    authorized_xml,
    config,
    context,
    danfe_pdf,
    offline_xml,
    sucesso_answer,
)

RESPONSE_TIMEOUT = 0.3


@dataclass
class Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    decoder: FrameDecoder = field(default_factory=FrameDecoder)


Behaviour = Callable[["FakeEmites", Conn, Frame], Awaitable[bool]]


class FakeEmites:
    """A scripted Emites-Client: a real TCP server; ``behave`` answers each request
    (returning False closes the connection). ``on_connect`` replaces the request loop."""

    def __init__(
        self,
        behave: Behaviour | None = None,
        *,
        on_connect: Callable[[Conn], Awaitable[None]] | None = None,
    ) -> None:
        self.behave = behave
        self.on_connect = on_connect
        self.requests: list[Frame] = []
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.overlap = False  # a request arrived on a connection before the last was answered
        self.received = asyncio.Event()  # set at each request
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FakeEmites:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = Conn(reader, writer)
        try:
            if self.on_connect is not None:
                await self.on_connect(conn)
                return
            assert self.behave is not None
            while (frame := await read_frame(conn)) is not None:
                self.requests.append(frame)
                self.received.set()
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    keep = await self.behave(self, conn, frame)
                finally:
                    self.in_flight -= 1
                if not keep:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def read_frame(conn: Conn) -> Frame | None:
    while (frame := conn.decoder.next_frame()) is None:
        chunk = await conn.reader.read(65536)
        if not chunk:
            return None
        conn.decoder.feed(chunk)
    return frame


async def wait_watching(server: FakeEmites, conn: Conn, seconds: float) -> None:
    """Sleep, but notice bytes the client sends meanwhile (it must wait for our answer)."""
    with suppress(TimeoutError):
        extra = await asyncio.wait_for(conn.reader.read(65536), seconds)
        if extra:
            server.overlap = True
            conn.decoder.feed(extra)


def answer(payload: dict[str, Any] | str, *, identifier: str | None = None, delay: float = 0.0) -> Behaviour:
    async def behave(server: FakeEmites, conn: Conn, frame: Frame) -> bool:
        if delay:
            await wait_watching(server, conn, delay)
        ident = identifier or frame.identifier
        if isinstance(payload, str):
            data = encode_frame(ident, payload.encode("iso-8859-1"))
        else:
            data = encode_response(ident, payload)
        conn.writer.write(data)
        await conn.writer.drain()
        return True

    return behave


def echo_reference(extra: dict[str, Any]) -> Behaviour:
    """Answer like Emites does: the request's own fields plus ``extra``."""

    async def behave(server: FakeEmites, conn: Conn, frame: Frame) -> bool:
        request = json.loads(frame.payload.decode("iso-8859-1"), parse_float=Decimal)
        conn.writer.write(encode_response(frame.identifier, {**request, **extra}))
        await conn.writer.drain()
        return True

    return behave


async def never_answer(server: FakeEmites, conn: Conn, frame: Frame) -> bool:
    await conn.reader.read()  # until the client gives up and closes
    return False


async def hang_up(server: FakeEmites, conn: Conn, frame: Frame) -> bool:
    return False


async def hang_up_mid_answer(server: FakeEmites, conn: Conn, frame: Frame) -> bool:
    data = encode_response(CREATE_NFCE, sucesso_answer())
    conn.writer.write(data[: len(data) // 2])
    await conn.writer.drain()
    return False


async def garbage(server: FakeEmites, conn: Conn, frame: Frame) -> bool:
    conn.writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    await conn.writer.drain()
    return True


def backend_for(server_port: int, **overrides: Any) -> EmitesBackend:
    settings: dict[str, Any] = {
        "port": server_port,
        "response_timeout_s": RESPONSE_TIMEOUT,
        "connect_timeout_s": 1.0,
    }
    settings.update(overrides)
    return EmitesBackend(config(**settings))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


async def issue_once(
    behave: Behaviour, sale_id: str = "sale0001"
) -> tuple[IssueResult, PreparedIssue, FakeEmites]:
    async with FakeEmites(behave) as server:
        backend = backend_for(server.port)
        try:
            prepared = backend.prepare_issue(context(sale_id))
            result = await backend.send_issue(prepared)
        finally:
            await backend.aclose()
    return result, prepared, server


def received_whole(prepared: PreparedIssue, server: FakeEmites) -> bool:
    return [encode_frame(f.identifier, f.payload) for f in server.requests] == [prepared.payload]


# --------------------------------------------------------------------------- the port


def test_is_a_fiscal_backend_without_query() -> None:
    backend = EmitesBackend(Config())
    assert isinstance(backend, FiscalBackend)
    assert backend.name == "emites"
    assert not backend.capabilities.can_query and backend.capabilities.returns_danfe_pdf
    prepared = backend.prepare_issue(context())
    result = run(backend.query_issue(prepared))
    assert (
        result.outcome is Outcome.IN_DOUBT
        and "manager" in result.detail
        and "PDV-REF:sale0001" in result.detail
    )


def test_prepared_payload_is_the_exact_frame() -> None:
    prepared = EmitesBackend(config()).prepare_issue(context("s-42"))
    decoder = FrameDecoder()
    decoder.feed(prepared.payload)
    frame = decoder.next_frame()
    assert frame is not None and frame.identifier == CREATE_NFCE and decoder.buffered == 0
    body = json.loads(frame.payload.decode("iso-8859-1"), parse_float=Decimal)
    assert body["informacoes_adicionais"]["informacoes_contribuinte"] == "PDV-REF:s-42"
    assert prepared.reference == "s-42" and prepared.backend == "emites"


def test_refuses_a_request_prepared_for_another_backend() -> None:
    backend = EmitesBackend(config(port=closed_port()))
    with pytest.raises(FiscalError):
        run(backend.send_issue(PreparedIssue("focusnfe", "x", b"{}")))


# --------------------------------------------------------------------------- nothing sent


def test_connection_refused_is_not_sent() -> None:
    backend = backend_for(closed_port())
    result = run(backend.send_issue(backend.prepare_issue(context())))
    assert result.outcome is Outcome.NOT_SENT
    assert "connect" in result.detail


def test_connect_timeout_is_not_sent() -> None:
    # A listener whose accept queue is full drops new SYNs: the connect hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with suppress(BlockingIOError):
                filler.connect(listener.getsockname())
            fillers.append(filler)
        time.sleep(0.05)
        backend = backend_for(listener.getsockname()[1], connect_timeout_s=0.3)
        started = time.monotonic()
        result = run(backend.send_issue(backend.prepare_issue(context())))
        assert result.outcome is Outcome.NOT_SENT and "timed out" in result.detail
        assert 0.25 < time.monotonic() - started < 2
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_reset_before_the_last_byte_is_not_sent() -> None:
    async def reset_early(conn: Conn) -> None:
        await conn.reader.readexactly(10)
        sock = conn.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.writer.transport.abort()  # RST: the client is still writing

    async def scenario() -> IssueResult:
        async with FakeEmites(on_connect=reset_early) as server:
            backend = backend_for(server.port, response_timeout_s=5)
            huge = encode_frame(CREATE_NFCE, b"x" * (48 * 1024 * 1024))  # far beyond socket buffers
            try:
                return await backend.send_issue(PreparedIssue("emites", "big", huge))
            finally:
                await backend.aclose()

    result = run(scenario())
    assert result.outcome is Outcome.NOT_SENT
    assert "before the last byte" in result.detail


# --------------------------------------------------------------------------- in doubt


@pytest.mark.parametrize(
    ("behave", "words"),
    [
        (never_answer, "no complete answer within"),
        (hang_up, "closed before any answer"),
        (hang_up_mid_answer, "closed inside a frame"),
        (garbage, "unreadable answer frame"),
        (answer(PUBLISHED_SUCESSO), "not valid JSON"),  # the vendor's own invalid example
        (answer({"status": "sucesso"}, identifier=CANCEL_NFCE), "answer identifier"),
        (answer({"status": "autorizada"}), "unknown answer status"),
        (answer({"status": "processando"}), "processando"),
        (answer({"status": "erro", "erros": ["Falha de comunicação com a SEFAZ"]}), "erro"),
        (answer({"status": "cancelada"}), "not an answer to an issue"),
        (answer(sucesso_answer(reference="another-sale")), "answer is for sale 'another-sale'"),
        (answer(sucesso_answer(chave=XML_CHAVE[:-1] + "0")), "without a usable note"),
    ],
)
def test_in_doubt_once_the_request_was_written(behave: Behaviour, words: str) -> None:
    started = time.monotonic()
    result, prepared, server = run(issue_once(behave))
    assert result.outcome is Outcome.IN_DOUBT, result
    assert words in result.detail
    assert received_whole(prepared, server)  # the issuer did get it: that is why it is in doubt
    assert time.monotonic() - started < RESPONSE_TIMEOUT + 2


def test_erro_keeps_its_messages_and_the_raw_answer() -> None:
    result, _, _ = run(issue_once(answer({"status": "erro", "erros": {"sefaz": ["timeout"]}})))
    assert result.outcome is Outcome.IN_DOUBT
    assert result.errors == ("sefaz: timeout",)
    assert result.raw_response is not None and '"status":"erro"' in result.raw_response


# --------------------------------------------------------------------------- definitive answers


def test_rejeitada_with_a_list_of_errors() -> None:
    result, _, _ = run(
        issue_once(answer({"status": "rejeitada", "erros": ["471 - Rejeição: NCM=00 indevido"]}))
    )
    assert result.outcome is Outcome.REJECTED
    assert result.errors == ("471 - Rejeição: NCM=00 indevido",)


def test_rejeitada_with_errors_by_field() -> None:
    errors = {"forma_pagamento": ["tamanho deve estar entre 1 e 100"], "cliente.email": ["e-mail inválido"]}
    result, _, _ = run(issue_once(echo_reference({"status": "rejeitada", "erros": errors})))
    assert result.outcome is Outcome.REJECTED
    assert result.errors == (
        "forma_pagamento: tamanho deve estar entre 1 e 100",
        "cliente.email: e-mail inválido",
    )


def test_rejeitada_without_reasons_still_says_something() -> None:
    result, _, _ = run(issue_once(answer({"status": "rejeitada"})))
    assert result.outcome is Outcome.REJECTED and result.errors


def test_sucesso_gives_the_whole_note() -> None:
    result, _, _ = run(issue_once(answer(sucesso_answer(reference="sale0001"))))
    assert result.outcome is Outcome.AUTHORIZED, result
    note = result.note
    assert note is not None
    assert (note.chave, note.numero, note.serie) == (XML_CHAVE, 276, 111)
    assert note.protocolo == "353180004134006"
    assert note.authorized_at == datetime(2018, 10, 9, 12, 53, 16, tzinfo=UTC)
    assert note.xml == authorized_xml()
    assert note.danfe_pdf == danfe_pdf()
    assert not note.contingency
    assert result.raw_response is not None and "sucesso" in result.raw_response


def test_sucesso_echoing_the_request_and_create_cfe() -> None:
    extra = sucesso_answer()
    result, _, server = run(issue_once(echo_reference(extra)))
    assert result.outcome is Outcome.AUTHORIZED
    cfe, _, _ = run(issue_once(answer(sucesso_answer(), identifier=CREATE_CFE)))
    assert cfe.outcome is Outcome.AUTHORIZED
    assert server.requests[0].identifier == CREATE_NFCE


def test_sucesso_without_data_emissao_uses_dhrecbto() -> None:
    result, _, _ = run(issue_once(answer(sucesso_answer(with_data_emissao=False))))
    assert result.note is not None
    assert result.note.authorized_at == datetime(2018, 10, 9, 12, 53, 16, tzinfo=UTC)


def test_vendor_sucesso_example_with_a_foreign_xml() -> None:
    # The published example (repaired) carries the XML of another note; it is not kept.
    result, _, _ = run(issue_once(answer(REPAIRED_SUCESSO)))
    assert result.outcome is Outcome.AUTHORIZED
    note = result.note
    assert note is not None
    assert (note.chave, note.numero, note.serie, note.protocolo) == (ANSWER_CHAVE, 173, 9, "353180004176525")
    assert note.authorized_at == datetime(2018, 12, 14, 19, 32, tzinfo=UTC)
    assert note.xml is None and "XML is for chave" in result.detail
    assert note.danfe_pdf is not None and note.danfe_pdf.startswith(b"%PDF")


def test_contingency_from_the_chave_and_numbers_from_it() -> None:
    chave = build_chave(
        uf="DF",
        year_month="2410",
        cnpj="22769530000131",
        series=7,
        number=4321,
        emission_type=9,
        code="1234567",
    ).digits
    payload = {
        "status": "sucesso",
        "resposta_emissao": {"chave_acesso": chave, "data_emissao": "2024-10-01T15:00:00Z"},
    }
    result, _, _ = run(issue_once(answer(payload)))
    note = result.note
    assert note is not None and note.contingency
    assert (note.numero, note.serie, note.protocolo, note.xml) == (4321, 7, None, None)


def test_sucesso_with_only_an_offline_xml() -> None:
    payload = {"status": "sucesso", "xml": base64.b64encode(offline_xml()).decode("ascii")}
    result, _, _ = run(issue_once(answer(payload)))
    note = result.note
    assert note is not None and note.contingency
    assert (note.chave, note.numero, note.serie, note.protocolo) == (XML_CHAVE, 276, 111, None)
    assert note.authorized_at == datetime(2018, 10, 9, 12, 53, 13, tzinfo=UTC)  # dhEmi: errs early
    assert note.xml == offline_xml()


def test_a_bug_while_reading_a_sucesso_is_still_in_doubt(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever goes wrong after the bytes left, the sale must not look "not sent".
    def broken(response: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("posapp.fiscal.emites._authorized_note", broken)
    result, _, _ = run(issue_once(answer(sucesso_answer())))
    assert result.outcome is Outcome.IN_DOUBT and "internal error" in result.detail
    assert result.raw_response is not None and "sucesso" in result.raw_response


def test_sucesso_without_any_time_uses_the_local_clock() -> None:
    before = datetime.now(UTC)
    result, _, _ = run(
        issue_once(answer({"status": "sucesso", "resposta_emissao": {"chave_acesso": ANSWER_CHAVE}}))
    )
    assert result.note is not None and before <= result.note.authorized_at <= datetime.now(UTC)
    assert "local clock" in result.detail


# --------------------------------------------------------------------------- the connection


def test_two_concurrent_requests_are_serialized_on_one_connection() -> None:
    async def scenario() -> tuple[list[IssueResult], FakeEmites, float]:
        async with FakeEmites(answer(sucesso_answer(), delay=0.2)) as server:
            backend = backend_for(server.port, response_timeout_s=5)
            started = time.monotonic()
            try:
                results = await asyncio.gather(
                    backend.send_issue(backend.prepare_issue(context("s1"))),
                    backend.send_issue(backend.prepare_issue(context("s2"))),
                )
            finally:
                await backend.aclose()
            return list(results), server, time.monotonic() - started

    results, server, elapsed = run(scenario())
    assert [r.outcome for r in results] == [Outcome.AUTHORIZED, Outcome.AUTHORIZED]
    assert len(server.requests) == 2 and server.connections == 1
    assert not server.overlap and server.max_in_flight == 1
    assert elapsed >= 0.4


def test_the_overlap_detector_can_fail() -> None:
    # Control for the test above: two backends do talk to the issuer at the same time.
    async def scenario() -> FakeEmites:
        async with FakeEmites(answer(sucesso_answer(), delay=0.2)) as server:
            one, two = (
                backend_for(server.port, response_timeout_s=5),
                backend_for(server.port, response_timeout_s=5),
            )
            await asyncio.gather(
                one.send_issue(one.prepare_issue(context("s1"))),
                two.send_issue(two.prepare_issue(context("s2"))),
            )
            await one.aclose()
            await two.aclose()
            return server

    assert run(scenario()).max_in_flight == 2


def test_connection_is_reused_then_rebuilt_after_a_failure() -> None:
    calls = 0

    async def flaky(server: FakeEmites, conn: Conn, frame: Frame) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            return False  # hang up without answering the second request
        return await answer(sucesso_answer())(server, conn, frame)

    async def scenario() -> tuple[list[Outcome], FakeEmites]:
        async with FakeEmites(flaky) as server:
            backend = backend_for(server.port)
            outcomes = []
            try:
                for ref in ("a", "b", "c", "d"):
                    outcomes.append((await backend.send_issue(backend.prepare_issue(context(ref)))).outcome)
            finally:
                await backend.aclose()
            return outcomes, server

    outcomes, server = run(scenario())
    assert outcomes == [Outcome.AUTHORIZED, Outcome.IN_DOUBT, Outcome.AUTHORIZED, Outcome.AUTHORIZED]
    assert server.connections == 2  # a, b on the first; c, d on a new one


def test_idle_connection_closed_by_the_issuer_is_not_a_doubt() -> None:
    async def answer_and_close(server: FakeEmites, conn: Conn, frame: Frame) -> bool:
        await answer(sucesso_answer())(server, conn, frame)
        return False  # e.g. Emites-Client restarted between two sales

    async def scenario() -> tuple[list[Outcome], FakeEmites]:
        async with FakeEmites(answer_and_close) as server:
            backend = backend_for(server.port)
            outcomes = []
            try:
                for ref in ("a", "b"):
                    outcomes.append((await backend.send_issue(backend.prepare_issue(context(ref)))).outcome)
                    await asyncio.sleep(0.05)  # the cashier scans the next sale
            finally:
                await backend.aclose()
            return outcomes, server

    outcomes, server = run(scenario())
    assert outcomes == [Outcome.AUTHORIZED, Outcome.AUTHORIZED]
    assert server.connections == 2


def test_bytes_after_the_answer_force_a_new_connection() -> None:
    async def answer_twice(server: FakeEmites, conn: Conn, frame: Frame) -> bool:
        conn.writer.write(encode_response(frame.identifier, sucesso_answer()) * 2)
        await conn.writer.drain()
        return True

    async def scenario() -> tuple[list[Outcome], FakeEmites]:
        async with FakeEmites(answer_twice) as server:
            backend = backend_for(server.port)
            try:
                outcomes = [
                    (await backend.send_issue(backend.prepare_issue(context(r)))).outcome for r in "ab"
                ]
            finally:
                await backend.aclose()
            return outcomes, server

    outcomes, server = run(scenario())
    assert outcomes == [Outcome.AUTHORIZED, Outcome.AUTHORIZED]
    assert server.connections == 2  # the stray second answer was never taken for b's


def test_a_cancelled_call_never_leaves_its_late_answer_for_the_next() -> None:
    async def slow_then_fast(server: FakeEmites, conn: Conn, frame: Frame) -> bool:
        body = json.loads(frame.payload.decode("iso-8859-1"))
        reference = body["informacoes_adicionais"]["informacoes_contribuinte"].removeprefix("PDV-REF:")
        if reference == "slow":
            await asyncio.sleep(0.3)
            status = {"status": "rejeitada", "erros": ["late answer of the slow sale"]}
            conn.writer.write(encode_response(frame.identifier, status))
            await conn.writer.drain()
            return True
        return await answer(sucesso_answer(reference=reference))(server, conn, frame)

    async def scenario() -> tuple[IssueResult, FakeEmites]:
        async with FakeEmites(slow_then_fast) as server:
            backend = backend_for(server.port, response_timeout_s=5)
            try:
                task = asyncio.create_task(backend.send_issue(backend.prepare_issue(context("slow"))))
                await server.received.wait()  # the slow request is with the issuer
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                result = await backend.send_issue(backend.prepare_issue(context("fast")))
                await asyncio.sleep(0.3)
            finally:
                await backend.aclose()
            return result, server

    result, server = run(scenario())
    assert result.outcome is Outcome.AUTHORIZED
    assert server.connections == 2


def test_probe() -> None:
    async def scenario() -> tuple[Health, Health, Health]:
        async with FakeEmites(answer(sucesso_answer(), delay=0.3)) as server:
            backend = backend_for(server.port, response_timeout_s=5)
            idle = await backend.probe()
            task = asyncio.create_task(backend.send_issue(backend.prepare_issue(context())))
            await asyncio.sleep(0.1)
            busy = await backend.probe()
            await task
            await backend.aclose()
        down = await backend_for(closed_port()).probe()
        return idle, busy, down

    assert run(scenario()) == (Health.UP, Health.UP, Health.DOWN)


def test_logs_never_carry_the_full_cpf(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="posapp.fiscal.emites")
    result, _, _ = run(issue_once(answer({"status": "rejeitada", "erros": ["CPF 52998224725 inválido"]})))
    assert result.outcome is Outcome.REJECTED
    assert "***.982.247-**" in caplog.text  # the masked form is what identifies the consumer
    assert "52998224725" not in caplog.text and "529.982.247-25" not in caplog.text


# --------------------------------------------------------------------------- cancel

TARGET = CancelTarget(sale_id="sale0001", reference="sale0001", chave=ANSWER_CHAVE)


async def cancel_once(behave: Behaviour, motivo: str = "Desistência do comprador") -> tuple[Any, FakeEmites]:
    async with FakeEmites(behave) as server:
        backend = backend_for(server.port)
        try:
            result = await backend.cancel(TARGET, motivo)
        finally:
            await backend.aclose()
    return result, server


def test_cancelada_with_the_vendor_example() -> None:
    result, server = run(cancel_once(answer(PUBLISHED_CANCELADA)))
    assert result.outcome is CancelOutcome.CANCELLED
    assert result.protocolo == "353180004176526"
    assert result.cancelled_at == datetime(2018, 12, 14, 19, 33, 2, tzinfo=UTC)
    assert result.xml is not None and result.xml.startswith(b"<envEvento")
    request = server.requests[0]
    assert request.identifier == CANCEL_NFCE
    assert json.loads(request.payload.decode("iso-8859-1")) == {
        "chave_acesso": ANSWER_CHAVE,
        "motivo": "Desistência do comprador",
    }
    assert b"Desist\xeancia" in request.payload


def test_cancelamento_rejeitado_is_refused() -> None:
    late = {
        "status": "cancelamento_rejeitado",
        "erros": {"rejeicao": ["501 - Rejeicao: Prazo de Cancelamento"]},
    }
    result, _ = run(cancel_once(answer(late)))
    assert result.outcome is CancelOutcome.REFUSED
    assert result.errors == ("rejeicao: 501 - Rejeicao: Prazo de Cancelamento",)


@pytest.mark.parametrize(
    ("behave", "outcome"),
    [
        (never_answer, CancelOutcome.IN_DOUBT),
        (hang_up_mid_answer, CancelOutcome.IN_DOUBT),
        (answer({"status": "processando"}), CancelOutcome.IN_DOUBT),
        (answer({"status": "cancelada"}, identifier=CREATE_NFCE), CancelOutcome.IN_DOUBT),
        (
            answer({"status": "cancelada", "resposta_emissao": {"chave_acesso": XML_CHAVE}}),
            CancelOutcome.IN_DOUBT,
        ),
        (
            answer(PUBLISHED_CANCELADA.replace('"cancelada"', '"cancelamento_rejeitado"')),
            CancelOutcome.REFUSED,
        ),
    ],
)
def test_cancel_outcomes(behave: Behaviour, outcome: CancelOutcome) -> None:
    result, server = run(cancel_once(behave))
    assert result.outcome is outcome, result
    assert len(server.requests) == 1


def test_cancel_not_sent_and_refused_locally() -> None:
    backend = backend_for(closed_port())
    assert run(backend.cancel(TARGET, "Desistencia do comprador")).outcome is CancelOutcome.NOT_SENT
    with pytest.raises(CancelRefused):
        run(backend.cancel(TARGET, "curto"))


def test_published_answers_are_used_unchanged() -> None:
    # Guard: the fixtures are the vendor's bytes, not something tuned to pass.
    assert '"quantidade_vendida": 1,.00' in PUBLISHED_SUCESSO
    assert base64.b64decode(json.loads(PUBLISHED_CANCELADA)["xml"]).startswith(b"<envEvento")


def test_a_long_idle_connection_is_replaced_before_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """A half-open connection cannot be told from a live one without writing into it; one
    idle past MAX_IDLE_S is replaced, so a dead peer costs a NOT_SENT, not an IN_DOUBT."""
    import posapp.fiscal.emites as emites_module

    async def scenario() -> FakeEmites:
        async with FakeEmites(answer(sucesso_answer())) as server:
            backend = backend_for(server.port)
            try:
                await backend.send_issue(backend.prepare_issue(context("s1")))
                await backend.send_issue(backend.prepare_issue(context("s2")))  # fresh: reused
                monkeypatch.setattr(emites_module, "MAX_IDLE_S", 0.0)
                await asyncio.sleep(0.01)
                await backend.send_issue(backend.prepare_issue(context("s3")))  # idle: replaced
            finally:
                await backend.aclose()
            return server

    server = run(scenario())
    assert len(server.requests) == 3 and server.connections == 2
