"""The store-server tests run against a real PostgreSQL (``tests/support/postgres.py``).

They are skipped only when PostgreSQL's server binaries are not installed, with a loud
reason; ``.ci/run`` sets ``POSAPP_REQUIRE_POSTGRES=1`` so that in CI a missing PostgreSQL is a
failure, never a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresMissing, PostgresServer, session_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        servers = session_server()
        server = next(servers)
    except PostgresMissing as exc:
        if os.environ.get("POSAPP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (POSAPP_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(f"!!! STORE-SERVER TESTS NOT RUN: {exc} !!!")
    yield server
    next(servers, None)


@pytest.fixture
def pg_database(pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database's URL (no password in it, as in posapp.toml); the password is in the
    environment variable posapp reads by default."""
    name = pg_server.create_database()
    monkeypatch.setenv("POSAPP_STORE_SERVER_PASSWORD", pg_server.password)
    return pg_server.url(name)


def require_tls(server: PostgresServer) -> None:
    """Skip a TLS test only where the store-server tests may be skipped at all: where they are
    required (CI), a server without a certificate (no openssl) fails the test."""
    if server.tls:
        return
    why = "openssl missing: the test server has no TLS certificate"
    if os.environ.get("POSAPP_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{why} (POSAPP_REQUIRE_POSTGRES=1: install openssl)")
    pytest.skip(f"!!! {why} !!!")
