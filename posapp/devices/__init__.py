"""The devices at the counter, without Qt: the serial barcode scanner and the cash drawer
(and later a scale).

* :mod:`posapp.devices.scanner`: :class:`CodeFramer` (sans-IO: bytes in, codes out) and
  :class:`SerialScanner`, which reads a serial port with pyserial on its own thread,
  reconnects, and hands codes and state changes to the asyncio loop;
* :mod:`posapp.devices.drawer`: the ``ESC p`` pulse (:func:`pulse_command`) and
  :class:`CashDrawer`, which kicks the drawer through any link that writes bytes: the
  receipt printer's connection, or a port of its own.

This package imports only the standard library, pyserial, :mod:`posapp.domain` and
:mod:`posapp.errors`. Printing imports the pulse from here to put it in a receipt; the
GUI (:mod:`posapp.ui.scanner`) adds the status bar's texts; the composition root picks
the link a drawer uses.
"""

from __future__ import annotations

from posapp.devices.drawer import CashDrawer, DrawerLink, pulse_command
from posapp.devices.errors import DeviceError, DrawerError
from posapp.devices.scanner import CodeFramer, ScannerState, SerialScanner

__all__ = [
    "CashDrawer",
    "CodeFramer",
    "DeviceError",
    "DrawerError",
    "DrawerLink",
    "ScannerState",
    "SerialScanner",
    "pulse_command",
]
