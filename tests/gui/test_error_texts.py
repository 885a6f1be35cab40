"""No English developer text reaches the cashier: an error without a Portuguese
``user_message`` raised inside a flow shows the generic Portuguese sentence with a
reference, and the log (``posapp.ui``) has that reference with the detail and traceback.
A known error keeps its own Portuguese words and logs no error."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from posapp.catalog.errors import CatalogError
from posapp.domain.sale import Sale
from posapp.errors import REFERENCE_PATTERN
from posapp.fiscal.errors import FiscalError
from posapp.services.pos import PosService
from posapp.services.results import IssueReport
from posapp.ui.payment_dialog import PaymentDialog
from posapp.ui.widgets import MessageDialog
from tests.gui.conftest import Clock, open_window, press, run, scan, service_factory, wait_closed, wait_dialog
from tests.gui.test_checkout import offline_config

BEER = "7891000315507"
DETAIL = "request prepared for 'focusnfe' sent to 'emites'"
# Words of the developer's detail that must not be on screen.
ENGLISH = re.compile(r"\b(request|prepared|sent|FiscalError|CatalogError|btree|page|corrupt|Traceback)\b")


class IssuerBug(PosService):
    """The issuer adapter raises one of our errors without a user message: a bug."""

    async def issue(self, sale: Sale, *, print_receipt: bool = True) -> IssueReport:
        raise FiscalError(DETAIL)


def _reference_logged(caplog: pytest.LogCaptureFixture, text: str, detail: str) -> logging.LogRecord:
    match = REFERENCE_PATTERN.search(text)
    assert match is not None, text
    reference = match.group(1)
    records = [
        r
        for r in caplog.records
        if r.name == "posapp.ui" and r.levelno == logging.ERROR and reference in r.getMessage()
    ]
    assert len(records) == 1, [r.getMessage() for r in caplog.records]
    record = records[0]
    assert detail in record.getMessage()
    assert record.exc_info is not None and detail in str(record.exc_info[1])  # with its traceback
    return record


def test_an_error_without_a_user_message_while_issuing_shows_a_reference_and_no_english(
    qtbot: Any, make_ctx: Any, tmp_path: Path, clock: Clock, expected_ui_errors: pytest.LogCaptureFixture
) -> None:
    ctx = make_ctx(offline_config(), factory=service_factory(tmp_path, clock, IssuerBug))
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, BEER)
        press(qtbot, Qt.Key.Key_F10)
        payment = wait_dialog(qtbot, PaymentDialog)
        press(qtbot, Qt.Key.Key_Return)  # the amount owed, in cash
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, payment)
        message = wait_dialog(qtbot, MessageDialog, timeout=15000)
        text = message.text_label.text()
        assert text.startswith("Ocorreu um erro inesperado. Referência: ")
        assert "informe ao suporte" in text and "registro fiscal" in text
        assert not ENGLISH.search(text), text
        record = _reference_logged(expected_ui_errors, text, DETAIL)
        assert "failed unexpectedly" in record.getMessage()  # what was being done, for support
        press(qtbot, Qt.Key.Key_Return)
        wait_closed(qtbot, message)
        qtbot.waitUntil(lambda: window.flow is None and not window.issuing)
    finally:
        run(qtbot, window.shutdown())


def test_an_error_without_a_user_message_in_a_scan_shows_a_reference_on_the_message_line(
    qtbot: Any, make_ctx: Any, monkeypatch: pytest.MonkeyPatch, expected_ui_errors: pytest.LogCaptureFixture
) -> None:
    ctx = make_ctx(offline_config())
    window = open_window(qtbot, ctx)

    def broken_find(code: str) -> None:
        raise CatalogError(f"btree page 7 corrupt while looking up {code}")

    try:
        monkeypatch.setattr(ctx.catalog, "find", broken_find)
        scan(qtbot, window, BEER)
        text = window.message.text()
        assert text.startswith("Ocorreu um erro inesperado. Referência: ")
        assert not ENGLISH.search(text), text
        _reference_logged(expected_ui_errors, text, "btree page 7 corrupt")
        assert window.vm.cart.is_empty
    finally:
        run(qtbot, window.shutdown())


def test_a_known_error_keeps_its_portuguese_words_and_logs_no_error(
    qtbot: Any, make_ctx: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = make_ctx(offline_config())
    window = open_window(qtbot, ctx)
    try:
        scan(qtbot, window, "0*" + BEER)  # a quantity of zero
        assert window.message.text() == "Quantidade inválida."
        assert REFERENCE_PATTERN.search(window.message.text()) is None
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        run(qtbot, window.shutdown())
