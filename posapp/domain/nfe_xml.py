"""The one reader of NF-e / NFC-e XML: a note (``nfeProc`` or a bare ``NFe``) and its events.

Pure: bytes in, frozen dataclasses out. The Emites-Client protocol reads the facts of an
answer's XML with it, the provider adapters the facts of a downloaded ``nfeProc``, and the
printing layer builds the DANFE and the cancel mark from it; none of them parses NF-e XML
on its own.

Accepted documents:

* :func:`read_nfe`: ``nfeProc`` (an authorized note: ``NFe`` + ``protNFe``) or a bare ``NFe``
  (issued in offline contingency and not yet authorized: no protocol).
* :func:`read_nfe_event`: an event (cancel, 110111, or any other) as ``procEventoNFe``
  (``evento`` + ``retEvento``), ``envEvento`` (the request), ``evento``, ``infEvento``,
  ``retEnvEvento`` or ``retEvento`` (SEFAZ's registration alone).
* :func:`read_fiscal_xml`: either, by its root.

Namespaces are ignored, so every issuer's output reads the same.

Safety (the XML comes from a remote issuer, or back from our journal):

* at most :data:`MAX_NFE_XML_BYTES` (5 MiB; SEFAZ takes at most 500 KB for a whole batch);
* the encoding must be UTF-8 (the NF-e's), ISO-8859-1 or US-ASCII; the bytes are decoded
  here and the parser is handed the decoded text, so the text checked below is exactly the
  text parsed (a UTF-16 or EBCDIC document cannot hide a declaration from the check);
* no ``<!DOCTYPE`` and no ``<!ENTITY`` anywhere: an NF-e never has a DTD, and without one no
  entity can be declared, so there is nothing to expand and no external resource to fetch;
* every number is checked against the layout's own form before conversion (digits, at
  most one point, no exponent, bounded length), so ``1e999999`` is refused, not computed.

Rules. Where the readers this one replaces disagreed, the stricter one was kept:

* **The chave** comes from ``infNFe/@Id`` (``NFe`` + 44 digits, required) and, when there is
  a protocol, from ``protNFe/infProt/chNFe``; each must pass its check digit, the two must
  be equal, and the chave must agree with ``cUF``, ``mod``, ``serie``, ``nNF`` and the
  emitter's CNPJ (or CPF), as SEFAZ itself checks (cStat 502). ``tpEmis`` is read as written
  and not compared with the chave's digit: callers that care (the contingency flag) look at
  both. Events: ``evento``'s and ``retEvento``'s ``chNFe`` must pass and agree.
* **A value that is present must be well formed**: a malformed number or timestamp makes the
  whole document unreadable (:class:`NfeXmlError`), never a silent ``None``. Timestamps
  follow :mod:`posapp.domain.timestamps`: one without a UTC offset is refused.
* **Required** is what every NF-e has and a DANFE needs: ``cUF``, ``mod``, ``serie``,
  ``nNF``, ``dhEmi``, ``tpAmb``, ``tpEmis``, the emitter's CNPJ/CPF and name, at least one
  item (code, description, quantity, unit, unit price, total) and ``ICMSTot`` ``vProd`` and
  ``vNF``. Everything else may be absent (``None``, or zero for the optional money fields).

Callers that only want facts and can live without them (an issuer's answer whose JSON
already says what happened) catch :class:`NfeXmlError` and go on without the XML's facts.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final, Literal

from posapp.domain.documents import UF_BY_CODE, ChaveAcesso, parse_chave
from posapp.domain.errors import InvalidDocument
from posapp.domain.timestamps import InvalidTimestamp, NaiveTimestamp, parse_timestamp

MAX_NFE_XML_BYTES: Final = 5 * 1024 * 1024

CANCEL_EVENT: Final = "110111"
# retEvento cStat of an event SEFAZ registered: 135 registered and linked to the note,
# 136 registered but not linked, 155 cancel registered outside the deadline (homologated).
REGISTERED_EVENT_STATUSES: Final = frozenset({"135", "136", "155"})
AUTHORIZED_STATUSES: Final = frozenset({"100", "150"})  # 150: authorized outside the deadline

# Encodings the reader decodes (codec names as codecs.lookup spells them).
_ENCODINGS: Final = {"utf-8": "utf-8", "iso8859-1": "iso-8859-1", "ascii": "ascii"}
_ENCODING_DECL = re.compile(r"""\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]{0,39})["']""")
_MAX_DECLARATION = 256

# The layout's number forms (TDec_1302, TDec_1104v, ...): no sign other than "-", no
# exponent; the bounds leave room for every field the layout has.
_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,10})?")
_INTEGER = re.compile(r"[0-9]{1,15}")
_CHAVE = re.compile(r"[0-9]{6}[0-9A-Z]{12}[0-9]{26}")  # the CNPJ part may be alphanumeric
_SHOWN = 40  # characters of a bad value quoted in an error


class NfeXmlError(InvalidDocument):
    """An XML we refuse to read as an NF-e or NF-e event.

    ``reason`` says why in Portuguese, short enough to go inside a larger message
    (``"falta <nNF>"``, ``"XML malformado (...)"``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"NF-e XML: {reason}", user_message=f"XML da NF-e inválido: {reason}.")
        self.reason = reason


# --------------------------------------------------------------------------- the note


@dataclass(frozen=True, slots=True)
class NfeAddress:
    street: str | None = None  # xLgr
    number: str | None = None  # nro
    complement: str | None = None  # xCpl
    district: str | None = None  # xBairro
    city: str | None = None  # xMun
    uf: str | None = None  # UF
    zip_code: str | None = None  # CEP


@dataclass(frozen=True, slots=True)
class NfeEmitter:
    document: str  # CNPJ, or CPF for an individual emitter
    name: str  # xNome
    trade_name: str | None = None  # xFant
    ie: str | None = None
    address: NfeAddress | None = None  # enderEmit


@dataclass(frozen=True, slots=True)
class NfeConsumer:
    kind: Literal["CPF", "CNPJ", "ID"]  # ID: idEstrangeiro
    document: str
    name: str | None = None
    address: NfeAddress | None = None  # enderDest


@dataclass(frozen=True, slots=True)
class NfeItem:
    number: int  # det/@nItem
    code: str  # cProd
    description: str  # xProd
    quantity: Decimal  # qCom
    unit: str  # uCom
    unit_price: Decimal  # vUnCom
    total: Decimal  # vProd (gross)
    discount: Decimal  # vDesc, zero when absent


@dataclass(frozen=True, slots=True)
class NfeTotals:
    """``total/ICMSTot``; optional money fields are zero when absent."""

    products: Decimal  # vProd
    total: Decimal  # vNF: what the consumer pays
    discount: Decimal = Decimal("0.00")  # vDesc
    freight: Decimal = Decimal("0.00")  # vFrete
    insurance: Decimal = Decimal("0.00")  # vSeg
    other: Decimal = Decimal("0.00")  # vOutro
    taxes: Decimal | None = None  # vTotTrib (Lei 12.741/2012)

    @property
    def surcharge(self) -> Decimal:
        return self.other + self.freight + self.insurance


@dataclass(frozen=True, slots=True)
class NfePayment:
    code: str  # tPag, two digits
    amount: Decimal  # vPag (tendered)
    description: str | None = None  # xPag


@dataclass(frozen=True, slots=True)
class NfeDocument:
    """An NF-e / NFC-e as its XML states it. Times keep the offset they were written with."""

    chave: str  # verified: check digit, protocol and ide agree
    modelo: str  # mod: "65" NFC-e, "55" NF-e
    uf_code: str  # cUF
    numero: int  # nNF
    serie: int
    emitted_at: datetime  # dhEmi
    tp_amb: int  # 1 produção, 2 homologação
    tp_emis: int  # 1 normal, 9 offline contingency (NFC-e)
    emitter: NfeEmitter
    items: tuple[NfeItem, ...]
    totals: NfeTotals
    payments: tuple[NfePayment, ...] = ()
    change: Decimal = Decimal("0.00")  # pag/vTroco
    consumer: NfeConsumer | None = None  # dest
    qr_code: str | None = None  # infNFeSupl/qrCode (NFC-e)
    url_chave: str | None = None  # infNFeSupl/urlChave (NFC-e)
    additional_info: str | None = None  # infAdic/infCpl
    fisco_info: str | None = None  # infAdic/infAdFisco
    obs_cont: tuple[tuple[str, str], ...] = ()  # infAdic/obsCont: (xCampo, xTexto)
    sefaz_message: str | None = None  # protNFe/infProt/xMsg (with cMsg)
    contingency_at: datetime | None = None  # ide/dhCont
    contingency_reason: str | None = None  # ide/xJust
    protocolo: str | None = None  # protNFe/infProt/nProt
    authorized_at: datetime | None = None  # protNFe/infProt/dhRecbto
    c_stat: str | None = None  # protNFe/infProt/cStat
    status_message: str | None = None  # protNFe/infProt/xMotivo

    @property
    def key(self) -> ChaveAcesso:
        return ChaveAcesso(self.chave)

    @property
    def uf(self) -> str | None:
        return UF_BY_CODE.get(self.uf_code)

    @property
    def total(self) -> Decimal:
        """``vNF``."""
        return self.totals.total

    @property
    def authorized(self) -> bool:
        """The protocol says *authorized* (cStat 100 or 150)."""
        return self.c_stat in AUTHORIZED_STATUSES


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class NfeEventRegistration:
    """``retEvento/infEvento``: what SEFAZ answered to the event."""

    c_stat: str | None = None
    status_message: str | None = None  # xMotivo
    protocolo: str | None = None  # the event's own nProt
    registered_at: datetime | None = None  # dhRegEvento

    @property
    def registered(self) -> bool:
        return self.c_stat in REGISTERED_EVENT_STATUSES


@dataclass(frozen=True, slots=True)
class NfeEvent:
    chave: str  # the note the event is about; verified
    event_type: str | None = None  # tpEvento: 110111 cancel
    tp_amb: int | None = None
    sequence: int | None = None  # nSeqEvento
    requested_at: datetime | None = None  # evento/infEvento/dhEvento
    justification: str | None = None  # detEvento/xJust
    note_protocolo: str | None = None  # detEvento/nProt: the authorization it refers to
    registration: NfeEventRegistration | None = None

    @property
    def is_cancel(self) -> bool:
        return self.event_type == CANCEL_EVENT

    @property
    def registered(self) -> bool:
        return self.registration is not None and self.registration.registered

    @property
    def protocolo(self) -> str | None:
        """The event's own protocol, only from a registration SEFAZ accepted."""
        return self.registration.protocolo if self.registration and self.registered else None

    @property
    def occurred_at(self) -> datetime | None:
        """When the event took effect: ``dhRegEvento`` of an accepted registration, else
        ``dhEvento`` (the request's own time)."""
        if self.registration is not None and self.registered and self.registration.registered_at:
            return self.registration.registered_at
        return self.requested_at


# --------------------------------------------------------------------------- entry points


def read_nfe(xml: bytes) -> NfeDocument:
    """Read a note (``nfeProc`` or ``NFe``); raises :class:`NfeXmlError` for anything else."""
    return _read_note(_parse(xml))


def read_nfe_event(xml: bytes) -> NfeEvent:
    """Read an event document; raises :class:`NfeXmlError` for anything else."""
    return _read_event(_parse(xml))


def read_fiscal_xml(xml: bytes) -> NfeDocument | NfeEvent:
    """A note or an event, by the document's root; raises :class:`NfeXmlError`."""
    root = _parse(xml)
    if root.tag in ("nfeProc", "NFe"):
        return _read_note(root)
    return _read_event(root)


# --------------------------------------------------------------------------- parsing


def _decode(xml: bytes) -> str:
    if len(xml) > MAX_NFE_XML_BYTES:
        raise NfeXmlError(f"maior que {MAX_NFE_XML_BYTES // (1024 * 1024)} MiB ({len(xml)} bytes)")
    data = bytes(xml)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    encoding = "utf-8"
    if data.startswith(b"<?xml"):
        end = data.find(b"?>", 0, _MAX_DECLARATION)
        if end < 0:
            raise NfeXmlError("XML malformado (declaração <?xml ...?> incompleta)")
        declared = _ENCODING_DECL.search(data[:end].decode("ascii", errors="replace"))
        if declared is not None:
            try:
                name = codecs.lookup(declared.group(1)).name
            except LookupError:
                name = declared.group(1)
            if name not in _ENCODINGS:
                raise NfeXmlError(f"codificação {declared.group(1)!r} não aceita (use UTF-8)")
            encoding = _ENCODINGS[name]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise NfeXmlError(f"XML malformado (não é {encoding.upper()} válido: {exc.reason})") from None
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise NfeXmlError("DOCTYPE/ENTITY não é permitido (uma NF-e não tem DTD)")
    return text


def _parse(xml: bytes) -> ET.Element:
    text = _decode(xml)
    try:
        # The text checked above is what is parsed: no DTD, so no entity can be declared.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise NfeXmlError(f"XML malformado ({exc})") from None
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")


def _text(parent: ET.Element | None, path: str) -> str | None:
    node = None if parent is None else parent.find(path)
    if node is None or node.text is None:
        return None
    return node.text.strip() or None


def _required(parent: ET.Element | None, path: str) -> str:
    value = _text(parent, path)
    if value is None:
        raise NfeXmlError(f"falta <{path}>")
    return value


def _integer(value: str, what: str) -> int:
    if not _INTEGER.fullmatch(value):
        raise NfeXmlError(f"<{what}> não é um número inteiro: {_shown(value)}")
    return int(value)


def _opt_integer(parent: ET.Element | None, path: str) -> int | None:
    value = _text(parent, path)
    return None if value is None else _integer(value, path)


def _decimal_of(value: str, what: str) -> Decimal:
    if not _DECIMAL.fullmatch(value):
        raise NfeXmlError(f"<{what}> não é um número: {_shown(value)}")
    return Decimal(value)


def _decimal(parent: ET.Element | None, path: str, *, default: Decimal | None = None) -> Decimal:
    value = _text(parent, path)
    if value is None:
        if default is None:
            raise NfeXmlError(f"falta <{path}>")
        return default
    return _decimal_of(value, path)


def _timestamp(parent: ET.Element | None, path: str) -> datetime | None:
    value = _text(parent, path)
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except NaiveTimestamp:
        raise NfeXmlError(f"<{path}> sem fuso horário: {_shown(value)}") from None
    except InvalidTimestamp:
        raise NfeXmlError(f"<{path}> não é uma data: {_shown(value)}") from None


def _chave(value: str, where: str) -> ChaveAcesso:
    if not _CHAVE.fullmatch(value):
        raise NfeXmlError(f"chave de acesso ausente ou inválida em {where}: {_shown(value)}")
    try:
        return parse_chave(value)
    except InvalidDocument:
        raise NfeXmlError(f"chave de acesso {value} em {where}: dígito verificador não confere") from None


# --------------------------------------------------------------------------- note parts


def _read_note(root: ET.Element) -> NfeDocument:
    if root.tag == "nfeProc":
        nfe = root.find("NFe")
        prot = root.find("protNFe/infProt")
    elif root.tag == "NFe":
        nfe, prot = root, None
    else:
        raise NfeXmlError(f"raiz <{root.tag}> não é nfeProc nem NFe")
    inf = None if nfe is None else nfe.find("infNFe")
    if inf is None:
        raise NfeXmlError("falta <infNFe>")
    ide = inf.find("ide")
    if ide is None:
        raise NfeXmlError("falta <ide>")

    node_id = inf.get("Id") or ""
    if not node_id.startswith("NFe"):
        raise NfeXmlError(f"chave de acesso ausente ou inválida em infNFe/@Id: {_shown(node_id)}")
    key = _chave(node_id[3:], "infNFe/@Id")
    prot_chave = _text(prot, "chNFe")
    if prot_chave is not None and _chave(prot_chave, "protNFe/chNFe").digits != key.digits:
        raise NfeXmlError(f"a chave do protocolo ({prot_chave}) difere da chave da nota ({key.digits})")

    emitter = _emitter(inf.find("emit"))
    modelo = _required(ide, "mod")
    uf_code = _required(ide, "cUF")
    numero = _integer(_required(ide, "nNF"), "nNF")
    serie = _integer(_required(ide, "serie"), "serie")
    _agree(key, uf_code=uf_code, modelo=modelo, serie=serie, numero=numero, emitter=emitter.document)
    emitted_at = _timestamp(ide, "dhEmi")
    if emitted_at is None:
        raise NfeXmlError("falta <dhEmi>")

    items = tuple(_item(det, index) for index, det in enumerate(inf.findall("det")))
    if not items:
        raise NfeXmlError("nenhum item (<det>)")
    pag = inf.find("pag")
    supl = nfe.find("infNFeSupl") if nfe is not None else None
    return NfeDocument(
        chave=key.digits,
        modelo=modelo,
        uf_code=uf_code,
        numero=numero,
        serie=serie,
        emitted_at=emitted_at,
        tp_amb=_integer(_required(ide, "tpAmb"), "tpAmb"),
        tp_emis=_integer(_required(ide, "tpEmis"), "tpEmis"),
        emitter=emitter,
        items=items,
        totals=_totals(inf.find("total/ICMSTot")),
        payments=tuple(_payment(det) for det in ([] if pag is None else pag.findall("detPag"))),
        change=_decimal(pag, "vTroco", default=Decimal("0.00")),
        consumer=_consumer(inf.find("dest")),
        qr_code=_text(supl, "qrCode"),
        url_chave=_text(supl, "urlChave"),
        additional_info=_text(inf, "infAdic/infCpl"),
        fisco_info=_text(inf, "infAdic/infAdFisco"),
        obs_cont=tuple(
            (obs.get("xCampo", "").strip(), text)
            for obs in inf.findall("infAdic/obsCont")
            if (text := _text(obs, "xTexto"))
        ),
        sefaz_message=_text(prot, "xMsg"),
        contingency_at=_timestamp(ide, "dhCont"),
        contingency_reason=_text(ide, "xJust"),
        protocolo=_text(prot, "nProt"),
        authorized_at=_timestamp(prot, "dhRecbto"),
        c_stat=_text(prot, "cStat"),
        status_message=_text(prot, "xMotivo"),
    )


def _agree(key: ChaveAcesso, *, uf_code: str, modelo: str, serie: int, numero: int, emitter: str) -> None:
    """The chave against the fields it is made of (SEFAZ's cStat 502)."""
    checks = (
        ("cUF", uf_code, key.uf_code, "UF"),
        ("mod", modelo, key.model, "modelo"),
        ("serie", str(serie), str(key.series), "série"),
        ("nNF", str(numero), str(key.number), "número"),
        ("emit/CNPJ", emitter.zfill(14), key.cnpj, "CNPJ"),
    )
    for tag, stated, in_chave, label in checks:
        if stated != in_chave:
            raise NfeXmlError(f"<{tag}> {stated} não confere com a chave de acesso ({label} {in_chave})")


def _emitter(emit: ET.Element | None) -> NfeEmitter:
    if emit is None:
        raise NfeXmlError("falta <emit>")
    document = _text(emit, "CNPJ") or _text(emit, "CPF")
    if document is None or not (document.isascii() and document.isalnum()):
        raise NfeXmlError("falta <emit/CNPJ> (ou CPF)")
    address = _address(emit.find("enderEmit"))
    return NfeEmitter(
        document=document,
        name=_required(emit, "xNome"),
        trade_name=_text(emit, "xFant"),
        ie=_text(emit, "IE"),
        address=address,
    )


def _address(ender: ET.Element | None) -> NfeAddress | None:
    """``enderEmit`` / ``enderDest``."""
    if ender is None:
        return None
    return NfeAddress(
        street=_text(ender, "xLgr"),
        number=_text(ender, "nro"),
        complement=_text(ender, "xCpl"),
        district=_text(ender, "xBairro"),
        city=_text(ender, "xMun"),
        uf=_text(ender, "UF"),
        zip_code=_text(ender, "CEP"),
    )


def _item(det: ET.Element, index: int) -> NfeItem:
    prod = det.find("prod")
    if prod is None:
        raise NfeXmlError(f"falta <prod> no item {index + 1}")
    return NfeItem(
        number=_integer(det.get("nItem", str(index + 1)).strip(), "det nItem"),
        code=_required(prod, "cProd"),
        description=_required(prod, "xProd"),
        quantity=_decimal(prod, "qCom"),
        unit=_required(prod, "uCom"),
        unit_price=_decimal(prod, "vUnCom"),
        total=_decimal(prod, "vProd"),
        discount=_decimal(prod, "vDesc", default=Decimal("0.00")),
    )


def _totals(tot: ET.Element | None) -> NfeTotals:
    zero = Decimal("0.00")
    taxes = _text(tot, "vTotTrib")
    return NfeTotals(
        products=_decimal(tot, "vProd"),
        total=_decimal(tot, "vNF"),
        discount=_decimal(tot, "vDesc", default=zero),
        freight=_decimal(tot, "vFrete", default=zero),
        insurance=_decimal(tot, "vSeg", default=zero),
        other=_decimal(tot, "vOutro", default=zero),
        taxes=None if taxes is None else _decimal_of(taxes, "vTotTrib"),
    )


def _payment(det_pag: ET.Element) -> NfePayment:
    return NfePayment(
        code=_required(det_pag, "tPag").zfill(2),
        amount=_decimal(det_pag, "vPag"),
        description=_text(det_pag, "xPag"),
    )


def _consumer(dest: ET.Element | None) -> NfeConsumer | None:
    if dest is None:
        return None
    kinds: tuple[tuple[Literal["CPF", "CNPJ", "ID"], str], ...] = (
        ("CPF", "CPF"),
        ("CNPJ", "CNPJ"),
        ("ID", "idEstrangeiro"),
    )
    for kind, tag in kinds:
        number = _text(dest, tag)
        if number:
            return NfeConsumer(
                kind=kind,
                document=number,
                name=_text(dest, "xNome"),
                address=_address(dest.find("enderDest")),
            )
    return None


# --------------------------------------------------------------------------- event parts


def _read_event(root: ET.Element) -> NfeEvent:
    if root.tag == "infEvento":
        event: ET.Element | None = root
    elif root.tag == "evento":
        event = root.find("infEvento")
    else:
        event = root.find(".//evento/infEvento")
    ret = root.find("infEvento") if root.tag == "retEvento" else root.find(".//retEvento/infEvento")
    if event is None and ret is None:
        raise NfeXmlError(f"raiz <{root.tag}> não é um evento da NF-e")

    chave: ChaveAcesso | None = None
    if event is not None:
        chave = _chave(_required(event, "chNFe"), "evento/chNFe")
    ret_chave = _text(ret, "chNFe")
    if ret_chave is not None:
        registered = _chave(ret_chave, "retEvento/chNFe")
        if chave is not None and registered.digits != chave.digits:
            raise NfeXmlError(f"a chave do retorno ({ret_chave}) difere da chave do evento ({chave.digits})")
        chave = registered
    if chave is None:
        raise NfeXmlError("falta <chNFe> no evento")

    registration = None
    if ret is not None:
        registration = NfeEventRegistration(
            c_stat=_text(ret, "cStat"),
            status_message=_text(ret, "xMotivo"),
            protocolo=_text(ret, "nProt"),
            registered_at=_timestamp(ret, "dhRegEvento"),
        )
    source = event if event is not None else ret
    tp_amb = _opt_integer(source, "tpAmb")
    return NfeEvent(
        chave=chave.digits,
        event_type=_text(source, "tpEvento"),
        tp_amb=tp_amb if tp_amb is not None else _opt_integer(ret, "tpAmb"),
        sequence=_opt_integer(source, "nSeqEvento"),
        requested_at=_timestamp(event, "dhEvento"),
        justification=_text(event, "detEvento/xJust"),
        note_protocolo=_text(event, "detEvento/nProt"),
        registration=registration,
    )
