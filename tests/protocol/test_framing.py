"""The ``Size:Identifier:Payload`` codec: fed whole, byte by byte, with trailing data, and garbage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from posapp.protocol.framing import Frame, FrameDecoder, encode_frame, encode_text_frame

IDENTIFIERS = st.from_regex(r"[A-Z][A-Z0-9_]{0,63}", fullmatch=True)


def decode_all(chunks: list[bytes], *, max_frame_size: int | None = None) -> tuple[list[Frame], int]:
    """Feed chunks in order, pulling every complete frame after each; returns frames and leftover."""
    decoder = FrameDecoder() if max_frame_size is None else FrameDecoder(max_frame_size=max_frame_size)
    frames: list[Frame] = []
    for chunk in chunks:
        decoder.feed(chunk)
        while (frame := decoder.next_frame()) is not None:
            frames.append(frame)
    return frames, decoder.buffered


def three_ways(data: bytes, expected: list[Frame]) -> None:
    """h11's discipline: the whole thing, byte by byte, and followed by trailing data."""
    assert decode_all([data]) == (expected, 0)
    assert decode_all([data[i : i + 1] for i in range(len(data))]) == (expected, 0)
    trailing = b"16:NEXT:{}"  # the start of a next frame
    frames, leftover = decode_all([data + trailing])
    assert frames == expected
    assert leftover == len(trailing)


def test_vendor_example_encodes_exactly() -> None:
    # The example of the Emites-Client protocol document, byte for byte.
    assert encode_frame("TESTE", b'{ "teste": "teste" }') == b'27:TESTE:{ "teste": "teste" }'


def test_vendor_example_decodes_three_ways() -> None:
    three_ways(b'27:TESTE:{ "teste": "teste" }', [Frame("TESTE", b'{ "teste": "teste" }')])


def test_two_frames_and_an_empty_payload() -> None:
    data = encode_frame("CREATE_NFCE", b'{"a":1}') + encode_frame("X", b"")
    three_ways(data, [Frame("CREATE_NFCE", b'{"a":1}'), Frame("X", b"")])


def test_payload_may_contain_colons_and_newlines() -> None:
    payload = b'{"url": "http://x:80/y",\n "n": 1}'
    three_ways(encode_frame("CANCEL_NFCE", payload), [Frame("CANCEL_NFCE", payload)])


def test_size_counts_encoded_bytes_of_accented_text() -> None:
    data = encode_text_frame("CREATE_NFCE", '{"descricao": "Pão de Açúcar"}')
    size, _, rest = data.partition(b":")
    assert int(size) == len(rest) + 1  # the ':' after the size is counted too
    assert b"P\xe3o de A\xe7\xfacar" in data  # one byte per character, never UTF-8
    assert "Pão de Açúcar" in decode_all([data])[0][0].text()


def test_text_frame_refuses_what_latin1_cannot_carry() -> None:
    with pytest.raises(LocalProtocolError):
        encode_text_frame("CREATE_NFCE", '{"x": "\u201ccurly\u201d"}')


@pytest.mark.parametrize("identifier", ["", "create_nfce", "1ABC", "A-B", "A\n", "A" * 65, "AÇ", "A B"])
def test_bad_identifier_is_a_local_error(identifier: str) -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(identifier, b"{}")


@pytest.mark.parametrize(
    "data",
    [
        b"abc:X:{}",  # size not digits
        b"-5:X:{}",
        b" 5:X:{}",
        b"007:ABC:x",  # leading zeros
        b"00",  # leading zero noticed before the ':' arrives
        b"0:",
        b"1:",  # cannot hold ':' identifier ':'
        b"1234567890123:",  # 13 size digits
        b"99999999999:",  # larger than the frame limit
        b"5:abc:d",  # lowercase identifier
        b"4:A\n:",  # newline in the identifier ('$' would have let it through)
        b"2::",  # empty identifier
        b"4:ABC",  # fine so far...
    ],
)
def test_malformed_headers_raise_remote_errors(data: bytes) -> None:
    decoder = FrameDecoder()
    try:
        decoder.feed(data)
        frame = decoder.next_frame()
        decoder.feed(b"")
        decoder.close()
    except RemoteProtocolError:
        return
    pytest.fail(f"{data!r} was accepted as {frame!r}")


def test_bad_identifier_is_reported_before_the_declared_payload_arrives() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"1000000:CREATE")  # a good start: wait
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"_nfce")  # lowercase: no need to buffer a megabyte to know


def test_identifier_without_separator_is_reported_early() -> None:
    decoder = FrameDecoder()
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"1000000:" + b"A" * 65)


def test_truncated_frame_at_end_of_stream() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame("CREATE_NFCE", b'{"status": "sucesso"}')[:-3])
    assert decoder.next_frame() is None
    decoder.feed(b"")
    with pytest.raises(RemoteProtocolError, match="closed inside a frame"):
        decoder.close()


def test_clean_end_of_stream_is_not_an_error() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame("X", b"1"))
    assert decoder.next_frame() == Frame("X", b"1")
    decoder.feed(b"")
    decoder.close()
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"more")


def test_frame_larger_than_the_limit_is_refused_from_its_header() -> None:
    decoder = FrameDecoder(max_frame_size=100)
    with pytest.raises(RemoteProtocolError, match="exceeds"):
        decoder.feed(b"101:")


@given(
    frames=st.lists(st.tuples(IDENTIFIERS, st.binary(max_size=300)), min_size=1, max_size=5),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_round_trip_in_any_chunking(frames: list[tuple[str, bytes]], cuts: list[int]) -> None:
    data = b"".join(encode_frame(identifier, payload) for identifier, payload in frames)
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if b > a]
    decoded, leftover = decode_all(chunks)
    assert [(f.identifier, f.payload) for f in decoded] == frames
    assert leftover == 0


@given(identifier=IDENTIFIERS, payload=st.binary(max_size=2000))
def test_size_header_is_exact(identifier: str, payload: bytes) -> None:
    data = encode_frame(identifier, payload)
    size, _, rest = data.partition(b":")
    assert size == str(int(size)).encode()  # no leading zeros
    assert int(size) == 1 + len(rest)


MAX = 512


@given(chunks=st.lists(st.binary(max_size=200), max_size=20))
def test_garbage_raises_only_protocol_errors_and_stays_bounded(chunks: list[bytes]) -> None:
    decoder = FrameDecoder(max_frame_size=MAX)
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            while decoder.next_frame() is not None:
                pass
            # one partial frame at most: its size digits (12 at most) plus MAX bytes
            assert decoder.buffered <= MAX + 12
        decoder.feed(b"")
        decoder.close()
    except ProtocolError:
        pass


@given(
    prefix=st.sampled_from([b"", b"12:ABC:", b"9:CREATE_NFCE:", b"3:A:"]),
    garbage=st.binary(min_size=1, max_size=400),
)
def test_garbage_after_plausible_headers(prefix: bytes, garbage: bytes) -> None:
    decoder = FrameDecoder(max_frame_size=MAX)
    try:
        for i in range(0, len(prefix + garbage), 7):
            decoder.feed((prefix + garbage)[i : i + 7])
            while decoder.next_frame() is not None:
                pass
            assert decoder.buffered <= MAX + 12
    except ProtocolError:
        pass


def test_huge_declared_size_never_buffers_past_the_limit() -> None:
    decoder = FrameDecoder(max_frame_size=1024)
    decoder.feed(b"1000:ABC:")
    for _ in range(199):
        assert decoder.next_frame() is None
        decoder.feed(b"x" * 5)  # the 995 bytes of payload, slowly
    assert decoder.next_frame() == Frame("ABC", b"x" * 995)
    assert decoder.buffered == 0
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"999999999999:")
