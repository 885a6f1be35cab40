"""Discounts at the counter, keyboard only (issue 13, item 4): F3 on a line within the
cashier's limit needs no PIN; above it the manager's PIN is asked and audited; Shift+F3 gives
the whole sale a percent, apportioned to the lines; the total follows."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from posapp.domain.audit import Action
from posapp.ui.discount_dialog import DiscountDialog
from posapp.ui.main_window import MainWindow
from posapp.ui.models import CartModel
from posapp.ui.widgets import PinDialog
from tests.gui.conftest import (
    MakeCtx,
    focused,
    open_window,
    press,
    run,
    scan,
    type_text,
    wait_closed,
    wait_dialog,
)
from tests.gui.test_checkout import column, offline_config


@pytest.fixture
def window(qtbot: QtBot, make_ctx: MakeCtx) -> Iterator[MainWindow]:
    ctx = make_ctx(offline_config())  # logged in as "caixa", a cashier (limit 5 %)
    win = open_window(qtbot, ctx)
    yield win
    run(qtbot, win.shutdown())


def discount(qtbot: QtBot, text: str, key: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    press(qtbot, Qt.Key.Key_F3, key)
    dialog = wait_dialog(qtbot, DiscountDialog)
    type_text(qtbot, text)
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, dialog)


def discounts(window: MainWindow) -> list[tuple[str | None, str | None]]:
    """Who asked and who allowed each discount, oldest first."""
    entries = window.ctx.audit.entries()  # newest first
    return [(e.operator, e.authorized_by) for e in reversed(entries) if e.action == Action.DISCOUNT]


def test_item_discounts_within_and_above_the_limit_and_the_sale_discount(
    qtbot: QtBot, window: MainWindow
) -> None:
    scan(qtbot, window, "7898621001017")  # Arroz 27,90
    scan(qtbot, window, "7891153002125")  # Açúcar 4,99
    assert window.total_label.text() == "R$ 32,89"

    # F3 on the last line, 5 %: within the cashier's limit, no PIN.
    discount(qtbot, "5%")
    qtbot.waitUntil(lambda: window.total_label.text() == "R$ 32,64")  # 4,99 x 5 % = 0,2495 -> 0,25
    assert focused() is window.code
    assert column(window, CartModel.TOTAL) == [Decimal("27.90"), Decimal("4.74")]
    description = window.vm.model.index(1, CartModel.DESCRIPTION).data()
    assert "desconto -R$ 0,25" in description
    qtbot.waitUntil(lambda: discounts(window) == [("caixa", None)])

    # "1" then F3: item 1, 10 % is above 5 %: the PIN is asked; Esc gives up, nothing changes.
    type_text(qtbot, "1")
    discount(qtbot, "10%")
    pin = wait_dialog(qtbot, PinDialog)
    assert "passa do limite de 5 %" in pin.findChildren(type(window.message))[0].text()
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, pin)
    qtbot.waitUntil(lambda: window.flow is None)
    assert window.total_label.text() == "R$ 32,64"
    assert "Desconto não aplicado" in window.message.text()

    # Again, and the manager types the PIN: applied, audited with who allowed it.
    type_text(qtbot, "1")
    discount(qtbot, "10%")
    pin = wait_dialog(qtbot, PinDialog)
    type_text(qtbot, "1234")
    press(qtbot, Qt.Key.Key_Return)
    wait_closed(qtbot, pin)
    qtbot.waitUntil(lambda: window.total_label.text() == "R$ 29,85")  # 27,90 - 2,79 + 4,74
    qtbot.waitUntil(lambda: discounts(window) == [("caixa", None), ("caixa", "gerente")])

    # Shift+F3: 5 % of the whole sale (29,85 -> 1,49), apportioned to the lines.
    discount(qtbot, "5%", Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.total_label.text() == "R$ 28,36")
    assert column(window, CartModel.TOTAL) == [Decimal("23.86"), Decimal("4.50")]
    sale = window.vm.cart.check()
    assert [i.discount for i in sale.items] == [Decimal("4.04"), Decimal("0.49")]
    assert [i.sale_discount for i in sale.items] == [Decimal("1.25"), Decimal("0.24")]
    assert sale.discount_total == Decimal("4.53") and sale.total == Decimal("28.36")
    qtbot.waitUntil(lambda: len(discounts(window)) == 3)
    assert "Desconto na venda: 5 % = R$ 1,49" in window.message.text()

    # A value in reais too, and 0 removes it.
    discount(qtbot, "1,00", Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.total_label.text() == "R$ 28,85")
    discount(qtbot, "0", Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.total_label.text() == "R$ 29,85")


def test_a_discount_the_line_cannot_take_is_refused_in_the_dialog(qtbot: QtBot, window: MainWindow) -> None:
    scan(qtbot, window, "7891153002125")  # 4,99
    press(qtbot, Qt.Key.Key_F3)
    dialog = wait_dialog(qtbot, DiscountDialog)
    type_text(qtbot, "4,99")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible() and "menor que R$ 4,99" in dialog.error.text()
    dialog.field.clear()
    type_text(qtbot, "150%")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible() and "menor que 100" in dialog.error.text()
    press(qtbot, Qt.Key.Key_Escape)
    wait_closed(qtbot, dialog)
    assert window.total_label.text() == "R$ 4,99"
