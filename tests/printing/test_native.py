"""The native DANFE, printed from the fixtures and simulator-like notes at both widths,
decoded back and checked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posapp.domain.money import format_brl
from posapp.printing import CancelMark, ReceiptOptions, parse_danfe_xml, render_danfe
from posapp.printing.escpos_decode import QrCode, TextLine
from posapp.printing.options import PaperWidth
from tests.printing import notes
from tests.printing.checks import MIN_QR_DOTS, assert_well_formed, decode, flat, has_row, read_qr

PAPERS: list[PaperWidth] = [58, 80]


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("note", sorted(notes.NOTES))
def test_native_danfe_content(paper: PaperWidth, note: str) -> None:
    xml = notes.NOTES[note]()
    data = parse_danfe_xml(xml)
    options = ReceiptOptions(paper_mm=paper, open_drawer=True)
    stream = render_danfe(xml=xml, options=options)
    receipt = decode(stream, options)  # raises on any byte it does not understand
    copies = 2 if data.pending_contingency else 1  # Via Consumidor and Via Estabelecimento
    assert_well_formed(receipt, options, copies=copies)
    text = flat(receipt)

    assert len(receipt.qr_codes) == copies
    for qr in receipt.qr_codes:
        assert qr.text == data.qr_code
        assert MIN_QR_DOTS <= qr.width_dots <= options.width_dots

    key = " ".join(data.chave[i : i + 4] for i in range(0, 44, 4))
    assert key in text
    assert "Consulte pela Chave de Acesso em" in text
    assert data.url_chave in receipt.text.replace("\n", "")
    assert has_row(receipt, "Valor a Pagar R$", format_brl(data.total))
    assert has_row(receipt, "Qtde. total de itens", str(data.item_count))
    for payment in data.payments:
        assert has_row(receipt, payment.label, format_brl(payment.amount))
    assert has_row(receipt, "Troco R$", format_brl(data.change))
    assert "HOMOLOGAÇÃO" in text  # decoded in the code page the stream selected
    assert f"NFC-e nº {data.numero} Série {data.serie}" in text
    assert "Lei Federal 12.741/2012" in text

    # Cash opens the drawer; nothing else does.
    assert len(receipt.drawer_pulses) == (1 if data.had_cash else 0)
    assert len(stream) <= 6 * 1024 * copies


def test_blocks_follow_the_manual_order() -> None:
    options = ReceiptOptions(paper_mm=80)
    receipt = decode(render_danfe(xml=notes.accented_cash_xml(), options=options), options)
    order = [
        "Pão de Açúcar",
        "CNPJ: 22.769.530/0001-31",
        "DANFE NFC-e",
        "HOMOLOGAÇÃO",
        "001 14600 Pão francês crocante",
        "Valor a Pagar R$",
        "FORMA DE PAGAMENTO",
        "Troco R$",
        "Consulte pela Chave de Acesso em",
        "CONSUMIDOR - CPF: 861.522.888-43",
        "Protocolo de autorização: 353180004134006",
        "QR",
        "Tributos Totais Incidentes",
        "Obrigado pela preferência!",
    ]

    def position(wanted: str) -> int:
        for index, event in enumerate(receipt.events):
            if wanted == "QR" and isinstance(event, QrCode):
                return index
            if isinstance(event, TextLine) and wanted in event.text:
                return index
        pytest.fail(f"{wanted!r} not printed")

    positions = [position(wanted) for wanted in order]
    assert positions == sorted(positions)


@pytest.mark.parametrize("paper", PAPERS)
def test_accented_names_decode_exactly(paper: PaperWidth) -> None:
    options = ReceiptOptions(paper_mm=paper)
    receipt = decode(render_danfe(xml=notes.accented_cash_xml(), options=options), options)
    text = flat(receipt)
    for word in ("Pão de Açúcar", "São Paulo", "Luís Antônio", "Açúcar refinado União", "Distribuição"):
        assert word in text
    assert "crocante - fornada" in text  # the en dash is not in PC860: folded, not garbled
    assert has_row(receipt, "Troco R$", "96,10")
    assert has_row(receipt, "Dinheiro", "700,00")


@pytest.mark.parametrize(
    ("codepage", "table", "expected_table"),
    [("cp850", None, 2), ("pc858", None, 19), ("wpc1252", None, 16), ("cp860", 55, 55)],
)
def test_selectable_code_pages(codepage: str, table: int | None, expected_table: int) -> None:
    options = ReceiptOptions(paper_mm=80, codepage=codepage, codepage_table=table)
    receipt = decode(render_danfe(xml=notes.accented_cash_xml(), options=options), options)
    assert_well_formed(receipt, options)
    assert {s.table for s in receipt.codepage_selections} == {expected_table}
    text = flat(receipt)
    assert "HOMOLOGAÇÃO" in text and "São Paulo" in text and "Pão de Açúcar" in text


def test_notices_and_consumers() -> None:
    options = ReceiptOptions(paper_mm=80)
    contingency = flat(decode(render_danfe(xml=notes.contingency_xml(), options=options), options))
    assert "EMITIDA EM CONTINGÊNCIA" in contingency and "Pendente de autorização" in contingency
    assert "Protocolo de autorização" not in contingency
    unidentified = decode(render_danfe(xml=notes.discount_xml(), options=options), options)
    assert "CONSUMIDOR NÃO IDENTIFICADO" in flat(unidentified)
    assert has_row(unidentified, "Descontos R$", "-3,90")
    assert "Desconto -3,90" in flat(unidentified)
    company = flat(decode(render_danfe(xml=notes.cnpj_consumer_xml(), options=options), options))
    assert "CONSUMIDOR - CNPJ: 11.222.333/0001-81" in company
    production = notes.authorized_xml().replace(b"<tpAmb>2</tpAmb>", b"<tpAmb>1</tpAmb>")
    assert "HOMOLOGAÇÃO -" not in flat(decode(render_danfe(xml=production, options=options), options))


@pytest.mark.parametrize("paper", PAPERS)
def test_raster_qr_fallback_for_printers_without_native_qr(paper: PaperWidth) -> None:
    options = ReceiptOptions(paper_mm=paper, native_qr=False)
    receipt = decode(render_danfe(xml=notes.authorized_xml(), options=options), options)
    assert receipt.qr_codes == []
    (image,) = receipt.images
    payload, width = read_qr(image)
    assert payload == parse_danfe_xml(notes.authorized_xml()).qr_code
    assert width >= MIN_QR_DOTS - 10  # zxing measures between corner module centres


def test_drawer_cut_and_cancel_options() -> None:
    xml = notes.authorized_xml()  # paid in cash
    shut = ReceiptOptions(paper_mm=80, open_drawer=False, cut=False)
    receipt = decode(render_danfe(xml=xml, options=shut), shut)
    assert receipt.drawer_pulses == []
    assert_well_formed(receipt, shut, cut=False)

    when = datetime(2018, 10, 9, 13, 10, 0, tzinfo=UTC)
    cancelled = replace(shut, cut=True, cancelled=CancelMark(protocol="353180004176525", cancelled_at=when))
    receipt = decode(render_danfe(xml=xml, options=cancelled), cancelled)
    assert_well_formed(receipt, cancelled)
    banner = receipt.text_lines[0]
    assert "CANCELADA" in banner.text and banner.bold and banner.width == 2
    text = flat(receipt)
    assert "Protocolo de cancelamento: 353180004176525" in text
    assert "Cancelada em 09/10/2018 10:10:00" in text  # shown in the note's own time zone (-03:00)


_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=160).filter(
    lambda s: s.strip() != ""
)


@settings(max_examples=40, deadline=None)
@given(
    product=_TEXT,
    emitter=_TEXT,
    info=_TEXT,
    paper=st.sampled_from(PAPERS),
    codepage=st.sampled_from(["cp860", "cp1252"]),
)
def test_any_text_lays_out_within_the_paper_and_decodes(
    product: str, emitter: str, info: str, paper: PaperWidth, codepage: str
) -> None:
    options = ReceiptOptions(paper_mm=paper, codepage=codepage)
    xml = notes.with_texts(product=product, emitter=emitter, info=info)
    receipt = decode(render_danfe(xml=xml, options=options), options)  # no overflow, nothing undecodable
    assert_well_formed(receipt, options)
    squeezed = "".join(options.page.fold(product).split())  # wrapping may break anywhere
    assert squeezed in "".join(receipt.text.split())
