"""The non-fiscal slip of a queued or in-doubt sale (issue 13, item 2), read back by our decoder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from posapp.domain.sale import Sale
from posapp.printing.escpos_decode import decode_escpos
from posapp.printing.options import ReceiptOptions
from posapp.printing.pending_slip import render_pending_slip

BRASILIA = timezone(timedelta(hours=-3))


def _sale() -> Sale:
    return Sale.model_validate(
        {
            "sale_id": "V20240101-0042",
            "items": [
                {
                    "code": "789100",
                    "description": "Pão de queijo congelado 1 kg — embalagem família com açúcar",
                    "ncm": "19059090",
                    "quantity": "2",
                    "unit_price": "18.90",
                },
                {
                    "code": "42",
                    "description": "Café torrado",
                    "ncm": "09012100",
                    "quantity": "1",
                    "unit_price": "12.30",
                },
            ],
            "payments": [
                {"method": "debito", "amount": "20.00"},
                {"method": "dinheiro", "amount": "50.00"},
            ],
        }
    )


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_the_slip_says_what_it_is_and_what_was_sold(paper_mm: int) -> None:
    options = ReceiptOptions(paper_mm=paper_mm)  # type: ignore[arg-type]
    at = datetime(2024, 1, 1, 15, 4, 5, tzinfo=UTC)
    data = render_pending_slip(_sale(), at=at, options=options, tz=BRASILIA)
    decoded = decode_escpos(data, columns=options.columns, width_dots=options.width_dots)
    text = decoded.text
    flat = " ".join(text.split())
    assert decoded.lines[0].strip() == "NFC-e PENDENTE"
    assert "NÃO É DOCUMENTO FISCAL" in text
    assert "V20240101-0042" in flat
    assert "01/01/2024 12:04:05" in text  # the store's time, not UTC
    assert "Pão de queijo congelado" in flat
    assert "2 UN x 18,90 = 37,80" in text
    assert "Café torrado" in flat
    total = next(line for line in decoded.lines if line.startswith("Valor total R$"))
    assert total.endswith("50,10")
    assert any(line.startswith("Dinheiro") and line.endswith("50,00") for line in decoded.lines)
    assert any("Débito" in line and line.endswith("20,00") for line in decoded.lines)
    troco = next(line for line in decoded.lines if line.startswith("Troco R$"))
    assert troco.endswith("19,90")
    assert "será emitida quando o emissor voltar" in flat
    assert "DANFE será impresso" in flat
    assert decoded.cuts
    assert not decoded.drawer_pulses  # the printer is not set to open the drawer
    assert all(len(line) <= options.columns for line in decoded.lines)


def test_an_in_doubt_slip_says_the_store_checks_it() -> None:
    options = ReceiptOptions(paper_mm=80)
    at = datetime(2024, 1, 1, 15, 4, 5, tzinfo=UTC)
    flat = " ".join(
        decode_escpos(render_pending_slip(_sale(), at=at, options=options, in_doubt=True)).text.split()
    )
    assert "NFC-e PENDENTE" in flat
    assert "não respondeu" in flat
    assert "A loja confere a NFC-e" in flat


def test_a_cash_sale_opens_the_drawer_for_the_change() -> None:
    options = ReceiptOptions(paper_mm=80, open_drawer=True)
    at = datetime(2024, 1, 1, 15, 4, 5, tzinfo=UTC)
    decoded = decode_escpos(render_pending_slip(_sale(), at=at, options=options))
    assert len(decoded.drawer_pulses) == 1


def test_a_discount_is_shown() -> None:
    sale = Sale.model_validate(
        {
            "items": [
                {
                    "code": "1",
                    "description": "Arroz",
                    "ncm": "10063021",
                    "quantity": "1",
                    "unit_price": "10.00",
                    "discount": "1.50",
                }
            ],
            "payments": [{"method": "pix", "amount": "8.50"}],
        }
    )
    decoded = decode_escpos(
        render_pending_slip(sale, at=datetime(2024, 1, 1, tzinfo=UTC), options=ReceiptOptions())
    )
    assert any(line.strip() == "Desconto -1,50" for line in decoded.lines)
    assert any(line.startswith("Descontos R$") and line.endswith("-1,50") for line in decoded.lines)
    assert any(line.startswith("Valor total R$") and line.endswith("8,50") for line in decoded.lines)
