"""How a receipt is rendered for one printer: paper, mode, code page, QR, drawer, cut.

:class:`ReceiptOptions` is built from the ``[printer]`` configuration section once per
printer (:meth:`ReceiptOptions.from_config`) and adjusted per receipt with
:func:`dataclasses.replace` (``cancelled``, ``had_cash``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from posapp.config import PrinterConfig
from posapp.domain.nfe_xml import NfeEvent, NfeXmlError, read_fiscal_xml
from posapp.domain.taxes import ApproxTaxes
from posapp.printing.codepages import CodePage, resolve_codepage, table_map_for
from posapp.printing.errors import DanfeDataError

PaperWidth = Literal[58, 80]
Mode = Literal["native", "raster"]

# Printable dots at 203 dpi and Font A (12 x 24 dots) columns.
WIDTH_DOTS: dict[int, int] = {58: 384, 80: 576}
COLUMNS: dict[int, int] = {58: 32, 80: 48}
DOTS_PER_MM = 8  # 203 dpi


@dataclass(frozen=True, slots=True)
class CancelMark:
    """A cancelled note is reprinted with this mark: the cancel protocol and its date."""

    protocol: str | None
    cancelled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReceiptOptions:
    paper_mm: PaperWidth = 80
    mode: Mode = "native"
    codepage: str = "cp860"
    codepage_table: int | None = None  # ESC t number override for renumbered firmwares
    native_qr: bool = True  # False: the QR code goes out as a raster image
    open_drawer: bool = False  # pulse the drawer when the sale had cash
    had_cash: bool = False  # for the PDF path, where there is no XML to look at
    cut: bool = True
    cancelled: CancelMark | None = None
    drawer_pin: Literal[2, 5] = 2
    feed_before_cut: int = 4
    #: The sale's approximate taxes (Lei 12.741), printed with their source in place of
    #: the XML's bare vTotTrib (:mod:`posapp.printing.lei12741`).
    approx_taxes: ApproxTaxes | None = None

    def __post_init__(self) -> None:
        if self.paper_mm not in WIDTH_DOTS:
            raise ValueError(f"paper_mm must be 58 or 80, not {self.paper_mm!r}")
        if self.mode not in ("native", "raster"):
            raise ValueError(f"mode must be 'native' or 'raster', not {self.mode!r}")
        resolve_codepage(self.codepage, self.codepage_table)  # validates the name early

    @classmethod
    def from_config(
        cls, config: PrinterConfig, *, cancelled: CancelMark | None = None, had_cash: bool = False
    ) -> ReceiptOptions:
        return cls(
            paper_mm=config.paper_mm,
            mode=config.mode,
            codepage=config.codepage,
            codepage_table=config.codepage_table,
            native_qr=config.native_qr,
            open_drawer=config.open_drawer_on_cash,
            had_cash=had_cash,
            cut=config.cut,
            cancelled=cancelled,
        )

    @property
    def page(self) -> CodePage:
        return resolve_codepage(self.codepage, self.codepage_table)

    @property
    def width_dots(self) -> int:
        return WIDTH_DOTS[self.paper_mm]

    @property
    def columns(self) -> int:
        return COLUMNS[self.paper_mm]

    def table_map(self) -> dict[int, str]:
        """What :func:`posapp.printing.escpos_decode.decode_escpos` needs to read our bytes."""
        return table_map_for(self.page)


def cancel_mark_from_event(xml: bytes, *, chave: str | None = None) -> CancelMark:
    """A :class:`CancelMark` from a cancel event XML (evento 110111), read by the one NF-e
    reader (:func:`posapp.domain.nfe_xml.read_fiscal_xml`).

    ``procEventoNFe`` / ``retEvento`` carry the cancel protocol (``nProt``) and its date
    (``dhRegEvento``), taken only when SEFAZ registered the event (cStat 135, 136, 155). A
    bare ``envEvento``/``evento`` (the request) has no cancel protocol yet: the mark then
    carries only the event date. ``chave``, when given, must match the event's ``chNFe``.
    """
    try:
        event = read_fiscal_xml(xml)
    except NfeXmlError as exc:
        raise DanfeDataError(
            f"cancel event: {exc.reason}", user_message="XML do cancelamento inválido."
        ) from None
    if not isinstance(event, NfeEvent) or not event.is_cancel:
        raise DanfeDataError(
            "not a cancel event (110111)", user_message="O XML não é um evento de cancelamento de NFC-e."
        )
    if chave is not None and event.chave != chave:
        raise DanfeDataError(
            f"cancel event is for {event.chave}, not {chave}",
            user_message="O evento de cancelamento é de outra nota (chave diferente).",
        )
    return CancelMark(protocol=event.protocolo, cancelled_at=event.occurred_at)
