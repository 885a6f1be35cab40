"""Issue 15 item 3: the sales history says which sales are archived ("arquivado")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from pytestqt.qtbot import QtBot

from posapp.domain.lifecycle import SaleState
from posapp.services.results import SaleSummary
from posapp.ui.models import HistoryModel

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_an_archived_sale_is_labelled_in_the_history(qtbot: QtBot) -> None:
    live = SaleSummary("a", T0, SaleState.AUTHORIZED, Decimal("10.00"), None, "emites", None, 1, 1, T0, None)
    archived = replace(live, sale_id="b", created_at=T0.replace(hour=11), archived="2026-11")
    model = HistoryModel(lambda: T0)
    model.set_rows([live, archived])
    assert model.data(model.index(0, HistoryModel.STATE)) == SaleState.AUTHORIZED.label
    assert model.data(model.index(1, HistoryModel.STATE)) == f"{SaleState.AUTHORIZED.label} (arquivado)"
