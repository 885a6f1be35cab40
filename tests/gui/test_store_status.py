"""The store server's sync state in the status bar (issue 16): shown only with
[store_server], following a real PostgreSQL going away and coming back, and the window still
fits 1024x768."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from posapp.config import Config, EmitesConfig, PrinterConfig, StoreServerConfig
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
    qtbot.waitUntil(lambda: label.toolTip() == "Loja: sincronizado", timeout=15000)
    assert label.isVisible()
    pg_server.stop("immediate")
    try:
        qtbot.waitUntil(lambda: "vendendo sozinho" in window.status.store_sync.state.text, timeout=15000)  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: "servidor" in label.toolTip(), timeout=5000)
    finally:
        pg_server.start()
    qtbot.waitUntil(lambda: label.toolTip() == "Loja: sincronizado", timeout=30000)
    # The longest state, with a busy status bar beside it, still fits a 1024x768 screen.
    status = window.status
    status.show_scanner(False, "Leitor serial /dev/ttyUSB0: desconectado, tentando de novo a cada 5 s")
    status.queued, status.in_doubt = 1234, 56
    status.show_queue()
    label.setText("Loja: servidor fora do ar — vendendo sozinho; 123456 registro(s) a enviar")
    assert_fits(qtbot, window, "checkout with the store's state")
    run(qtbot, window.shutdown())
    assert window.status.store_sync is None  # stopped with the window
