"""What a DANFE NFC-e shows, read from the authorized XML (``nfeProc``) into plain data.

The DANFE may print nothing that is not in the XML, except the authorization return
(protocol and its date), so this module is the only place that knows the XML layout;
the layouts (:mod:`posapp.printing.native`) work on :class:`DanfeData`.

Accepted roots: ``nfeProc`` (authorized: ``NFe`` + ``protNFe``) and a bare ``NFe``
(an offline-contingency note not yet authorized: no protocol). Namespaces are ignored,
so any issuer's output parses the same. A ``DOCTYPE`` is refused outright: an NF-e never
has one, and refusing it keeps entity tricks out of the parser.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

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

    @property
    def is_homologation(self) -> bool:
        return self.environment == HOMOLOGATION

    @property
    def is_contingency(self) -> bool:
        return self.emission_type != 1

    @property
    def had_cash(self) -> bool:
        """A cash payment (tPag 01) is what opens the drawer."""
        return any(p.code == PaymentMethod.DINHEIRO.value for p in self.payments)

    @property
    def item_count(self) -> int:
        return len(self.items)


def _strip_namespaces(root: ET.Element) -> None:
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]


def _bad(what: str) -> DanfeDataError:
    return DanfeDataError(f"NFC-e XML: {what}", user_message=f"XML da NFC-e inválido para o DANFE: {what}.")


def _text(parent: ET.Element | None, path: str, *, required: bool = True) -> str | None:
    node = None if parent is None else parent.find(path)
    value = None if node is None or node.text is None else node.text.strip()
    if required and not value:
        raise _bad(f"falta <{path}>")
    return value or None


def _req(parent: ET.Element | None, path: str) -> str:
    value = _text(parent, path)
    assert value is not None  # _text raised otherwise
    return value


def _decimal(parent: ET.Element | None, path: str, *, default: Decimal | None = None) -> Decimal:
    value = _text(parent, path, required=default is None)
    if value is None:
        assert default is not None
        return default
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise _bad(f"<{path}> não é um número: {value!r}") from None
    if not result.is_finite():
        raise _bad(f"<{path}> não é um número: {value!r}")
    return result


def _int(value: str, path: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise _bad(f"<{path}> não é um número inteiro: {value!r}")
    return int(value)


def _datetime(value: str, path: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise _bad(f"<{path}> não é uma data: {value!r}") from None


def _address(ender: ET.Element | None) -> str:
    if ender is None:
        return ""
    street = ", ".join(
        v for v in (_text(ender, "xLgr", required=False), _text(ender, "nro", required=False)) if v
    )
    parts = [
        street,
        _text(ender, "xCpl", required=False),
        _text(ender, "xBairro", required=False),
    ]
    city = _text(ender, "xMun", required=False)
    uf = _text(ender, "UF", required=False)
    if city or uf:
        parts.append(" - ".join(v for v in (city, uf) if v))
    return ", ".join(p for p in parts if p)


def parse_danfe_xml(xml: bytes) -> DanfeData:
    """Read an authorized NFC-e (``nfeProc``) or a contingency ``NFe``. Raises
    :class:`DanfeDataError` with a Portuguese message on anything unusable."""
    if b"<!DOCTYPE" in xml[:4096].upper():
        raise _bad("DOCTYPE não é permitido")
    try:
        # Trusted input (our issuer's answer, stored in our journal); DOCTYPE refused above,
        # and ElementTree resolves no external entities.
        root = ET.fromstring(xml)  # noqa: S314
    except ET.ParseError as exc:
        raise _bad(f"XML malformado ({exc})") from None
    _strip_namespaces(root)
    if root.tag == "nfeProc":
        nfe = root.find("NFe")
        prot = root.find("protNFe/infProt")
    elif root.tag == "NFe":
        nfe, prot = root, None
    else:
        raise _bad(f"raiz <{root.tag}> não é nfeProc nem NFe")
    inf = None if nfe is None else nfe.find("infNFe")
    if inf is None:
        raise _bad("falta <infNFe>")
    ide = inf.find("ide")
    if _text(ide, "mod") != "65":
        raise _bad("não é uma NFC-e (modelo 65)")

    chave_id = inf.get("Id", "")
    chave = chave_id[3:] if chave_id.upper().startswith("NFE") else _text(prot, "chNFe", required=False) or ""
    if not (len(chave) == 44 and chave.isdigit()):
        raise _bad("chave de acesso ausente ou inválida")

    emit = inf.find("emit")
    emitter = Emitter(
        name=_req(emit, "xNome"),
        trade_name=_text(emit, "xFant", required=False),
        cnpj=_text(emit, "CNPJ", required=False) or _req(emit, "CPF"),
        ie=_text(emit, "IE", required=False),
        address=_address(None if emit is None else emit.find("enderEmit")),
    )

    items: list[DanfeItem] = []
    for det in inf.findall("det"):
        prod = det.find("prod")
        items.append(
            DanfeItem(
                number=_int(det.get("nItem", str(len(items) + 1)), "det nItem"),
                code=_req(prod, "cProd"),
                description=_req(prod, "xProd"),
                quantity=_decimal(prod, "qCom"),
                unit=_req(prod, "uCom"),
                unit_price=_decimal(prod, "vUnCom"),
                total=_decimal(prod, "vProd"),
                discount=_decimal(prod, "vDesc", default=Decimal("0.00")),
            )
        )
    if not items:
        raise _bad("nenhum item (<det>)")

    tot = inf.find("total/ICMSTot")
    zero = Decimal("0.00")
    surcharge = sum((_decimal(tot, tag, default=zero) for tag in ("vOutro", "vFrete", "vSeg")), start=zero)
    pag = inf.find("pag")
    payments: list[DanfePayment] = []
    for det_pag in [] if pag is None else pag.findall("detPag"):
        code = _req(det_pag, "tPag").zfill(2)
        try:
            label = PaymentMethod(code).label
        except ValueError:
            label = _text(det_pag, "xPag", required=False) or f"Outros ({code})"
        payments.append(DanfePayment(code=code, label=label, amount=_decimal(det_pag, "vPag")))

    dest = inf.find("dest")
    consumer = None
    if dest is not None:
        for kind, tag in (("CPF", "CPF"), ("CNPJ", "CNPJ"), ("ID", "idEstrangeiro")):
            number = _text(dest, tag, required=False)
            if number:
                consumer = Consumer(kind=kind, document=number, name=_text(dest, "xNome", required=False))
                break

    supl = nfe.find("infNFeSupl") if nfe is not None else None
    inf_adic = inf.find("infAdic")
    dh_recbto = _text(prot, "dhRecbto", required=False)
    dh_cont = _text(ide, "dhCont", required=False)
    return DanfeData(
        emitter=emitter,
        items=tuple(items),
        products_total=_decimal(tot, "vProd"),
        discount_total=_decimal(tot, "vDesc", default=zero),
        surcharge_total=surcharge,
        total=_decimal(tot, "vNF"),
        payments=tuple(payments),
        change=_decimal(pag, "vTroco", default=zero),
        chave=chave,
        url_chave=_req(supl, "urlChave"),
        qr_code=_req(supl, "qrCode"),
        numero=_int(_req(ide, "nNF"), "nNF"),
        serie=_int(_req(ide, "serie"), "serie"),
        emitted_at=_datetime(_req(ide, "dhEmi"), "dhEmi"),
        environment=_int(_req(ide, "tpAmb"), "tpAmb"),
        emission_type=_int(_req(ide, "tpEmis"), "tpEmis"),
        consumer=consumer,
        protocol=_text(prot, "nProt", required=False),
        authorized_at=_datetime(dh_recbto, "dhRecbto") if dh_recbto else None,
        taxes_total=_decimal(tot, "vTotTrib") if _text(tot, "vTotTrib", required=False) else None,
        additional_info=_text(inf_adic, "infCpl", required=False),
        contingency_reason=_text(ide, "xJust", required=False),
        contingency_at=_datetime(dh_cont, "dhCont") if dh_cont else None,
    )
