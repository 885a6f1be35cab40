"""A barcode scanner on a serial port (RS-232, or USB in CDC/virtual-COM mode).

Two layers, h11-style:

* :class:`CodeFramer` is sans-IO: fed whatever chunks the port returns, it gives back the
  complete codes. A code ends at CR, LF or CR LF; blank lines are skipped; a line longer
  than :data:`MAX_LINE` keeps its first bytes (the rest is noise on the line).
* :class:`SerialScanner` owns the port. pyserial reads block, so the port is read on a
  thread of its own (a loop that never ends would hold an executor's worker forever);
  each code is handed to the asyncio loop with ``call_soon_threadsafe``, in order.

A port that cannot be opened, or that disappears (cable pulled), is retried every
``retry_s`` seconds; the keyboard wedge keeps working meanwhile. ``on_state`` hears only
*changes* (opened, lost, back) as a :class:`ScannerState`, so a screen never repeats the
same news every retry; the technical reason (pyserial's English) goes to the log, once
per change, and stays out of the state's Portuguese-facing fields.

``port`` is a device (``/dev/ttyACM0``, ``COM3``) or any pyserial URL (``socket://``,
``rfc2217://``, ``loop://``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["MAX_LINE", "RETRY_S", "CodeFramer", "ScannerState", "SerialScanner"]

log = logging.getLogger("posapp.devices.scanner")

MAX_LINE: Final = 256  # a barcode is short; anything longer is noise on the line
RETRY_S: Final = 3.0
READ_TIMEOUT_S: Final = 0.2  # how soon stop() is noticed
READ_CHUNK: Final = 64
_TERMINATORS: Final = frozenset(b"\r\n")


class CodeFramer:
    """Bytes in, codes out: no port, no thread, no clock."""

    def __init__(self, max_line: int = MAX_LINE, encoding: str = "latin-1") -> None:
        self.max_line = max_line
        self.encoding = encoding
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[str]:
        """The codes ``chunk`` completes, in order (a partial code waits for the next chunk)."""
        codes: list[str] = []
        for byte in chunk:
            if byte in _TERMINATORS:
                if self._buffer:
                    code = self._buffer.decode(self.encoding).strip()
                    self._buffer.clear()
                    if code:
                        codes.append(code)
            elif len(self._buffer) < self.max_line:
                self._buffer.append(byte)
        return codes

    def clear(self) -> None:
        """Forget a partial code (the port was lost in the middle of one)."""
        self._buffer.clear()

    @property
    def pending(self) -> int:
        """Bytes of a code not terminated yet."""
        return len(self._buffer)


@dataclass(frozen=True, slots=True)
class ScannerState:
    """A change of the port's state.

    ``recovered`` is set when the port opened again after being lost (``connected``) or
    when it is lost again after having worked. ``reason`` is the technical cause of a loss
    (pyserial's text, English): for the log and support, never for a cashier.
    """

    port: str
    connected: bool
    recovered: bool = False
    reason: str | None = None


def _open_serial(port: str, baudrate: int) -> Any:
    import serial

    return serial.serial_for_url(port, baudrate, timeout=READ_TIMEOUT_S)


class SerialScanner:
    """Reads codes from ``port`` until :meth:`stop`; see the module docstring.

    ``on_code(code)`` and ``on_state(state)`` run on ``loop`` (the running loop by
    default), never on the reading thread. ``open_port(port, baudrate)`` returns an open
    pyserial-like object (``read(n)``, ``close()``); tests and a future transport can pass
    their own.
    """

    def __init__(
        self,
        port: str,
        baudrate: int,
        on_code: Callable[[str], None],
        *,
        on_state: Callable[[ScannerState], None] | None = None,
        retry_s: float = RETRY_S,
        loop: asyncio.AbstractEventLoop | None = None,
        open_port: Callable[[str, int], Any] = _open_serial,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.retry_s = retry_s
        self._on_code = on_code
        self._on_state = on_state
        self._open_port = open_port
        self._connected: bool | None = None  # None until the first attempt
        self._ever_connected = False
        self._loop = loop or asyncio.get_running_loop()
        self._stop = threading.Event()
        self.opened = threading.Event()  # set while the port is open (status, tests)
        self._thread: threading.Thread | None = None

    @property
    def connected(self) -> bool | None:
        """The last state told (``None`` before the first attempt)."""
        return self._connected

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"scanner-{self.port}", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Blocks for up to the read timeout; call it from an executor or at shutdown."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- on the reading thread -------------------------------------------------------------

    def _emit(self, callback: Callable[..., None] | None, *args: object) -> None:
        if callback is None or self._loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
            self._loop.call_soon_threadsafe(callback, *args)

    def _changed(self, connected: bool, reason: object = None) -> None:
        """Tell ``on_state`` when the port's state differs from the last one told."""
        if self._connected is connected:
            log.debug("scanner %s still %s: %s", self.port, "up" if connected else "down", reason)
            return
        recovered = self._connected is False if connected else self._ever_connected
        self._connected = connected
        if connected:
            self._ever_connected = True
            log.info("scanner %s %s", self.port, "is back" if recovered else "opened")
        else:
            log.warning("scanner %s unavailable: %s", self.port, reason)
        state = ScannerState(
            self.port, connected, recovered, None if reason is None or connected else str(reason)
        )
        self._emit(self._on_state, state)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                port = self._open_port(self.port, self.baudrate)
            except OSError as exc:  # pyserial's SerialException is an OSError
                self._changed(False, exc)
                self._stop.wait(self.retry_s)
                continue
            try:
                self.opened.set()
                self._changed(True)
                self._read(port)
            except OSError as exc:
                self._changed(False, exc)
                self._stop.wait(self.retry_s)
            finally:
                self.opened.clear()
                with contextlib.suppress(Exception):
                    port.close()

    def _read(self, port: Any) -> None:
        framer = CodeFramer()
        read = port.read
        while not self._stop.is_set():
            chunk: bytes = read(READ_CHUNK)
            for code in framer.feed(chunk):
                self._emit(self._on_code, code)
