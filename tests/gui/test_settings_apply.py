"""F11 saving: the service is rebuilt only when the fiscal/printer configuration changed,
and then in order — the drainer stops, the new service is built off the GUI thread and not
"started" (start-up recovery is once per process), the old one is closed, a new drainer
runs on the new service. And a catalog import that fails never stays on "Importando…"."""

from __future__ import annotations

import asyncio
import csv
import threading
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from posapp.config import Config
from posapp.domain.audit import Action
from posapp.journal.store import Journal
from posapp.services.pos import PosService
from posapp.services.results import QueueStatus
from posapp.ui.settings_dialog import SettingsDialog
from posapp.ui.tasks import pending_tasks
from tests.gui.conftest import (
    Clock,
    MakeCtx,
    open_window,
    press,
    run,
    scan,
    service_factory,
    wait_closed,
    wait_dialog,
)
from tests.gui.test_checkout import offline_config

DRAINER = "posapp-queue-drainer"  # the drainer's task name


class RecordingService(PosService):
    """The real service, noting when it is started and closed."""

    events: ClassVar[list[tuple[str, Any]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.starts = 0
        self.recovered: bool | None = None
        self.closed = False
        self.askers: list[str] = []  # names of the tasks that asked for the queue status
        self.asked_after_close = 0

    async def start(self, *, recover: bool = True) -> list[str]:
        self.starts += 1
        self.recovered = recover
        return await super().start(recover=recover)

    async def queue_status(self) -> QueueStatus:
        task = asyncio.current_task()
        self.askers.append(task.get_name() if task else "?")
        self.asked_after_close += self.closed
        return await super().queue_status()

    async def aclose(self) -> None:
        RecordingService.events.append(("close", self))
        self.closed = True
        await super().aclose()


def test_settings_rebuild_the_service_only_when_it_changed_and_in_order(
    qtbot: QtBot, make_ctx: MakeCtx, tmp_path: Path, clock: Clock
) -> None:
    RecordingService.events = []
    build = service_factory(tmp_path, clock, RecordingService)
    holder: dict[str, Any] = {}

    def factory(config: Config) -> PosService:
        status = holder.get("status")
        service = build(config)
        RecordingService.events.append(
            ("build", (threading.current_thread() is threading.main_thread(), status and status.drainer))
        )
        return service

    ctx = make_ctx(offline_config(), login="gerente", factory=factory)
    window = open_window(qtbot, ctx)
    holder["status"] = window.status
    try:
        first, first_drainer = ctx.service, window.status.drainer
        assert first_drainer is not None
        RecordingService.events.clear()

        press(qtbot, Qt.Key.Key_F11)  # nothing changed: nothing restarted
        dialog = wait_dialog(qtbot, SettingsDialog)
        press(qtbot, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        wait_closed(qtbot, dialog)
        qtbot.waitUntil(lambda: window.flow is None)
        assert window.message.text() == "Nenhuma configuração mudou."
        assert ctx.service is first and window.status.drainer is first_drainer
        assert RecordingService.events == []

        press(qtbot, Qt.Key.Key_F11)  # the printer changes: a new service
        dialog = wait_dialog(qtbot, SettingsDialog)
        dialog.printer_uri.setText("preview")
        press(qtbot, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        wait_closed(qtbot, dialog)
        qtbot.waitUntil(lambda: window.flow is None, timeout=10000)
        assert window.message.text() == "Configurações salvas."
        second = ctx.service
        assert second is not first and isinstance(second, RecordingService)
        assert ctx.config.printer.uri == "preview"
        # Built off the GUI thread while no drainer ran, then the old one closed; only then
        # a new drainer, on the new service.
        assert RecordingService.events == [("build", (False, None)), ("close", first)]
        # It joined the data folder's lock before the old one let go, without a second
        # start-up recovery.
        assert second.starts == 1 and second.recovered is False
        assert window.status.drainer is not None and window.status.drainer is not first_drainer
        window.status.poke_drainer()  # the new drainer works on the new service
        qtbot.waitUntil(lambda: DRAINER in second.askers, timeout=5000)
        assert isinstance(first, RecordingService) and first.asked_after_close == 0
        assert 'uri = "preview"' in (tmp_path / "posapp.toml").read_text(encoding="utf-8")
        assert any(e.action == Action.SETTINGS and "fiscal" in e.detail for e in ctx.audit.entries())
        scan(qtbot, window, "7891153002125")  # the till goes on
        assert window.vm.cart.item_count == 1
    finally:
        run(qtbot, window.shutdown())


def test_a_failed_catalog_import_says_why(qtbot: QtBot, make_ctx: MakeCtx, tmp_path: Path) -> None:
    ctx = make_ctx(offline_config(), login="gerente")
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    path = tmp_path / "quebrado.csv"
    path.write_text("code,description,ncm,price\nA1," + "x" * (csv.field_size_limit() + 1) + ",1,1\n")
    dialog.csv_path.setText(str(path))
    task = dialog.import_catalog()
    qtbot.waitUntil(task.done, timeout=10000)
    text = dialog.import_report.toPlainText()
    assert "linha 2" in text and "Importando" not in text
    assert dialog.import_button.isEnabled()
    qtbot.waitUntil(lambda: not pending_tasks(dialog))


def test_an_untouched_settings_dialog_changes_nothing(qtbot: QtBot, make_ctx: MakeCtx) -> None:
    """Values outside the spin boxes' usual ranges (a 2 s answer timeout, 2.5 s to connect)
    survive opening and saving the dialog: otherwise every save would swap the service."""
    base = offline_config()
    config = base.model_copy(
        update={"emites": base.emites.model_copy(update={"connect_timeout_s": 2.5, "response_timeout_s": 2})}
    )
    ctx = make_ctx(config, login="gerente")
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    assert dialog.build() == (ctx.config, ctx.terminal)
    dialog.response_timeout.setValue(30)
    assert dialog.build()[0].emites.response_timeout_s == 30
    qtbot.waitUntil(lambda: not pending_tasks(dialog))


def test_the_settings_show_this_tills_identity(qtbot: QtBot, make_ctx: MakeCtx, tmp_path: Path) -> None:
    ctx = make_ctx(offline_config(), login="gerente")
    journal = Journal.in_dir(tmp_path)
    try:
        till = journal.till_id()  # made on the folder's first start, the same ever after
    finally:
        journal.close()
    assert ctx.till_id == till and len(till) == 8
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    assert [label for label in dialog.findChildren(QLabel) if label.text() == till]
    qtbot.waitUntil(lambda: not pending_tasks(dialog))


def test_the_store_regime_is_chosen_in_the_settings_and_the_import_follows_it(
    qtbot: QtBot, make_ctx: MakeCtx, tmp_path: Path
) -> None:
    """Issue 14 item 1: [store] crt in F11 → Loja; the catalog import there refuses a product
    the configured regime could not sell (a CSOSN only, in a normal-regime store)."""
    ctx = make_ctx(offline_config(), login="gerente")
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    assert dialog.crt.currentData() == 1 and dialog.crt.currentText() == "1 - Simples Nacional"
    dialog.crt.setCurrentIndex(dialog.crt.findData(3))
    assert dialog.build()[0].store.crt == 3
    ctx.config = ctx.config.model_copy(update={"store": ctx.config.store.model_copy(update={"crt": 3})})
    path = tmp_path / "c.csv"
    path.write_text(
        "code,description,ncm,price,csosn,icms_cst,icms_rate,pis_cst,pis_rate,cofins_cst,cofins_rate,"
        "ibs_cbs_cst,cclass_trib\n"
        "A1,Arroz,10063021,27.90,102,,,06,,06,,000,000001\n"
        "A2,Sabao,34022000,12.45,102,00,20,01,1.65,01,7.60,000,000001\n",
        encoding="utf-8",
    )
    dialog.csv_path.setText(str(path))
    task = dialog.import_catalog()
    qtbot.waitUntil(task.done, timeout=10000)
    text = dialog.import_report.toPlainText()
    assert "1 produtos novos" in text and "linha 2 (A1)" in text and "não CSOSN" in text
    qtbot.waitUntil(lambda: not pending_tasks(dialog))
