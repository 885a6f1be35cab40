"""The cash drawer: the ``ESC p`` bytes, the receipt keeping its single kick, and
:class:`CashDrawer` through the receipt printer's connection or a port of its own."""

from __future__ import annotations

import asyncio
import os
import select
from pathlib import Path

import pytest

from posapp.devices.drawer import PULSE_LENGTH, CashDrawer, is_pulse, pulse_command
from posapp.devices.errors import DrawerError
from posapp.errors import UNEXPECTED_USER_MESSAGE, PosappError
from posapp.printing import decode_escpos, open_connection
from posapp.printing.codepages import resolve_codepage
from posapp.printing.errors import PrinterOffline
from posapp.printing.escpos_decode import DrawerPulse
from posapp.printing.escpos_writer import EscposWriter
from posapp.printing.native import strip_drawer_kick


def test_the_pulse_bytes() -> None:
    assert pulse_command() == b"\x1bp\x00\x3c\x78"  # pin 2, 120 ms on, 240 ms off
    assert pulse_command(pin=5, on_ms=100, off_ms=200) == b"\x1bp\x01\x32\x64"
    assert pulse_command(on_ms=0, off_ms=10_000) == b"\x1bp\x00\x01\xff"  # kept within 2..510 ms
    assert len(pulse_command()) == PULSE_LENGTH and is_pulse(pulse_command(pin=5))
    assert not is_pulse(b"\x1bp\x07\x01\x01") and not is_pulse(b"\x1bp\x00\x01")
    with pytest.raises(ValueError, match="pin"):
        pulse_command(pin=3)


def test_the_printer_writes_the_drawers_command_and_the_decoder_reads_it() -> None:
    writer = EscposWriter(resolve_codepage("cp860"))
    writer.init()
    writer.drawer_pulse(pin=5, on_ms=100, off_ms=200)
    data = writer.getvalue()
    assert data.endswith(pulse_command(pin=5, on_ms=100, off_ms=200))
    assert decode_escpos(data).drawer_pulses == [DrawerPulse(pin=5, on_ms=100, off_ms=200)]
    assert strip_drawer_kick(data + b"text\n") == data[:5] + b"text\n"  # a reprint kicks no more


class Link:
    def __init__(self, fail: Exception | None = None) -> None:
        self.written: list[bytes] = []
        self.closed = False
        self.fail = fail

    def write(self, data: bytes) -> None:
        if self.fail is not None:
            raise self.fail
        self.written.append(data)

    def close(self) -> None:
        self.closed = True


def test_a_drawer_kicks_once_per_open_and_closes_its_link() -> None:
    links: list[Link] = []

    def connect() -> Link:
        links.append(Link())
        return links[-1]

    drawer = CashDrawer(connect, pin=5)
    drawer.open()
    asyncio.run(drawer.aopen())
    assert [link.written for link in links] == [[pulse_command(pin=5)]] * 2
    assert all(link.closed for link in links)


def test_through_the_receipt_printers_connection(tmp_path: Path) -> None:
    target = tmp_path / "lp0"
    target.touch()
    drawer = CashDrawer(lambda: open_connection(f"file:{target}"), where=f"impressora file:{target}")
    drawer.open()
    assert decode_escpos(target.read_bytes()).drawer_pulses == [DrawerPulse(pin=2, on_ms=120, off_ms=240)]


def test_a_failing_link_says_why_in_portuguese() -> None:
    offline = PrinterOffline("tcp:10.0.0.9: refused", user_message="A impressora recusou a conexão.")
    with pytest.raises(DrawerError) as refused:
        CashDrawer(lambda: Link(offline)).open()
    assert refused.value.user_message == "A gaveta não abriu: A impressora recusou a conexão."
    assert refused.value.__cause__ is offline

    def unplugged() -> Link:
        raise OSError(2, "No such file or directory")

    with pytest.raises(DrawerError) as gone:
        CashDrawer(unplugged, where="porta /dev/ttyUSB3").open()
    assert gone.value.has_user_message
    assert "No such file" not in gone.value.user_message
    assert gone.value.user_message.startswith("A gaveta não abriu (porta /dev/ttyUSB3)")
    assert "No such file" in str(gone.value)  # the detail is for the log


def test_a_bug_in_the_link_is_not_disguised() -> None:
    bug = PosappError("link misused")  # no user message: a bug, shown as one later
    with pytest.raises(PosappError) as raised:
        CashDrawer(lambda: Link(bug)).open()
    assert raised.value is bug and raised.value.user_message == UNEXPECTED_USER_MESSAGE
    with pytest.raises(TypeError):
        CashDrawer(lambda: Link(TypeError("bad"))).open()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_standalone_on_a_serial_port() -> None:
    master, slave = os.openpty()
    try:
        CashDrawer.on_serial(os.ttyname(slave), 9600, pin=2).open()
        ready, _, _ = select.select([master], [], [], 5)
        assert ready
        assert os.read(master, 64) == pulse_command()
    finally:
        os.close(master)
        os.close(slave)


def test_standalone_on_a_missing_port() -> None:
    with pytest.raises(DrawerError) as missing:
        CashDrawer.on_serial("/dev/nao-existe-gaveta").open()
    assert "porta /dev/nao-existe-gaveta" in missing.value.user_message
