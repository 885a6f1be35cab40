"""The history and the cancel dialog for an offline-contingency note not yet authorized
(issue 14 item 6): its window counts from its authorization, so it has not started; the
cancel stays possible (the issuer answers) and the screen says why there is no countdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pytestqt.qtbot import QtBot

from posapp.domain.lifecycle import SaleState
from posapp.services.results import SaleSummary
from posapp.ui.context import AppContext
from posapp.ui.history import CancelDialog
from posapp.ui.models import HistoryModel
from tests.gui.conftest import MakeCtx
from tests.gui.test_checkout import offline_config

NOW = datetime(2026, 8, 3, 15, 0, tzinfo=UTC)


@pytest.fixture
def ctx(make_ctx: MakeCtx) -> AppContext:
    return make_ctx(offline_config(), login="gerente")


def summary(*, pending: bool, deadline: datetime | None) -> SaleSummary:
    return SaleSummary(
        sale_id="s1",
        created_at=NOW - timedelta(hours=2),
        state=SaleState.AUTHORIZED,
        total=Decimal("9.98"),
        operator="caixa",
        backend="emites",
        chave=None,
        numero=1,
        serie=1,
        authorized_at=NOW - timedelta(hours=2),
        cancel_deadline=deadline,
        window_pending=pending,
    )


def test_the_history_keeps_a_pending_offline_note_cancellable(qtbot: QtBot) -> None:
    model = HistoryModel(lambda: NOW)
    pending = summary(pending=True, deadline=None)
    closed = summary(pending=False, deadline=NOW - timedelta(minutes=1))
    model.set_rows([pending, closed])
    assert model.cancellable(pending) and not model.cancellable(closed)
    texts = [model.data(model.index(row, HistoryModel.DEADLINE)) for row in range(2)]
    assert texts == ["após autorização", "encerrado"]


def test_the_cancel_dialog_says_the_window_starts_at_the_authorization(qtbot: QtBot, ctx: AppContext) -> None:
    dialog = CancelDialog(ctx, summary(pending=True, deadline=None))
    qtbot.addWidget(dialog)
    assert dialog.window_open
    assert dialog.remaining_label.text() == "Prazo: 30 min após a autorização (NFC-e em contingência)"
    assert "Passou o prazo" not in dialog.error.text()
    dialog.reject()
