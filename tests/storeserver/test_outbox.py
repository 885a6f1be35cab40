"""The outbox against a real PostgreSQL: every till's journal and cash replicated exactly
once, in order, resumable after a crash of either side or a dropped network, and never in
the way of a sale."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from posapp.catalog.storedb import StoreDB
from posapp.config import StoreServerConfig
from posapp.journal.changes import ChangeFeed
from posapp.journal.store import Journal
from posapp.storeserver.connection import connect
from posapp.storeserver.outbox import push_all, push_once
from posapp.storeserver.schema import migrate
from tests.storeserver.tills import Till, make_till
from tests.support.postgres import PostgresServer
from tests.support.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]


ServerConn = Callable[[str], psycopg.Connection]


@pytest.fixture
def server_conn(pg_server: PostgresServer) -> Iterator[ServerConn]:
    """Connections to the server (migrated), closed at the end of the test."""
    opened: list[psycopg.Connection] = []

    def open_one(url: str) -> psycopg.Connection:
        conn = connect(StoreServerConfig(url=url), password=pg_server.password)
        opened.append(conn)
        migrate(conn)
        return conn

    yield open_one
    for conn in opened:
        conn.close()


def journal_facts(till: Till) -> tuple[str, list[int], dict[str, str], list[int]]:
    db = sqlite3.connect(till.data_dir / "journal.sqlite3")  # a plain look at what the server must mirror
    try:
        till_id = db.execute("SELECT value FROM meta WHERE key = 'till_id'").fetchone()[0]
        events = [r[0] for r in db.execute("SELECT event_id FROM events ORDER BY event_id")]
        states = dict(db.execute("SELECT sale_id, state FROM sales").fetchall())
        audit = [r[0] for r in db.execute("SELECT audit_id FROM audit ORDER BY audit_id")]
        return str(till_id), events, states, audit
    finally:
        db.close()


def server_facts(conn: psycopg.Connection, till_id: str) -> tuple[list[int], dict[str, str]]:
    events = [
        r[0]
        for r in conn.execute("SELECT event_id FROM sale_events WHERE till_id = %s ORDER BY 1", (till_id,))
    ]
    states: dict[str, str] = dict(
        conn.execute("SELECT sale_id, state FROM sales WHERE till_id = %s", (till_id,)).fetchall()
    )
    return events, states


def push(till: Till, conn: psycopg.Connection, *, batch: int = 500) -> int:
    feed = ChangeFeed(till.data_dir / "journal.sqlite3")
    store = StoreDB.in_data_dir(till.data_dir)
    try:
        till_id = feed.till_id()
        assert till_id is not None
        return push_all(conn, feed, store, till_id, batch=batch).rows
    finally:
        feed.close()
        store.close()


def test_two_tills_replicate_exactly_once_and_a_second_push_moves_nothing(
    tmp_path: Path, pg_server: PostgresServer, pg_database: str, server_conn: ServerConn
) -> None:
    a = make_till(tmp_path, "a", pg_database)
    b = make_till(tmp_path, "b", pg_database)
    a.queue_sales(0, 30)
    b.queue_sales(100, 20)
    a.cash_and_audit(3)
    conn = server_conn(pg_database)
    assert push(a, conn, batch=7) > 0
    assert push(b, conn, batch=7) > 0
    assert push(a, conn) == 0 and push(b, conn) == 0  # idempotent: nothing new, nothing twice
    for till, count in ((a, 30), (b, 20)):
        till_id, events, states, _audit = journal_facts(till)
        server_events, server_states = server_facts(conn, till_id)
        assert server_events == events  # in order, no gap, no duplicate
        assert server_states == states and len(states) == count
    till_a = journal_facts(a)[0]
    cash = conn.execute(
        "SELECT movement_id, amount::text FROM cash_movements WHERE till_id = %s ORDER BY 1", (till_a,)
    ).fetchall()
    assert cash == [(1, "10.00"), (2, "11.00"), (3, "12.00")]
    assert conn.execute("SELECT count(*) FROM store_audit WHERE till_id = %s", (till_a,)).fetchone() == (3,)
    sale = conn.execute(
        "SELECT total::text, sale->'items'->0->>'description' FROM sales WHERE sale_id = 'crash00001'"
    )
    assert sale.fetchone() == ("9.50", "Produto de teste 1")  # 2 x 4,75


def test_a_newer_state_reaches_the_server_and_an_older_snapshot_never_overwrites_it(
    tmp_path: Path, pg_server: PostgresServer, pg_database: str, server_conn: ServerConn
) -> None:
    from datetime import UTC, datetime

    from posapp.domain.audit import Action, AuditRecord
    from posapp.domain.lifecycle import Happening

    till = make_till(tmp_path, "a", pg_database)
    (sale_id,) = till.queue_sales(0, 1)
    conn = server_conn(pg_database)
    push(till, conn)
    journal = Journal.in_dir(till.data_dir)
    try:
        journal.apply(
            sale_id,
            Happening.VOIDED,
            datetime.now(UTC),
            audit=AuditRecord(Action.ABORT_SALE, operator="gerente", authorized_by="gerente", detail="teste"),
        )
    finally:
        journal.close()
    push(till, conn)
    till_id, _events, states, audit = journal_facts(till)
    assert server_facts(conn, till_id)[1] == states
    # A stale snapshot (an older seq) sent again changes nothing.
    conn.execute("UPDATE sales SET seq = seq + 1000 WHERE sale_id = %s", (sale_id,))
    before = conn.execute("SELECT state, seq FROM sales WHERE sale_id = %s", (sale_id,)).fetchone()
    feed = ChangeFeed(till.data_dir / "journal.sqlite3")
    push_once(conn, feed, None, till_id)
    feed.close()
    assert conn.execute("SELECT state, seq FROM sales WHERE sale_id = %s", (sale_id,)).fetchone() == before
    assert audit


def test_the_server_stopping_mid_replication_loses_and_doubles_nothing(
    tmp_path: Path, pg_server: PostgresServer, pg_database: str, server_conn: ServerConn
) -> None:
    till = make_till(tmp_path, "a", pg_database)
    till.queue_sales(0, 40)
    conn = server_conn(pg_database)
    feed = ChangeFeed(till.data_dir / "journal.sqlite3")
    till_id = feed.till_id()
    assert till_id is not None
    push_once(conn, feed, None, till_id, batch=10)  # one batch landed
    with pytest.raises(psycopg.OperationalError):  # the server dies inside the next push
        push_once(conn, feed, None, till_id, batch=10, before_commit=lambda: pg_server.stop("immediate"))
    till.queue_sales(40, 5)  # the till keeps selling meanwhile
    pg_server.start()
    conn = server_conn(pg_database)
    push_all(conn, feed, None, till_id, batch=10)
    feed.close()
    _till, events, states, _audit = journal_facts(till)
    assert server_facts(conn, till_id) == (events, states)
    assert len(states) == 45


def test_a_dropped_network_mid_push_then_catch_up(
    tmp_path: Path, pg_server: PostgresServer, pg_database: str, server_conn: ServerConn
) -> None:
    proxy = TcpProxy("127.0.0.1", pg_server.port)
    url = pg_database.replace(f":{pg_server.port}/", f":{proxy.port}/")
    till = make_till(tmp_path, "a", url)
    till.queue_sales(0, 25)
    conn = server_conn(url)
    feed = ChangeFeed(till.data_dir / "journal.sqlite3")
    till_id = feed.till_id()
    assert till_id is not None
    try:
        with pytest.raises(psycopg.OperationalError):
            push_once(conn, feed, None, till_id, batch=10, before_commit=proxy.cut)
        proxy.restore()
        conn = server_conn(url)
        push_all(conn, feed, None, till_id, batch=10)
        _till, events, states, _audit = journal_facts(till)
        assert server_facts(conn, till_id) == (events, states)
    finally:
        feed.close()
        proxy.close()


def test_a_till_killed_mid_push_resumes_without_a_gap_or_a_double(
    tmp_path: Path, pg_server: PostgresServer, pg_database: str, server_conn: ServerConn
) -> None:
    till = make_till(tmp_path, "a", pg_database)
    till.queue_sales(0, 30)
    env = {**os.environ, "POSAPP_CRASH_AT": "mid_push:2", "PYTHONPATH": str(ROOT)}
    worker = subprocess.run(
        [sys.executable, "-m", "tests.storeserver.push_worker", pg_database, str(till.data_dir), "10"],
        env=env,
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == -9, worker.stderr
    conn = server_conn(pg_database)
    till_id, events, states, _audit = journal_facts(till)
    landed = server_facts(conn, till_id)[0]
    assert landed == events[: len(landed)] and 0 < len(landed) < len(events)  # the first batch only
    push(till, conn, batch=10)
    assert server_facts(conn, till_id) == (events, states)
