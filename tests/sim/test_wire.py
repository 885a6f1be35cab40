"""The simulator's own ``Size:Identifier:Payload`` codec (posapp.sim.wire), sans-IO."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.sim.errors import WireError
from posapp.sim.wire import MAX_IDENTIFIER, Frame, FrameDecoder, encode_frame

EXAMPLE = b'27:TESTE:{ "teste": "teste" }'  # the vendor README's example, byte for byte

identifiers = st.from_regex(r"[A-Z][A-Z0-9_]{0,63}", fullmatch=True)
payloads = st.binary(max_size=3000)


def drain(decoder: FrameDecoder) -> list[Frame]:
    frames = []
    while (frame := decoder.next_frame()) is not None:
        frames.append(frame)
    return frames


def decode_in_chunks(data: bytes, cuts: list[int]) -> tuple[list[Frame], FrameDecoder]:
    decoder = FrameDecoder()
    frames: list[Frame] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        decoder.feed(data[start:cut])
        frames += drain(decoder)
        start = max(start, cut)
    return frames, decoder


def test_the_documented_example() -> None:
    assert encode_frame("TESTE", b'{ "teste": "teste" }') == EXAMPLE
    decoder = FrameDecoder()
    decoder.feed(EXAMPLE)
    assert decoder.next_frame() == Frame("TESTE", b'{ "teste": "teste" }')
    assert decoder.next_frame() is None and decoder.buffered == 0
    decoder.close()  # between frames: a clean end


def test_byte_by_byte_returns_the_frame_only_at_its_last_byte() -> None:
    decoder = FrameDecoder()
    for index in range(len(EXAMPLE)):
        assert decoder.next_frame() is None
        decoder.feed(EXAMPLE[index : index + 1])
    assert decoder.next_frame() == Frame("TESTE", b'{ "teste": "teste" }')


def test_trailing_data_stays_buffered_for_the_next_frame() -> None:
    second = encode_frame("CANCEL_NFCE", b"{}")
    decoder = FrameDecoder()
    decoder.feed(EXAMPLE + second[:5])
    assert decoder.next_frame() == Frame("TESTE", b'{ "teste": "teste" }')
    assert decoder.next_frame() is None and decoder.buffered == 5
    decoder.feed(second[5:])
    assert decoder.next_frame() == Frame("CANCEL_NFCE", b"{}")


def test_size_counts_latin1_bytes_and_line_breaks() -> None:
    payload = '{\n  "descricao": "Pão de Açúcar"\n}'.encode("iso-8859-1")
    data = encode_frame("CREATE_NFCE", payload)
    assert data.startswith(str(1 + 11 + 1 + len(payload)).encode() + b":CREATE_NFCE:")
    decoder = FrameDecoder()
    decoder.feed(data)
    assert decoder.next_frame() == Frame("CREATE_NFCE", payload)


@given(st.lists(st.tuples(identifiers, payloads), min_size=1, max_size=4), st.data())
def test_round_trip_in_any_chunking(frames: list[tuple[str, bytes]], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(i, p) for i, p in frames)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    decoded, decoder = decode_in_chunks(stream, cuts)
    assert decoded == [Frame(i, p) for i, p in frames]
    assert decoder.buffered == 0


@given(identifiers, payloads, st.binary(max_size=40))
def test_round_trip_with_trailing_bytes(identifier: str, payload: bytes, trailing: bytes) -> None:
    decoder = FrameDecoder()
    try:
        decoder.feed(encode_frame(identifier, payload) + trailing)
    except WireError:  # the trailing bytes may be garbage; the frame is then lost with them
        return
    assert decoder.next_frame() == Frame(identifier, payload)


@given(identifiers, payloads)
def test_header_is_decimal_without_leading_zeros(identifier: str, payload: bytes) -> None:
    header, _, body = encode_frame(identifier, payload).partition(b":")
    assert header.isdigit() and not header.startswith(b"0")
    assert int(header) == len(b":" + body)


@pytest.mark.parametrize(
    "garbage",
    [
        b"HTTP/1.1 502 Bad Gateway\r\n\r\n",
        b'027:TESTE:{ "teste": "teste" }',  # leading zero: the README forbids it
        b"0:",
        b"0",
        b"+27:TESTE:",
        b" 27:TESTE:",
        b"2 7:TESTE:",
        b"-1:",
        b":TESTE:{}",
        b"\xd9\xa3:",  # a non-ASCII digit
        b"27:teste:",  # identifiers are upper case
        b"27:TE STE:",
        b"27:1TESTE:",
        b"2::",  # empty identifier
        b"6:ABCDE",  # the frame ends without a second ':'
        b"1:",
        b"99:" + b"A" * (MAX_IDENTIFIER + 1),
        b"abc:CREATE_NFCE:{}",
    ],
)
def test_garbage_raises_as_soon_as_it_is_fed(garbage: bytes) -> None:
    decoder = FrameDecoder()
    with pytest.raises(WireError):
        decoder.feed(garbage)
    with pytest.raises(WireError):  # the stream is lost for good
        decoder.next_frame()
    with pytest.raises(WireError):
        decoder.feed(EXAMPLE)


def test_oversize_is_refused_before_the_frame_arrives() -> None:
    decoder = FrameDecoder(max_frame_size=100)
    decoder.feed(b"100:A:" + b"x" * 97)
    assert decoder.next_frame() == Frame("A", b"x" * 97)
    with pytest.raises(WireError, match="exceeds"):
        decoder.feed(b"101:")
    endless = FrameDecoder(max_frame_size=100)
    with pytest.raises(WireError, match="digits"):
        endless.feed(b"1000")  # no ':' yet, but already more digits than any allowed size


def test_an_endless_size_fed_byte_by_byte_fails_within_a_few_bytes() -> None:
    decoder = FrameDecoder()
    with pytest.raises(WireError):
        for _ in range(100):
            decoder.feed(b"9")
    assert decoder.buffered <= len(str(16 * 1024 * 1024)) + 1


def test_close_inside_a_frame_is_an_error() -> None:
    decoder = FrameDecoder()
    decoder.feed(EXAMPLE[:-1])
    assert decoder.next_frame() is None
    with pytest.raises(WireError, match="closed inside a frame"):
        decoder.close()


@pytest.mark.parametrize("identifier", ["", "teste", "A" * (MAX_IDENTIFIER + 1), "CRIAR_NFCÊ", "A:B"])
def test_encoder_refuses_identifiers_the_decoder_would_refuse(identifier: str) -> None:
    with pytest.raises(WireError):
        encode_frame(identifier, b"{}")


@given(st.lists(st.binary(min_size=1, max_size=64), max_size=20))
def test_random_bytes_only_raise_wire_error_and_never_pile_up(chunks: list[bytes]) -> None:
    limit = 64
    decoder = FrameDecoder(max_frame_size=limit)
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            drain(decoder)
            # what is left is at most one unfinished frame: size digits + the frame
            assert decoder.buffered <= len(str(limit)) + limit
    except WireError:
        pass
