"""The cash drawer: the ``ESC p`` pulse, and a drawer that sends it through a link.

A Brazilian counter's drawer hangs off the receipt printer's DK port (RJ-11/12): the
printer fires a solenoid when it receives ``ESC p m t1 t2`` (pin 2 or 5, on and off
times in 2 ms units). A few drawers have a trigger box of their own on a serial or
USB-serial port that takes the same command. Either way the drawer is *bytes on a link*:

* inside a receipt: :mod:`posapp.printing` puts :func:`pulse_command` at the start of a
  cash sale's DANFE (the drawer opens while the paper prints);
* on its own: :class:`CashDrawer` writes the pulse through a link the composition root
  gives it, the receipt printer's connection (``CashDrawer(lambda: open_connection(uri))``)
  or a serial port (:meth:`CashDrawer.on_serial`).

Nothing here knows printers: a link is anything with ``write(bytes)`` and ``close()``
(:class:`DrawerLink`), which :class:`posapp.printing.PrinterConnection` satisfies.
Opening a link and writing block: use :meth:`CashDrawer.aopen` from the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final, Literal, Protocol

from posapp.devices.errors import DrawerError
from posapp.errors import PosappError

__all__ = [
    "DEFAULT_OFF_MS",
    "DEFAULT_ON_MS",
    "PULSE_LENGTH",
    "PULSE_PREFIX",
    "CashDrawer",
    "DrawerLink",
    "DrawerPin",
    "is_pulse",
    "pulse_command",
]

log = logging.getLogger("posapp.devices.drawer")

PULSE_PREFIX: Final = b"\x1bp"  # ESC p
PULSE_LENGTH: Final = 5  # ESC p m t1 t2
DEFAULT_ON_MS: Final = 120
DEFAULT_OFF_MS: Final = 240
SERIAL_WRITE_TIMEOUT_S: Final = 2.0

DrawerPin = Literal[2, 5]


def pulse_command(*, pin: int = 2, on_ms: int = DEFAULT_ON_MS, off_ms: int = DEFAULT_OFF_MS) -> bytes:
    """``ESC p m t1 t2``: kick the drawer on connector pin 2 (``m`` = 0) or 5 (``m`` = 1).

    The times are rounded down to the command's 2 ms units and kept within 2..510 ms.
    Raises :class:`ValueError` for another pin (a configuration is validated earlier).
    """
    if pin not in (2, 5):
        raise ValueError("drawer pin must be 2 or 5")
    t1 = max(1, min(255, on_ms // 2))
    t2 = max(1, min(255, off_ms // 2))
    return PULSE_PREFIX + bytes([0 if pin == 2 else 1, t1, t2])


def is_pulse(data: bytes) -> bool:
    """Whether ``data`` is exactly one drawer pulse."""
    return len(data) == PULSE_LENGTH and data.startswith(PULSE_PREFIX) and data[2] in (0, 1, 48, 49)


class DrawerLink(Protocol):
    """Where the pulse goes: a printer connection, a serial port. Both calls may block."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class _SerialLink:
    """A drawer trigger on a port of its own (RS-232 or USB-serial), through pyserial."""

    def __init__(self, port: str, baudrate: int) -> None:
        import serial

        self.port = port
        self._serial = serial.serial_for_url(port, baudrate, write_timeout=SERIAL_WRITE_TIMEOUT_S)

    def write(self, data: bytes) -> None:
        self._serial.write(data)
        self._serial.flush()

    def close(self) -> None:
        self._serial.close()


class CashDrawer:
    """A drawer kicked by :func:`pulse_command` through the link ``connect()`` opens.

    ``connect`` is called for every kick and the link closed after it, so a drawer shares
    a printer that takes one connection at a time (TCP) with the spool between jobs.
    ``where`` names the link in Portuguese messages (``impressora tcp:10.0.0.5``).
    """

    def __init__(
        self,
        connect: Callable[[], DrawerLink],
        *,
        pin: DrawerPin = 2,
        on_ms: int = DEFAULT_ON_MS,
        off_ms: int = DEFAULT_OFF_MS,
        where: str = "",
    ) -> None:
        self.pulse = pulse_command(pin=pin, on_ms=on_ms, off_ms=off_ms)
        self.where = where
        self._connect = connect

    @classmethod
    def on_serial(
        cls,
        port: str,
        baudrate: int = 9600,
        *,
        pin: DrawerPin = 2,
        on_ms: int = DEFAULT_ON_MS,
        off_ms: int = DEFAULT_OFF_MS,
    ) -> CashDrawer:
        """A drawer with its own trigger on ``port`` (``/dev/ttyUSB1``, ``COM4``, any
        pyserial URL), not behind the receipt printer."""
        return cls(
            lambda: _SerialLink(port, baudrate),
            pin=pin,
            on_ms=on_ms,
            off_ms=off_ms,
            where=f"porta {port}",
        )

    def open(self) -> None:
        """Kick the drawer (blocking: from a thread or an executor).

        Raises :class:`DrawerError` with a Portuguese ``user_message`` when the link cannot
        be opened or written; any other exception is a bug and propagates as it is.
        """
        where = f" ({self.where})" if self.where else ""
        try:
            link = self._connect()
            try:
                link.write(self.pulse)
            finally:
                link.close()
        except PosappError as exc:
            if not exc.has_user_message:
                raise
            raise DrawerError(
                f"drawer{where}: {exc}", user_message=f"A gaveta não abriu: {exc.user_message}"
            ) from exc
        except OSError as exc:  # pyserial's SerialException is an OSError
            raise DrawerError(
                f"drawer{where}: {exc}",
                user_message=f"A gaveta não abriu{where}: a conexão falhou. Confira o cabo e a configuração.",
            ) from exc
        log.info("drawer kicked%s", where)

    async def aopen(self) -> None:
        """:meth:`open` off the event loop."""
        await asyncio.to_thread(self.open)
