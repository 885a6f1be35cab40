"""Realistic NFC-e documents for the simulators: the authorized ``nfeProc`` and the cancel event.

The layout follows the NF-e 4.00 schema as the vendor sandbox's authorized NFC-e shows it
(``tests/fixtures/providers/nfce_authorized_df_homologacao.xml``): ``ide``, ``emit``,
``dest`` (only for an identified consumer), ``det/prod`` + ``imposto``, ``total/ICMSTot``,
``transp``, ``pag`` (with ``vTroco``), ``infAdic``, ``infNFeSupl`` (``qrCode``, ``urlChave``),
a ``Signature`` block and ``protNFe/infProt``. Readers built on the real document (the
DANFE renderers, the fiscal adapters' XML parsers) find every field where the real one
has it.

What is *not* real, on purpose:

* The ``Signature`` is a **placeholder, not an XML-DSig signature**: no certificate signs
  anything here. Its ``DigestValue`` (and ``protNFe/infProt/digVal``) is the base64 SHA-1 of
  the ``infNFe`` element as written, so the value is stable and the offline QR code, which
  embeds it, is consistent with the document.
* The CSC (*Código de Segurança do Contribuinte*) is a made-up token; the QR hash is
  computed exactly as the QR Code v2 manual says, so a reader can recompute it with the
  same CSC (:func:`qr_hash`).
* Taxes are simple: ICMS CSOSN 102 for Simples Nacional emitters (CRT 1/2), CST 00 at the
  item's rate otherwise, with PIS/COFINS like the fixture. Good enough for a DANFE; not a
  tax engine.

Numbers are :class:`~decimal.Decimal` throughout and written as the layout wants them:
money with 2 places, quantities with 4, unit prices with 2 to 10.

A contingency note (``tp_emis=9``) carries ``dhCont``/``xJust`` and the *offline* QR
payload. If it has no ``protocolo`` yet (nothing reached SEFAZ), :func:`build_nfeproc_xml`
returns the bare signed ``NFe`` document, which is what an emitter holds before
transmission; otherwise it returns the ``nfeProc`` with ``protNFe``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape, quoteattr

from posapp.domain.documents import UF_CODES, ChaveAcesso, build_chave, is_cnpj_shape, parse_chave
from posapp.domain.errors import InvalidDocument
from posapp.domain.money import QUANTITY_STEP, UNIT_PRICE_STEP, ZERO, line_total, round_money
from posapp.domain.payments import PaymentMethod
from posapp.sim.errors import SimulatorError

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
SEM_GTIN = "SEM GTIN"

#: The CSC token the simulators use (made up; SEFAZ gives each emitter its own).
SIM_CSC = "POSAPPSIMULADORCSC0000000000000000000000"
SIM_CSC_ID = "2"  # as in the sandbox fixture's QR code: ...|2|2|2|HASH
SIM_APP_VERSION = "posapp-sim-4.00"

HOMOLOGACAO_NOTICE = "EMITIDA EM AMBIENTE DE HOMOLOGAÇÃO - SEM VALOR FISCAL"
CONTINGENCY_NOTICE = "EMITIDA EM CONTINGÊNCIA"

# Consult URLs per UF: (qrCode base, urlChave). DF's are the ones in the sandbox fixture
# (the same for both environments). Other UFs get an obviously simulated address: the
# real list changes by SEFAZ decree and a wrong "real" URL would mislead.
_CONSULT_URLS: dict[str, tuple[str, str]] = {
    "DF": ("http://dec.fazenda.df.gov.br/ConsultarNFCe.aspx", "http://dec.fazenda.df.gov.br/NFCE/"),
}

# Legal time of the UF capitals (no daylight saving since 2019). dhEmi carries this offset.
_UTC_OFFSET_HOURS: dict[str, int] = {"AC": -5, "AM": -4, "MS": -4, "MT": -4, "RO": -4, "RR": -4}

_PIS_RATE = Decimal("1.65")  # regime normal, as in the fixture
_COFINS_RATE = Decimal("7.60")


def consult_urls(uf: str) -> tuple[str, str]:
    """``(qr_code_base_url, url_chave)`` of a UF's NFC-e consult service."""
    known = _CONSULT_URLS.get(uf)
    if known is not None:
        return known
    host = f"http://nfce.{uf.lower()}.sim.invalid"
    return f"{host}/consulta/qrcode", f"{host}/consulta/chave"


def local_timezone(uf: str) -> timezone:
    """The fixed UTC offset the UF's NF-e times are written in (Brasília time for most)."""
    hours = _UTC_OFFSET_HOURS.get(uf, -3)
    return timezone(timedelta(hours=hours))


def format_nfe_datetime(moment: datetime, uf: str) -> str:
    """``2018-10-09T09:53:13-03:00``: seconds, the UF's offset (the layout's TDateTimeUTC)."""
    if moment.tzinfo is None:
        raise SimulatorError(f"naive datetime {moment!r}: NF-e times carry an offset")
    return moment.astimezone(local_timezone(uf)).replace(microsecond=0).isoformat()


def format_money(value: Decimal) -> str:
    """2 places, half up (``vProd``, ``vNF``, ``vPag``...)."""
    return f"{round_money(value):f}"


def format_quantity(value: Decimal) -> str:
    """4 places (``qCom``)."""
    return f"{value.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP):f}"


def format_unit_price(value: Decimal) -> str:
    """2 to 10 places (``vUnCom``): ``4.99``, ``0.4086``, ``100.00``."""
    text = f"{value.quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP):f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac.ljust(2, '0')}"


def format_rate(value: Decimal) -> str:
    """4 places (``pICMS``, ``pPIS``)."""
    return f"{value.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP):f}"


def payment_label(tpag: str) -> str:
    """The DANFE name of a ``tPag`` code (``"01"`` -> ``Dinheiro``)."""
    try:
        return PaymentMethod(tpag).label
    except ValueError:
        return {"14": "Duplicata Mercantil", "21": "Crédito em Loja (devolução)"}.get(tpag, "Outros")


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True, slots=True)
class SimEmitter:
    """The store that issues the note (``emit``)."""

    name: str
    cnpj: str
    ie: str
    address: str
    number: str
    district: str
    city: str
    codigo_municipio: int
    uf: str
    cep: str
    trade_name: str | None = None
    crt: int = 3  # 1 Simples Nacional, 2 Simples excesso, 3 regime normal (the sandbox's)


#: The vendor sandbox emitter of the fixture (DF, homologação).
SANDBOX_EMITTER = SimEmitter(
    name="Organizacao Teste NFCe / DF",
    trade_name="Organizacao Teste NFCe / DF",
    cnpj="22769530000131",
    ie="772733700120",
    address="SAUS Quadra 4 Lote 9/10",
    number="04",
    district="Asa Sul",
    city="Brasilia",
    codigo_municipio=5300108,
    uf="DF",
    cep="70070938",
    crt=3,
)


@dataclass(frozen=True, slots=True)
class SimItem:
    """One ``det``. ``gross_total`` (``vProd``) defaults to quantity x unit price, rounded;
    pass it to reproduce what a request said. ``approx_tax`` is the item's Lei 12.741 value."""

    code: str
    description: str
    ncm: str
    quantity: Decimal
    unit_price: Decimal
    gtin: str = SEM_GTIN
    cfop: str = "5102"
    cest: str | None = None
    unit: str = "UN"
    gross_total: Decimal | None = None
    discount: Decimal = ZERO
    origin: int = 0
    approx_tax: Decimal = ZERO
    icms_rate: Decimal = Decimal("18.00")  # CST 00 only
    order_number: str | None = None  # xPed
    order_item: int | None = None  # nItemPed
    extra_info: str | None = None  # infAdProd

    @property
    def vprod(self) -> Decimal:
        if self.gross_total is not None:
            return round_money(self.gross_total)
        return line_total(self.quantity, self.unit_price)

    @property
    def net_total(self) -> Decimal:
        return self.vprod - round_money(self.discount)


@dataclass(frozen=True, slots=True)
class SimPayment:
    """One ``detPag``. Card fields go in the ``card`` group when ``card_integration`` is
    set (or the method is a card, with *tpIntegra* 2, "POS apart", by default)."""

    tpag: str
    amount: Decimal
    card_integration: int | None = None
    card_cnpj: str | None = None
    card_brand: str | None = None
    card_authorization: str | None = None
    description: str | None = None  # xPag (tPag 99)

    @property
    def label(self) -> str:
        return self.description or payment_label(self.tpag)

    @property
    def has_card(self) -> bool:
        return self.card_integration is not None or self.tpag in ("03", "04")


@dataclass(frozen=True, slots=True)
class SimAddress:
    """``dest/enderDest``: the consumer's address (a delivery)."""

    street: str
    number: str
    district: str
    city_code: str
    city: str
    uf: str
    complement: str | None = None
    cep: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class SimNote:
    """Everything an authorized (or contingency) NFC-e says, as plain data.

    ``chave`` must agree with the other fields (UF, CNPJ, ``model``, series, number,
    ``tp_emis``): build it with :func:`make_chave`. ``model`` is 65 (NFC-e); 55 (NF-e) exists
    only so that a simulator can lie about a note (``posapp.sim.lies``). ``change`` (``vTroco``) defaults to
    what was paid beyond the total. ``approx_taxes`` (``vTotTrib``) defaults to the sum of
    the items'. ``protocolo=None`` means not yet authorized (contingency pending).
    """

    chave: str
    numero: int
    serie: int
    emitted_at: datetime
    authorized_at: datetime
    protocolo: str | None
    emitter: SimEmitter = SANDBOX_EMITTER
    items: tuple[SimItem, ...] = ()
    payments: tuple[SimPayment, ...] = ()
    environment: int = 2  # tpAmb: 1 produção, 2 homologação
    tp_emis: int = 1  # 1 normal, 9 offline contingency
    contingency_at: datetime | None = None  # dhCont (defaults to emitted_at when tp_emis 9)
    contingency_reason: str | None = None  # xJust (15-256)
    change: Decimal | None = None
    customer_document: str | None = None  # CPF (11), CNPJ (14) or a foreign id
    customer_name: str | None = None
    customer_address: SimAddress | None = None
    approx_taxes: Decimal | None = None
    inf_cpl: str | None = None
    inf_ad_fisco: str | None = None
    obs_cont: tuple[tuple[str, str], ...] = ()  # infAdic/obsCont (xCampo, xTexto)
    sefaz_message: tuple[str, str] | None = None  # protNFe/infProt cMsg, xMsg
    csc_id: str = SIM_CSC_ID
    csc: str = SIM_CSC
    nat_op: str = "VENDA"
    ind_pres: int = 1
    model: str = "65"

    @property
    def key(self) -> ChaveAcesso:
        return parse_chave(self.chave)

    @property
    def gross_total(self) -> Decimal:
        return sum((i.vprod for i in self.items), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((round_money(i.discount) for i in self.items), ZERO)

    @property
    def total(self) -> Decimal:
        """``vNF``."""
        return self.gross_total - self.discount_total

    @property
    def paid(self) -> Decimal:
        return sum((round_money(p.amount) for p in self.payments), ZERO)

    @property
    def troco(self) -> Decimal:
        """``vTroco``: the given change, else what was paid beyond the total (never negative)."""
        if self.change is not None:
            return round_money(self.change)
        return max(self.paid - self.total, ZERO)

    @property
    def tax_total(self) -> Decimal:
        """``vTotTrib`` of the note (Lei 12.741)."""
        if self.approx_taxes is not None:
            return round_money(self.approx_taxes)
        return sum((round_money(i.approx_tax) for i in self.items), ZERO)

    @property
    def contingency(self) -> bool:
        return self.tp_emis == 9


def make_chave(
    *,
    emitter: SimEmitter,
    serie: int,
    numero: int,
    emitted_at: datetime,
    code: str,
    tp_emis: int = 1,
    model: str = "65",
) -> str:
    """The 44-digit chave of a note: UF, AAMM of ``dhEmi`` (local time), CNPJ, ``model`` (65),
    series, number, ``tpEmis``, the 8-digit ``cNF`` ``code`` and the check digit."""
    local = emitted_at.astimezone(local_timezone(emitter.uf))
    key = build_chave(
        uf=emitter.uf,
        year_month=local.strftime("%y%m"),
        cnpj=emitter.cnpj,
        model=model,
        series=serie,
        number=numero,
        emission_type=tp_emis,
        code=code,
    )
    return key.digits


# --------------------------------------------------------------------------- QR code


def qr_hash(data: str, csc: str) -> str:
    """``cHashQRCode``: uppercase hex SHA-1 of the pipe-separated data followed by the CSC."""
    return hashlib.sha1((data + csc).encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def _csc_id(value: str) -> str:
    """The CSC id goes in without leading zeros (``000002`` -> ``2``)."""
    return value.lstrip("0") or "0"


def qr_code_url(note: SimNote, digest_value: str) -> str:
    """The QR Code v2 URL: online ``chave|2|tpAmb|idCSC|hash``; offline (``tpEmis`` 9)
    ``chave|2|tpAmb|dia|vNF|digVal-hex|idCSC|hash`` with ``dia`` the day of ``dhEmi``."""
    base, _ = consult_urls(note.emitter.uf)
    if note.contingency:
        day = note.emitted_at.astimezone(local_timezone(note.emitter.uf)).strftime("%d")
        digest_hex = digest_value.encode("ascii").hex()
        fields = [note.chave, "2", str(note.environment), day, format_money(note.total), digest_hex]
    else:
        fields = [note.chave, "2", str(note.environment)]
    fields.append(_csc_id(note.csc_id))
    data = "|".join(fields)
    return f"{base}?p={data}|{qr_hash(data, note.csc)}"


# --------------------------------------------------------------------------- XML writing


class _Xml:
    """A tiny pretty-printing writer: the layout needs CDATA and repeated ``xmlns``
    declarations that ElementTree cannot write, and string building keeps order exact."""

    def __init__(self, depth: int = 0) -> None:
        self.parts: list[str] = []
        self.depth = depth

    def pad(self) -> str:
        return "\n" + "  " * self.depth

    @contextmanager
    def node(self, tag: str, **attrs: str) -> Iterator[None]:
        self.parts.append(f"{self.pad()}<{tag}{_attrs(attrs)}>")
        self.depth += 1
        yield
        self.depth -= 1
        self.parts.append(f"{self.pad()}</{tag}>")

    def leaf(self, tag: str, text: str | int | None, **attrs: str) -> None:
        """Write ``<tag>text</tag>``; ``None`` omits the element (optional field)."""
        if text is None:
            return
        self.parts.append(f"{self.pad()}<{tag}{_attrs(attrs)}>{escape(str(text))}</{tag}>")

    def cdata(self, tag: str, text: str) -> None:
        self.parts.append(f"{self.pad()}<{tag}><![CDATA[{text.replace(']]>', ']]]]><![CDATA[>')}]]></{tag}>")

    def empty(self, tag: str, **attrs: str) -> None:
        self.parts.append(f"{self.pad()}<{tag}{_attrs(attrs)}/>")

    def raw(self, text: str) -> None:
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f" {name}={quoteattr(value)}" for name, value in attrs.items())


def _check_consistency(note: SimNote) -> ChaveAcesso:
    try:
        key = parse_chave(note.chave)
    except InvalidDocument as exc:
        raise SimulatorError(f"SimNote chave {note.chave!r}: {exc}") from None
    problems = []
    if key.uf_code != UF_CODES.get(note.emitter.uf):
        problems.append(f"UF {key.uf_code} vs emitter {note.emitter.uf}")
    if key.cnpj != note.emitter.cnpj:
        problems.append(f"CNPJ {key.cnpj} vs emitter {note.emitter.cnpj}")
    if key.model != note.model:
        problems.append(f"model {key.model} vs {note.model}")
    if note.model not in ("65", "55"):
        problems.append(f"model {note.model} is neither 65 (NFC-e) nor 55")
    local = note.emitted_at.astimezone(local_timezone(note.emitter.uf))
    if key.year_month != local.strftime("%y%m"):
        problems.append(f"AAMM {key.year_month} vs dhEmi {local:%y%m}")
    if key.series != note.serie:
        problems.append(f"series {key.series} vs {note.serie}")
    if key.number != note.numero:
        problems.append(f"number {key.number} vs {note.numero}")
    if key.emission_type != note.tp_emis:
        problems.append(f"tpEmis {key.emission_type} vs {note.tp_emis}")
    if note.tp_emis not in (1, 9):
        problems.append(f"tpEmis {note.tp_emis} is neither 1 nor 9")
    if note.environment not in (1, 2):
        problems.append(f"tpAmb {note.environment} is neither 1 nor 2")
    if not note.items:
        problems.append("no items")
    if not note.payments:
        problems.append("no payments")
    if problems:
        raise SimulatorError(f"SimNote {note.chave} is inconsistent: {'; '.join(problems)}")
    return key


def _write_ide(x: _Xml, note: SimNote, key: ChaveAcesso) -> None:
    uf = note.emitter.uf
    with x.node("ide"):
        x.leaf("cUF", key.uf_code)
        x.leaf("cNF", key.code)
        x.leaf("natOp", note.nat_op)
        x.leaf("mod", note.model)
        x.leaf("serie", note.serie)
        x.leaf("nNF", note.numero)
        x.leaf("dhEmi", format_nfe_datetime(note.emitted_at, uf))
        x.leaf("tpNF", "1")
        x.leaf("idDest", "1")
        x.leaf("cMunFG", note.emitter.codigo_municipio)
        x.leaf("tpImp", "4")
        x.leaf("tpEmis", note.tp_emis)
        x.leaf("cDV", key.check_digit)
        x.leaf("tpAmb", note.environment)
        x.leaf("finNFe", "1")
        x.leaf("indFinal", "1")
        x.leaf("indPres", note.ind_pres)
        x.leaf("procEmi", "0")
        x.leaf("verProc", SIM_APP_VERSION)
        if note.contingency:
            x.leaf("dhCont", format_nfe_datetime(note.contingency_at or note.emitted_at, uf))
            x.leaf("xJust", note.contingency_reason or "Falha de comunicacao com a SEFAZ (simulada)")


def _write_emit(x: _Xml, emitter: SimEmitter) -> None:
    with x.node("emit"):
        x.leaf("CNPJ", emitter.cnpj)
        x.leaf("xNome", emitter.name)
        x.leaf("xFant", emitter.trade_name)
        with x.node("enderEmit"):
            x.leaf("xLgr", emitter.address)
            x.leaf("nro", emitter.number)
            x.leaf("xBairro", emitter.district)
            x.leaf("cMun", emitter.codigo_municipio)
            x.leaf("xMun", emitter.city)
            x.leaf("UF", emitter.uf)
            x.leaf("CEP", emitter.cep)
            x.leaf("cPais", "1058")
            x.leaf("xPais", "Brasil")
        x.leaf("IE", emitter.ie)
        x.leaf("CRT", emitter.crt)


def _write_dest(x: _Xml, note: SimNote) -> None:
    document = note.customer_document
    if not document:
        return
    with x.node("dest"):
        if len(document) == 11 and document.isdigit():
            x.leaf("CPF", document)
        elif is_cnpj_shape(document):  # numeric or alphanumeric
            x.leaf("CNPJ", document)
        else:
            x.leaf("idEstrangeiro", document)
        x.leaf("xNome", note.customer_name)
        address = note.customer_address
        if address is not None:
            with x.node("enderDest"):
                x.leaf("xLgr", address.street)
                x.leaf("nro", address.number)
                x.leaf("xCpl", address.complement)
                x.leaf("xBairro", address.district)
                x.leaf("cMun", address.city_code)
                x.leaf("xMun", address.city)
                x.leaf("UF", address.uf)
                x.leaf("CEP", address.cep)
                x.leaf("cPais", "1058")
                x.leaf("xPais", "Brasil")
                x.leaf("fone", address.phone)
        x.leaf("indIEDest", "9")


def _write_item(x: _Xml, index: int, item: SimItem, crt: int) -> dict[str, Decimal]:
    """Write one ``det``; return its contribution to the ICMS/PIS/COFINS totals."""
    sums = {"vBC": ZERO, "vICMS": ZERO, "vPIS": ZERO, "vCOFINS": ZERO}
    with x.node("det", nItem=str(index)):
        with x.node("prod"):
            x.leaf("cProd", item.code)
            x.leaf("cEAN", item.gtin)
            x.leaf("xProd", item.description)
            x.leaf("NCM", item.ncm)
            x.leaf("CEST", item.cest)
            x.leaf("CFOP", item.cfop)
            x.leaf("uCom", item.unit)
            x.leaf("qCom", format_quantity(item.quantity))
            x.leaf("vUnCom", format_unit_price(item.unit_price))
            x.leaf("vProd", format_money(item.vprod))
            x.leaf("cEANTrib", item.gtin)
            x.leaf("uTrib", item.unit)
            x.leaf("qTrib", format_quantity(item.quantity))
            x.leaf("vUnTrib", format_unit_price(item.unit_price))
            if item.discount > 0:
                x.leaf("vDesc", format_money(item.discount))
            x.leaf("indTot", "1")
            x.leaf("xPed", item.order_number)
            x.leaf("nItemPed", item.order_item)
        base = item.net_total
        with x.node("imposto"):
            x.leaf("vTotTrib", format_money(item.approx_tax))
            with x.node("ICMS"):
                if crt in (1, 2):
                    with x.node("ICMSSN102"):
                        x.leaf("orig", item.origin)
                        x.leaf("CSOSN", "102")
                else:
                    icms = round_money(base * item.icms_rate / 100)
                    sums["vBC"] += base
                    sums["vICMS"] += icms
                    with x.node("ICMS00"):
                        x.leaf("orig", item.origin)
                        x.leaf("CST", "00")
                        x.leaf("modBC", "3")
                        x.leaf("vBC", format_money(base))
                        x.leaf("pICMS", format_rate(item.icms_rate))
                        x.leaf("vICMS", format_money(icms))
            if crt in (1, 2):
                with x.node("PIS"), x.node("PISNT"):
                    x.leaf("CST", "07")
                with x.node("COFINS"), x.node("COFINSNT"):
                    x.leaf("CST", "07")
            else:
                pis = round_money(base * _PIS_RATE / 100)
                cofins = round_money(base * _COFINS_RATE / 100)
                sums["vPIS"] += pis
                sums["vCOFINS"] += cofins
                with x.node("PIS"), x.node("PISAliq"):
                    x.leaf("CST", "01")
                    x.leaf("vBC", format_money(base))
                    x.leaf("pPIS", format_rate(_PIS_RATE))
                    x.leaf("vPIS", format_money(pis))
                with x.node("COFINS"), x.node("COFINSAliq"):
                    x.leaf("CST", "01")
                    x.leaf("vBC", format_money(base))
                    x.leaf("pCOFINS", format_rate(_COFINS_RATE))
                    x.leaf("vCOFINS", format_money(cofins))
        x.leaf("infAdProd", item.extra_info)
    return sums


def _write_total(x: _Xml, note: SimNote, sums: dict[str, Decimal]) -> None:
    zero = format_money(ZERO)
    with x.node("total"), x.node("ICMSTot"):
        x.leaf("vBC", format_money(sums["vBC"]))
        x.leaf("vICMS", format_money(sums["vICMS"]))
        x.leaf("vICMSDeson", zero)
        x.leaf("vFCP", zero)
        x.leaf("vBCST", zero)
        x.leaf("vST", zero)
        x.leaf("vFCPST", zero)
        x.leaf("vFCPSTRet", zero)
        x.leaf("vProd", format_money(note.gross_total))
        x.leaf("vFrete", zero)
        x.leaf("vSeg", zero)
        x.leaf("vDesc", format_money(note.discount_total))
        x.leaf("vII", zero)
        x.leaf("vIPI", zero)
        x.leaf("vIPIDevol", zero)
        x.leaf("vPIS", format_money(sums["vPIS"]))
        x.leaf("vCOFINS", format_money(sums["vCOFINS"]))
        x.leaf("vOutro", zero)
        x.leaf("vNF", format_money(note.total))
        x.leaf("vTotTrib", format_money(note.tax_total))


def _write_pag(x: _Xml, note: SimNote) -> None:
    with x.node("pag"):
        for payment in note.payments:
            with x.node("detPag"):
                x.leaf("indPag", "0")
                x.leaf("tPag", payment.tpag)
                if payment.tpag == "99":
                    x.leaf("xPag", payment.description or "Outros")
                x.leaf("vPag", format_money(payment.amount))
                if payment.has_card:
                    with x.node("card"):
                        x.leaf("tpIntegra", payment.card_integration or 2)
                        x.leaf("CNPJ", payment.card_cnpj)
                        x.leaf("tBand", payment.card_brand)
                        x.leaf("cAut", payment.card_authorization)
        if note.troco > 0:
            x.leaf("vTroco", format_money(note.troco))


def _infnfe(note: SimNote, key: ChaveAcesso) -> str:
    x = _Xml(depth=1)
    with x.node("infNFe", Id=f"NFe{note.chave}", versao="4.00"):
        _write_ide(x, note, key)
        _write_emit(x, note.emitter)
        _write_dest(x, note)
        sums = {"vBC": ZERO, "vICMS": ZERO, "vPIS": ZERO, "vCOFINS": ZERO}
        for index, item in enumerate(note.items, start=1):
            for name, value in _write_item(x, index, item, note.emitter.crt).items():
                sums[name] += value
        _write_total(x, note, sums)
        with x.node("transp"):
            x.leaf("modFrete", "9")
        _write_pag(x, note)
        if note.inf_cpl or note.inf_ad_fisco or note.obs_cont:
            with x.node("infAdic"):
                x.leaf("infAdFisco", note.inf_ad_fisco)
                x.leaf("infCpl", note.inf_cpl)
                for field, text in note.obs_cont:
                    with x.node("obsCont", xCampo=field):
                        x.leaf("xTexto", text)
    return x.text()


def digest_of(fragment: str) -> str:
    """Base64 SHA-1 of a written fragment: the placeholder signature's ``DigestValue``."""
    return base64.b64encode(hashlib.sha1(fragment.encode("utf-8"), usedforsecurity=False).digest()).decode()


def _signature(x: _Xml, reference: str, digest: str) -> None:
    x.raw(f"{x.pad()}<!-- posapp simulator: placeholder, NOT a real XML-DSig signature -->")
    with x.node("Signature", xmlns=DSIG_NS):
        with x.node("SignedInfo"):
            x.empty("CanonicalizationMethod", Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
            x.empty("SignatureMethod", Algorithm=f"{DSIG_NS}rsa-sha1")
            with x.node("Reference", URI=f"#{reference}"):
                with x.node("Transforms"):
                    x.empty("Transform", Algorithm=f"{DSIG_NS}enveloped-signature")
                    x.empty("Transform", Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
                x.empty("DigestMethod", Algorithm=f"{DSIG_NS}sha1")
                x.leaf("DigestValue", digest)
        fake = b"SIMULATED SIGNATURE - NOT VALID: " + reference.encode("ascii")
        x.leaf("SignatureValue", base64.b64encode(fake).decode("ascii"))
        with x.node("KeyInfo"), x.node("X509Data"):
            x.leaf("X509Certificate", base64.b64encode(b"SIMULATED CERTIFICATE - NOT VALID").decode())


def build_nfeproc_xml(note: SimNote) -> bytes:
    """The authorized NFC-e (``nfeProc``: signed ``NFe`` + ``protNFe``), UTF-8 bytes.

    Without a ``protocolo`` (contingency not yet transmitted) the bare ``NFe`` is returned.
    Raises :class:`~posapp.sim.errors.SimulatorError` when the note contradicts its chave.
    """
    key = _check_consistency(note)
    infnfe = _infnfe(note, key)
    digest = digest_of(infnfe)
    _, url_chave = consult_urls(note.emitter.uf)

    nfe = _Xml(depth=0)
    nfe.raw(f"<NFe xmlns={quoteattr(NFE_NS)}>")
    nfe.raw(infnfe)
    nfe.depth = 1
    with nfe.node("infNFeSupl"):
        nfe.cdata("qrCode", qr_code_url(note, digest))
        nfe.leaf("urlChave", url_chave)
    _signature(nfe, f"NFe{note.chave}", digest)
    nfe.raw("\n</NFe>")

    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if note.protocolo is None:
        return (head + nfe.text() + "\n").encode("utf-8")
    prot = _Xml(depth=0)
    with prot.node("protNFe", versao="4.00"), prot.node("infProt"):
        prot.leaf("tpAmb", note.environment)
        prot.leaf("verAplic", SIM_APP_VERSION)
        prot.leaf("chNFe", note.chave)
        prot.leaf("dhRecbto", format_nfe_datetime(note.authorized_at, note.emitter.uf))
        prot.leaf("nProt", note.protocolo)
        prot.leaf("digVal", digest)
        prot.leaf("cStat", "100")
        prot.leaf("xMotivo", "Autorizado o uso da NF-e")
        if note.sefaz_message is not None:
            prot.leaf("cMsg", note.sefaz_message[0])
            prot.leaf("xMsg", note.sefaz_message[1])
    text = (
        head
        + f'<nfeProc xmlns={quoteattr(NFE_NS)} versao="4.00">'
        + nfe.text()
        + prot.text()
        + "\n</nfeProc>\n"
    )
    return text.encode("utf-8")


def nfe_digest_value(xml: bytes) -> str | None:
    """The ``DigestValue`` written by :func:`build_nfeproc_xml` (for offline-QR checks)."""
    start = xml.find(b"<DigestValue>")
    end = xml.find(b"</DigestValue>", start)
    if start < 0 or end < 0:
        return None
    return xml[start + len(b"<DigestValue>") : end].decode("ascii")


# --------------------------------------------------------------------------- cancel event


def nfe_cancel_event_xml(
    *,
    chave: str,
    note_protocolo: str,
    cancel_protocolo: str,
    motivo: str,
    cancelled_at: datetime,
    environment: int = 2,
    cnpj: str | None = None,
    sequence: int = 1,
) -> bytes:
    """The registered cancel event (``procEventoNFe``: ``evento`` tpEvento 110111 + ``retEvento``
    cStat 135), UTF-8 bytes. ``note_protocolo`` is the authorization being cancelled
    (``detEvento/nProt``); ``cancel_protocolo`` is the event's own. The ``evento`` part is
    laid out like the sandbox fixture; its signature is a placeholder."""
    key = parse_chave(chave)
    uf = key.uf
    author = cnpj or key.cnpj
    event_id = f"ID110111{key.digits}{sequence:02d}"
    when = format_nfe_datetime(cancelled_at, uf if uf != "??" else "DF")

    inf = _Xml(depth=2)
    with inf.node("infEvento", Id=event_id):
        inf.leaf("cOrgao", key.uf_code)
        inf.leaf("tpAmb", environment)
        inf.leaf("CNPJ", author)
        inf.leaf("chNFe", key.digits)
        inf.leaf("dhEvento", when)
        inf.leaf("tpEvento", "110111")
        inf.leaf("nSeqEvento", sequence)
        inf.leaf("verEvento", "1.00")
        with inf.node("detEvento", versao="1.00"):
            inf.leaf("descEvento", "Cancelamento")
            inf.leaf("nProt", note_protocolo)
            inf.leaf("xJust", motivo)
    digest = digest_of(inf.text())

    x = _Xml(depth=0)
    x.raw('<?xml version="1.0" encoding="UTF-8"?>\n')
    x.raw(f'<procEventoNFe xmlns={quoteattr(NFE_NS)} versao="1.00">')
    x.depth = 1
    with x.node("evento", xmlns=NFE_NS, versao="1.00"):
        x.raw(inf.text())
        _signature(x, event_id, digest)
    with x.node("retEvento", versao="1.00"), x.node("infEvento"):
        x.leaf("tpAmb", environment)
        x.leaf("verAplic", SIM_APP_VERSION)
        x.leaf("cOrgao", key.uf_code)
        x.leaf("cStat", "135")
        x.leaf("xMotivo", "Evento registrado e vinculado a NF-e")
        x.leaf("chNFe", key.digits)
        x.leaf("tpEvento", "110111")
        x.leaf("xEvento", "Cancelamento registrado")
        x.leaf("nSeqEvento", sequence)
        x.leaf("dhRegEvento", when)
        x.leaf("nProt", cancel_protocolo)
    x.raw("\n</procEventoNFe>\n")
    return x.text().encode("utf-8")
