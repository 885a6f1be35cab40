"""The slip of a cash movement, for signature: decoded back from its ESC/POS bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from posapp.printing.cash_slip import NOT_FISCAL, SIGNATURE_LINE, render_cash_slip
from posapp.printing.escpos_decode import decode_escpos
from posapp.printing.options import ReceiptOptions

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 01/03 22:30 in São Paulo


@pytest.mark.parametrize("paper_mm", [80, 58])
def test_the_slip_says_what_who_when_and_has_two_signature_lines(paper_mm: int) -> None:
    options = ReceiptOptions(paper_mm=paper_mm, open_drawer=True)  # type: ignore[arg-type]
    data = render_cash_slip(
        label="Sangria",
        amount=Decimal("600.00"),
        sign=-1,
        at=AT,
        operator="caixa",
        authorized_by="gerente",
        note="cofre da loja",
        drawer_before=Decimal("100.00"),
        warning="A sangria é maior que o dinheiro esperado no caixa.",
        options=options,
        tz=ZoneInfo("America/Sao_Paulo"),
        store_name="MERCADO DO ZÉ",
    )
    decoded = decode_escpos(data, columns=options.columns)
    text = decoded.text
    lines = decoded.lines
    assert "COMPROVANTE DE SANGRIA" in text
    assert NOT_FISCAL in text
    assert "MERCADO DO ZÉ" in text
    assert "Data 01/03/2026 22:30:00" in text  # the store's time, not UTC
    assert "Operador: caixa" in text and "Autorizado por: gerente" in text
    assert "Observação: cofre da loja" in text
    assert any(line.startswith("Sangria R$") and line.endswith("600,00") for line in lines)
    assert any(line.startswith("Caixa esperado antes R$") and line.endswith("100,00") for line in lines)
    assert any(line.startswith("Caixa esperado depois R$") and line.endswith("-500,00") for line in lines)
    flowing = " ".join(text.split())  # wrapped lines joined
    assert "ATENÇÃO: A sangria é maior que o dinheiro esperado no caixa." in flowing
    assert [line for line in lines if line == SIGNATURE_LINE * options.columns] != []
    assert len([line for line in lines if line == SIGNATURE_LINE * options.columns]) == 2
    assert "Operador" in lines and "Gerente / responsável" in lines
    assert all(len(line) <= options.columns for line in lines)
    assert decoded.drawer_pulses == []  # a slip never opens the drawer
    assert len(decoded.cuts) == 1


def test_a_suprimento_without_drawer_figures_or_warning() -> None:
    data = render_cash_slip(
        label="Suprimento",
        amount=Decimal("50.00"),
        sign=1,
        at=AT,
        operator="caixa",
        options=ReceiptOptions(),
        tz=UTC,
    )
    text = decode_escpos(data).text
    assert "COMPROVANTE DE SUPRIMENTO" in text
    assert "Data 02/03/2026 01:30:00" in text
    assert "Autorizado por" not in text and "ATENÇÃO" not in text and "esperado" not in text


def test_copies_are_cut_apart() -> None:
    data = render_cash_slip(
        label="Sangria",
        amount=Decimal("1.00"),
        sign=-1,
        at=AT,
        operator="c",
        options=ReceiptOptions(),
        copies=2,
    )
    decoded = decode_escpos(data)
    assert len(decoded.cuts) == 2
    assert decoded.text.count("COMPROVANTE DE SANGRIA") == 2
