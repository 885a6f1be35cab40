"""SEFAZ's inutilização of NFC-e numbers, as both provider simulators answer it.

The rules are SEFAZ's (NF-e manual, ``NfeInutilizacao4``), checked in this order:

* a range identical to one already homologated: 563 "Já existe pedido de Inutilização com
  a mesma faixa de inutilização" (a resend of the same request: nothing happens twice);
* a range overlapping one already homologated: 256 "Uma NF-e da faixa já está inutilizada";
* a range holding a número already used by a note: 241 "Um número da faixa já foi utilizado";
* otherwise 102 "Inutilização de número homologado", with a protocol and the
  ``procInutNFe`` XML (``inutNFe`` + ``retInutNFe``).

:class:`InutRegistry` is the simulators' ground truth of what was inutilizado.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import quoteattr

from posapp.domain.documents import UF_CODES
from posapp.sim import nfce_xml
from posapp.sim.nfce_xml import NFE_NS, SIM_APP_VERSION, digest_of, format_nfe_datetime

HOMOLOGATED = "102"
REFUSALS = {
    "241": "Rejeição: Um número da faixa já foi utilizado",
    "256": "Rejeição: Uma NF-e da faixa já está inutilizada na Base de dados da SEFAZ",
    "563": "Rejeição: Já existe pedido de Inutilização com a mesma faixa de inutilização",
}
HOMOLOGATED_TEXT = "Inutilização de número homologado"


@dataclass(frozen=True, slots=True)
class InutRecord:
    """One homologated inutilização."""

    cnpj: str
    uf: str
    serie: int
    first: int
    last: int
    justificativa: str
    protocolo: str
    at: datetime
    xml: bytes

    @property
    def inut_id(self) -> str:
        """``infInut/@Id`` without its "ID" prefix (41 digits)."""
        return f"{UF_CODES[self.uf]}{self.at:%y}{self.cnpj}65{self.serie:03d}{self.first:09d}{self.last:09d}"

    def covers(self, numero: int) -> bool:
        return self.first <= numero <= self.last


@dataclass(frozen=True, slots=True)
class InutAnswer:
    c_stat: str
    message: str
    record: InutRecord | None  # the homologated one (new, or the identical one for 563)


class InutRegistry:
    def __init__(self, *, first_protocol: int) -> None:
        self._lock = threading.Lock()
        self._protocols = itertools.count(first_protocol)
        self.records: list[InutRecord] = []

    def covered(self, serie: int, numero: int) -> bool:
        with self._lock:
            return any(r.serie == serie and r.covers(numero) for r in self.records)

    def request(
        self,
        *,
        cnpj: str,
        uf: str,
        serie: int,
        first: int,
        last: int,
        justificativa: str,
        used: Iterable[int],
        at: datetime,
    ) -> InutAnswer:
        """SEFAZ's verdict on one request (``used``: the números of notes in the série)."""
        with self._lock:
            same_serie = [r for r in self.records if r.cnpj == cnpj and r.serie == serie]
            for record in same_serie:
                if (record.first, record.last) == (first, last):
                    return InutAnswer("563", REFUSALS["563"], record)
            if any(r.first <= last and first <= r.last for r in same_serie):
                return InutAnswer("256", REFUSALS["256"], None)
            if any(first <= n <= last for n in used):
                return InutAnswer("241", REFUSALS["241"], None)
            protocolo = str(next(self._protocols))
            record = InutRecord(cnpj, uf, serie, first, last, justificativa, protocolo, at, b"")
            record = InutRecord(
                cnpj, uf, serie, first, last, justificativa, protocolo, at, proc_inut_xml(record)
            )
            self.records.append(record)
            return InutAnswer(HOMOLOGATED, HOMOLOGATED_TEXT, record)

    def find(self, cnpj: str, serie: int | None = None) -> list[InutRecord]:
        with self._lock:
            return [r for r in self.records if r.cnpj == cnpj and (serie is None or r.serie == serie)]


def proc_inut_xml(record: InutRecord, *, environment: int = 2) -> bytes:
    """``procInutNFe`` (the request ``inutNFe`` and SEFAZ's ``retInutNFe``), UTF-8 bytes;
    the signature is a placeholder laid out like the other simulated documents."""
    ident = f"ID{record.inut_id}"
    uf_code = UF_CODES[record.uf]
    when = format_nfe_datetime(record.at, record.uf)
    inf = nfce_xml._Xml(depth=2)
    with inf.node("infInut", Id=ident):
        inf.leaf("tpAmb", environment)
        inf.leaf("xServ", "INUTILIZAR")
        inf.leaf("cUF", uf_code)
        inf.leaf("ano", f"{record.at:%y}")
        inf.leaf("CNPJ", record.cnpj)
        inf.leaf("mod", "65")
        inf.leaf("serie", record.serie)
        inf.leaf("nNFIni", record.first)
        inf.leaf("nNFFin", record.last)
        inf.leaf("xJust", record.justificativa)
    digest = digest_of(inf.text())
    x = nfce_xml._Xml(depth=0)
    x.raw('<?xml version="1.0" encoding="UTF-8"?>\n')
    x.raw(f'<procInutNFe xmlns={quoteattr(NFE_NS)} versao="4.00">')
    x.depth = 1
    with x.node("inutNFe", xmlns=NFE_NS, versao="4.00"):
        x.raw(inf.text())
        nfce_xml._signature(x, ident, digest)
    with x.node("retInutNFe", versao="4.00"), x.node("infInut"):
        x.leaf("tpAmb", environment)
        x.leaf("verAplic", SIM_APP_VERSION)
        x.leaf("cStat", HOMOLOGATED)
        x.leaf("xMotivo", HOMOLOGATED_TEXT)
        x.leaf("cUF", uf_code)
        x.leaf("ano", f"{record.at:%y}")
        x.leaf("CNPJ", record.cnpj)
        x.leaf("mod", "65")
        x.leaf("serie", record.serie)
        x.leaf("nNFIni", record.first)
        x.leaf("nNFFin", record.last)
        x.leaf("dhRecbto", when)
        x.leaf("nProt", record.protocolo)
    x.raw("\n</procInutNFe>\n")
    return x.text().encode("utf-8")
