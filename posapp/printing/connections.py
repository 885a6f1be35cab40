"""Printer connections, opened from a URI.

==========================================  ==================================================
URI                                          link
==========================================  ==================================================
``tcp:HOST[:PORT]`` (9100)                   raw TCP ("JetDirect"); reads status (``DLE EOT``)
``serial:/dev/ttyUSB0?baudrate=115200``       pyserial (also ``COM3``, ``loop://``, ``socket://``);
                                              reads status
``file:/dev/usb/lp0`` (or any path)          a device node, FIFO or plain file (appended);
                                              ``?write_timeout=S``
``usb:VID:PID`` (hex)                        Linux ``usblp`` device found through sysfs, else
                                              pyusb + libusb through python-escpos' ``Usb``
                                              (extra "usb"); ``?out_ep=0x02&in_ep=0x81``
``cups:NAME``                                one raw CUPS job per write (``lp -o raw``)
``win32:NAME``                               one RAW spooler job per write, python-escpos'
                                              ``Win32Raw`` (pywin32; extra "windows")
``preview``                                  bytes collected in memory for the on-screen printer
``none``                                     bytes discarded
==========================================  ==================================================

Every call here **blocks** (connect, write, status read): run them in an executor, never
on the GUI / asyncio thread. Errors are :class:`PrinterOffline` (cannot reach it, or it
went away mid-job), :class:`PaperOut` and :class:`PrinterError`, each with a Portuguese
``user_message`` a cashier can act on; a missing optional package names the extra that
brings it. Status is read only where the link carries the printer's answers (TCP, serial);
the spoolers report whether the queue exists; elsewhere it is *unknown*, never "no paper".

python-escpos is used as a transport only (usb:, win32:), never to build bytes: the
receipts come from :mod:`posapp.printing.render`.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import logging
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable
from urllib.parse import parse_qs, unquote

from posapp.printing.errors import InvalidPrinterUri, PrinterError, PrinterOffline
from posapp.printing.status import (
    DLE_EOT_PAPER,
    DLE_EOT_PRINTER,
    UNKNOWN,
    PrinterStatus,
    parse_paper_status,
    parse_printer_status,
)

DEFAULT_TCP_PORT = 9100
CONNECT_TIMEOUT_S = 3.0
WRITE_TIMEOUT_S = 30.0  # a raster DANFE to a slow printer takes several seconds
STATUS_TIMEOUT_S = 0.5


@runtime_checkable
class PrinterConnection(Protocol):
    uri: str

    def write(self, data: bytes) -> None:
        """Send ``data``; blocks until the link accepted all of it."""
        ...

    def status(self) -> PrinterStatus: ...

    def close(self) -> None: ...


class _Base:
    uri: str
    # True where the link carries the printer's DLE EOT answers back (TCP, serial): there
    # a silent printer after a job means "not confirmed", not "printed".
    answers_status: bool = False

    def status(self) -> PrinterStatus:
        return UNKNOWN

    def close(self) -> None:
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# -- in-memory links ------------------------------------------------------------------------


class PreviewSink:
    """Where ``preview`` printers put their bytes; the GUI listens here.

    Listeners are called from the thread that wrote (an executor thread): a Qt widget
    must hop back to the GUI thread (a queued signal) before touching itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: list[bytes] = []
        self._listeners: list[Callable[[bytes], None]] = []

    def add_listener(self, listener: Callable[[bytes], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[bytes], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def publish(self, data: bytes) -> None:
        with self._lock:
            self._jobs.append(data)
            del self._jobs[:-50]  # a bounded history: the screen shows the last receipts
            listeners = list(self._listeners)
        for listener in listeners:
            listener(data)

    def jobs(self) -> list[bytes]:
        with self._lock:
            return list(self._jobs)

    def last(self) -> bytes | None:
        with self._lock:
            return self._jobs[-1] if self._jobs else None

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()


PREVIEW_SINK = PreviewSink()


class PreviewConnection(_Base):
    """Collects what one job wrote; publishes it to the sink as one receipt on close."""

    def __init__(self, sink: PreviewSink) -> None:
        self.uri = "preview"
        self.sink = sink
        self.data = bytearray()
        self._closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def status(self) -> PrinterStatus:
        return PrinterStatus(online=True, paper="ok", detail="visualização na tela")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.data:
                self.sink.publish(bytes(self.data))


class NullConnection(_Base):
    def __init__(self) -> None:
        self.uri = "none"

    def write(self, data: bytes) -> None:
        return None

    def status(self) -> PrinterStatus:
        return PrinterStatus(online=None, paper="unknown", detail="nenhuma impressora configurada")


# -- TCP ------------------------------------------------------------------------------------


class TcpConnection(_Base):
    answers_status = True  # DLE EOT answers come back on the socket

    def __init__(
        self,
        uri: str,
        host: str,
        port: int,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        write_timeout: float = WRITE_TIMEOUT_S,
        status_timeout: float = STATUS_TIMEOUT_S,
    ) -> None:
        self.uri = uri
        self.host, self.port = host, port
        self.write_timeout, self.status_timeout = write_timeout, status_timeout
        where = f"{host}:{port}"
        try:
            self._sock: socket.socket | None = socket.create_connection((host, port), timeout=connect_timeout)
        except ConnectionRefusedError:
            raise PrinterOffline(
                f"{uri}: connection refused",
                user_message=f"A impressora em {where} recusou a conexão: está ligada? a porta está certa?",
            ) from None
        except TimeoutError:
            raise PrinterOffline(
                f"{uri}: connect timeout",
                user_message=f"A impressora em {where} não respondeu: confira se está ligada e na rede.",
            ) from None
        except socket.gaierror:
            raise PrinterOffline(
                f"{uri}: unknown host", user_message=f"Endereço da impressora não encontrado: {host}."
            ) from None
        except OSError as exc:
            raise PrinterOffline(
                f"{uri}: {exc}",
                user_message=f"Não foi possível conectar à impressora em {where} ({exc.strerror}).",
            ) from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _socket(self) -> socket.socket:
        if self._sock is None:
            raise PrinterError(
                f"{self.uri}: connection closed", user_message="Conexão com a impressora fechada."
            )
        return self._sock

    def _lost(self, exc: BaseException | None = None) -> PrinterOffline:
        return PrinterOffline(
            f"{self.uri}: connection lost ({exc!r})",
            user_message=f"A impressora em {self.host}:{self.port} desconectou durante a impressão.",
        )

    def write(self, data: bytes) -> None:
        sock = self._socket()
        sock.settimeout(self.write_timeout)
        try:
            sock.sendall(data)
        except TimeoutError:
            raise PrinterOffline(
                f"{self.uri}: write timeout",
                user_message="A impressora parou de receber dados (sem papel, tampa aberta ou travada).",
            ) from None
        except OSError as exc:
            raise self._lost(exc) from None

    def _drain(self, sock: socket.socket) -> None:
        """Drop stale bytes (a late answer to an earlier query) before asking again."""
        sock.setblocking(False)
        try:
            while True:
                try:
                    chunk = sock.recv(256)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:
                    raise self._lost(exc) from None
                if not chunk:
                    raise self._lost()
        finally:
            sock.setblocking(True)

    def _query(self, sock: socket.socket, command: bytes) -> int | None:
        try:
            sock.settimeout(self.status_timeout)
            sock.sendall(command)
            answer = sock.recv(1)
        except TimeoutError:
            return None
        except OSError as exc:
            raise self._lost(exc) from None
        if not answer:
            raise self._lost()
        return answer[0]

    def status(self) -> PrinterStatus:
        """``DLE EOT 1`` then ``DLE EOT 4``. Raises :class:`PrinterOffline` when the peer
        closed the connection (that is how a dead job shows up after a write)."""
        sock = self._socket()
        self._drain(sock)
        printer = self._query(sock, DLE_EOT_PRINTER)
        if printer is None:
            return PrinterStatus(online=None, paper="unknown", detail="a impressora não respondeu ao status")
        paper = self._query(sock, DLE_EOT_PAPER)
        return PrinterStatus(online=parse_printer_status(printer), paper=parse_paper_status(paper))

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


# -- files and device nodes -------------------------------------------------------------------


class FileConnection(_Base):
    """A device node (``/dev/usb/lp0``), a FIFO or a plain file, appended to.

    Opened non-blocking and written with ``os.write`` + ``select`` under a deadline: a
    usblp printer that stops taking data (paper out, jammed) would otherwise block a
    plain ``write`` forever and freeze the whole spool behind it."""

    def __init__(self, uri: str, path: Path, *, write_timeout: float = WRITE_TIMEOUT_S) -> None:
        self.uri = uri
        self.path = path
        self.write_timeout = write_timeout
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)  # POSIX / Windows
        try:
            self._fd: int | None = os.open(path, flags, 0o644)
        except FileNotFoundError:
            raise PrinterOffline(
                f"{uri}: {path} not found",
                user_message=f"Impressora não encontrada em {path}: "
                "confira o cabo, se está ligada e o caminho.",
            ) from None
        except PermissionError:
            raise PrinterError(
                f"{uri}: permission denied",
                user_message=f"Sem permissão para usar {path}: "
                "adicione o usuário ao grupo 'lp' e entre de novo.",
            ) from None
        except IsADirectoryError:
            raise InvalidPrinterUri(
                f"{uri}: is a directory", user_message=f"{path} é uma pasta, não uma impressora."
            ) from None
        except OSError as exc:
            if exc.errno in (errno.ENXIO, errno.ENODEV):
                # A FIFO nobody reads, or a device node whose printer is gone.
                raise PrinterOffline(
                    f"{uri}: no reader/device ({exc.strerror})",
                    user_message=f"Nada está recebendo os dados em {path}: "
                    "a impressora (ou o programa que lê este caminho) não está conectada.",
                ) from None
            raise PrinterOffline(
                f"{uri}: {exc}",
                user_message=f"Não foi possível abrir a impressora em {path} ({exc.strerror}).",
            ) from None

    def write(self, data: bytes) -> None:
        fd = self._fd
        if fd is None:
            raise PrinterError(f"{self.uri}: closed", user_message="Conexão com a impressora fechada.")
        deadline = time.monotonic() + self.write_timeout
        view = memoryview(data)
        while view:
            try:
                sent = os.write(fd, view)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                raise PrinterOffline(
                    f"{self.uri}: write failed: {exc}",
                    user_message=f"A impressora em {self.path} parou de responder (desconectada?).",
                ) from None
            view = view[sent:]
            if not view:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PrinterOffline(
                    f"{self.uri}: write timeout ({len(data) - len(view)} of {len(data)} bytes sent)",
                    user_message="A impressora parou de receber dados (sem papel, tampa aberta ou travada).",
                )
            if sent == 0:
                if sys.platform == "win32":  # select() takes only sockets there
                    time.sleep(min(0.05, remaining))
                else:
                    select.select([], [fd], [], remaining)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


# -- serial -----------------------------------------------------------------------------------


def serial_write_timeout(size: int, baudrate: int, *, floor: float = WRITE_TIMEOUT_S) -> float:
    """Seconds to allow for writing ``size`` bytes: 10 bits a byte on the wire (8N1), with
    half as much again for flow-control pauses, never less than ``floor``."""
    return max(floor, 1.5 * size * 10 / max(1, baudrate))


class SerialConnection(_Base):
    answers_status = True  # DLE EOT goes back over RX

    def __init__(self, uri: str, port: str, options: dict[str, str]) -> None:
        import serial  # pyserial

        self.uri = uri
        self.port = port
        try:
            baudrate = int(options.get("baudrate", "9600"))
            status_timeout = float(options.get("status_timeout", str(STATUS_TIMEOUT_S)))
            write_timeout = float(options.get("write_timeout", str(WRITE_TIMEOUT_S)))
        except ValueError:
            raise InvalidPrinterUri(
                f"bad serial option in {uri}", user_message=f"Opção inválida no endereço da impressora: {uri}"
            ) from None
        flow = options.get("flow", "").lower()
        try:
            self._port: Any = serial.serial_for_url(
                port,
                baudrate=baudrate,
                timeout=status_timeout,
                write_timeout=write_timeout,
                rtscts=flow == "rtscts",
                xonxoff=flow == "xonxoff",
                dsrdtr=flow == "dsrdtr",
            )
        except (serial.SerialException, ValueError) as exc:
            raise PrinterOffline(
                f"{uri}: {exc}",
                user_message=f"Não foi possível abrir a porta serial {port}: "
                "confira o cabo e se a impressora está ligada.",
            ) from None
        self.baudrate = baudrate
        self.write_timeout = write_timeout
        self._errors: tuple[type[BaseException], ...] = (serial.SerialException, OSError)
        self._timeout_error: type[BaseException] = serial.SerialTimeoutException

    def write(self, data: bytes) -> None:
        """No ``flush()`` after the write: it is ``tcdrain``, which has no timeout and hangs
        on a printer holding CTS low. pyserial's own write timeout bounds the call, scaled
        with the job so a long raster at 9600 baud is not cut off for being long."""
        timeout = serial_write_timeout(len(data), self.baudrate, floor=self.write_timeout)
        try:
            if self._port.write_timeout != timeout:
                self._port.write_timeout = timeout
            self._port.write(data)
        except self._timeout_error:
            raise PrinterOffline(
                f"{self.uri}: write timeout",
                user_message="A impressora parou de receber dados (sem papel, tampa aberta ou desligada).",
            ) from None
        except self._errors as exc:
            raise PrinterOffline(
                f"{self.uri}: {exc}", user_message=f"A porta serial {self.port} falhou (cabo desconectado?)."
            ) from None

    def _query(self, command: bytes) -> int | None:
        try:
            self._port.reset_input_buffer()
            self._port.write(command)
            answer = self._port.read(1)
        except self._errors as exc:
            raise PrinterOffline(
                f"{self.uri}: {exc}", user_message=f"A porta serial {self.port} falhou (cabo desconectado?)."
            ) from None
        return answer[0] if answer else None

    def status(self) -> PrinterStatus:
        printer = self._query(DLE_EOT_PRINTER)
        if printer is None:
            return PrinterStatus(online=None, paper="unknown", detail="a impressora não respondeu ao status")
        paper = self._query(DLE_EOT_PAPER)
        return PrinterStatus(online=parse_printer_status(printer), paper=parse_paper_status(paper))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._port.close()


# -- python-escpos transports (usb:, win32:) --------------------------------------------------------
#
# python-escpos renders nothing here: every byte comes from our renderer (code page after each
# ESC @, QR size, GS v 0 bands: notes §2 lists why its own text/image/qr are not used). Its
# printer classes only open the device and carry our bytes (``_raw``): pyusb's device search,
# kernel-driver detach and configuration for ``Usb``, the spooler's RAW job for ``Win32Raw``.
# Imported on the first usb:/win32: printer only: the import takes ~200 ms and loads its
# printer database; tills printing over TCP, serial or a device file never pay for it.


def install_hint(extra: str) -> str:
    """How to add an optional part of posapp (Portuguese, for error messages)."""
    return f'instale o posapp com o extra "{extra}" (pip install "posapp[{extra}]")'


def _escpos_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("posapp", appauthor=False)) / "escpos"


def _import_escpos_printer() -> Any:
    """``import escpos.printer`` without python-escpos 3.1's import-time litter.

    Its ``capabilities`` module pickles the printer database into
    ``environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR", mkdtemp())``: a new temporary folder per
    process that nobody removes (notes §2.2), and since the default is evaluated first, an
    empty one even when the variable is set. The variable points at one cache folder, and
    the folder ``mkdtemp()`` made for that module is removed if it stayed empty. The module
    also calls ``logging.basicConfig()``, which would give a root logger nobody configured
    a stderr handler: an empty root logger holds a placeholder during the import."""
    if "ESCPOS_CAPABILITIES_PICKLE_DIR" not in os.environ:
        with contextlib.suppress(OSError):
            folder = _escpos_cache_dir()
            folder.mkdir(parents=True, exist_ok=True)
            os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(folder)
    real_mkdtemp = tempfile.mkdtemp
    made: list[str] = []

    def mkdtemp(*args: Any, **kwargs: Any) -> Any:
        path = real_mkdtemp(*args, **kwargs)
        if sys._getframe(1).f_globals.get("__name__") == "escpos.capabilities":
            made.append(path)
        return path

    root = logging.getLogger()
    placeholder = None if root.handlers else logging.NullHandler()
    if placeholder is not None:
        root.addHandler(placeholder)
    tempfile.mkdtemp = mkdtemp
    try:
        return importlib.import_module("escpos.printer")
    finally:
        tempfile.mkdtemp = real_mkdtemp
        if placeholder is not None:
            root.removeHandler(placeholder)
        for path in made:
            with contextlib.suppress(OSError):
                os.rmdir(path)  # only if empty: without a cache folder the pickle is in there


def escpos_printer_module(uri: str, extra: str) -> Any:
    """python-escpos' ``escpos.printer``, imported on first use; a missing package is a
    :class:`PrinterError` that names the ``extra`` to install."""
    module = sys.modules.get("escpos.printer")
    if module is not None:
        return module
    try:
        return _import_escpos_printer()
    except ImportError as exc:
        raise PrinterError(
            f"{uri}: python-escpos not importable ({exc})",
            user_message=f"Falta o pacote python-escpos para a impressora '{uri}': {install_hint(extra)}.",
        ) from None


class EscposLibraryConnection(_Base):
    """Our bytes, unchanged, through a python-escpos printer object's raw transport."""

    def __init__(self, uri: str, printer: Any) -> None:
        self.uri = uri
        self.printer: Any = printer
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise PrinterError(f"{self.uri}: closed", user_message="Conexão com a impressora fechada.")

    def _write_error(self, exc: Exception) -> PrinterError:
        return PrinterOffline(
            f"{self.uri}: {exc}", user_message="A impressora parou de responder (desconectada?)."
        )

    def write(self, data: bytes) -> None:
        self._check_open()
        try:
            self.printer._raw(bytes(data))
        except Exception as exc:  # each transport raises its own types; mapped in _write_error
            raise self._write_error(exc) from None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                self.printer.close()


# -- USB ----------------------------------------------------------------------------------------

# python-escpos' defaults (Epson's); others are in `lsusb -v -d VID:PID | grep bEndpointAddress`.
USB_OUT_EP = 0x01
USB_IN_EP = 0x82


def find_usblp_device(vendor: int, product: int, *, sysfs: Path = Path("/sys/class/usbmisc")) -> Path | None:
    """``/dev/usb/lpN`` of a printer bound to Linux' ``usblp`` driver, by VID:PID."""
    if not sysfs.is_dir():
        return None
    for entry in sorted(sysfs.glob("lp*")):
        node = (entry / "device").resolve()
        for parent in (node, *node.parents):
            vid_file, pid_file = parent / "idVendor", parent / "idProduct"
            if vid_file.is_file() and pid_file.is_file():
                try:
                    vid = int(vid_file.read_text().strip(), 16)
                    pid = int(pid_file.read_text().strip(), 16)
                except (OSError, ValueError):
                    break
                if (vid, pid) == (vendor, product):
                    return Path("/dev/usb") / entry.name
                break
    return None


def libusb_backend() -> Any | None:
    """pyusb's libusb backend from the libusb-package wheel (part of the "usb" extra), so
    usb: works where the system has no libusb (Windows, minimal Linux installs); None
    lets pyusb look for the system's own."""
    try:
        module = importlib.import_module("libusb_package")
        return module.get_libusb1_backend()
    except Exception:  # not installed, or its library cannot load: try the system's
        return None


def _usb_errno(exc: BaseException) -> int | None:
    """The errno of a pyusb error, also when python-escpos re-raised it as its own."""
    seen: BaseException | None = exc
    while seen is not None:
        number = getattr(seen, "errno", None)
        if isinstance(number, int):
            return number
        seen = seen.__cause__ or seen.__context__
    return None


class PyUsbConnection(EscposLibraryConnection):
    """``usb:VID:PID`` with no usblp node: pyusb + libusb through python-escpos' ``Usb``
    (extra "usb"). One bulk write per job on ``out_ep``; status is not read."""

    def __init__(
        self,
        uri: str,
        vendor: int,
        product: int,
        *,
        out_ep: int = USB_OUT_EP,
        in_ep: int = USB_IN_EP,
        write_timeout: float = WRITE_TIMEOUT_S,
    ) -> None:
        self.uri = uri
        self.where = where = f"{vendor:04x}:{product:04x}"
        try:
            # Checked first: python-escpos swallows a missing pyusb and only fails at open()
            # with an English RuntimeError (then again from __del__).
            usb_core: Any = importlib.import_module("usb.core")
        except ImportError:
            raise PrinterError(
                f"{uri}: pyusb not installed",
                user_message=f"Impressora USB {where}: falta o pacote pyusb; {install_hint('usb')}"
                + (", ou use o endereço file:/dev/usb/lp0." if sys.platform.startswith("linux") else "."),
            ) from None
        printers = escpos_printer_module(uri, "usb")
        usb_args: dict[str, Any] = {}
        backend = libusb_backend()
        if backend is not None:
            usb_args["backend"] = backend
        printer = printers.Usb(
            vendor,
            product,
            usb_args=usb_args,
            timeout=max(1, round(write_timeout * 1000)),  # pyusb: milliseconds, 0 = forever
            in_ep=in_ep,
            out_ep=out_ep,
        )
        self._timeout_error: type[BaseException] = usb_core.USBTimeoutError
        try:
            printer.open()
        except usb_core.NoBackendError:
            raise PrinterError(
                f"{uri}: no libusb backend",
                user_message=f"Impressora USB {where}: a biblioteca libusb não foi encontrada; "
                f"{install_hint('usb')}, que traz a libusb, ou instale a do sistema "
                "(Debian/Ubuntu: apt install libusb-1.0-0).",
            ) from None
        except Exception as exc:  # python-escpos: DeviceNotFoundError around pyusb's USBError
            if _usb_errno(exc) == errno.EACCES:
                raise self._permission_error(exc) from None
            hint = (
                " No Windows, usb: só funciona com o driver WinUSB (Zadig); com o driver do fabricante "
                "use win32:NOME DA FILA."
                if sys.platform == "win32"
                else ""
            )
            raise PrinterOffline(
                f"{uri}: {exc}",
                user_message=f"Impressora USB {where} não encontrada: confira o cabo e se está ligada.{hint}",
            ) from None
        super().__init__(uri, printer)

    def _permission_error(self, exc: BaseException) -> PrinterError:
        return PrinterError(
            f"{self.uri}: permission denied ({exc})",
            user_message=f"Sem permissão para usar a impressora USB {self.where}: adicione o usuário ao "
            "grupo 'lp' (o instalador do posapp faz isso e instala a regra udev) e entre de novo.",
        )

    def _write_error(self, exc: Exception) -> PrinterError:
        if isinstance(exc, self._timeout_error):
            return PrinterOffline(
                f"{self.uri}: write timeout ({exc})",
                user_message="A impressora parou de receber dados (sem papel, tampa aberta ou travada).",
            )
        if _usb_errno(exc) == errno.EACCES:
            return self._permission_error(exc)
        return PrinterOffline(
            f"{self.uri}: {exc}", user_message="A impressora USB parou de responder (desconectada?)."
        )


# -- spoolers -------------------------------------------------------------------------------------


class CupsConnection(_Base):
    """Each write is one raw CUPS job; status is the queue's, not the device's."""

    def __init__(self, uri: str, name: str) -> None:
        self.uri, self.name = uri, name

    def write(self, data: bytes) -> None:
        try:
            result = subprocess.run(
                ["lp", "-d", self.name, "-o", "raw"],
                input=data,
                capture_output=True,
                timeout=WRITE_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError:
            raise PrinterError(
                f"{self.uri}: lp not found",
                user_message="CUPS não está instalado (comando 'lp' não encontrado).",
            ) from None
        except subprocess.TimeoutExpired:
            raise PrinterOffline(
                f"{self.uri}: lp timeout", user_message="O CUPS não aceitou o trabalho a tempo."
            ) from None
        if result.returncode != 0:
            reason = result.stderr.decode("utf-8", "replace").strip()
            raise PrinterError(
                f"{self.uri}: lp failed: {reason}", user_message=f"O CUPS recusou o trabalho: {reason}"
            )

    def status(self) -> PrinterStatus:
        try:
            result = subprocess.run(
                ["lpstat", "-p", self.name], capture_output=True, timeout=STATUS_TIMEOUT_S * 4, check=False
            )
        except (FileNotFoundError, subprocess.TimeoutExpired):
            return UNKNOWN
        text = result.stdout.decode("utf-8", "replace").lower()
        if result.returncode != 0:
            return PrinterStatus(online=False, detail=f"fila CUPS '{self.name}' não existe")
        if "disabled" in text or "desabilitad" in text:
            return PrinterStatus(online=False, detail=f"fila CUPS '{self.name}' desabilitada")
        return PrinterStatus(
            online=None, detail=f"fila CUPS '{self.name}' ativa (estado do papel desconhecido)"
        )


def _win32_queue_class(win32raw: type[Any]) -> type[Any]:
    """python-escpos' ``Win32Raw`` that also finds printers shared by another computer.

    3.1 checks the queue name against ``EnumPrinters(PRINTER_ENUM_NAME, "", 4)``, the local
    queues only, so a till printing to ``\\\\CAIXA1\\EPSON`` is refused with "Incorrect
    printer name" (fixed upstream by python-escpos PR #770, not released). The list here is
    3.1's plus the documented level-4 enumeration of local queues and connections."""

    class Win32Queue(win32raw):  # type: ignore[misc]
        @property
        def printers(self) -> dict[str, Any]:
            w = importlib.import_module("win32print")
            found: dict[str, Any] = {}
            for flags, name in (
                (w.PRINTER_ENUM_NAME, ""),
                (w.PRINTER_ENUM_LOCAL | w.PRINTER_ENUM_CONNECTIONS, None),
            ):
                for printer in w.EnumPrinters(flags, name, 4):
                    found.setdefault(printer["pPrinterName"], printer)
            return found

    return Win32Queue


class Win32Connection(EscposLibraryConnection):
    """``win32:NAME``: each write is one RAW job on the Windows spooler, through python-escpos'
    ``Win32Raw`` (pywin32; extra "windows"). The job is complete when ``write`` returns, so a
    spooler error reaches the caller instead of a ``close()`` whose errors are ignored."""

    def __init__(self, uri: str, name: str) -> None:
        self.name = name
        unavailable = PrinterError(
            f"{uri}: pywin32 unavailable",
            user_message="Impressora 'win32:' só funciona no Windows, com o pacote pywin32: "
            f"{install_hint('windows')}.",
        )
        try:
            importlib.import_module("win32print")
        except ImportError:
            raise unavailable from None
        printers = escpos_printer_module(uri, "windows")
        if not printers.Win32Raw.is_usable():
            raise unavailable
        super().__init__(uri, _win32_queue_class(printers.Win32Raw)(name))

    def queues(self) -> list[str]:
        """Names of the printer queues Windows offers this user."""
        return sorted(self.printer.printers)

    def _resolve(self) -> str | None:
        """The queue's exact name (Windows compares names without case; python-escpos does not)."""
        wanted = self.name.casefold()
        return next((queue for queue in self.queues() if queue.casefold() == wanted), None)

    def _not_found(self, detail: str) -> PrinterOffline:
        try:
            known = ", ".join(self.queues()) or "nenhuma"
        except Exception:
            known = "não foi possível listar"
        return PrinterOffline(
            f"{self.uri}: {detail}",
            user_message=f"Impressora '{self.name}' não encontrada no Windows. Filas instaladas: {known}.",
        )

    def write(self, data: bytes) -> None:
        self._check_open()
        printer = self.printer
        try:
            exact = self._resolve()
        except Exception as exc:
            raise PrinterError(
                f"{self.uri}: EnumPrinters failed: {exc}",
                user_message=f"Não foi possível consultar as filas de impressão do Windows ({exc}).",
            ) from None
        if exact is None:
            raise self._not_found("no such queue")
        printer.printer_name = exact
        try:
            printer.open(job_name="posapp")  # OpenPrinter, StartDocPrinter (RAW), StartPagePrinter
        except Exception as exc:
            raise self._not_found(str(exc)) from None
        try:
            printer._raw(bytes(data))
            printer.close()  # EndPagePrinter, EndDocPrinter (the spooler takes the job), ClosePrinter
        except Exception as exc:
            with contextlib.suppress(Exception):
                printer.close()
            raise PrinterError(
                f"{self.uri}: {exc}", user_message=f"O Windows recusou a impressão: {exc}"
            ) from None

    def status(self) -> PrinterStatus:
        """The queue's, not the device's: whether Windows knows it (like ``cups:``)."""
        try:
            exact = self._resolve()
        except Exception:
            return UNKNOWN
        if exact is None:
            return PrinterStatus(online=False, detail=f"fila do Windows '{self.name}' não existe")
        return PrinterStatus(
            online=None, detail=f"fila do Windows '{exact}' encontrada (estado do papel desconhecido)"
        )


# -- URI parsing ----------------------------------------------------------------------------------


def _bad_uri(uri: str, why: str) -> InvalidPrinterUri:
    return InvalidPrinterUri(
        f"bad printer URI {uri!r}: {why}",
        user_message=(
            f"Endereço de impressora inválido: '{uri}' ({why}). Exemplos: tcp:192.168.0.50:9100, "
            "serial:/dev/ttyUSB0?baudrate=115200, file:/dev/usb/lp0, usb:04b8:0202, cups:NOME, preview, none."
        ),
    )


def _split_query(rest: str) -> tuple[str, dict[str, str]]:
    path, _, query = rest.partition("?")
    options = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
    return path, options


def _float_option(uri: str, options: dict[str, str], key: str, default: float) -> float:
    try:
        value = float(options.get(key, default))
    except ValueError:
        raise _bad_uri(uri, f"{key} deve ser um número") from None
    if value <= 0:
        raise _bad_uri(uri, f"{key} deve ser positivo")
    return value


def _parse_tcp(uri: str, rest: str) -> TcpConnection:
    target, options = _split_query(rest.removeprefix("//"))
    target = target.rstrip("/")
    if target.startswith("["):  # [IPv6]:port
        host, _, tail = target[1:].partition("]")
        port_text = tail.removeprefix(":")
    else:
        host, _, port_text = target.partition(":")
    if not host:
        raise _bad_uri(uri, "falta o endereço")
    try:
        port = int(port_text) if port_text else DEFAULT_TCP_PORT
    except ValueError:
        raise _bad_uri(uri, "porta inválida") from None
    if not 0 < port < 65536:
        raise _bad_uri(uri, "porta fora do intervalo")
    return TcpConnection(
        uri,
        host,
        port,
        connect_timeout=_float_option(uri, options, "connect_timeout", CONNECT_TIMEOUT_S),
        write_timeout=_float_option(uri, options, "write_timeout", WRITE_TIMEOUT_S),
        status_timeout=_float_option(uri, options, "status_timeout", STATUS_TIMEOUT_S),
    )


def _endpoint_option(uri: str, options: dict[str, str], key: str, default: int, *, inward: bool) -> int:
    text = options.get(key)
    if text is None:
        return default
    try:
        value = int(text.strip().lower().removeprefix("0x"), 16)
    except ValueError:
        raise _bad_uri(uri, f"{key} deve ser hexadecimal, como 0x81") from None
    if not (0x81 <= value <= 0x8F if inward else 0x01 <= value <= 0x0F):  # bit 7: direction
        raise _bad_uri(
            uri, f"{key} deve ser um endpoint de {'entrada (0x81-0x8f)' if inward else 'saída (0x01-0x0f)'}"
        )
    return value


def _parse_usb(uri: str, rest: str) -> PrinterConnection:
    target, options = _split_query(rest)
    parts = target.split(":")
    if len(parts) != 2:
        raise _bad_uri(uri, "use usb:VID:PID em hexadecimal")
    try:
        vendor, product = (int(part.removeprefix("0x"), 16) for part in parts)
    except ValueError:
        raise _bad_uri(uri, "VID e PID devem ser hexadecimais") from None
    unknown = sorted(set(options) - {"out_ep", "in_ep", "write_timeout"})
    if unknown:
        raise _bad_uri(uri, f"opção desconhecida: {', '.join(unknown)}")
    out_ep = _endpoint_option(uri, options, "out_ep", USB_OUT_EP, inward=False)
    in_ep = _endpoint_option(uri, options, "in_ep", USB_IN_EP, inward=True)
    write_timeout = _float_option(uri, options, "write_timeout", WRITE_TIMEOUT_S)
    device = find_usblp_device(vendor, product)
    if device is not None:
        return FileConnection(uri, device, write_timeout=write_timeout)
    return PyUsbConnection(uri, vendor, product, out_ep=out_ep, in_ep=in_ep, write_timeout=write_timeout)


def open_connection(uri: str, *, preview_sink: PreviewSink | None = None) -> PrinterConnection:
    """Open the printer named by ``uri`` (table in the module docstring). Blocking."""
    text = uri.strip()
    if text == "none":
        return NullConnection()
    if text == "preview":
        return PreviewConnection(PREVIEW_SINK if preview_sink is None else preview_sink)
    scheme, sep, rest = text.partition(":")
    scheme = scheme.lower()
    if not sep or not rest:
        raise _bad_uri(uri, "falta o tipo ou o destino")
    if scheme == "tcp":
        return _parse_tcp(uri, rest)
    if scheme == "serial":
        port, options = _split_query(rest)
        if not port:
            raise _bad_uri(uri, "falta a porta serial")
        return SerialConnection(uri, port, options)
    if scheme == "file":
        target, options = _split_query(rest.removeprefix("//"))
        if set(options) - {"write_timeout"}:  # not our options: a '?' inside the path
            target, options = rest.removeprefix("//"), {}
        path = unquote(target)
        if not path:
            raise _bad_uri(uri, "falta o caminho")
        return FileConnection(
            uri,
            Path(os.path.expanduser(path)),
            write_timeout=_float_option(uri, options, "write_timeout", WRITE_TIMEOUT_S),
        )
    if scheme == "usb":
        return _parse_usb(uri, rest)
    if scheme == "cups":
        return CupsConnection(uri, rest)
    if scheme == "win32":
        return Win32Connection(uri, rest)
    raise _bad_uri(uri, f"tipo '{scheme}' desconhecido")
