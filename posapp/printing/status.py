"""Printer status as read with ``DLE EOT n`` (real-time status transmission).

The trap (notes §2.8): python-escpos turns *no answer* into "offline / no paper". Here an
unanswered or malformed query is **unknown**, kept distinct from "out of paper", so a
printer that simply cannot talk back (USB-serial adapters without RX, print servers,
spoolers) is never reported as empty.

Answer bytes (Epson ESC/POS): bits 1 and 4 are always 1, bits 0 and 7 always 0, i.e.
``byte & 0x93 == 0x12``. ``n = 1`` (printer): bit 3 = offline. ``n = 4`` (roll paper
sensor): bits 2-3 = near end, bits 5-6 = paper end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Paper = Literal["ok", "low", "out", "unknown"]

DLE_EOT_PRINTER = b"\x10\x04\x01"
DLE_EOT_PAPER = b"\x10\x04\x04"


def valid_status_byte(value: int) -> bool:
    return value & 0x93 == 0x12


def parse_printer_status(value: int | None) -> bool | None:
    """``True`` online, ``False`` offline, ``None`` when there was no valid answer."""
    if value is None or not valid_status_byte(value):
        return None
    return not value & 0x08


def parse_paper_status(value: int | None) -> Paper:
    if value is None or not valid_status_byte(value):
        return "unknown"
    if value & 0x60 == 0x60:
        return "out"
    if value & 0x0C == 0x0C:
        return "low"
    return "ok"


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    online: bool | None  # None: the link cannot tell (or the printer did not answer)
    paper: Paper = "unknown"
    detail: str = ""

    @property
    def known(self) -> bool:
        return self.online is not None or self.paper != "unknown"

    @property
    def paper_out(self) -> bool:
        return self.paper == "out"

    @property
    def paper_low(self) -> bool:
        return self.paper == "low"

    @property
    def ready(self) -> bool | None:
        """``False`` when we *know* it cannot print; ``None`` when we cannot tell."""
        if self.paper == "out" or self.online is False:
            return False
        if self.online is None and self.paper == "unknown":
            return None
        return True

    @property
    def message(self) -> str:
        """For the cashier and ``posapp doctor``."""
        if self.paper == "out":
            return "sem papel (ou tampa aberta)"
        if self.online is False:
            return self.detail or "offline (tampa aberta, erro ou sem papel)"
        if self.paper == "low":
            return "pronta, papel perto do fim"
        if self.online is None and self.paper == "unknown":
            return self.detail or "estado desconhecido (a conexão não informa status)"
        return "pronta"


UNKNOWN = PrinterStatus(online=None, paper="unknown")
