"""The fiscal month dialog (Ctrl+F9, a manager): check the month, see the gap, inutilize it
through the Integra Notas simulator, export the ZIP with its progress bar — with the keys
on screen — and the dialog fits a 1024×768 till."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from posapp.domain.lifecycle import SaleState
from posapp.resources import load_stylesheet
from posapp.services.core import Authorization
from posapp.ui.fiscal_month_dialog import FiscalMonthDialog
from tests.gui.conftest import MakeCtx, open_window, press, run, type_text
from tests.support.issuers import Issuers
from tests.support.sales import make_sale

WHY = "Numero reservado e nunca enviado ao emissor"


@pytest.fixture
def issuers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Issuers]:
    for key, value in Issuers.token_env().items():
        monkeypatch.setenv(key, value)
    bundle = Issuers()
    bundle.set_up(emites=False, focus=False, integra=True)
    yield bundle
    bundle.close()


def _dialog() -> FiscalMonthDialog:
    dialogs = [
        w for w in QApplication.topLevelWidgets() if isinstance(w, FiscalMonthDialog) and w.isVisible()
    ]
    assert len(dialogs) == 1
    return dialogs[0]


def test_a_manager_checks_inutilizes_the_gap_and_exports_the_month(
    qtbot: QtBot, make_ctx: MakeCtx, issuers: Issuers, tmp_path: Path
) -> None:
    ctx = make_ctx(issuers.config(), login="gerente")
    service = ctx.service
    for index in (1, 2):
        report = run(qtbot, service.issue(make_sale(index), print_receipt=False))
        assert report.state is SaleState.AUTHORIZED
        if index == 1:  # número 2 handed out and never sent
            run(
                qtbot,
                service.core.db(
                    service.journal.reserve_number, "integranotas", 2, "ghost", datetime.now(UTC)
                ),
            )
    window = open_window(qtbot, ctx)
    try:
        press(qtbot, Qt.Key.Key_F9, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(
            lambda: any(
                isinstance(w, FiscalMonthDialog) and w.isVisible() for w in QApplication.topLevelWidgets()
            )
        )
        dialog = _dialog()
        now = datetime.now(UTC).astimezone(ctx.config.store.tz)
        dialog.month.setFocus()
        dialog.month.selectAll()
        type_text(qtbot, f"{now:%Y-%m}")
        press(qtbot, Qt.Key.Key_F2)
        qtbot.waitUntil(lambda: "autorizada" in dialog.summary.text(), timeout=15000)
        assert "2 autorizada(s)" in dialog.summary.text()
        assert "numerada por este caixa" in dialog.gaps.item(0).text()  # the série's heading
        assert dialog.gaps.item(1).text() == "Série 2: 2 — a inutilizar"

        dialog.gaps.setFocus()
        press(qtbot, Qt.Key.Key_Down)  # the gap fills the form
        assert (dialog.serie.value(), dialog.first.value(), dialog.last.value()) == (2, 2, 2)
        dialog.justificativa.setFocus()
        type_text(qtbot, WHY)
        press(qtbot, Qt.Key.Key_F8)
        qtbot.waitUntil(lambda: "homologada" in dialog.outcome.text(), timeout=15000)
        [record] = issuers.integra.inutilizacoes.records
        assert (record.serie, record.first, record.last) == (2, 2, 2)
        listed = [dialog.gaps.item(i).text() for i in range(dialog.gaps.count())]
        assert [t for t in listed if record.protocolo in t and "inutilizada" in t], listed
        assert not [t for t in listed if "a inutilizar" in t], listed

        out = tmp_path / "contador.zip"
        dialog.path.setFocus()
        dialog.path.selectAll()
        type_text(qtbot, str(out))
        press(qtbot, Qt.Key.Key_F4)
        qtbot.waitUntil(lambda: "Exportado" in dialog.outcome.text(), timeout=15000)
        assert dialog.progress.value() == dialog.progress.maximum()
        with zipfile.ZipFile(out) as archive:
            names = archive.namelist()
        assert len([n for n in names if n.startswith("NFCe/")]) == 2
        assert "Inutilizacoes/2-2-2.xml" in names  # the protocol's proof goes to the accountant

        press(qtbot, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not dialog.isVisible())
    finally:
        run(qtbot, window.shutdown())


def test_the_dialog_fits_a_1024x768_screen(
    qtbot: QtBot, make_ctx: MakeCtx, issuers: Issuers, qapp: QApplication
) -> None:
    qapp.setStyleSheet(load_stylesheet())
    try:
        ctx = make_ctx(issuers.config(), login="gerente")
        dialog = FiscalMonthDialog(ctx, Authorization("gerente", "gerente"))
        qtbot.addWidget(dialog)
        for n in range(60):
            dialog.gaps.addItem(
                f"Série 999: {n * 1000 + 1} a {n * 1000 + 999} — a inutilizar (numerada pelo emissor: "
                "as lacunas podem ser notas de outro caixa; confira no emissor antes de inutilizar)"
            )
        dialog.say(
            "Rejeição: " + "Uma NF-e da faixa já está inutilizada na Base de dados da SEFAZ " * 4, "error"
        )
        dialog.show()
        qtbot.waitExposed(dialog)
        layout = dialog.layout()
        assert layout is not None
        layout.activate()
        hint, floor = dialog.minimumSizeHint(), dialog.minimumSize()
        size = QSize(max(hint.width(), floor.width()), max(hint.height(), floor.height()))
        assert size.width() <= 1024 - 16 and size.height() <= 768 - 48, size
        run(qtbot, dialog.aclose())
    finally:
        qapp.setStyleSheet("")
