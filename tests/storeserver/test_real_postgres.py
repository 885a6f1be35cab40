"""The fixture itself: a real PostgreSQL, run unprivileged, with passwords and TLS."""

from __future__ import annotations

import os

import psycopg
import pytest

from tests.storeserver.conftest import require_tls
from tests.support.postgres import PostgresServer


def test_a_real_server_runs_unprivileged_and_asks_for_a_password(pg_server: PostgresServer) -> None:
    database = pg_server.create_database()
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(pg_server.url(database), password="wrong", connect_timeout=5).close()
    with psycopg.connect(pg_server.url(database), password=pg_server.password) as conn:
        row = conn.execute("SELECT current_user, version()").fetchone()
    assert row is not None and row[0] == "posapp" and "PostgreSQL" in row[1]
    owner = (pg_server.datadir / "PG_VERSION").stat().st_uid
    assert owner != 0 or os.geteuid() != 0


def test_tls_is_used_when_the_url_asks(pg_server: PostgresServer) -> None:
    require_tls(pg_server)
    database = pg_server.create_database()
    url = pg_server.url(database, query="sslmode=require")
    with psycopg.connect(url, password=pg_server.password) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row == (True,)
