"""The catalog and the operators shared from the server: published by one till, pulled by the
others into their own store file, copied by column name (tills of different versions share
one catalog), sold from while the server is away."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from posapp.catalog.csv_import import import_csv
from posapp.catalog.products import Catalog
from posapp.catalog.storedb import StoreDB
from posapp.config import StoreServerConfig
from posapp.operators.accounts import Operators, Role
from posapp.operators.audit import AuditLog
from posapp.services.store_sync import StoreSync
from posapp.storeserver.connection import connect
from posapp.storeserver.schema import migrate
from posapp.storeserver.shared import publish, publish_local, pull, withdraw
from tests.storeserver.tills import make_till
from tests.support.postgres import PostgresServer
from tests.support.service import wait_until

CSV = (
    "code,gtin,description,ncm,cfop,cest,unit,price,origin\n"
    "1001,7898621001017,Arroz Branco Tipo 1 5kg,10063021,5102,,UN,27.90,0\n"
    "1002,7898621002397,Feijão Carioca Tipo 1 1kg,07133399,5102,,UN,8.49,0\n"
    "1003,,Pão francês,19059090,5102,,KG,15.90,0\n"
)


@pytest.fixture
def server(pg_server: PostgresServer, pg_database: str) -> Iterator[psycopg.Connection]:
    conn = connect(StoreServerConfig(url=pg_database), password=pg_server.password)
    migrate(conn)
    yield conn
    conn.close()


def store_of(data_dir: Path) -> StoreDB:
    data_dir.mkdir(parents=True, exist_ok=True)
    return StoreDB.in_data_dir(data_dir)


def imported(data_dir: Path, tmp_path: Path, text: str = CSV) -> StoreDB:
    store = store_of(data_dir)
    path = tmp_path / f"{data_dir.name}.csv"
    path.write_text(text, encoding="utf-8")
    report = import_csv(Catalog(store), path)
    assert report.accepted == text.count("\n") - 1
    return store


def test_a_catalog_published_by_one_till_is_sold_from_at_another_even_with_the_server_away(
    tmp_path: Path, pg_server: PostgresServer, server: psycopg.Connection
) -> None:
    a = imported(tmp_path / "a", tmp_path)
    b = store_of(tmp_path / "b")
    try:
        assert publish_local(server, a, "products") == 3
        assert publish_local(server, a, "products") == 0  # nothing changed: no new versions
        report = pull(server, b, "products")
        assert (report.upserted, report.refused) == (3, ())
        assert pull(server, b, "products").upserted == 0  # the cursor moved
        pg_server.stop("immediate")
        try:
            catalog = Catalog(b)
            product = catalog.find("7898621002397")
            assert product is not None and str(product.price) == "8.49"
            assert [p.code for p in catalog.search("feijao")] == ["1002"]  # the search index too
        finally:
            pg_server.start()
    finally:
        a.close()
        b.close()


def test_rows_are_copied_by_column_name_between_tills_of_different_versions(
    tmp_path: Path, server: psycopg.Connection
) -> None:
    newer = imported(tmp_path / "newer", tmp_path)
    older = store_of(tmp_path / "older")
    try:
        with newer.transaction() as conn:  # a newer posapp has a column the older one lacks
            conn.execute("ALTER TABLE products ADD COLUMN shelf TEXT")
            conn.execute("UPDATE products SET shelf = 'A3', price = '29.90' WHERE code = '1001'")
        publish_local(server, newer, "products")
        report = pull(server, older, "products")
        assert report.upserted == 3 and report.refused == ()
        product = Catalog(older).find("1001")
        assert product is not None and str(product.price) == "29.90"  # the rest of the row arrived
        # The older till learns the column later: the next change fills it.
        with older.transaction() as conn:
            conn.execute("ALTER TABLE products ADD COLUMN shelf TEXT")
        with newer.transaction() as conn:
            conn.execute("UPDATE products SET shelf = 'B1' WHERE code = '1001'")
        publish_local(server, newer, "products", ["1001"])
        pull(server, older, "products")
        with older.reading() as conn:
            assert conn.execute("SELECT shelf FROM products WHERE code = '1001'").fetchone() == ("B1",)
        # A row that cannot live here (no description, a NOT NULL column) is refused by name;
        # the others still arrive.
        publish(server, "products", [{"code": "9999", "price": "1.00"}, {"code": "1003", "price": "16.50"}])
        report = pull(server, older, "products")
        assert report.upserted == 1 and len(report.refused) == 1 and report.refused[0].startswith("9999")
        withdraw(server, "products", ["1002"])
        assert pull(server, older, "products").deleted == 1
        assert Catalog(older).find("1002") is None
    finally:
        newer.close()
        older.close()


def test_operators_travel_as_pin_hashes_with_their_roles(tmp_path: Path, server: psycopg.Connection) -> None:
    a = store_of(tmp_path / "a")
    b = store_of(tmp_path / "b")
    try:
        accounts = Operators(a, AuditLog(a))
        accounts.create("gerente", "Gerente Geral", Role.MANAGER, "4821")
        accounts.create("ana", "Ana Caixa", Role.CASHIER, "1357")
        assert publish_local(server, a, "operators") == 2
        rows = [json.dumps(r[0]) for r in server.execute("SELECT row FROM operators")]
        assert rows and not any("4821" in r or "1357" in r for r in rows)  # hashes, never PINs
        pull(server, b, "operators")
        at_b = Operators(b, AuditLog(b))
        assert at_b.check_manager_pin("4821").login == "gerente"
        ana = at_b.get("ana")
        assert ana is not None and ana.role is Role.CASHIER
    finally:
        a.close()
        b.close()


def test_a_change_reaches_a_connected_till_within_seconds(
    tmp_path: Path, pg_database: str, server: psycopg.Connection
) -> None:
    a = imported(tmp_path / "a", tmp_path)
    till_b = make_till(tmp_path, "b", pg_database)

    async def scenario() -> float:
        sync = StoreSync(till_b.config, till_b.data_dir)
        sync.start()
        try:
            publish_local(server, a, "products")
            with a.transaction() as conn:
                conn.execute("UPDATE products SET price = '7.99' WHERE code = '1002'")
            await asyncio.to_thread(publish_local, server, a, "products", ["1002"])
            store_b = store_of(till_b.data_dir)
            try:
                return await wait_until(lambda: _price_is(store_b, "1002", "7.99"), timeout_s=10)
            finally:
                store_b.close()
        finally:
            await sync.aclose()

    took = asyncio.run(scenario())
    a.close()
    assert took < 10


async def _price_is(store: StoreDB, code: str, price: str) -> bool:
    product = Catalog(store).find(code)
    return product is not None and str(product.price) == price


def test_a_selling_till_pulls_a_big_change_in_chunks_and_resumes_after_a_cut(
    tmp_path: Path, pg_server: PostgresServer, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posapp.catalog.replica import apply_pull as real_apply
    from posapp.storeserver import shared
    from tests.support.tcp_proxy import TcpProxy

    monkeypatch.setattr(shared, "CHUNK", 500)
    monkeypatch.setattr(shared, "BULK_ROWS", 1000)
    proxy = TcpProxy("127.0.0.1", pg_server.port)
    url = pg_database.replace(f":{pg_server.port}/", f":{proxy.port}/")
    publisher = connect(StoreServerConfig(url=pg_database), password=pg_server.password)
    migrate(publisher)
    rows = [
        {"code": f"{5000 + i}", "description": f"Item {i}", "ncm": "19059090", "cfop": "5102", "unit": "UN",
         "price": f"{1 + i % 9}.90", "origin": 0, "updated_at": "2026-01-01T00:00:00+00:00"}
        for i in range(2400)
    ]  # fmt: skip
    publish(publisher, "products", rows)
    till = imported(tmp_path / "till", tmp_path)  # a till selling: its catalog is not empty
    applied: list[int] = []

    def cut_after_two_chunks(*args: object, **kwargs: object) -> object:
        result = real_apply(*args, **kwargs)  # type: ignore[arg-type]
        applied.append(1)
        if len(applied) == 2:
            proxy.cut()  # the network drops in the middle of the pull
        return result

    monkeypatch.setattr(shared, "apply_pull", cut_after_two_chunks)
    conn = connect(StoreServerConfig(url=url), password=pg_server.password)
    try:
        with pytest.raises(psycopg.OperationalError):
            pull(conn, till, "products")
        assert Catalog(till).count() == 3 + 1000  # two chunks kept, with their cursor
        proxy.restore()
        conn.close()
        conn = connect(StoreServerConfig(url=url), password=pg_server.password)
        report = pull(conn, till, "products")
        assert report.upserted == 1400 and Catalog(till).count() == 3 + 2400
        assert [p.code for p in Catalog(till).search("item 2399")] == ["7399"]
    finally:
        conn.close()
        publisher.close()
        proxy.close()
        till.close()
