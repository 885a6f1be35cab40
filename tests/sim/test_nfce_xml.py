"""The simulated nfeProc XML and cancel event, checked against the real sandbox documents."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from posapp.domain.documents import parse_chave
from posapp.sim.errors import SimulatorError
from posapp.sim.nfce_xml import (
    SANDBOX_EMITTER,
    SIM_CSC,
    SimEmitter,
    SimItem,
    SimNote,
    SimPayment,
    build_nfeproc_xml,
    make_chave,
    nfe_cancel_event_xml,
)
from tests.sim.emites_wire import FIXTURES, NFE

BRT = timezone(timedelta(hours=-3))
FIXTURE_XML = FIXTURES / "nfce_authorized_df_homologacao.xml"
FIXTURE_CANCEL = FIXTURES / "nfce_cancel_event_df_homologacao.xml"

# The fields a DANFE NFC-e is printed from (docs/architecture.md §7), as paths under nfeProc.
DANFE_PATHS = [
    "NFe/infNFe/ide/cUF", "NFe/infNFe/ide/cNF", "NFe/infNFe/ide/mod", "NFe/infNFe/ide/serie",
    "NFe/infNFe/ide/nNF", "NFe/infNFe/ide/dhEmi", "NFe/infNFe/ide/tpEmis", "NFe/infNFe/ide/cDV",
    "NFe/infNFe/ide/tpAmb",
    "NFe/infNFe/emit/CNPJ", "NFe/infNFe/emit/xNome", "NFe/infNFe/emit/xFant", "NFe/infNFe/emit/IE",
    "NFe/infNFe/emit/enderEmit/xLgr", "NFe/infNFe/emit/enderEmit/nro", "NFe/infNFe/emit/enderEmit/xBairro",
    "NFe/infNFe/emit/enderEmit/xMun", "NFe/infNFe/emit/enderEmit/UF", "NFe/infNFe/emit/enderEmit/CEP",
    "NFe/infNFe/dest/CPF", "NFe/infNFe/dest/xNome",
    "NFe/infNFe/det/prod/cProd", "NFe/infNFe/det/prod/cEAN", "NFe/infNFe/det/prod/xProd",
    "NFe/infNFe/det/prod/NCM", "NFe/infNFe/det/prod/CFOP", "NFe/infNFe/det/prod/uCom",
    "NFe/infNFe/det/prod/qCom", "NFe/infNFe/det/prod/vUnCom", "NFe/infNFe/det/prod/vProd",
    "NFe/infNFe/det/imposto/vTotTrib",
    "NFe/infNFe/total/ICMSTot/vProd", "NFe/infNFe/total/ICMSTot/vDesc", "NFe/infNFe/total/ICMSTot/vNF",
    "NFe/infNFe/total/ICMSTot/vTotTrib",
    "NFe/infNFe/transp/modFrete",
    "NFe/infNFe/pag/detPag/tPag", "NFe/infNFe/pag/detPag/vPag",
    "NFe/infNFeSupl/qrCode", "NFe/infNFeSupl/urlChave",
    "protNFe/infProt/tpAmb", "protNFe/infProt/chNFe", "protNFe/infProt/dhRecbto",
    "protNFe/infProt/nProt", "protNFe/infProt/cStat", "protNFe/infProt/xMotivo",
]  # fmt: skip


def ns(path: str) -> str:
    return "/".join(NFE + part for part in path.split("/"))


def text(root: ET.Element, path: str) -> str:
    found = root.find(ns(path))
    assert found is not None, path
    return found.text or ""


def fixture_like_note(**changes: object) -> SimNote:
    """The sandbox fixture's note, rebuilt from plain data."""
    emitted = datetime(2018, 10, 9, 9, 53, 13, tzinfo=BRT)
    chave = make_chave(emitter=SANDBOX_EMITTER, serie=111, numero=276, emitted_at=emitted, code="10111784")
    item = SimItem(
        code="14600",
        gtin="7891000315507",
        description="NOTA FISCAL EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL",
        ncm="22086000",
        cest="1300402",
        cfop="5103",
        quantity=Decimal("739"),
        unit_price=Decimal("0.4086"),
        gross_total=Decimal("301.95"),  # the sandbox truncated; we reproduce its figures
        approx_tax=Decimal("82.28"),
    )
    note = SimNote(
        chave=chave,
        numero=276,
        serie=111,
        emitted_at=emitted,
        authorized_at=emitted + timedelta(seconds=3),
        protocolo="353180004134006",
        items=(item, item),
        payments=(SimPayment("01", Decimal("603.90")),),
        customer_document="86152288843",
        customer_name="NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL",
    )
    return replace(note, **changes)  # type: ignore[arg-type]


def qr_fields(qr_url: str) -> tuple[str, list[str]]:
    base, _, query = qr_url.partition("?p=")
    return base, query.split("|")


def test_the_real_chave_is_rebuilt_from_its_parts() -> None:
    real = ET.parse(FIXTURE_XML).getroot()
    assert fixture_like_note().chave == text(real, "protNFe/infProt/chNFe")


def test_generated_xml_has_every_danfe_field_where_the_real_one_has_it() -> None:
    real = ET.parse(FIXTURE_XML).getroot()
    ours = ET.fromstring(build_nfeproc_xml(fixture_like_note()))
    assert ours.tag == f"{NFE}nfeProc" and ours.get("versao") == "4.00"
    for path in DANFE_PATHS:
        assert real.find(ns(path)) is not None, f"not in the fixture: {path}"
        assert ours.find(ns(path)) is not None, f"missing: {path}"
    same = [p for p in DANFE_PATHS if not p.endswith("qrCode")]
    numeric = ("qCom", "vUnCom", "vProd", "vNF", "vDesc", "vTotTrib", "vPag")
    for path in same:
        if path.rsplit("/", 1)[-1] in numeric:
            assert Decimal(text(ours, path)) == Decimal(text(real, path)), path
        elif path.startswith("protNFe") or "/ide/" in path or "/emit/" in path or "/dest/" in path:
            assert text(ours, path) == text(real, path), path
    assert len(ours.findall(ns("NFe/infNFe/det"))) == 2
    assert ours.find(ns("NFe/infNFe/det")).get("nItem") == "1"  # type: ignore[union-attr]
    real_base, real_fields = qr_fields(text(real, "NFe/infNFeSupl/qrCode"))
    our_base, our_fields = qr_fields(text(ours, "NFe/infNFeSupl/qrCode"))
    assert our_base == real_base  # DF's consult URL, as in the fixture
    assert our_fields[:4] == real_fields[:4]  # chave|2|tpAmb|idCSC
    assert text(ours, "NFe/infNFeSupl/urlChave") == text(real, "NFe/infNFeSupl/urlChave")


def test_chave_parts_agree_with_the_document() -> None:
    note = fixture_like_note()
    root = ET.fromstring(build_nfeproc_xml(note))
    key = parse_chave(note.chave)  # raises on a bad check digit
    inf = root.find(ns("NFe/infNFe"))
    assert inf is not None and inf.get("Id") == f"NFe{key.digits}"
    assert text(root, "NFe/infNFe/ide/cNF") == key.code == "10111784"
    assert text(root, "NFe/infNFe/ide/cDV") == str(key.check_digit)
    assert text(root, "NFe/infNFe/ide/tpEmis") == "1"
    assert text(root, "protNFe/infProt/cStat") == "100"
    digest = root.find(".//{http://www.w3.org/2000/09/xmldsig#}DigestValue")
    assert digest is not None and digest.text == text(root, "protNFe/infProt/digVal")


def test_online_qr_hash_recomputes_with_the_csc() -> None:
    root = ET.fromstring(build_nfeproc_xml(fixture_like_note()))
    _, fields = qr_fields(text(root, "NFe/infNFeSupl/qrCode"))
    assert len(fields) == 5 and re.fullmatch(r"[0-9A-F]{40}", fields[4])
    data = "|".join(fields[:4])
    assert fields[4] == hashlib.sha1((data + SIM_CSC).encode()).hexdigest().upper()
    assert fields[4] != hashlib.sha1((data + "another CSC").encode()).hexdigest().upper()


def test_contingency_note_is_an_unauthorized_nfe_with_the_offline_qr() -> None:
    emitted = datetime(2024, 3, 7, 23, 30, tzinfo=BRT)  # 02:30 UTC on the 8th: dia is local
    chave = make_chave(
        emitter=SANDBOX_EMITTER, serie=1, numero=9, emitted_at=emitted, code="12345678", tp_emis=9
    )
    note = fixture_like_note(
        chave=chave, numero=9, serie=1, emitted_at=emitted, tp_emis=9, protocolo=None, customer_document=None
    )
    root = ET.fromstring(build_nfeproc_xml(note))
    assert root.tag == f"{NFE}NFe"  # nothing reached SEFAZ: no protNFe
    assert root.find(f"{NFE}infNFe/{NFE}ide/{NFE}dhCont") is not None
    just = root.find(f"{NFE}infNFe/{NFE}ide/{NFE}xJust")
    assert just is not None and 15 <= len(just.text or "") <= 256
    assert root.find(f"{NFE}infNFe/{NFE}dest") is None
    qr = root.find(f"{NFE}infNFeSupl/{NFE}qrCode")
    assert qr is not None and qr.text
    _, fields = qr_fields(qr.text)
    assert len(fields) == 8
    assert fields[3] == "07"
    assert fields[4] == "603.90"
    digest = root.find(".//{http://www.w3.org/2000/09/xmldsig#}DigestValue")
    assert digest is not None and bytes.fromhex(fields[5]).decode() == digest.text
    assert fields[7] == hashlib.sha1(("|".join(fields[:7]) + SIM_CSC).encode()).hexdigest().upper()
    assert parse_chave(chave).emission_type == 9


def test_numbers_are_written_with_the_layout_places() -> None:
    emitted = datetime(2025, 1, 2, 10, 0, tzinfo=UTC)
    chave = make_chave(emitter=SANDBOX_EMITTER, serie=1, numero=1, emitted_at=emitted, code="11111111")
    items = (
        SimItem(
            code="1", description="Cerveja", ncm="22030000", quantity=Decimal("6"), unit_price=Decimal("4.99")
        ),
        SimItem(
            code="2",
            description="Pão francês",
            ncm="19059090",
            unit="KG",
            quantity=Decimal("0.375"),
            unit_price=Decimal("15.90"),
            discount=Decimal("0.46"),
        ),
        SimItem(
            code="3",
            description="Parafuso",
            ncm="73181500",
            quantity=Decimal("3"),
            unit_price=Decimal("0.1234567891"),
        ),
    )
    note = fixture_like_note(
        chave=chave,
        numero=1,
        serie=1,
        emitted_at=emitted,
        items=items,
        payments=(SimPayment("03", Decimal("10.00"), card_brand="02"), SimPayment("01", Decimal("30.00"))),
    )
    root = ET.fromstring(build_nfeproc_xml(note))
    prods = root.findall(ns("NFe/infNFe/det/prod"))
    assert [p.findtext(f"{NFE}qCom") for p in prods] == ["6.0000", "0.3750", "3.0000"]
    assert [p.findtext(f"{NFE}vUnCom") for p in prods] == ["4.99", "15.90", "0.1234567891"]
    assert [p.findtext(f"{NFE}vProd") for p in prods] == ["29.94", "5.96", "0.37"]
    assert prods[1].findtext(f"{NFE}vDesc") == "0.46"
    assert text(root, "NFe/infNFe/total/ICMSTot/vProd") == "36.27"
    assert text(root, "NFe/infNFe/total/ICMSTot/vDesc") == "0.46"
    assert text(root, "NFe/infNFe/total/ICMSTot/vNF") == "35.81"
    assert text(root, "NFe/infNFe/pag/vTroco") == "4.19"
    card = root.find(ns("NFe/infNFe/pag/detPag/card"))
    assert (
        card is not None and card.findtext(f"{NFE}tBand") == "02" and card.findtext(f"{NFE}tpIntegra") == "2"
    )
    exact = fixture_like_note(payments=(SimPayment("01", Decimal("603.90")),))
    assert ET.fromstring(build_nfeproc_xml(exact)).find(ns("NFe/infNFe/pag/vTroco")) is None


@pytest.mark.parametrize(
    ("document", "tag"), [("86152288843", "CPF"), ("11375787000192", "CNPJ"), ("CVV006104", "idEstrangeiro")]
)
def test_dest_carries_the_consumer_document(document: str, tag: str) -> None:
    root = ET.fromstring(build_nfeproc_xml(fixture_like_note(customer_document=document)))
    assert text(root, f"NFe/infNFe/dest/{tag}") == document


def test_simples_nacional_emitter_gets_csosn_102() -> None:
    emitter = SimEmitter(
        name="Padaria Pão Quente ME", cnpj="11375787000192", ie="0745233600176", address="Rua A", number="1",
        district="Centro", city="Uberlândia", codigo_municipio=3170206, uf="MG", cep="38400000", crt=1,
    )  # fmt: skip
    emitted = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    chave = make_chave(emitter=emitter, serie=2, numero=5, emitted_at=emitted, code="87654321")
    root = ET.fromstring(
        build_nfeproc_xml(
            fixture_like_note(emitter=emitter, chave=chave, serie=2, numero=5, emitted_at=emitted)
        )
    )
    assert text(root, "NFe/infNFe/det/imposto/ICMS/ICMSSN102/CSOSN") == "102"
    assert text(root, "NFe/infNFe/emit/CRT") == "1"
    assert text(root, "NFe/infNFe/ide/cUF") == "31"
    assert text(root, "NFe/infNFe/ide/dhEmi") == "2025-06-01T09:00:00-03:00"


def test_text_is_escaped_and_written_as_utf8() -> None:
    item = SimItem(
        code="A&B",
        description='Pão & Cia <1kg> "top"',
        ncm="19059090",
        quantity=Decimal(1),
        unit_price=Decimal(1),
    )
    data = build_nfeproc_xml(fixture_like_note(items=(item,), payments=(SimPayment("01", Decimal("1.00")),)))
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "Pão".encode() in data
    root = ET.fromstring(data)
    assert text(root, "NFe/infNFe/det/prod/xProd") == 'Pão & Cia <1kg> "top"'
    assert text(root, "NFe/infNFe/det/prod/cProd") == "A&B"


def test_a_chave_that_contradicts_the_note_is_refused() -> None:
    with pytest.raises(SimulatorError, match="number"):
        build_nfeproc_xml(fixture_like_note(numero=277))
    with pytest.raises(SimulatorError, match="tpEmis"):
        build_nfeproc_xml(fixture_like_note(tp_emis=9))
    with pytest.raises(SimulatorError, match="AAMM"):
        build_nfeproc_xml(fixture_like_note(emitted_at=datetime(2018, 11, 1, 12, 0, tzinfo=BRT)))
    with pytest.raises(SimulatorError):
        build_nfeproc_xml(fixture_like_note(chave="5" * 44))


def test_cancel_event_is_a_registered_110111_like_the_fixture() -> None:
    chave = "53181222769530000131650090000001731531212514"  # the fixture's cancelled note
    when = datetime(2018, 12, 14, 19, 33, 2, tzinfo=UTC)
    data = nfe_cancel_event_xml(
        chave=chave,
        note_protocolo="353180004176525",
        cancel_protocolo="353180004176526",
        motivo="Desistencia do comprador",
        cancelled_at=when,
    )
    ours = ET.fromstring(data)
    assert ours.tag == f"{NFE}procEventoNFe"
    inf = ours.find(f"{NFE}evento/{NFE}infEvento")
    real = ET.parse(FIXTURE_CANCEL).getroot().find(f"{NFE}evento/{NFE}infEvento")
    assert inf is not None and real is not None
    assert inf.get("Id") == real.get("Id") == f"ID110111{chave}01"
    assert [c.tag for c in inf] == [c.tag for c in real]
    for tag in ("cOrgao", "tpAmb", "CNPJ", "chNFe", "tpEvento", "nSeqEvento", "verEvento"):
        assert inf.findtext(NFE + tag) == real.findtext(NFE + tag), tag
    det, real_det = inf.find(f"{NFE}detEvento"), real.find(f"{NFE}detEvento")
    assert det is not None and real_det is not None
    assert [(c.tag, c.text) for c in det] == [(c.tag, c.text) for c in real_det]
    ret = ours.find(f"{NFE}retEvento/{NFE}infEvento")
    assert ret is not None
    assert ret.findtext(f"{NFE}cStat") == "135"
    assert ret.findtext(f"{NFE}nProt") == "353180004176526"
    assert ret.findtext(f"{NFE}chNFe") == chave
