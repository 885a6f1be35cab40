"""The payment dialog asks the description of an "Outros" payment (xPag, which SEFAZ
requires for tPag 99; issue 14 item 3), keyboard only, and offers static PIX (tPag 20)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from pytestqt.qtbot import QtBot

from posapp.domain.payments import PaymentMethod
from posapp.ui.payment_dialog import PaymentDialog
from posapp.ui.qt import QDialog, Qt
from tests.gui.conftest import focused, press, type_text, wait_closed


def _show(qtbot: QtBot, dialog: QDialog) -> None:
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)


def test_outros_asks_its_description_before_the_tender_counts(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    dialog = PaymentDialog(Decimal("30.00"))
    _show(qtbot, dialog)
    press(qtbot, Qt.Key.Key_F7)  # Outros
    assert dialog.other_box.isVisible() and not dialog.card_box.isVisible()
    type_text(qtbot, "20")
    press(qtbot, Qt.Key.Key_Return)
    assert focused() is dialog.description and dialog.payments == []
    press(qtbot, Qt.Key.Key_Return)  # no description: refused, with what to do
    assert dialog.payments == [] and "Descreva o pagamento 'Outros'" in dialog.error.text()
    assert focused() is dialog.description
    type_text(qtbot, "Cashback do app")
    press(qtbot, Qt.Key.Key_Return)
    (payment,) = dialog.payments
    assert (payment.method, payment.amount, payment.description) == (
        PaymentMethod.OUTROS,
        Decimal("20"),
        "Cashback do app",
    )
    assert dialog.tenders.item(0).text() == "Cashback do app: R$ 20,00"
    assert dialog.method is PaymentMethod.DINHEIRO and not dialog.other_box.isVisible()
    press(qtbot, Qt.Key.Key_F9)  # PIX estático for the rest
    press(qtbot, Qt.Key.Key_Return)
    assert [p.method.value for p in dialog.payments] == ["99", "20"]
    assert dialog.payments[1].description is None
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_a_card_state_asks_the_card_details_before_the_tender_counts(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    dialog = PaymentDialog(Decimal("30.00"), uf="RJ")
    _show(qtbot, dialog)
    assert "obrigatório em RJ" in dialog.card_authorization.placeholderText()
    press(qtbot, Qt.Key.Key_F2)  # credit
    press(qtbot, Qt.Key.Key_Return)  # the amount (what is owed)
    assert focused() is dialog.card_authorization
    type_text(qtbot, "A1B2C3")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.payments == [] and "Em RJ o cartão exige bandeira" in dialog.error.text()
    dialog.card_brand.setCurrentIndex(2)  # Mastercard
    dialog.card_acquirer.setText("01.027.058/0001-91")
    dialog.card_acquirer.setFocus()
    press(qtbot, Qt.Key.Key_Return)
    (payment,) = dialog.payments
    assert payment.card is not None and payment.card.complete
    assert (payment.card.brand, payment.card.acquirer_cnpj) == ("02", "01027058000191")
    dialog.reject()


def test_elsewhere_the_card_details_stay_optional(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    dialog = PaymentDialog(Decimal("30.00"), uf="SP")
    _show(qtbot, dialog)
    assert "opcional" in dialog.card_acquirer.placeholderText()
    press(qtbot, Qt.Key.Key_F3)  # debit
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Return)
    assert [p.method for p in dialog.payments] == [PaymentMethod.DEBITO]
    dialog.reject()
