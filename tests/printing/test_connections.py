"""Printer connections against real peers: a TCP printer on loopback, files, pyserial's
loopback port, and the in-memory links."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from posapp.printing.connections import (
    FileConnection,
    NullConnection,
    PreviewSink,
    TcpConnection,
    find_usblp_device,
    open_connection,
)
from posapp.printing.errors import InvalidPrinterUri, PrinterError, PrinterOffline
from tests.printing.fake_printer import (
    OFFLINE_BYTE,
    OK_BYTE,
    PAPER_LOW_BYTE,
    PAPER_OUT_BYTE,
    FakeTcpPrinter,
    refused_uri,
)


@pytest.fixture
def printer():
    fake = FakeTcpPrinter()
    yield fake
    fake.close()


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "tcp:",
        "tcp:host:notaport",
        "tcp:host:70000",
        "usb:04b8",
        "usb:xyz:0202",
        "serial:",
        "file:",
        "lpt1",
        "ftp:x",
    ],
)
def test_malformed_uris_are_rejected_with_examples(uri: str) -> None:
    with pytest.raises(InvalidPrinterUri) as info:
        open_connection(uri)
    assert "Exemplos: tcp:" in info.value.user_message


def test_tcp_writes_and_reads_status(printer: FakeTcpPrinter) -> None:
    with closing(open_connection(printer.uri)) as connection:
        assert isinstance(connection, TcpConnection)
        status = connection.status()
        assert (status.online, status.paper, status.ready) == (True, "ok", True)
        connection.write(b"\x1b@hello\n")
        connection.status()  # the answer proves the printer read the job
    assert printer.jobs() == [b"\x1b@hello\n"]
    assert printer.sessions[0].queries == [1, 4, 1, 4]


@pytest.mark.parametrize(
    ("printer_byte", "paper_byte", "online", "paper"),
    [
        (OK_BYTE, PAPER_LOW_BYTE, True, "low"),
        (OFFLINE_BYTE, PAPER_OUT_BYTE, False, "out"),
        (OFFLINE_BYTE, OK_BYTE, False, "ok"),
        (0xFF, OK_BYTE, None, "ok"),  # not a status byte: unknown, not "offline"
        (OK_BYTE, 0x00, True, "unknown"),
    ],
)
def test_status_bytes(printer_byte: int, paper_byte: int, online: bool | None, paper: str) -> None:
    fake = FakeTcpPrinter(answer=lambda n, _: printer_byte if n == 1 else paper_byte)
    try:
        with closing(open_connection(fake.uri)) as connection:
            status = connection.status()
    finally:
        fake.close()
    assert (status.online, status.paper) == (online, paper)


def test_silent_printer_is_unknown_not_out_of_paper() -> None:
    fake = FakeTcpPrinter(answer=lambda n, _: None)
    try:
        with closing(open_connection(fake.uri.replace("0.3", "0.1"))) as connection:
            status = connection.status()
            connection.write(b"x\n")
    finally:
        fake.close()
    assert (status.online, status.paper, status.ready, status.paper_out) == (None, "unknown", None, False)
    assert "não respondeu" in status.message


def test_tcp_refused_is_offline_with_a_message() -> None:
    with pytest.raises(PrinterOffline) as info:
        open_connection(refused_uri())
    assert "recusou a conexão" in info.value.user_message


def test_tcp_peer_gone_shows_on_the_next_status() -> None:
    fake = FakeTcpPrinter(reset_after=10)
    try:
        connection = open_connection(fake.uri)
        with pytest.raises(PrinterOffline) as info:
            connection.write(b"0123456789abcdef\n")
            connection.status()
        assert "desconectou durante a impressão" in info.value.user_message
        connection.close()
    finally:
        fake.close()


def test_file_printer_appends_jobs(tmp_path: Path) -> None:
    target = tmp_path / "lp0"
    for job in (b"first\n", b"second\n"):
        with closing(open_connection(f"file:{target}")) as connection:
            assert isinstance(connection, FileConnection)
            assert connection.status().online is None  # a file cannot tell
            connection.write(job)
    assert target.read_bytes() == b"first\nsecond\n"


def test_file_printer_in_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(PrinterOffline) as info:
        open_connection(f"file:{tmp_path / 'nope' / 'lp0'}")
    assert "Impressora não encontrada" in info.value.user_message
    with pytest.raises(InvalidPrinterUri):
        open_connection(f"file:{tmp_path}")


def test_serial_loopback_echo_is_not_a_status() -> None:
    """pyserial's loop:// echoes what we send: DLE EOT comes back as 0x10, which is not a
    valid status byte, so the status is unknown."""
    with closing(open_connection("serial:loop://?baudrate=115200&status_timeout=0.1")) as connection:
        connection.write(b"\x1b@ok\n")
        status = connection.status()
    assert (status.online, status.paper) == (None, "unknown")
    with pytest.raises(PrinterOffline):
        open_connection("serial:/dev/this-port-does-not-exist")
    with pytest.raises(InvalidPrinterUri):
        open_connection("serial:loop://?baudrate=fast")


def test_preview_and_none() -> None:
    sink = PreviewSink()
    seen: list[bytes] = []
    sink.add_listener(seen.append)
    connection = open_connection("preview", preview_sink=sink)
    connection.write(b"a\n")
    connection.write(b"b\n")
    assert sink.jobs() == []  # one receipt is published when the job closes
    connection.close()
    connection.close()
    assert sink.jobs() == [b"a\nb\n"] == seen
    assert sink.last() == b"a\nb\n"
    null = open_connection("none")
    assert isinstance(null, NullConnection)
    null.write(b"discarded")
    assert null.status().online is None


def test_spooler_links_fail_clearly_where_unavailable() -> None:
    with pytest.raises(PrinterError) as info:
        open_connection("win32:EPSON TM-T20").write(b"x")
    assert "Windows" in info.value.user_message


def test_usblp_lookup_through_sysfs(tmp_path: Path) -> None:
    device = tmp_path / "devices" / "usb1" / "1-1"
    interface = device / "1-1:1.0"
    interface.mkdir(parents=True)
    (device / "idVendor").write_text("04b8\n")
    (device / "idProduct").write_text("0e15\n")
    usbmisc = tmp_path / "class" / "usbmisc" / "lp0"
    usbmisc.mkdir(parents=True)
    (usbmisc / "device").symlink_to(interface)
    assert find_usblp_device(0x04B8, 0x0E15, sysfs=tmp_path / "class" / "usbmisc") == Path("/dev/usb/lp0")
    assert find_usblp_device(0x04B8, 0x0202, sysfs=tmp_path / "class" / "usbmisc") is None
