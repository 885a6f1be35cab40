"""The store's settings published while a till's window runs (issue 16 item 3): the window
rebuilds its service with them between sales, never with a sale in the cart."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from posapp.config import Config, EmitesConfig, PrinterConfig, StoreServerConfig
from posapp.store_settings import parse_settings
from posapp.storeserver.connection import connect
from posapp.storeserver.schema import migrate
from posapp.storeserver.settings import publish_settings
from posapp.ui.qt import Qt
from tests.gui.conftest import MakeCtx, open_window, press, run, type_text
from tests.storeserver.conftest import pg_database, pg_server
from tests.support.postgres import PostgresServer

__all__ = ["pg_database", "pg_server"]  # the real PostgreSQL's fixtures


def test_a_running_till_applies_the_stores_new_settings_between_sales(
    qtbot: QtBot, make_ctx: MakeCtx, pg_server: PostgresServer, pg_database: str
) -> None:
    config = Config(
        emites=EmitesConfig(enabled=False),
        printer=PrinterConfig(uri="none"),
        store_server=StoreServerConfig(url=pg_database, connect_timeout_s=1, sync_interval_s=0.2),
    )
    window = open_window(qtbot, make_ctx(config))
    qtbot.waitUntil(lambda: window.status.store_label.text() == "Loja: sincronizada", timeout=15000)
    type_text(qtbot, "1001")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.vm.cart.is_empty, timeout=5000)
    with connect(StoreServerConfig(url=pg_database), password=pg_server.password) as conn:
        migrate(conn)
        settings = parse_settings({"store": {"crt": 3, "uf": "SP"}, "nfce": {"cancel_window_min": 20}})
        assert publish_settings(conn, settings, till_id="gerente") == 1
    qtbot.waitUntil(
        lambda: window.status.store_sync is not None and window.status.store_sync.state.settings_version > 0,
        timeout=10000,
    )
    qtbot.wait(1000)  # several sync rounds: a sale in the cart keeps the settings it started with
    assert window.ctx.service.config.store.crt == 1
    window.vm.new_sale()  # the sale is over
    qtbot.waitUntil(lambda: window.ctx.service.config.store.crt == 3, timeout=10000)
    assert window.ctx.config.nfce.cancel_window_min == 20 and window.ctx.config.store.uf == "SP"
    assert window.ctx.service.config.nfce.cancel_window_min == 20
    qtbot.waitUntil(lambda: "Configurações da loja atualizadas" in window.message.text(), timeout=5000)
    run(qtbot, window.shutdown())
