"""Printer connections against real peers: a TCP printer on loopback, files, pyserial's
loopback port, and the in-memory links."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from posapp.printing.connections import (
    CupsConnection,
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
def printer() -> Iterator[FakeTcpPrinter]:
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
        "usb:04b8:0e15?out_ep=0x81",  # an IN endpoint where the OUT one goes
        "usb:04b8:0e15?in_ep=0x02",
        "usb:04b8:0e15?out_ep=zz",
        "usb:04b8:0e15?colour=red",
        "usb:04b8:0e15?write_timeout=0",
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


FAKE_LP = """#!/bin/sh
# lp as CUPS' client runs it: one job from stdin; a queue named CHEIA refuses it.
printf '%s\\n' "$*" >> "$LP_LOG/argv"
n=$(ls "$LP_LOG" | grep -c '^job')
cat > "$LP_LOG/job$n"
case "$*" in *CHEIA*) echo "lp: Error - The printer or class does not exist." >&2; exit 1;; esac
echo "request id is $2-$n (1 file(s))"
"""

FAKE_LPSTAT = """#!/bin/sh
case "$2" in
  EPSON) echo "printer EPSON is idle.  enabled since Sat 21 Nov 2026";;
  PARADA) echo "printer PARADA disabled since Sat 21 Nov 2026 -"; echo "\\tPaused";;
  *) echo "lpstat: Invalid destination name in list \\"$2\\"." >&2; exit 1;;
esac
"""


@pytest.fixture
def fake_cups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CUPS' command-line client (lp, lpstat) on PATH, keeping what it was given."""
    if sys.platform == "win32":
        pytest.skip("CUPS' client is a POSIX shell tool here")
    bin_dir, log = tmp_path / "bin", tmp_path / "lp-log"
    bin_dir.mkdir()
    log.mkdir()
    for name, script in (("lp", FAKE_LP), ("lpstat", FAKE_LPSTAT)):
        (bin_dir / name).write_text(script, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("LP_LOG", str(log))
    return log


def test_cups_each_write_is_one_raw_job(fake_cups: Path) -> None:
    with closing(open_connection("cups:EPSON")) as connection:
        assert isinstance(connection, CupsConnection)
        connection.write(b"\x1b@primeiro\n\x1dV\x00")
        connection.write(b"\x1b@segundo\n")
    assert (fake_cups / "argv").read_text().splitlines() == ["-d EPSON -o raw", "-d EPSON -o raw"]
    # byte for byte: nothing added (python-escpos' LP class appends a newline after the cut)
    assert (fake_cups / "job0").read_bytes() == b"\x1b@primeiro\n\x1dV\x00"
    assert (fake_cups / "job1").read_bytes() == b"\x1b@segundo\n"


def test_cups_refused_job_is_an_error_with_the_reason(fake_cups: Path) -> None:
    with pytest.raises(PrinterError) as info:
        open_connection("cups:CHEIA").write(b"x")
    assert "O CUPS recusou o trabalho" in info.value.user_message
    assert "does not exist" in info.value.user_message


def test_cups_status_is_the_queue(fake_cups: Path) -> None:
    assert open_connection("cups:EPSON").status().online is None
    stopped = open_connection("cups:PARADA").status()
    assert stopped.online is False and "desabilitada" in stopped.message
    missing = open_connection("cups:NAO-EXISTE").status()
    assert missing.online is False and "não existe" in missing.message


def test_cups_without_the_client_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no lp anywhere
    connection = open_connection("cups:EPSON")
    with pytest.raises(PrinterError) as info:
        connection.write(b"x")
    assert "CUPS não está instalado" in info.value.user_message
    assert connection.status().known is False


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
