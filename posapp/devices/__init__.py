"""The devices at the counter, without Qt: the serial barcode scanner and the cash drawer
(and later a scale).

* :mod:`posapp.devices.scanner`: :class:`~posapp.devices.scanner.CodeFramer` (sans-IO: bytes
  in, codes out) and :class:`~posapp.devices.scanner.SerialScanner`, which reads a serial port
  with pyserial on its own thread, reconnects, and hands codes and state changes to the
  asyncio loop;
* :mod:`posapp.devices.drawer`: the ``ESC p`` pulse (``pulse_command``) and ``CashDrawer``,
  which kicks the drawer through any link that writes bytes: the receipt printer's
  connection, or a port of its own.

This package imports only the standard library, pyserial, :mod:`posapp.domain` and
:mod:`posapp.errors`. Printing imports the pulse from here to put it in a receipt; the GUI
(:mod:`posapp.ui.scanner`) adds the status bar's texts; the composition root picks the link a
drawer uses. Import the modules themselves: this file re-exports nothing, so a receipt's
drawer pulse does not load the scanner's threads and serial code at every start.
"""
