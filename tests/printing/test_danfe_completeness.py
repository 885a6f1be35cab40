"""DANFE completeness, native layout (issue 14 item 7), checked on the real ESC/POS bytes
decoded back: the two vias of a pending offline-contingency note, each notice once, the
payment's own description instead of "Outros", the consumer's address, the fiscal message
(infAdFisco and SEFAZ's xMsg) and the obsCont fields. The XML comes from the simulators'
NFC-e generator, the same that answers the issuers' requests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from posapp.printing.danfe_model import parse_danfe_xml
from posapp.printing.native import VIA_CONSUMER, VIA_ESTABLISHMENT
from posapp.printing.options import PaperWidth, ReceiptOptions
from posapp.printing.render import render_danfe
from posapp.sim.nfce_xml import (
    SANDBOX_EMITTER,
    SimAddress,
    SimItem,
    SimNote,
    SimPayment,
    build_nfeproc_xml,
    make_chave,
)
from tests.printing.checks import assert_well_formed, decode, flat, has_row

EMITTED = datetime(2026, 8, 3, 13, 40, tzinfo=UTC)
ADDRESS = SimAddress(
    street="SQN 210 Bloco B",
    number="102",
    complement="apto 3",
    district="Asa Norte",
    city_code="5300108",
    city="Brasília",
    uf="DF",
    cep="70862020",
)


def note(*, contingency: bool = False, **changes: object) -> bytes:
    chave = make_chave(
        emitter=SANDBOX_EMITTER,
        serie=1,
        numero=77,
        emitted_at=EMITTED,
        code="24681357",
        tp_emis=9 if contingency else 1,
    )
    base = SimNote(
        chave=chave,
        numero=77,
        serie=1,
        emitted_at=EMITTED,
        authorized_at=EMITTED + timedelta(seconds=2),
        protocolo=None if contingency else "353260000000077",
        tp_emis=9 if contingency else 1,
        items=(
            SimItem(
                code="1",
                description="Arroz 5kg",
                ncm="10063021",
                quantity=Decimal("1"),
                unit_price=Decimal("25.90"),
            ),
        ),
        payments=(
            SimPayment("99", Decimal("20.00"), description="Cashback do app"),
            SimPayment("01", Decimal("10.00")),
        ),
        customer_document="52998224725",
        customer_name="Maria da Silva",
        customer_address=ADDRESS,
        inf_cpl="Obrigado pela preferência",
        inf_ad_fisco="Regime especial conforme TARE 123/2026",
        obs_cont=(("PEDIDO", "ENTREGA 4471"),),
        sefaz_message=("201", "Contribuinte: regularize o cadastro até 30/09"),
    )
    return build_nfeproc_xml(replace(base, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize("paper", [58, 80])
def test_everything_the_note_says_is_printed_once(paper: PaperWidth) -> None:
    options = ReceiptOptions(paper_mm=paper, open_drawer=True)
    receipt = decode(render_danfe(xml=note(), options=options), options)
    assert_well_formed(receipt, options)
    text = flat(receipt)
    assert has_row(receipt, "Cashback do app", "20,00")  # the payment's description, not "Outros"
    assert "Outros" not in text
    assert has_row(receipt, "Dinheiro", "10,00")
    assert "SQN 210 Bloco B, 102, apto 3, Asa Norte, Brasília - DF" in text
    assert text.count("Mensagem Fiscal") == 1
    assert "Regime especial conforme TARE 123/2026" in text
    assert "Contribuinte: regularize o cadastro até 30/09" in text
    assert "PEDIDO: ENTREGA 4471" in text
    assert "Obrigado pela preferência" in text
    assert VIA_CONSUMER not in text and VIA_ESTABLISHMENT not in text  # one via when authorized
    assert "CONTINGÊNCIA" not in text and "Pendente" not in text
    assert len(receipt.drawer_pulses) == 1


@pytest.mark.parametrize("paper", [58, 80])
def test_a_pending_offline_note_prints_two_vias_each_notice_once(paper: PaperWidth) -> None:
    options = ReceiptOptions(paper_mm=paper, open_drawer=True)
    xml = note(contingency=True, sefaz_message=None)
    assert parse_danfe_xml(xml).pending_contingency
    receipt = decode(render_danfe(xml=xml, options=options), options)
    assert_well_formed(receipt, options, copies=2)
    text = receipt.text
    consumer_at, establishment_at = text.find(VIA_CONSUMER), text.find(VIA_ESTABLISHMENT)
    assert 0 <= consumer_at < establishment_at
    assert text.count(VIA_CONSUMER) == 1 and text.count(VIA_ESTABLISHMENT) == 1
    second = text.find(text.splitlines()[0], 1)  # the second copy starts with the emitter again
    assert consumer_at < second < establishment_at
    for via in (text[:second], text[second:]):
        assert via.count("EMITIDA EM CONTINGÊNCIA") == 1
        assert via.count("Pendente de autorização") == 1
        assert "Protocolo de autorização" not in via
    assert len(receipt.qr_codes) == 2
    assert len(receipt.drawer_pulses) == 1  # only the consumer's via opens the drawer


def test_an_authorized_contingency_note_prints_once_with_its_protocol() -> None:
    options = ReceiptOptions(paper_mm=80)
    xml = note(contingency=True, protocolo="353260000000078")
    receipt = decode(render_danfe(xml=xml, options=options), options)
    assert_well_formed(receipt, options)
    text = flat(receipt)
    assert text.count("EMITIDA EM CONTINGÊNCIA") == 1 and "Pendente" not in text
    assert "Protocolo de autorização: 353260000000078" in text
