"""Links that stop taking data must fail within their deadline, never hang: real FIFOs
(a usblp device node behaves the same: writable until its buffer fills) and a real pty
standing in for a serial printer."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from posapp.printing.connections import (
    WRITE_TIMEOUT_S,
    FileConnection,
    SerialConnection,
    open_connection,
    serial_write_timeout,
)
from posapp.printing.errors import PrinterOffline

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and ptys are POSIX")

BIG = bytes(range(256)) * 4096  # 1 MiB: far more than a pipe or pty buffer holds


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "lp0"
    os.mkfifo(path)
    return path


def test_fifo_without_reader_fails_at_once(fifo: Path) -> None:
    started = time.monotonic()
    with pytest.raises(PrinterOffline) as info:
        open_connection(f"file:{fifo}")
    assert time.monotonic() - started < 1.0
    assert "Nada está recebendo os dados" in info.value.user_message


def test_stalled_reader_times_out_instead_of_blocking(fifo: Path) -> None:
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # opened, never read: a jammed printer
    try:
        with closing(open_connection(f"file:{fifo}?write_timeout=0.3")) as connection:
            assert isinstance(connection, FileConnection) and connection.write_timeout == 0.3
            started = time.monotonic()
            with pytest.raises(PrinterOffline) as info:
                connection.write(BIG)
            elapsed = time.monotonic() - started
    finally:
        os.close(reader)
    assert 0.25 <= elapsed < 2.0
    assert "parou de receber dados" in info.value.user_message
    assert "of 1048576 bytes sent" in str(info.value)


def test_slow_reader_gets_every_byte_in_order(fifo: Path) -> None:
    """Partial non-blocking writes are resumed where they stopped: nothing lost, nothing twice."""
    received = bytearray()
    ready = threading.Event()

    def drain() -> None:
        with open(fifo, "rb", buffering=0) as pipe:
            ready.set()
            while chunk := pipe.read(8192):
                received.extend(chunk)
                time.sleep(0.0005)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    # the reader's open() and ours rendezvous; retry until the reader is there
    deadline = time.monotonic() + 5
    connection = None
    while connection is None:
        try:
            connection = open_connection(f"file:{fifo}?write_timeout=10")
        except PrinterOffline:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    with closing(connection):
        connection.write(BIG)
    thread.join(timeout=10)
    assert bytes(received) == BIG


def test_question_mark_in_a_plain_path_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "odd?name"
    with closing(open_connection(f"file:{target}")) as connection:
        connection.write(b"x")
    assert target.read_bytes() == b"x"


def test_serial_write_timeout_scales_with_the_job() -> None:
    assert serial_write_timeout(2_000, 115_200) == WRITE_TIMEOUT_S
    # a 60 KB raster at 9600 baud needs ~62 s on the wire: 1.5x that, not a 30 s cut-off
    assert serial_write_timeout(60_000, 9_600) == pytest.approx(93.75)
    assert serial_write_timeout(10, 9_600, floor=0.2) == 0.2


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    name = os.ttyname(slave)
    os.close(slave)
    yield master, name
    os.close(master)


def test_serial_printer_that_stops_reading_times_out(pty_pair: tuple[int, str]) -> None:
    """The pty's far end never reads: pyserial's write timeout fires (no ``tcdrain``
    afterwards, which would wait forever)."""
    _, name = pty_pair
    with closing(open_connection(f"serial:{name}?baudrate=4000000&write_timeout=0.3")) as connection:
        assert isinstance(connection, SerialConnection)
        job = BIG[: 256 * 1024]
        allowed = serial_write_timeout(len(job), 4_000_000, floor=0.3)  # ~0.98 s: scaled, above the floor
        started = time.monotonic()
        with pytest.raises(PrinterOffline) as info:
            connection.write(job)
        elapsed = time.monotonic() - started
    assert allowed > 0.9
    assert allowed * 0.9 <= elapsed < allowed + 1.5
    assert "parou de receber dados" in info.value.user_message


def test_serial_bytes_arrive_at_the_far_end(pty_pair: tuple[int, str]) -> None:
    master, name = pty_pair
    job = b"\x1b@\x1bt\x03Ol\xe1\n" * 50
    with closing(open_connection(f"serial:{name}?baudrate=115200")) as connection:
        connection.write(job)
        received = bytearray()
        deadline = time.monotonic() + 5
        while len(received) < len(job) and time.monotonic() < deadline:
            received += os.read(master, 4096)
    assert bytes(received) == job
