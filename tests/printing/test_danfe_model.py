"""Reading the authorized XML into what the DANFE shows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from posapp.printing.danfe_model import parse_danfe_xml
from posapp.printing.errors import DanfeDataError
from posapp.printing.options import cancel_mark_from_event
from tests.printing import notes

CHAVE = "53181022769530000131651110000002761101117841"
QR = (
    "http://dec.fazenda.df.gov.br/ConsultarNFCe.aspx?p=53181022769530000131651110000002761101117841"
    "|2|2|2|B86720B260F3D5A07EC9F0A84F3AE011DBEA30D1"
)


def test_vendor_fixture() -> None:
    data = parse_danfe_xml(notes.authorized_xml())
    assert data.chave == CHAVE
    assert data.qr_code == QR
    assert data.url_chave == "http://dec.fazenda.df.gov.br/NFCE/"
    assert (data.numero, data.serie) == (276, 111)
    assert data.emitter.cnpj == "22769530000131"
    assert data.emitter.ie == "772733700120"
    assert "Brasilia - DF" in data.emitter.address
    assert data.item_count == 2
    item = data.items[0]
    assert (item.code, item.quantity, item.unit, item.unit_price, item.total) == (
        "14600",
        Decimal("739"),
        "UN",
        Decimal("0.4086"),
        Decimal("301.95"),
    )
    assert (data.products_total, data.discount_total, data.total) == (
        Decimal("603.90"),
        Decimal("0.00"),
        Decimal("603.90"),
    )
    assert [(p.code, p.label, p.amount) for p in data.payments] == [("01", "Dinheiro", Decimal("603.90"))]
    assert data.change == Decimal("0.00")
    assert data.had_cash
    assert data.consumer is not None and (data.consumer.kind, data.consumer.document) == (
        "CPF",
        "86152288843",
    )
    assert data.protocol == "353180004134006"
    assert data.authorized_at == datetime(2018, 10, 9, 9, 53, 16, tzinfo=timezone(timedelta(hours=-3)))
    assert data.is_homologation and not data.is_contingency
    assert data.taxes_total == Decimal("164.56")


def test_variants() -> None:
    cash = parse_danfe_xml(notes.accented_cash_xml())
    assert cash.emitter.trade_name == "Pão de Açúcar"
    assert cash.change == Decimal("96.10")
    assert cash.additional_info is not None and "preferência" in cash.additional_info
    assert not parse_danfe_xml(notes.card_xml()).had_cash
    discount = parse_danfe_xml(notes.discount_xml())
    assert discount.consumer is None
    assert discount.items[1].discount == Decimal("3.90")
    contingency = parse_danfe_xml(notes.contingency_xml())
    assert contingency.is_contingency and contingency.protocol is None and contingency.authorized_at is None
    assert contingency.contingency_reason is not None


@pytest.mark.parametrize(
    ("xml", "fragment"),
    [
        (b"<nfeProc><NFe>", "XML malformado"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><nfeProc/>', "DOCTYPE"),
        (b"<html/>", "raiz <html>"),
        (notes.authorized_xml().replace(b"<mod>65</mod>", b"<mod>55</mod>"), "modelo 65"),
        (
            notes.authorized_xml().replace(b"<qrCode>", b"<qrCodeX>").replace(b"</qrCode>", b"</qrCodeX>"),
            "qrCode",
        ),
        (notes.authorized_xml().replace(b"<vNF>603.90</vNF>", b"<vNF>abc</vNF>"), "vNF"),
        (notes.authorized_xml().replace(b"<nNF>276</nNF>", b"<nNF>2x6</nNF>"), "nNF"),
    ],
)
def test_unusable_xml_is_a_clear_error(xml: bytes, fragment: str) -> None:
    with pytest.raises(DanfeDataError) as info:
        parse_danfe_xml(xml)
    assert fragment in info.value.user_message
    assert info.value.user_message.startswith("XML da NFC-e inválido")


def test_cancel_mark_from_the_event_request_and_from_its_authorized_form() -> None:
    request = notes.cancel_event_xml()
    mark = cancel_mark_from_event(request)
    assert mark.protocol is None  # a request carries no cancel protocol yet
    assert mark.cancelled_at == datetime(2018, 12, 14, 17, 33, 2, tzinfo=timezone(timedelta(hours=-2)))
    # The same event as SEFAZ returns it: procEventoNFe with retEvento.
    body = request.split(b"<evento", 1)[1].rsplit(b"</envEvento>", 1)[0]
    ret = (
        b'<retEvento versao="1.00"><infEvento><tpAmb>2</tpAmb><cStat>135</cStat>'
        b"<chNFe>53181222769530000131650090000001731531212514</chNFe><tpEvento>110111</tpEvento>"
        b"<dhRegEvento>2018-12-14T17:33:05-02:00</dhRegEvento><nProt>353180004199999</nProt></infEvento></retEvento>"
    )
    proc = (
        b'<procEventoNFe xmlns="http://www.portalfiscal.inf.br/nfe" versao="1.00"><evento'
        + body
        + ret
        + b"</procEventoNFe>"
    )
    mark = cancel_mark_from_event(proc, chave="53181222769530000131650090000001731531212514")
    assert mark.protocol == "353180004199999"
    assert mark.cancelled_at is not None and mark.cancelled_at.second == 5
    with pytest.raises(DanfeDataError) as info:
        cancel_mark_from_event(proc, chave=CHAVE)
    assert "outra nota" in info.value.user_message
    with pytest.raises(DanfeDataError):
        cancel_mark_from_event(notes.authorized_xml())
