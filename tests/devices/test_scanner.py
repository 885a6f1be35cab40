"""The serial scanner without Qt: the framing of codes (sans-IO), and the reader on a real
pseudo-terminal: codes in order, an unplugged port reported once and its return too, the
technical reason kept for the log."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.devices.scanner import MAX_LINE, CodeFramer, ScannerState, SerialScanner

SUGAR, RICE = "7891153002125", "7898621001017"

needs_pty = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")


# -- framing ---------------------------------------------------------------------------------


def test_cr_lf_and_crlf_end_a_code_and_blank_lines_are_skipped() -> None:
    framer = CodeFramer()
    assert framer.feed(b"7891153002125\r\n78986") == [SUGAR]
    assert framer.pending == 5
    assert framer.feed(b"21001017\n\r\n\r\r") == [RICE]
    assert framer.feed(b"  1004 \r") == ["1004"]
    assert framer.pending == 0


def test_a_line_longer_than_the_limit_keeps_its_first_bytes() -> None:
    framer = CodeFramer(max_line=8)
    assert framer.feed(b"1234567890123\r") == ["12345678"]
    assert CodeFramer().feed(b"9" * (MAX_LINE + 50) + b"\n") == ["9" * MAX_LINE]


def test_clear_forgets_a_partial_code() -> None:
    framer = CodeFramer()
    framer.feed(b"78911")
    framer.clear()
    assert framer.feed(b"1004\n") == ["1004"]


def test_bytes_are_latin1_never_an_error() -> None:
    assert CodeFramer().feed(b"C\xd3D\xff\n") == ["CÓDÿ"]


@given(
    codes=st.lists(st.text(alphabet="0123456789ABC*", min_size=1, max_size=40), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
    ending=st.sampled_from([b"\r", b"\n", b"\r\n"]),
)
def test_chunking_never_changes_the_codes(codes: list[str], cuts: list[int], ending: bytes) -> None:
    stream = b"".join(code.encode("latin-1") + ending for code in codes)
    framer = CodeFramer()
    got: list[str] = []
    start = 0
    for cut in sorted(c for c in cuts if c <= len(stream)):
        got += framer.feed(stream[start:cut])
        start = cut
    got += framer.feed(stream[start:])
    assert got == codes


# -- the reader on a real tty ------------------------------------------------------------------


def _until(loop: asyncio.AbstractEventLoop, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Run ``loop`` (which delivers the scanner's callbacks) until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        loop.run_until_complete(asyncio.sleep(0.01))


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@needs_pty
def test_codes_arrive_on_the_loop_in_order(loop: asyncio.AbstractEventLoop) -> None:
    master, slave = os.openpty()
    codes: list[tuple[str, str]] = []
    scanner = SerialScanner(
        os.ttyname(slave), 9600, lambda code: codes.append((code, threading.current_thread().name)), loop=loop
    )
    scanner.start()
    try:
        _until(loop, scanner.opened.is_set)  # opening flushes the input
        os.write(master, f"{SUGAR}\r\n78986".encode())
        os.write(master, b"21001017\n\r\n")
        _until(loop, lambda: len(codes) == 2)
        assert [code for code, _ in codes] == [SUGAR, RICE]
        assert {thread for _, thread in codes} == {threading.current_thread().name}  # the loop's
    finally:
        scanner.stop()
        os.close(master)
        os.close(slave)
    assert not scanner.opened.is_set()


@needs_pty
def test_an_unplugged_port_is_told_once_and_its_return_too(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "leitor"  # the port's name; nothing behind it yet (unplugged)
    states: list[ScannerState] = []
    codes: list[str] = []
    scanner = SerialScanner(str(link), 9600, codes.append, on_state=states.append, retry_s=0.05, loop=loop)
    scanner.start()
    master, slave = os.openpty()
    try:
        loop.run_until_complete(asyncio.sleep(0.4))  # several retries
        assert states == [ScannerState(str(link), connected=False, recovered=False, reason=states[0].reason)]
        assert states[0].reason  # pyserial's reason, for the log...
        assert any(
            "unavailable" in r.getMessage() for r in caplog.records if r.name == "posapp.devices.scanner"
        )
        assert scanner.connected is False
        link.symlink_to(os.ttyname(slave))  # plugged in
        _until(loop, scanner.opened.is_set)
        _until(loop, lambda: len(states) == 2)
        assert states[1] == ScannerState(str(link), connected=True, recovered=True)
        os.write(master, f"{SUGAR}\r\n".encode())
        _until(loop, lambda: codes == [SUGAR])
        loop.run_until_complete(asyncio.sleep(0.2))
        assert len(states) == 2  # reading is not a change
    finally:
        scanner.stop()
        os.close(master)
        os.close(slave)


def test_a_lost_port_is_reopened_and_partial_codes_are_dropped(loop: asyncio.AbstractEventLoop) -> None:
    """Any pyserial-like port works (``open_port``); a read error is a loss, retried."""

    class FlakyPort:
        def __init__(self, chunks: list[bytes | OSError]) -> None:
            self.chunks = chunks
            self.closed = False

        def read(self, size: int) -> bytes:
            if not self.chunks:
                threading.Event().wait(0.01)
                return b""
            chunk = self.chunks.pop(0)
            if isinstance(chunk, OSError):
                raise chunk
            return chunk

        def close(self) -> None:
            self.closed = True

    ports = [
        FlakyPort([b"1004\r\n", b"78911", OSError("device reports readiness to read but returned no data")]),
        FlakyPort([b"1005\n"]),
    ]
    opened: list[FlakyPort] = []

    def open_port(port: str, baudrate: int) -> FlakyPort:
        assert (port, baudrate) == ("socket://scanner:4001", 115200)
        opened.append(ports.pop(0))
        return opened[-1]

    states: list[ScannerState] = []
    codes: list[str] = []
    scanner = SerialScanner(
        "socket://scanner:4001",
        115200,
        codes.append,
        on_state=states.append,
        retry_s=0.01,
        loop=loop,
        open_port=open_port,
    )
    scanner.start()
    try:
        _until(loop, lambda: codes == ["1004", "1005"])
    finally:
        scanner.stop()
    assert [(s.connected, s.recovered) for s in states] == [(True, False), (False, True), (True, True)]
    assert "readiness" in (states[1].reason or "")
    assert all(port.closed for port in opened)
