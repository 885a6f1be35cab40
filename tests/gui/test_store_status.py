"""The store server's sync state in the status bar (issue 16): shown only with
[store_server], following a real PostgreSQL going away and coming back, and the window still
fits 1024x768."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from posapp.config import Config, EmitesConfig, PrinterConfig, StoreServerConfig
from posapp.ui.qt import QApplication, Qt
from tests.gui.conftest import MakeCtx, open_window, run
from tests.gui.test_geometry import assert_fits
from tests.storeserver.conftest import pg_database, pg_server
from tests.support.postgres import PostgresServer

__all__ = ["pg_database", "pg_server"]  # the real PostgreSQL's fixtures


def config(url: str | None) -> Config:
    return Config(
        emites=EmitesConfig(enabled=False),
        printer=PrinterConfig(uri="none"),
        store_server=StoreServerConfig(url=url, connect_timeout_s=1, sync_interval_s=0.2) if url else None,
    )


def test_a_till_alone_shows_no_store_state(qtbot: QtBot, make_ctx: MakeCtx) -> None:
    window = open_window(qtbot, make_ctx(config(None)))
    assert not window.status.store_label.isVisible() and window.status.store_sync is None
    run(qtbot, window.shutdown())


def test_the_status_bar_follows_the_store_server(
    qtbot: QtBot, make_ctx: MakeCtx, pg_server: PostgresServer, pg_database: str
) -> None:
    window = open_window(qtbot, make_ctx(config(pg_database)))
    label = window.status.store_label
    qtbot.waitUntil(lambda: label.text() == "Loja: sincronizada", timeout=15000)
    assert label.isVisible()
    pg_server.stop("immediate")
    try:
        qtbot.waitUntil(lambda: label.text().startswith("Loja: offline"), timeout=15000)
        assert "vendendo sozinho" in label.toolTip()
    finally:
        pg_server.start()
    qtbot.waitUntil(lambda: label.text() == "Loja: sincronizada", timeout=30000)
    # The longest state, with a busy status bar beside it, still fits a 1024x768 screen.
    status = window.status
    status.show_scanner(False, "Leitor serial /dev/ttyUSB0: desconectado, tentando de novo a cada 5 s")
    status.queued, status.in_doubt = 1234, 56
    status.show_queue()
    label.setText("Loja: offline, 123456 a enviar")
    assert_fits(qtbot, window, "checkout with the store's state")
    run(qtbot, window.shutdown())
    assert window.status.store_sync is None  # stopped with the window


def test_a_manager_sees_every_tills_sales_and_asks_the_issuing_till_to_cancel(
    qtbot: QtBot, make_ctx: MakeCtx, pg_server: PostgresServer, pg_database: str, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    from posapp.ui.store_sales import MotivoDialog, StoreSalesDialog
    from tests.gui.conftest import press, type_text
    from tests.storeserver.test_remote_cancel import sell_and_sync
    from tests.storeserver.tills import make_till
    from tests.support.emites_thread import EmitesInThread

    with EmitesInThread() as emites:
        issuing = make_till(tmp_path / "tills", "a", pg_database, emites.port)
        with ThreadPoolExecutor(1) as other:  # the issuing till: its own loop, off Qt's
            sale_id, chave = other.submit(sell_and_sync, issuing).result(timeout=60)
    window = open_window(qtbot, make_ctx(config(pg_database), login="gerente"))
    qtbot.waitUntil(lambda: window.status.store_label.text() == "Loja: sincronizada", timeout=15000)
    press(qtbot, Qt.Key.Key_F12, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), StoreSalesDialog), timeout=5000)
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, StoreSalesDialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=10000)
    assert "Autorizada" in dialog.list.item(0).text() and "Loja" in dialog.day.text()
    assert chave in dialog.message.text()  # the selected sale's chave, too long for its row
    assert_fits(qtbot, dialog, "store sales")
    press(qtbot, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), MotivoDialog), timeout=5000)
    type_text(qtbot, "curto")
    press(qtbot, Qt.Key.Key_Return)
    motivo = QApplication.activeModalWidget()
    assert isinstance(motivo, MotivoDialog) and motivo.error.text()  # too short: says so, stays
    motivo.motivo.clear()
    type_text(qtbot, "Cliente desistiu no caixa vizinho")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Pedido enviado ao caixa" in dialog.message.text(), timeout=10000)
    with psycopg.connect(pg_database, password=pg_server.password) as conn:
        rows = conn.execute("SELECT sale_id, status, authorized_by FROM cancel_requests").fetchall()
    assert rows == [(sale_id, "pending", "gerente")]
    press(qtbot, Qt.Key.Key_Escape)
    run(qtbot, window.shutdown())


def test_without_a_store_server_ctrl_f12_says_so(qtbot: QtBot, make_ctx: MakeCtx) -> None:
    from tests.gui.conftest import press

    window = open_window(qtbot, make_ctx(config(None)))
    press(qtbot, Qt.Key.Key_F12, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "servidor da loja" in window.message.text(), timeout=5000)
    run(qtbot, window.shutdown())
