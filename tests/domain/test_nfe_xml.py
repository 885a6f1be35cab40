"""The one NF-e XML reader, on the vendor sandbox's real note and cancel event.

Fixtures: ``tests/fixtures/emites/`` (tests/fixtures/SOURCES.md): the authorized NFC-e
(DF, homologação) and the cancel event request for another note of the same emitter.
"""

from __future__ import annotations

import codecs
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.domain.documents import build_chave
from posapp.domain.errors import InvalidDocument
from posapp.domain.nfe_xml import (
    MAX_NFE_XML_BYTES,
    NfeDocument,
    NfeEvent,
    NfeXmlError,
    read_fiscal_xml,
    read_nfe,
    read_nfe_event,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "emites"
NOTE = (FIXTURES / "nfce_authorized_df_homologacao.xml").read_bytes()
EVENT = (FIXTURES / "nfce_cancel_event_df_homologacao.xml").read_bytes()

CHAVE = "53181022769530000131651110000002761101117841"
EVENT_CHAVE = "53181222769530000131650090000001731531212514"
BRASILIA = timezone(timedelta(hours=-3))
SUMMER = timezone(timedelta(hours=-2))  # Brasília summer time, December 2018


def refused(xml: bytes, fragment: str = "") -> NfeXmlError:
    with pytest.raises(NfeXmlError) as info:
        read_fiscal_xml(xml)
    assert fragment in info.value.reason, info.value.reason
    assert info.value.user_message.startswith("XML da NF-e inválido")
    return info.value


def registered_event(c_stat: str = "135", *, chave: str = EVENT_CHAVE) -> bytes:
    """The fixture's event as SEFAZ returns it: ``procEventoNFe`` = ``evento`` + ``retEvento``."""
    evento = EVENT.split(b"<evento", 1)[1].rsplit(b"</envEvento>", 1)[0]
    ret = (
        b'<retEvento versao="1.00"><infEvento><tpAmb>2</tpAmb><cStat>'
        + c_stat.encode()
        + b"</cStat><xMotivo>x</xMotivo><chNFe>"
        + chave.encode()
        + b"</chNFe><tpEvento>110111</tpEvento><nSeqEvento>1</nSeqEvento>"
        b"<dhRegEvento>2018-12-14T17:33:05-02:00</dhRegEvento><nProt>353180004199999</nProt>"
        b"</infEvento></retEvento>"
    )
    return (
        b'<procEventoNFe xmlns="http://www.portalfiscal.inf.br/nfe" versao="1.00"><evento'
        + evento
        + ret
        + b"</procEventoNFe>"
    )


# --------------------------------------------------------------------------- the real note


def test_the_vendor_sandbox_note() -> None:
    note = read_nfe(NOTE)
    assert note.chave == CHAVE and note.key.number == 276
    assert (note.modelo, note.uf_code, note.uf, note.numero, note.serie) == ("65", "53", "DF", 276, 111)
    assert (note.tp_amb, note.tp_emis) == (2, 1)
    assert note.emitted_at == datetime(2018, 10, 9, 9, 53, 13, tzinfo=BRASILIA)
    assert note.emitted_at.utcoffset() == timedelta(hours=-3)  # as written: the DANFE shows local time
    assert (note.protocolo, note.c_stat, note.status_message) == (
        "353180004134006",
        "100",
        "Autorizado o uso da NF-e",
    )
    assert note.authorized and note.authorized_at == datetime(2018, 10, 9, 12, 53, 16, tzinfo=UTC)

    emitter = note.emitter
    assert (emitter.document, emitter.ie, emitter.name) == (
        "22769530000131",
        "772733700120",
        "Organizacao Teste NFCe / DF",
    )
    assert emitter.address is not None
    assert (emitter.address.street, emitter.address.number, emitter.address.city, emitter.address.uf) == (
        "SAUS Quadra 4 Lote 9/10",
        "04",
        "Brasilia",
        "DF",
    )
    assert note.consumer is not None and (note.consumer.kind, note.consumer.document) == (
        "CPF",
        "86152288843",
    )

    assert len(note.items) == 2
    item = note.items[0]
    assert (item.number, item.code, item.quantity, item.unit, item.unit_price, item.total, item.discount) == (
        1,
        "14600",
        Decimal("739"),
        "UN",
        Decimal("0.4086"),
        Decimal("301.95"),
        Decimal("0.00"),
    )
    totals = note.totals
    assert (totals.products, totals.discount, totals.surcharge, totals.total, totals.taxes) == (
        Decimal("603.90"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("603.90"),
        Decimal("164.56"),
    )
    assert note.total == Decimal("603.90")
    assert [(p.code, p.amount) for p in note.payments] == [("01", Decimal("603.90"))]
    assert note.change == Decimal("0.00")
    assert note.qr_code is not None and note.qr_code.startswith(
        "http://dec.fazenda.df.gov.br/ConsultarNFCe.aspx?p=" + CHAVE
    )
    assert note.url_chave == "http://dec.fazenda.df.gov.br/NFCE/"
    assert note.contingency_at is None and note.additional_info is None
    assert read_fiscal_xml(NOTE) == note


def test_a_bare_nfe_issued_in_contingency() -> None:
    start, end = NOTE.index(b"<protNFe"), NOTE.index(b"</protNFe>") + len(b"</protNFe>")
    proc_free = NOTE[:start] + NOTE[end:]
    nfe = proc_free[proc_free.index(b"<NFe") : proc_free.index(b"</NFe>") + len(b"</NFe>")]
    nfe = nfe.replace(b"<tpEmis>1</tpEmis>", b"<tpEmis>9</tpEmis>").replace(
        b"</tpEmis>",
        b"</tpEmis><dhCont>2018-10-09T09:50:00-03:00</dhCont><xJust>Sem internet no caixa</xJust>",
    )
    note = read_nfe(nfe)
    assert note.chave == CHAVE and note.tp_emis == 9
    assert note.protocolo is None and note.authorized_at is None and not note.authorized
    assert note.contingency_at == datetime(2018, 10, 9, 9, 50, tzinfo=BRASILIA)
    assert note.contingency_reason == "Sem internet no caixa"


def test_namespaces_do_not_matter() -> None:
    plain = NOTE.replace(b' xmlns="http://www.portalfiscal.inf.br/nfe"', b"")
    assert plain != NOTE and read_nfe(plain) == read_nfe(NOTE)


def test_declared_latin1_and_a_utf8_bom_are_read() -> None:
    accented = NOTE.replace(
        b"<xFant>Organizacao Teste NFCe / DF</xFant>", "<xFant>Pão de Açúcar</xFant>".encode()
    )
    latin1 = accented.decode("utf-8").replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="ISO-8859-1"?>'
    )
    assert read_nfe(latin1.encode("iso-8859-1")).emitter.trade_name == "Pão de Açúcar"
    assert read_nfe(codecs.BOM_UTF8 + accented).emitter.trade_name == "Pão de Açúcar"


# --------------------------------------------------------------------------- events


def test_the_vendor_cancel_event_request() -> None:
    event = read_nfe_event(EVENT)
    assert isinstance(read_fiscal_xml(EVENT), NfeEvent)
    assert event.chave == EVENT_CHAVE and event.is_cancel
    assert (event.tp_amb, event.sequence, event.justification, event.note_protocolo) == (
        2,
        1,
        "Desistencia do comprador",
        "353180004176525",
    )
    assert event.requested_at == datetime(2018, 12, 14, 17, 33, 2, tzinfo=SUMMER)
    # A request carries no cancel protocol yet; it took effect, if at all, when it was sent.
    assert event.registration is None and event.protocolo is None and not event.registered
    assert event.occurred_at == event.requested_at


def test_a_registered_cancel_event() -> None:
    event = read_nfe_event(registered_event("135"))
    assert event.registered and event.protocolo == "353180004199999"
    assert event.occurred_at == datetime(2018, 12, 14, 17, 33, 5, tzinfo=SUMMER)


def test_a_refused_registration_gives_no_protocol() -> None:
    event = read_nfe_event(registered_event("573"))  # "Duplicidade de evento"
    assert event.registration is not None and event.registration.c_stat == "573"
    assert not event.registered and event.protocolo is None
    assert event.occurred_at == event.requested_at


def test_sefaz_registration_alone() -> None:
    proc = registered_event("135")
    ret = proc[proc.index(b"<retEvento") : proc.index(b"</retEvento>") + len(b"</retEvento>")]
    event = read_nfe_event(
        b'<retEnvEvento xmlns="http://www.portalfiscal.inf.br/nfe">' + ret + b"</retEnvEvento>"
    )
    assert (event.chave, event.event_type, event.protocolo, event.requested_at) == (
        EVENT_CHAVE,
        "110111",
        "353180004199999",
        None,
    )


def test_an_event_and_its_registration_must_name_the_same_note() -> None:
    refused(registered_event("135", chave=CHAVE), "difere")


def test_a_note_is_not_an_event_and_an_event_is_not_a_note() -> None:
    with pytest.raises(NfeXmlError, match="não é um evento"):
        read_nfe_event(NOTE)
    with pytest.raises(NfeXmlError, match="não é nfeProc nem NFe"):
        read_nfe(EVENT)


# --------------------------------------------------------------------------- safety


def test_a_dtd_is_refused_wherever_it_hides() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>'
    refused(bomb, "DOCTYPE")
    # Past the first 4 KiB (where the printing reader used to stop looking), after a comment.
    late = b'<?xml version="1.0"?><!--' + b"x" * 8000 + b'--><!DOCTYPE nfeProc [<!ENTITY a "b">]>' + NOTE[21:]
    refused(late, "DOCTYPE")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_wide_encodings_cannot_hide_a_dtd(encoding: str) -> None:
    bomb = f'<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    refused(bomb.encode(encoding))


def test_an_unexpected_encoding_is_refused() -> None:
    # EBCDIC: a declaration in ASCII, then bytes no ASCII scan could check.
    refused(b'<?xml version="1.0" encoding="cp037"?>' + "<x/>".encode("cp037"), "codificação")
    refused(b'<?xml version="1.0" encoding="klingon"?><x/>', "codificação")


def test_the_size_cap_is_checked_before_parsing() -> None:
    huge = NOTE.replace(b"</nfeProc>", b" " * MAX_NFE_XML_BYTES + b"</nfeProc>")
    started = time.perf_counter()
    refused(huge, "MiB")
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("xml", [b"", b"not xml", b"<nfeProc><NFe>", b"<html/>", b"\xff\xfe\x00"])
def test_garbage_is_our_error(xml: bytes) -> None:
    error = refused(xml)
    assert isinstance(error, InvalidDocument)


@given(st.data())
def test_any_mangled_note_raises_only_our_error(data: st.DataObject) -> None:
    xml = bytearray(NOTE)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(xml) - 1))
        xml[position] = data.draw(st.integers(0, 255))
    try:
        document = read_fiscal_xml(bytes(xml))
    except NfeXmlError:
        return
    assert isinstance(document, NfeDocument | NfeEvent)


# --------------------------------------------------------------------------- chave checks


def test_the_chave_must_pass_its_check_digit() -> None:
    # The protocol and printing readers used to take it as it came.
    refused(NOTE.replace(CHAVE.encode(), (CHAVE[:-1] + "2").encode()), "dígito verificador")


def test_the_protocol_must_name_the_same_note() -> None:
    other = NOTE.replace(
        b"<chNFe>" + CHAVE.encode() + b"</chNFe>", b"<chNFe>" + EVENT_CHAVE.encode() + b"</chNFe>"
    )
    refused(other, "difere")


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (b"<nNF>276</nNF>", b"<nNF>277</nNF>", "<nNF> 277"),
        (b"<serie>111</serie>", b"<serie>112</serie>", "<serie> 112"),
        (b"<cUF>53</cUF>", b"<cUF>35</cUF>", "<cUF> 35"),
        (b"<CNPJ>22769530000131</CNPJ>", b"<CNPJ>11222333000181</CNPJ>", "CNPJ"),
        (b"<mod>65</mod>", b"<mod>55</mod>", "modelo 65"),
    ],
)
def test_the_chave_must_agree_with_the_note(old: bytes, new: bytes, fragment: str) -> None:
    assert NOTE.count(old) == 1
    error = refused(NOTE.replace(old, new), "não confere com a chave")
    assert fragment in error.reason


def test_a_consistent_other_number_is_read() -> None:
    other = build_chave(
        uf="DF", year_month="1810", cnpj="22769530000131", series=111, number=277, code="10111784"
    ).digits
    note = read_nfe(
        NOTE.replace(CHAVE.encode(), other.encode()).replace(b"<nNF>276</nNF>", b"<nNF>277</nNF>")
    )
    assert (note.chave, note.numero) == (other, 277)


@pytest.mark.parametrize(
    "old_id", [b'Id="NFE' + CHAVE.encode() + b'"', b'Id="' + CHAVE.encode() + b'"', b'Id=""', b""]
)
def test_infnfe_id_is_required_as_the_layout_spells_it(old_id: bytes) -> None:
    refused(NOTE.replace(b'Id="NFe' + CHAVE.encode() + b'"', old_id), "infNFe/@Id")


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (b"<vNF>603.90</vNF>", b"<vNF>1e999999</vNF>", "<vNF> não é um número"),
        (b"<vNF>603.90</vNF>", b"<vNF>603,90</vNF>", "<vNF> não é um número"),
        (b"<vNF>603.90</vNF>", b"<vNF>" + b"9" * 30 + b"</vNF>", "<vNF> não é um número"),
        (b"<vNF>603.90</vNF>", b"<vNF>NaN</vNF>", "<vNF> não é um número"),
        (b"<nNF>276</nNF>", b"<nNF>2x6</nNF>", "<nNF> não é um número inteiro"),
        (b"<nNF>276</nNF>", b"<nNF>\xd9\xa2\xd9\xa7\xd9\xa6</nNF>", "<nNF> não é um número inteiro"),
        (b"<nNF>276</nNF>", b"", "falta <nNF>"),
        (b"<vNF>603.90</vNF>", b"", "falta <vNF>"),
        (b"<xNome>Organizacao Teste NFCe / DF</xNome>", b"", "falta <xNome>"),
    ],
)
def test_present_values_must_be_well_formed(old: bytes, new: bytes, fragment: str) -> None:
    assert NOTE.count(old) == 1
    started = time.perf_counter()
    refused(NOTE.replace(old, new), fragment)
    assert time.perf_counter() - started < 0.5


def test_a_timestamp_without_offset_is_refused() -> None:
    # The printing reader used to accept it, naive, and print it as if local.
    refused(NOTE.replace(b"09:53:13-03:00", b"09:53:13"), "<dhEmi> sem fuso horário")
    refused(
        NOTE.replace(b"<dhRecbto>2018-10-09T09:53:16-03:00", b"<dhRecbto>ontem"), "<dhRecbto> não é uma data"
    )
    refused(NOTE.replace(b"<dhEmi>2018-10-09T09:53:13-03:00</dhEmi>", b""), "falta <dhEmi>")


def test_items_are_required() -> None:
    start, end = NOTE.index(b"<det "), NOTE.rindex(b"</det>") + len(b"</det>")
    refused(NOTE[:start] + NOTE[end:], "nenhum item")
