"""The client's codec (posapp.protocol.framing) and the simulator's (posapp.sim.wire) are
written separately; here, and only here, they must agree on the same bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.protocol import framing as client
from posapp.sim import wire as sim

VECTORS = [
    ("TESTE", b'{ "teste": "teste" }', b'27:TESTE:{ "teste": "teste" }'),  # the vendor README's example
    ("CREATE_NFCE", b"", b"13:CREATE_NFCE:"),
    ("A", b"1234", b"7:A:1234"),  # size 7 -> 1 digit
    ("A", b"12345", b"8:A:12345"),
    ("AB", b"123456", b"10:AB:123456"),  # the size crosses to 2 digits
    ("A", b"x" * 96, b"99:A:" + b"x" * 96),
    ("A", b"x" * 97, b"100:A:" + b"x" * 97),  # ... and to 3
    ("CANCEL_NFCE", '{"motivo": "Desistência"}'.encode("iso-8859-1"), None),
    ("CREATE_NFCE", b'{\r\n  "a": 1\r\n}\n', None),  # line breaks count
]


@pytest.mark.parametrize(("identifier", "payload", "expected"), VECTORS)
def test_client_encoder_and_simulator_decoder_agree(
    identifier: str, payload: bytes, expected: bytes | None
) -> None:
    data = client.encode_frame(identifier, payload)
    if expected is not None:
        assert data == expected
    assert sim.encode_frame(identifier, payload) == data
    decoder = sim.FrameDecoder()
    for index in range(len(data)):  # byte by byte, as a slow link delivers it
        decoder.feed(data[index : index + 1])
    assert decoder.next_frame() == sim.Frame(identifier, payload)


@given(st.from_regex(r"[A-Z][A-Z0-9_]{0,20}", fullmatch=True), st.binary(max_size=500))
def test_both_directions_agree(identifier: str, payload: bytes) -> None:
    to_sim = sim.FrameDecoder()
    to_sim.feed(client.encode_frame(identifier, payload))
    assert to_sim.next_frame() == sim.Frame(identifier, payload)
    to_client = client.FrameDecoder()
    to_client.feed(sim.encode_frame(identifier, payload))
    frame = to_client.next_frame()
    assert frame is not None and (frame.identifier, frame.payload) == (identifier, payload)
