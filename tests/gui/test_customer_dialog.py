"""F4 asks the consumer (issue 14 item 4), keyboard only: CPF or CNPJ (alphanumeric too),
name and address, and whether the sale is delivered; the sale then carries them."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from pytestqt.qtbot import QtBot

from posapp.catalog.products import Product
from posapp.domain.payments import PaymentMethod
from posapp.domain.sale import Payment
from posapp.ui.cart import Cart, CartLine
from posapp.ui.dialogs import CustomerDialog
from posapp.ui.qt import QDialog, Qt
from tests.gui.conftest import focused, press, type_text, wait_closed


def _show(qtbot: QtBot, dialog: QDialog) -> None:
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)


def test_cpf_then_enter_is_still_the_quick_path(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    dialog = CustomerDialog(None)
    _show(qtbot, dialog)
    type_text(qtbot, "12.ABC.345/01DE-35")
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, dialog)
    assert dialog.customer is not None and dialog.customer.document == "12ABC34501DE35"
    assert dialog.document == "12ABC34501DE35" and not dialog.delivery


def test_a_delivery_takes_name_and_address(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    dialog = CustomerDialog(None)
    _show(qtbot, dialog)
    type_text(qtbot, "529.982.247-25")
    for widget, text in (
        (dialog.name, "Maria da Silva"),
        (dialog.street, "SQN 210 Bloco B"),
        (dialog.number, "102"),
        (dialog.district, "Asa Norte"),
        (dialog.city, "Brasilia"),  # QTest types ASCII keys
        (dialog.city_code, "5300108"),
        (dialog.uf, "df"),
        (dialog.cep, "70862-020"),
    ):
        while focused() is not widget:
            press(qtbot, Qt.Key.Key_Tab)
        type_text(qtbot, text)
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is dialog.delivery_box
    press(qtbot, Qt.Key.Key_Space)
    press(qtbot, Qt.Key.Key_Backtab)
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, dialog)
    customer = dialog.customer
    assert customer is not None and dialog.delivery
    assert (customer.name, customer.address is not None and customer.address.one_line()) == (
        "Maria da Silva",
        "SQN 210 Bloco B, 102, Asa Norte, Brasilia - DF",
    )
    cart = Cart(customer=customer, delivery=True)
    rice = Product("1", "Arroz", "10063021", Decimal("5.00"))
    cart.lines.append(CartLine(1, rice, Decimal("1"), Decimal("5.00")))
    sale = cart.to_sale([Payment(method=PaymentMethod.DINHEIRO, amount=Decimal("5.00"))], operator=None)
    assert sale.delivery and sale.customer == customer


def test_a_delivery_without_an_address_is_refused_with_the_reason(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    dialog = CustomerDialog(None)
    _show(qtbot, dialog)
    type_text(qtbot, "529.982.247-25")
    dialog.delivery_box.setChecked(True)
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible() and "exige nome e endereço" in dialog.error.text()
    dialog.city_code.setText("53")
    dialog.name.setText("Maria")
    dialog.field.setFocus()
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.error.text().startswith("Endereço incompleto: preencha Logradouro, Número, Bairro")
    for widget, text in (
        (dialog.street, "Rua A"),
        (dialog.number, "1"),
        (dialog.district, "Centro"),
        (dialog.city, "Brasília"),
        (dialog.uf, "DF"),
        (dialog.cep, "70040010"),
    ):
        widget.setText(text)
    dialog.field.setFocus()
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible() and "código IBGE" in dialog.error.text()
    dialog.reject()
