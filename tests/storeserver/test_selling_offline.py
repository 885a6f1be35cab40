"""A till with [store_server] sells through a server outage and catches up; a till without
it loads nothing of the store server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import psycopg

from posapp.domain.lifecycle import SaleState
from posapp.services.store_sync import StoreSync
from tests.storeserver.tills import make_till
from tests.support.emites_thread import EmitesInThread
from tests.support.postgres import PostgresServer
from tests.support.sales import make_sale
from tests.support.service import wait_until

ROOT = Path(__file__).resolve().parents[2]


def server_states(pg_server: PostgresServer, url: str) -> dict[str, str]:
    with psycopg.connect(url, password=pg_server.password) as conn:
        if conn.execute("SELECT to_regclass('sales') IS NULL").fetchone() == (True,):
            return {}
        return dict(conn.execute("SELECT sale_id, state FROM sales").fetchall())


def test_a_till_sells_through_a_server_outage_and_catches_up(
    tmp_path: Path, pg_server: PostgresServer, pg_database: str, emites: EmitesInThread
) -> None:
    till = make_till(tmp_path, "a", pg_database, emites.port)

    async def scenario() -> None:
        service = till.service()
        await service.start()
        sync = StoreSync(till.config, till.data_dir, service=service)
        sync.start()
        try:
            for index in range(3):
                assert (
                    await service.issue(make_sale(index), print_receipt=False)
                ).state is SaleState.AUTHORIZED

            async def on_server(count: int) -> bool:
                states = await asyncio.to_thread(server_states, pg_server, pg_database)
                return len(states) == count and set(states.values()) == {"authorized"}

            await wait_until(lambda: on_server(3), timeout_s=20)
            await asyncio.to_thread(pg_server.stop, "immediate")
            for index in range(3, 6):  # the server is away: the till sells as always
                assert (
                    await service.issue(make_sale(index), print_receipt=False)
                ).state is SaleState.AUTHORIZED

            async def disconnected() -> bool:
                return sync.state.connected is False

            await wait_until(disconnected, timeout_s=20)
            assert sync.state.text.startswith("Loja: offline") and "vendendo sozinho" in sync.state.detail

            async def counted() -> bool:  # the three sales' events wait, and the bar says so
                return (
                    sync.state.to_send >= 6
                    and sync.state.text == f"Loja: offline, {sync.state.to_send} a enviar"
                )

            await wait_until(counted, timeout_s=30)
            await asyncio.to_thread(pg_server.start)
            await wait_until(lambda: on_server(6), timeout_s=60)

            async def connected() -> bool:
                return sync.state.connected is True

            await wait_until(connected, timeout_s=20)
        finally:
            await sync.aclose()
            await service.aclose()

    asyncio.run(scenario())
    assert len(emites.notes()) == 6  # each sale issued once
    with psycopg.connect(pg_database, password=pg_server.password) as conn:
        documents = conn.execute("SELECT kind, size, length(sha256) FROM sale_documents WHERE kind = 'xml'")
        rows = documents.fetchall()
    assert len(rows) == 6 and all(size > 500 and digest == 64 for _kind, size, digest in rows)


def test_without_store_server_psycopg_is_never_imported(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from posapp import cli\n"
        f"cli.main(['nfce', 'list', '--data-dir', {str(tmp_path)!r}])\n"
        "names = ('psycopg', 'posapp.storeserver', 'posapp.services.store')\n"
        "loaded = [m for m in sys.modules if m.startswith(names)]\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "LOADED []" in result.stdout, result.stdout + result.stderr
