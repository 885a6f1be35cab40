"""A barcode scanner on a serial port (RS-232, or USB in CDC/virtual-COM mode).

pyserial reads block, so the port is read on its own thread; each complete line (CR, LF
or CR LF) is handed to the asyncio loop with ``call_soon_threadsafe``, in order. The GUI
puts the codes into its scan queue, which holds them while a dialog is open.

A port that cannot be opened, or that disappears (cable pulled), is retried every few
seconds: the keyboard wedge keeps working meanwhile. ``on_state(connected, text)`` hears
only *changes* (the port opened, the port was lost, the port came back), in Portuguese for
the status bar: an unplugged scanner must not repeat pyserial's English over the cashier's
message line every retry. The technical reason goes to the log, once per change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

log = logging.getLogger("posapp.ui.scanner")

MAX_LINE = 256  # a barcode is short; anything longer is noise on the line
RETRY_S = 3.0


class SerialScanner:
    def __init__(
        self,
        port: str,
        baudrate: int,
        on_code: Callable[[str], None],
        *,
        on_state: Callable[[bool, str], None] | None = None,
        retry_s: float = RETRY_S,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.retry_s = retry_s
        self._on_code = on_code
        self._on_state = on_state
        self._connected: bool | None = None  # None until the first attempt
        self._loop = loop or asyncio.get_running_loop()
        self._stop = threading.Event()
        self.opened = threading.Event()  # set while the port is open (status, tests)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"scanner-{self.port}", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Blocking for up to the read timeout; call it from an executor or at shutdown."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

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
        recovered = self._connected is False
        self._connected = connected
        if connected:
            log.info("scanner %s %s", self.port, "is back" if recovered else "opened")
            text = f"Leitor {self.port}: " + ("reconectado" if recovered else "conectado")
        else:
            log.warning("scanner %s unavailable: %s", self.port, reason)
            text = (
                f"Leitor {self.port}: desconectado ou indisponível. Tentando de novo a cada "
                f"{self.retry_s:g} s; digite os códigos enquanto isso."
            )
        self._emit(self._on_state, connected, text)

    def _run(self) -> None:
        import serial

        while not self._stop.is_set():
            try:
                with serial.Serial(self.port, self.baudrate, timeout=0.2) as port:
                    self.opened.set()
                    self._changed(True)
                    try:
                        self._read(port)
                    finally:
                        self.opened.clear()
            except (serial.SerialException, OSError) as exc:
                self._changed(False, exc)
                self._stop.wait(self.retry_s)

    def _read(self, port: object) -> None:
        buffer = bytearray()
        read = port.read  # type: ignore[attr-defined]
        while not self._stop.is_set():
            chunk: bytes = read(64)
            if not chunk:
                continue
            for byte in chunk:
                if byte in (0x0D, 0x0A):
                    if buffer:
                        code = buffer.decode("latin-1").strip()
                        buffer.clear()
                        if code:
                            self._emit(self._on_code, code)
                elif len(buffer) < MAX_LINE:
                    buffer.append(byte)
