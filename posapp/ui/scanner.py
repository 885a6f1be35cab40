"""The serial barcode scanner as the checkout sees it.

The device itself (the port, its reading thread, the framing of codes, reconnecting) is
:class:`posapp.devices.scanner.SerialScanner`, which knows no Qt. This module adds what
only a screen needs: the status bar's Portuguese text for each change of the port's state
(an unplugged scanner must not repeat pyserial's English over the cashier's message line;
the technical reason stays in the log).

No signal is needed between the two: the device delivers codes and states with
``loop.call_soon_threadsafe`` on the qasync loop, which *is* the Qt thread, so the
callbacks may touch widgets directly. The window pushes codes into its scan queue, which
holds them while a dialog is open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from posapp.devices import scanner as device
from posapp.devices.scanner import RETRY_S, ScannerState

__all__ = ["RETRY_S", "SerialScanner", "status_text"]


def status_text(state: ScannerState, retry_s: float = RETRY_S) -> str:
    """What the status bar says about a change of the scanner's port."""
    if state.connected:
        return f"Leitor {state.port}: " + ("reconectado" if state.recovered else "conectado")
    return (
        f"Leitor {state.port}: desconectado ou indisponível. Tentando de novo a cada "
        f"{retry_s:g} s; digite os códigos enquanto isso."
    )


class SerialScanner(device.SerialScanner):
    """The device reader, telling ``on_state(connected, text)`` in the status bar's words."""

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
        def told(state: ScannerState) -> None:
            if on_state is not None:
                on_state(state.connected, status_text(state, retry_s))

        super().__init__(
            port,
            baudrate,
            on_code,
            on_state=None if on_state is None else told,
            retry_s=retry_s,
            loop=loop,
        )
