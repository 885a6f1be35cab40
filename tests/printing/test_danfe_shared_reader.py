"""The DANFE and the cancel mark get their facts from the one NF-e reader, with its rules:
the stricter ones where the printing reader used to be lenient."""

from __future__ import annotations

from datetime import timedelta

import pytest

from posapp.printing.danfe_model import parse_danfe_xml
from posapp.printing.errors import DanfeDataError
from posapp.printing.options import cancel_mark_from_event
from tests.printing import notes

CHAVE = "53181022769530000131651110000002761101117841"
EVENT_CHAVE = "53181222769530000131650090000001731531212514"


def danfe_error(xml: bytes) -> str:
    with pytest.raises(DanfeDataError) as info:
        parse_danfe_xml(xml)
    message = info.value.user_message
    assert message.startswith("XML da NFC-e inválido para o DANFE")
    return message


def test_the_danfe_keeps_the_issuers_local_time() -> None:
    data = parse_danfe_xml(notes.authorized_xml())
    assert data.emitted_at.utcoffset() == timedelta(hours=-3)
    assert data.authorized_at is not None and data.authorized_at.utcoffset() == timedelta(hours=-3)
    assert (data.emitted_at.hour, data.emitted_at.minute) == (9, 53)


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (b"2018-10-09T09:53:13-03:00", b"2018-10-09T09:53:13", "sem fuso horário"),  # used to print as is
        (CHAVE.encode(), (CHAVE[:-1] + "2").encode(), "dígito verificador"),  # used to be taken as it came
        (b"<nNF>276</nNF>", b"<nNF>277</nNF>", "não confere com a chave"),
        (b'Id="NFe', b'Id="NFE', "infNFe/@Id"),  # the layout spells it NFe
        (b"<vNF>603.90</vNF>", b"<vNF>6.039E+2</vNF>", "vNF"),  # Decimal() used to accept it
    ],
)
def test_stricter_rules_of_the_shared_reader(old: bytes, new: bytes, fragment: str) -> None:
    xml = notes.authorized_xml()
    assert old in xml
    assert fragment in danfe_error(xml.replace(old, new))


def test_a_dtd_after_the_first_4_kib_is_refused_too() -> None:
    xml = notes.authorized_xml()
    late = b'<?xml version="1.0"?><!--' + b"x" * 8000 + b'--><!DOCTYPE nfeProc [<!ENTITY a "b">]>' + xml[21:]
    assert "DOCTYPE" in danfe_error(late)


def _registered(c_stat: str, chave: str = EVENT_CHAVE) -> bytes:
    evento = notes.cancel_event_xml().split(b"<evento", 1)[1].rsplit(b"</envEvento>", 1)[0]
    return (
        b'<procEventoNFe xmlns="http://www.portalfiscal.inf.br/nfe" versao="1.00"><evento'
        + evento
        + b"<retEvento><infEvento><cStat>"
        + c_stat.encode()
        + b"</cStat><chNFe>"
        + chave.encode()
        + b"</chNFe><tpEvento>110111</tpEvento><dhRegEvento>2018-12-14T17:33:05-02:00</dhRegEvento>"
        b"<nProt>353180004199999</nProt></infEvento></retEvento></procEventoNFe>"
    )


def test_cancel_mark_takes_the_protocol_only_from_a_registration() -> None:
    assert cancel_mark_from_event(_registered("135")).protocol == "353180004199999"
    refused = cancel_mark_from_event(_registered("573"))
    assert refused.protocol is None
    assert refused.cancelled_at is not None and refused.cancelled_at.second == 2  # dhEvento


def test_cancel_mark_refuses_an_event_whose_registration_is_for_another_note() -> None:
    with pytest.raises(DanfeDataError) as info:
        cancel_mark_from_event(_registered("135", chave=CHAVE))
    assert info.value.user_message == "XML do cancelamento inválido."
    with pytest.raises(DanfeDataError):
        cancel_mark_from_event(b'<!DOCTYPE x [<!ENTITY a "b">]><evento/>')
