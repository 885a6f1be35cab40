"""usb: and win32: printers: python-escpos carries the bytes, our renderer makes them.

What runs here: python-escpos itself (``Dummy``, ``Usb``, ``Win32Raw``), pyusb, and the
libusb shipped by libusb-package enumerating this machine's (empty) USB bus. What cannot run
here is faked at the lowest level the libraries expose: pyusb's ``usb.core.find`` returns a
fake device (the bytes python-escpos hands to pyusb are recorded), and pywin32's
``win32print`` is a fake spooler that keeps every RAW job.
"""

from __future__ import annotations

import errno
import importlib
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from posapp.printing import ReceiptOptions, connections, decode_escpos, render_test_page
from posapp.printing.connections import (
    EscposLibraryConnection,
    PyUsbConnection,
    Win32Connection,
    escpos_printer_module,
    open_connection,
)
from posapp.printing.errors import PrinterError, PrinterOffline

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def escpos_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("escpos-cache")


@pytest.fixture(autouse=True)
def _escpos_cache_here(escpos_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """python-escpos pickles its printer database where this points (on its first import)."""
    monkeypatch.setenv("ESCPOS_CAPABILITIES_PICKLE_DIR", str(escpos_cache))


@pytest.fixture
def receipt_bytes() -> bytes:
    """A real page from our renderer: code page, accents, native QR, cut."""
    return render_test_page(ReceiptOptions(paper_mm=80))


def assert_is_our_page(data: bytes) -> None:
    receipt = decode_escpos(data)
    assert "São Paulo" in receipt.text
    assert len(receipt.qr_codes) == 1
    assert len(receipt.cuts) == 1


# -- the generic transport -------------------------------------------------------------------------


def test_python_escpos_dummy_receives_our_bytes_unchanged(receipt_bytes: bytes) -> None:
    dummy = escpos_printer_module("usb:test", "usb").Dummy()
    connection = EscposLibraryConnection("usb:test", dummy)
    connection.write(receipt_bytes[:100])
    connection.write(receipt_bytes[100:])
    assert dummy.output == receipt_bytes
    assert_is_our_page(dummy.output)
    connection.close()
    connection.close()
    with pytest.raises(PrinterError) as info:
        connection.write(b"x")
    assert "fechada" in info.value.user_message


def test_python_escpos_is_imported_only_when_a_usb_or_win32_printer_is_used(tmp_path: Path) -> None:
    """Start-up cost: tills on TCP, serial or file: printers never import python-escpos."""
    code = (
        "import sys\n"
        "import posapp.printing, posapp.printing.connections as c\n"
        f"conn = c.open_connection('file:{tmp_path / 'lp0'}'); conn.write(b'x'); conn.close()\n"
        "c.open_connection('none').write(b'x')\n"
        "print(sorted(m for m in ('escpos', 'usb', 'libusb_package', 'win32print') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_first_import_uses_one_cache_folder_and_no_stray_handler(tmp_path: Path) -> None:
    """python-escpos 3.1 would create a new temp folder per process and give an unconfigured
    root logger a stderr handler (logging.basicConfig at import)."""
    code = (
        "import logging, os, sys\n"
        "from posapp.printing.connections import escpos_printer_module\n"
        "escpos_printer_module('usb:1:1', 'usb')\n"
        "print(os.environ['ESCPOS_CAPABILITIES_PICKLE_DIR'])\n"
        "print(len(logging.getLogger().handlers))\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ESCPOS_CAPABILITIES_PICKLE_DIR", "XDG_CACHE_HOME", "TMPDIR")
    }
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    folder, handlers = result.stdout.split()
    if sys.platform.startswith("linux"):
        assert Path(folder) == tmp_path / "cache" / "posapp" / "escpos"
    assert list(Path(folder).glob("*.capabilities.pickle"))
    assert list((tmp_path / "tmp").iterdir()) == []  # no mkdtemp() folder left behind
    assert handlers == "0"


# -- usb: through python-escpos' Usb ----------------------------------------------------------------


class FakeUsbDevice:
    """What pyusb's ``find`` returns, as far as python-escpos' ``Usb`` uses it."""

    class Context:
        def __init__(self) -> None:
            self.disposed = 0

        def dispose(self, device: Any) -> None:
            self.disposed += 1

    def __init__(self, *, backend_module: str = "fake.backend") -> None:
        self.backend = type("Backend", (), {"__module__": backend_module})()
        self._ctx = self.Context()
        self.writes: list[tuple[int, bytes, int]] = []
        self.configured = 0
        self.write_error: BaseException | None = None
        self.driver_error: BaseException | None = None

    def is_kernel_driver_active(self, interface: int) -> bool:
        if self.driver_error is not None:
            raise self.driver_error
        return False

    def set_configuration(self) -> None:
        self.configured += 1

    def reset(self) -> None:
        return None

    def write(self, endpoint: int, data: bytes, timeout: int) -> int:
        if self.write_error is not None:
            raise self.write_error
        self.writes.append((endpoint, bytes(data), timeout))
        return len(data)


@pytest.fixture
def usb_core(monkeypatch: pytest.MonkeyPatch) -> Any:
    """pyusb, with no usblp node standing in the way (a dev box may have a real printer)."""
    core = importlib.import_module("usb.core")
    monkeypatch.setattr(connections, "find_usblp_device", lambda vendor, product: None)
    return core


@pytest.fixture
def fake_device(usb_core: Any, monkeypatch: pytest.MonkeyPatch) -> FakeUsbDevice:
    device = FakeUsbDevice()
    searches: list[dict[str, Any]] = []

    def find(**kwargs: Any) -> FakeUsbDevice | None:
        searches.append(kwargs)
        return device if (kwargs.get("idVendor"), kwargs.get("idProduct")) == (0x0FE6, 0x811E) else None

    monkeypatch.setattr(usb_core, "find", find)
    device.searches = searches  # type: ignore[attr-defined]
    return device


def test_usb_printer_gets_our_bytes_through_python_escpos(
    fake_device: FakeUsbDevice, receipt_bytes: bytes
) -> None:
    connection = open_connection("usb:0fe6:811e?out_ep=0x03&in_ep=0x81&write_timeout=5")
    assert isinstance(connection, PyUsbConnection)
    assert type(connection.printer).__module__ == "escpos.printer.usb"
    (search,) = fake_device.searches  # type: ignore[attr-defined]
    assert (search["idVendor"], search["idProduct"]) == (0x0FE6, 0x811E)
    assert search.get("backend") is not None  # libusb-package's libusb, not the system's
    assert fake_device.configured == 1
    connection.write(receipt_bytes)
    assert fake_device.writes == [(0x03, receipt_bytes, 5000)]
    assert_is_our_page(fake_device.writes[0][1])
    assert connection.status().known is False  # not read over USB
    connection.close()
    assert fake_device._ctx.disposed == 1


def test_usb_defaults_are_python_escpos_endpoints(fake_device: FakeUsbDevice) -> None:
    connection = open_connection("usb:0fe6:811e")
    connection.write(b"\x1b@")
    assert fake_device.writes == [(0x01, b"\x1b@", 30_000)]
    connection.close()


@pytest.mark.parametrize(
    ("error", "expected_type", "words"),
    [
        ("timeout", PrinterOffline, "parou de receber dados"),
        ("denied", PrinterError, "Sem permissão"),
        ("gone", PrinterOffline, "parou de responder"),
    ],
)
def test_usb_write_failures_are_explained(
    fake_device: FakeUsbDevice, usb_core: Any, error: str, expected_type: type[Exception], words: str
) -> None:
    fake_device.write_error = {
        "timeout": usb_core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT),
        "denied": usb_core.USBError("Access denied (insufficient permissions)", -3, errno.EACCES),
        "gone": usb_core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV),
    }[error]
    connection = open_connection("usb:0fe6:811e")
    with pytest.raises(expected_type) as info:
        connection.write(b"x")
    assert words in info.value.user_message  # type: ignore[attr-defined]
    connection.close()


def test_usb_without_permission_says_what_to_do(fake_device: FakeUsbDevice, usb_core: Any) -> None:
    """libusb1 backend: python-escpos asks about the kernel driver first, which needs access."""
    fake_device.backend = type("Backend", (), {"__module__": "usb.backend.libusb1"})()
    fake_device.driver_error = usb_core.USBError("Access denied (insufficient permissions)", -3, errno.EACCES)
    with pytest.raises(PrinterError) as info:
        open_connection("usb:0fe6:811e")
    assert "Sem permissão" in info.value.user_message and "'lp'" in info.value.user_message


def test_usb_printer_absent_from_the_real_bus(usb_core: Any) -> None:
    """Real pyusb + libusb (from libusb-package) enumerate this machine's bus."""
    pytest.importorskip("libusb_package")
    with pytest.raises(PrinterOffline) as info:
        open_connection("usb:ffff:fffe")
    assert "Impressora USB ffff:fffe não encontrada" in info.value.user_message


def test_usb_without_libusb_says_what_to_install(usb_core: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_backend(**kwargs: Any) -> None:
        raise usb_core.NoBackendError("No backend available")

    monkeypatch.setattr(connections, "libusb_backend", lambda: None)
    monkeypatch.setattr(usb_core, "find", no_backend)
    with pytest.raises(PrinterError) as info:
        open_connection("usb:0fe6:811e")
    assert "libusb" in info.value.user_message
    assert 'pip install "posapp[usb]"' in info.value.user_message


def test_usb_without_pyusb_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-escpos alone would fail later, in English, and again from __del__."""
    monkeypatch.setattr(connections, "find_usblp_device", lambda vendor, product: None)
    monkeypatch.setitem(sys.modules, "usb", None)
    monkeypatch.setitem(sys.modules, "usb.core", None)
    with pytest.raises(PrinterError) as info:
        open_connection("usb:04b8:0e15")
    message = info.value.user_message
    assert "pyusb" in message and 'pip install "posapp[usb]"' in message


def test_without_python_escpos_the_extra_is_named(
    fake_device: FakeUsbDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "escpos", None)
    monkeypatch.setitem(sys.modules, "escpos.printer", None)
    with pytest.raises(PrinterError) as info:
        open_connection("usb:0fe6:811e")
    assert "python-escpos" in info.value.user_message
    assert 'pip install "posapp[usb]"' in info.value.user_message


def test_usblp_node_wins_and_keeps_the_write_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = tmp_path / "lp0"
    monkeypatch.setattr(connections, "find_usblp_device", lambda vendor, product: node)
    connection = open_connection("usb:04b8:0e15?write_timeout=2")
    assert isinstance(connection, connections.FileConnection)
    assert connection.write_timeout == 2
    connection.write(b"ok")
    connection.close()
    assert node.read_bytes() == b"ok"


# -- win32: through python-escpos' Win32Raw -----------------------------------------------------------


class FakeSpooler:
    """The parts of pywin32's ``win32print`` a RAW job uses, with Windows' enumeration rules:
    PRINTER_ENUM_NAME with no name lists the local queues, CONNECTIONS the shared ones."""

    PRINTER_ENUM_LOCAL = 0x2
    PRINTER_ENUM_CONNECTIONS = 0x4
    PRINTER_ENUM_NAME = 0x8

    class Handle:
        def __init__(self, name: str) -> None:
            self.name = name
            self.doc: tuple[str, str | None, str] | None = None
            self.data = bytearray()
            self.closed = False

    def __init__(self, error: type[Exception], local: list[str], shared: list[str]) -> None:
        self.error = error
        self.local, self.shared = local, shared
        self.jobs: list[tuple[str, tuple[str, str | None, str], bytes]] = []
        self.handles: list[FakeSpooler.Handle] = []
        self.write_fails = False

    def EnumPrinters(self, flags: int, name: str | None, level: int) -> list[dict[str, Any]]:
        assert level == 4
        names: list[str] = []
        if flags & self.PRINTER_ENUM_LOCAL or (flags & self.PRINTER_ENUM_NAME and not name):
            names += self.local
        if flags & self.PRINTER_ENUM_CONNECTIONS:
            names += self.shared
        return [{"pPrinterName": n, "pServerName": None, "Attributes": 0} for n in names]

    def GetDefaultPrinter(self) -> str:
        return self.local[0]

    def OpenPrinter(self, name: str) -> FakeSpooler.Handle:
        if name.casefold() not in {n.casefold() for n in self.local + self.shared}:
            raise self.error(1801, "OpenPrinter", "O nome da impressora é inválido.")
        handle = self.Handle(name)
        self.handles.append(handle)
        return handle

    def StartDocPrinter(self, handle: Handle, level: int, info: tuple[str, str | None, str]) -> int:
        assert level == 1
        handle.doc = info
        return len(self.jobs) + 1

    def StartPagePrinter(self, handle: Handle) -> None:
        assert handle.doc is not None

    def WritePrinter(self, handle: Handle, data: bytes) -> int:
        if self.write_fails:
            raise self.error(1804, "WritePrinter", "O tipo de dados especificado é inválido.")
        handle.data += data
        return len(data)

    def EndPagePrinter(self, handle: Handle) -> None:
        return None

    def EndDocPrinter(self, handle: Handle) -> None:
        assert handle.doc is not None
        self.jobs.append((handle.name, handle.doc, bytes(handle.data)))

    def ClosePrinter(self, handle: Handle) -> None:
        handle.closed = True


@pytest.fixture
def spooler(monkeypatch: pytest.MonkeyPatch) -> FakeSpooler:
    """pywin32 on a Windows till with two local queues and one shared by another computer."""
    pywintypes = types.ModuleType("pywintypes")

    class error(Exception):
        pass

    pywintypes.error = error  # type: ignore[attr-defined]
    fake = FakeSpooler(
        error, local=["EPSON TM-T20X Receipt", "Microsoft Print to PDF"], shared=[r"\\CAIXA1\ELGIN i9"]
    )
    win32print = types.ModuleType("win32print")
    for name in dir(fake):
        if name.startswith(("Enum", "Get", "Open", "Start", "Write", "End", "Close", "PRINTER_")):
            setattr(win32print, name, getattr(fake, name))
    monkeypatch.setitem(sys.modules, "win32print", win32print)
    monkeypatch.setitem(sys.modules, "pywintypes", pywintypes)
    escpos_printer_module("win32:test", "windows")
    win32raw = importlib.import_module("escpos.printer.win32raw")
    # Imported on Linux, python-escpos saw no pywin32: give it the fake one too.
    monkeypatch.setattr(win32raw, "win32print", win32print, raising=False)
    monkeypatch.setattr(win32raw, "pywintypes", pywintypes, raising=False)
    monkeypatch.setattr(win32raw, "_DEP_WIN32PRINT", True)
    return fake


def test_win32_each_write_is_one_raw_job_through_win32raw(spooler: FakeSpooler, receipt_bytes: bytes) -> None:
    connection = open_connection("win32:epson tm-t20x receipt")  # Windows ignores case; so do we
    assert isinstance(connection, Win32Connection)
    assert type(connection.printer).__mro__[1].__module__ == "escpos.printer.win32raw"
    assert spooler.handles == []  # nothing reaches the spooler before a job
    connection.write(receipt_bytes)
    connection.write(b"\x1b@segunda via\n")
    assert [(name, doc) for name, doc, _ in spooler.jobs] == [
        ("EPSON TM-T20X Receipt", ("posapp", "", "RAW")),
        ("EPSON TM-T20X Receipt", ("posapp", "", "RAW")),
    ]
    assert spooler.jobs[0][2] == receipt_bytes
    assert_is_our_page(spooler.jobs[0][2])
    assert all(handle.closed for handle in spooler.handles)
    status = connection.status()
    assert status.online is None and "encontrada" in status.message
    connection.close()


def test_win32_printer_shared_by_another_computer(spooler: FakeSpooler) -> None:
    """python-escpos 3.1 lists local queues only and refuses this name (fixed upstream, unreleased)."""
    connection = open_connection(r"win32:\\CAIXA1\ELGIN i9")
    connection.write(b"\x1b@ok\n")
    assert spooler.jobs == [(r"\\CAIXA1\ELGIN i9", ("posapp", "", "RAW"), b"\x1b@ok\n")]


def test_win32_unknown_queue_lists_the_installed_ones(spooler: FakeSpooler) -> None:
    connection = open_connection("win32:EPSON TM-T20")
    status = connection.status()
    assert status.online is False and "não existe" in status.message
    with pytest.raises(PrinterOffline) as info:
        connection.write(b"x")
    message = info.value.user_message
    assert "'EPSON TM-T20' não encontrada no Windows" in message
    assert "EPSON TM-T20X Receipt" in message and r"\\CAIXA1\ELGIN i9" in message
    assert spooler.jobs == []


def test_win32_refused_write_is_an_error_and_the_job_is_closed(spooler: FakeSpooler) -> None:
    spooler.write_fails = True
    connection = open_connection("win32:EPSON TM-T20X Receipt")
    with pytest.raises(PrinterError) as info:
        connection.write(b"x")
    assert "O Windows recusou a impressão" in info.value.user_message
    assert [handle.closed for handle in spooler.handles] == [True]


def test_win32_without_pywin32_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "win32print", None)
    with pytest.raises(PrinterError) as info:
        open_connection("win32:EPSON")
    assert "Windows" in info.value.user_message
    assert 'pip install "posapp[windows]"' in info.value.user_message
