"""What a DANFE NFC-e shows, read from the authorized XML (``nfeProc``) into plain data.

The DANFE may print nothing that is not in the XML, except the authorization return
(protocol and its date). The XML is read by the one NF-e reader,
:mod:`posapp.domain.nfe_xml` (size cap, no DTD or entities, verified chave, numbers and
timestamps checked, namespaces ignored); this module only turns its
:class:`~posapp.domain.nfe_xml.NfeDocument` into the DANFE's view, :class:`DanfeData`, which
the layouts (:mod:`posapp.printing.native`) work on.

Accepted roots: ``nfeProc`` (authorized: ``NFe`` + ``protNFe``) and a bare ``NFe``
(an offline-contingency note not yet authorized: no protocol). Times keep the offset the
issuer wrote, so the DANFE shows the emitter's local time; one without an offset is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from posapp.domain.nfe_xml import NfeAddress, NfePayment, NfeXmlError, read_nfe
from posapp.domain.payments import PaymentMethod
from posapp.printing.errors import DanfeDataError

HOMOLOGATION = 2
CONTINGENCY_OFFLINE = 9


@dataclass(frozen=True, slots=True)
class Emitter:
    name: str
    trade_name: str | None
    cnpj: str
    ie: str | None
    address: str


@dataclass(frozen=True, slots=True)
class DanfeItem:
    number: int
    code: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    total: Decimal
    discount: Decimal


@dataclass(frozen=True, slots=True)
class DanfePayment:
    code: str  # tPag
    label: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Consumer:
    kind: str  # "CPF", "CNPJ" or "ID" (idEstrangeiro)
    document: str
    name: str | None
    address: str = ""  # enderDest on one line (a delivery)


@dataclass(frozen=True, slots=True)
class DanfeData:
    emitter: Emitter
    items: tuple[DanfeItem, ...]
    products_total: Decimal  # vProd
    discount_total: Decimal  # vDesc
    surcharge_total: Decimal  # vOutro + vFrete + vSeg
    total: Decimal  # vNF: "valor a pagar"
    payments: tuple[DanfePayment, ...]
    change: Decimal  # vTroco
    chave: str
    url_chave: str
    qr_code: str
    numero: int
    serie: int
    emitted_at: datetime
    environment: int  # tpAmb: 1 produção, 2 homologação
    emission_type: int  # tpEmis: 1 normal, 9 contingência off-line
    consumer: Consumer | None
    protocol: str | None
    authorized_at: datetime | None
    taxes_total: Decimal | None  # vTotTrib (Lei 12.741/2012)
    additional_info: str | None  # infCpl: the contributor's message
    contingency_reason: str | None = None  # xJust
    contingency_at: datetime | None = None  # dhCont
    fisco_info: str | None = None  # infAdFisco: the message of interest to the tax authority
    sefaz_message: str | None = None  # protNFe xMsg: SEFAZ's message to the taxpayer
    obs_cont: tuple[tuple[str, str], ...] = ()  # obsCont (xCampo, xTexto)

    @property
    def is_homologation(self) -> bool:
        return self.environment == HOMOLOGATION

    @property
    def is_contingency(self) -> bool:
        return self.emission_type != 1

    @property
    def pending_contingency(self) -> bool:
        """Issued offline and not yet authorized: printed in two vias (consumer and
        establishment, which keeps its via until the note is transmitted)."""
        return self.emission_type == CONTINGENCY_OFFLINE and self.protocol is None

    @property
    def had_cash(self) -> bool:
        """A cash payment (tPag 01) is what opens the drawer."""
        return any(p.code == PaymentMethod.DINHEIRO.value for p in self.payments)

    @property
    def item_count(self) -> int:
        return len(self.items)


def _bad(what: str) -> DanfeDataError:
    return DanfeDataError(f"NFC-e XML: {what}", user_message=f"XML da NFC-e inválido para o DANFE: {what}.")


def _address(ender: NfeAddress | None) -> str:
    if ender is None:
        return ""
    street = ", ".join(v for v in (ender.street, ender.number) if v)
    parts = [street, ender.complement, ender.district]
    if ender.city or ender.uf:
        parts.append(" - ".join(v for v in (ender.city, ender.uf) if v))
    return ", ".join(p for p in parts if p)


def _payment(payment: NfePayment) -> DanfePayment:
    """The payment's own description (xPag, tPag 99) before the code's name ("Outros")."""
    try:
        label = payment.description or PaymentMethod(payment.code).label
    except ValueError:
        label = f"Outros ({payment.code})"
    return DanfePayment(code=payment.code, label=label, amount=payment.amount)


def parse_danfe_xml(xml: bytes) -> DanfeData:
    """Read an authorized NFC-e (``nfeProc``) or a contingency ``NFe`` through the one NF-e
    reader (:func:`posapp.domain.nfe_xml.read_nfe`) and check what a DANFE NFC-e needs
    beyond it (model 65, the QR code and the consult URL). Raises
    :class:`DanfeDataError` with a Portuguese message on anything unusable."""
    try:
        note = read_nfe(xml)
    except NfeXmlError as exc:
        raise _bad(exc.reason) from None
    if note.modelo != "65":
        raise _bad("não é uma NFC-e (modelo 65)")
    if note.url_chave is None:
        raise _bad("falta <urlChave>")
    if note.qr_code is None:
        raise _bad("falta <qrCode>")
    emit = note.emitter
    return DanfeData(
        emitter=Emitter(
            name=emit.name,
            trade_name=emit.trade_name,
            cnpj=emit.document,
            ie=emit.ie,
            address=_address(emit.address),
        ),
        items=tuple(
            DanfeItem(
                number=item.number,
                code=item.code,
                description=item.description,
                quantity=item.quantity,
                unit=item.unit,
                unit_price=item.unit_price,
                total=item.total,
                discount=item.discount,
            )
            for item in note.items
        ),
        products_total=note.totals.products,
        discount_total=note.totals.discount,
        surcharge_total=note.totals.surcharge,
        total=note.totals.total,
        payments=tuple(_payment(p) for p in note.payments),
        change=note.change,
        chave=note.chave,
        url_chave=note.url_chave,
        qr_code=note.qr_code,
        numero=note.numero,
        serie=note.serie,
        emitted_at=note.emitted_at,
        environment=note.tp_amb,
        emission_type=note.tp_emis,
        consumer=(
            None
            if note.consumer is None
            else Consumer(
                kind=note.consumer.kind,
                document=note.consumer.document,
                name=note.consumer.name,
                address=_address(note.consumer.address),
            )
        ),
        protocol=note.protocolo,
        authorized_at=note.authorized_at,
        taxes_total=note.totals.taxes,
        additional_info=note.additional_info,
        contingency_reason=note.contingency_reason,
        contingency_at=note.contingency_at,
        fisco_info=note.fisco_info,
        sefaz_message=note.sefaz_message,
        obs_cont=note.obs_cont,
    )
