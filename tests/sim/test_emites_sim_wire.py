"""The Emites simulator on the wire: framing bytes, encodings, fault knobs, connections."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import pytest

from posapp.protocol.errors import RemoteProtocolError
from posapp.protocol.framing import FrameDecoder, encode_frame
from posapp.sim.emites import EmitesSimulator, ReceivedRequest
from tests.sim.emites_wire import Wire, answer_of, ask, example, example_text, latin1, with_sim

MINIMAL = example_text().encode("iso-8859-1")


def accented_request() -> dict[str, Any]:
    request = example()
    request["produtos"][0]["descricao"] = "Pão de Queijo Mineiro - Açúcar & Café"
    request["cliente"] = {
        "cpf_cnpj": "52998224725",
        "nome": "João Conceição",
        "pessoa_fisica_juridica": "person",
    }
    return request


def test_answers_with_accents_are_framed_byte_exact_in_latin1() -> None:
    raw: list[bytes] = []
    request = accented_request()
    rejected = example()
    rejected["produtos"][0]["ncm"] = "00"

    async def scenario(sim: EmitesSimulator) -> None:
        for payload in (latin1(request), latin1(rejected)):
            async with await Wire.open(sim.port) as wire:
                await wire.send("CREATE_NFCE", payload)
                data = b""
                decoder = FrameDecoder()
                while decoder.next_frame() is None:  # read exactly one frame, keep the bytes
                    chunk = await wire.reader.read(65536)
                    assert chunk
                    data += chunk
                    decoder.feed(chunk)
                raw.append(data)

    with_sim(scenario)
    for data in raw:
        header, _, rest = data.partition(b":")
        assert header.isdigit() and not header.startswith(b"0")
        assert int(header) == len(b":" + rest)  # Size counts every byte after itself
        assert rest.startswith(b"CREATE_NFCE:")
        assert b"\xc3" not in rest  # nothing went out as UTF-8
    payload = raw[0].split(b":", 2)[2]
    assert b"P\xe3o de Queijo Mineiro - A\xe7\xfacar & Caf\xe9" in payload
    assert b"Jo\xe3o Concei\xe7\xe3o" in payload
    assert json.loads(payload.decode("iso-8859-1"), parse_float=Decimal)["status"] == "sucesso"
    assert b"Rejei\xe7\xe3o: Informado NCM=00 indevidamente" in raw[1]


def test_utf8_payloads_are_recorded_untouched_and_read_as_latin1() -> None:
    request = accented_request()
    utf8 = json.dumps(request, ensure_ascii=False, default=str).encode("utf-8")
    utf8 = utf8.replace(b'"200.00"', b"200.00").replace(b'"100.00"', b"100.00").replace(b'"2.00"', b"2.00")
    answers: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        answers.append(await ask(sim.port, "CREATE_NFCE", utf8))
        answers.append(await ask(sim.port, "CREATE_NFCE", latin1(request)))
        first, second = sim.requests
        assert first == ReceivedRequest("CREATE_NFCE", utf8)
        assert first.utf8_suspect and not second.utf8_suspect
        assert not ReceivedRequest("CREATE_NFCE", MINIMAL).utf8_suspect

    with_sim(scenario)
    mojibake, fine = answers
    assert mojibake["status"] == "sucesso", mojibake.get("erros")
    # the daemon reads ISO-8859-1, so two-byte UTF-8 letters come back as two letters
    assert mojibake["produtos"][0]["descricao"] == "PÃ£o de Queijo Mineiro - AÃ§Ãºcar & CafÃ©"
    assert fine["produtos"][0]["descricao"] == "Pão de Queijo Mineiro - Açúcar & Café"


def test_delay_holds_the_answer_back() -> None:
    elapsed: list[float] = []

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.delay_s = 0.4
        started = time.monotonic()
        answer = await ask(sim.port, "CREATE_NFCE", MINIMAL)
        elapsed.append(time.monotonic() - started)
        assert answer["status"] == "sucesso"

    with_sim(scenario)
    assert elapsed[0] >= 0.4


def test_hang_processes_the_request_but_never_answers() -> None:
    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.hang = True
        wire = await Wire.open(sim.port)
        await wire.send("CREATE_NFCE", MINIMAL)
        with pytest.raises(TimeoutError):
            await wire.read_frame(wait_s=0.5)
        assert len(sim.requests) == 1
        assert len(sim.notes) == 1  # issued: the client is in doubt, not "not sent"
        started = time.monotonic()
        await sim.stop()  # a hanging connection does not block shutdown
        assert time.monotonic() - started < 3
        assert await wire.read_all() == b""
        await wire.close()

    with_sim(scenario)


def test_close_mid_answer_leaves_half_a_frame() -> None:
    received: list[bytes] = []

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.close_mid_answer = True
        async with await Wire.open(sim.port) as wire:
            await wire.send("CREATE_NFCE", MINIMAL)
            received.append(await wire.read_all())
        assert len(sim.notes) == 1

    with_sim(scenario)
    data = received[0]
    header = data.split(b":", 1)[0]
    assert header.isdigit() and 0 < len(data) < int(header)
    decoder = FrameDecoder()
    decoder.feed(data)
    assert decoder.next_frame() is None
    with pytest.raises(RemoteProtocolError, match="closed inside a frame"):
        decoder.close()


def test_garbage_is_not_a_frame() -> None:
    received: list[bytes] = []

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.garbage = True
        async with await Wire.open(sim.port) as wire:
            await wire.send("CREATE_NFCE", MINIMAL)
            received.append(await wire.read_all())

    with_sim(scenario)
    assert received[0]
    with pytest.raises(RemoteProtocolError):
        FrameDecoder().feed(received[0])


def test_invalid_json_is_a_valid_frame_with_broken_json() -> None:
    frames: list[bytes] = []

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.invalid_json = True
        async with await Wire.open(sim.port) as wire:
            await wire.send("CREATE_NFCE", MINIMAL)
            frame = await wire.read_frame()
            assert frame.identifier == "CREATE_NFCE"
            frames.append(frame.payload)
            sim.faults.invalid_json = False  # the connection stays usable
            _, answer = await wire.request("CREATE_NFCE", MINIMAL)
            assert answer["status"] == "sucesso" and answer["nfe_numero"] == 2

    with_sim(scenario)
    text = frames[0].decode("iso-8859-1")
    assert ",." in text  # like the vendor's "1,.00"
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_unknown_identifier_and_bad_json_answer_erro_and_keep_the_connection() -> None:
    async def scenario(sim: EmitesSimulator) -> None:
        async with await Wire.open(sim.port) as wire:
            frame, answer = await wire.request("CONSULTA_NFCE", b'{"chave_acesso": "1"}')
            assert frame.identifier == "CONSULTA_NFCE"
            assert answer == {"status": "erro", "erros": ["Tipo de mensagem desconhecido: CONSULTA_NFCE"]}
            _, answer = await wire.request("CREATE_NFCE", b'{"produtos": [1,.00]}')
            assert answer["status"] == "erro" and answer["erros"][0].startswith("JSON inválido")
            _, answer = await wire.request("CREATE_NFCE", b"[1, 2]")
            assert answer["status"] == "erro"
            _, answer = await wire.request("CREATE_NFCE", MINIMAL)
            assert answer["status"] == "sucesso"

    with_sim(scenario)


def test_connections_are_served_concurrently() -> None:
    results: list[Any] = []

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.delay_s = 0.5
        started = time.monotonic()
        answers = await asyncio.gather(*(ask(sim.port, "CREATE_NFCE", MINIMAL) for _ in range(6)))
        results.append(time.monotonic() - started)
        results.append(answers)

    with_sim(scenario)
    elapsed, answers = results
    assert elapsed < 6 * 0.5  # the waits overlapped
    assert all(a["status"] == "sucesso" for a in answers)
    assert sorted(a["nfe_numero"] for a in answers) == [1, 2, 3, 4, 5, 6]
    assert len({a["resposta_emissao"]["chave_acesso"] for a in answers}) == 6


def test_pipelined_requests_are_answered_in_order_and_counted() -> None:
    async def scenario(sim: EmitesSimulator) -> None:
        async with await Wire.open(sim.port) as wire:
            cancel = latin1({"chave_acesso": "1" * 44, "motivo": "Teste de pipelining"})
            wire.writer.write(encode_frame("CREATE_NFCE", MINIMAL) + encode_frame("CANCEL_NFCE", cancel))
            await wire.writer.drain()
            first = answer_of(await wire.read_frame())
            second = await wire.read_frame()
            assert first["status"] == "sucesso"
            assert second.identifier == "CANCEL_NFCE"
        assert sim.pipelined == 1

    with_sim(scenario)


def test_a_bad_frame_from_the_client_is_recorded_and_closes_the_connection() -> None:
    async def scenario(sim: EmitesSimulator) -> None:
        async with await Wire.open(sim.port) as wire:
            wire.writer.write(b"abc:CREATE_NFCE:{}")
            await wire.writer.drain()
            assert await wire.read_all() == b""
        await asyncio.sleep(0.05)
        assert sim.protocol_errors and "not decimal digits" in sim.protocol_errors[0]
        assert sim.requests == []

    with_sim(scenario, clean=False)


def test_stop_closes_idle_connections_and_the_port() -> None:
    async def scenario(sim: EmitesSimulator) -> None:
        port = sim.port
        wire = await Wire.open(port)
        await sim.stop()
        assert await wire.read_all(wait_s=3) == b""
        await wire.close()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)

    with_sim(scenario)
