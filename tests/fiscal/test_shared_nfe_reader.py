"""The issuer adapters read NF-e XML and timestamps through the one domain reader.

What changed with it, where the old readers disagreed: a chave is always checked (digit,
protocol vs note); an XML that cannot be read, or that is another note's, is neither used
nor kept; a timestamp without an offset is never guessed (Emites' ``data_emissao`` without
``Z`` used to be taken as UTC, three hours off a Brasília clock).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from posapp.fiscal.emites import _authorized_note
from posapp.fiscal.focusnfe import _cancel_event
from posapp.fiscal.http_base import build_note, read_nfeproc
from posapp.protocol.framing import Frame
from posapp.protocol.messages import CREATE_NFCE, dumps_json, parse_response, parse_xml_facts
from tests.protocol.emites_samples import ANSWER_CHAVE, XML_CHAVE, sucesso_answer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOTE = (FIXTURES / "providers" / "nfce_authorized_df_homologacao.xml").read_bytes()
EVENT = (FIXTURES / "emites" / "nfce_cancel_event_df_homologacao.xml").read_bytes()
BAD_DIGIT = NOTE.replace(XML_CHAVE.encode(), (XML_CHAVE[:-1] + "2").encode())
FOREIGN_PROTOCOL = NOTE.replace(
    b"<chNFe>" + XML_CHAVE.encode() + b"</chNFe>", b"<chNFe>" + ANSWER_CHAVE.encode() + b"</chNFe>"
)
NOW = datetime(2018, 10, 9, 13, 0, tzinfo=UTC)


def answer_frame(fields: dict[str, object]) -> Frame:
    return Frame(CREATE_NFCE, dumps_json(fields).encode("iso-8859-1"))


# --------------------------------------------------------------------------- providers


def test_provider_facts_refuse_a_chave_that_disagrees_with_itself() -> None:
    facts = read_nfeproc(NOTE)
    assert facts is not None and facts.chave == XML_CHAVE and facts.total is not None
    assert read_nfeproc(BAD_DIGIT) is None
    assert read_nfeproc(FOREIGN_PROTOCOL) is None  # used to pass: chNFe was read, Id ignored


def test_build_note_completes_from_the_matching_xml() -> None:
    note = build_note(chave=XML_CHAVE, numero=None, serie=None, xml=NOTE, now=lambda: NOW)
    assert (note.numero, note.serie, note.protocolo, note.xml) == (276, 111, "353180004134006", NOTE)
    assert note.authorized_at == datetime(2018, 10, 9, 12, 53, 16, tzinfo=UTC)


def test_build_note_neither_uses_nor_keeps_another_notes_xml() -> None:
    # Used to take that note's protocol, number and time for this one, and keep its XML.
    note = build_note(chave=ANSWER_CHAVE, numero=None, serie=None, xml=NOTE, now=lambda: NOW)
    assert note.xml is None and note.protocolo is None
    assert (note.numero, note.serie, note.authorized_at) == (173, 9, NOW)  # from the chave, then the clock


def test_build_note_does_not_keep_an_unreadable_xml() -> None:
    for xml in (BAD_DIGIT, b"<nfeProc>", b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'):
        note = build_note(chave=XML_CHAVE, numero=276, serie=111, xml=xml, protocolo="1", now=lambda: NOW)
        assert note.xml is None and note.protocolo == "1" and note.authorized_at == NOW


def test_focus_cancel_event_protocol_only_from_a_registration() -> None:
    request = _cancel_event(EVENT)
    assert request is not None and request.protocolo is None
    assert request.occurred_at == datetime(2018, 12, 14, 17, 33, 2, tzinfo=timezone(timedelta(hours=-2)))
    assert _cancel_event(NOTE) is None and _cancel_event(b"garbage") is None and _cancel_event(None) is None


# --------------------------------------------------------------------------- Emites


def test_emites_does_not_keep_an_unreadable_xml() -> None:
    fields = sucesso_answer()
    fields["xml"] = base64.b64encode(BAD_DIGIT).decode("ascii")
    response = parse_response(answer_frame(fields))
    assert response.xml == BAD_DIGIT and response.xml_facts.problem is not None
    assert "dígito verificador" in response.xml_facts.problem
    note, remark = _authorized_note(response)
    assert note is not None and note.chave == XML_CHAVE and note.xml is None
    assert "XML unreadable" in remark
    assert note.danfe_pdf is not None  # the PDF still prints


def test_emites_naive_data_emissao_is_not_guessed() -> None:
    fields = sucesso_answer(with_data_emissao=False)
    fields["resposta_emissao"]["data_emissao"] = "2018-10-09T09:53:16"  # Brasília wall time, no offset
    response = parse_response(answer_frame(fields))
    assert response.emissao is not None and response.emissao.data_emissao is None
    # dhRecbto (with its offset) instead; read as UTC it would have been 3 h early.
    assert response.authorized_at == datetime(2018, 10, 9, 12, 53, 16, tzinfo=UTC)
    assert response.authorized_at.tzinfo is UTC


def test_emites_xml_facts_of_a_registered_cancel_event() -> None:
    evento = EVENT.split(b"<evento", 1)[1].rsplit(b"</envEvento>", 1)[0]
    registered = (
        b"<procEventoNFe><evento" + evento + b"<retEvento><infEvento><cStat>135</cStat>"
        b"<chNFe>" + ANSWER_CHAVE.encode() + b"</chNFe><tpEvento>110111</tpEvento>"
        b"<dhRegEvento>2018-12-14T17:33:05-02:00</dhRegEvento><nProt>353180004199999</nProt>"
        b"</infEvento></retEvento></procEventoNFe>"
    )
    facts = parse_xml_facts(registered)
    assert facts.chave == ANSWER_CHAVE and facts.tp_amb == 2
    assert facts.event_at == datetime(2018, 12, 14, 19, 33, 5, tzinfo=UTC)
    assert parse_xml_facts(EVENT).event_at == datetime(2018, 12, 14, 19, 33, 2, tzinfo=UTC)  # dhEvento
