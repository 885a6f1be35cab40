"""The catalog on a real SQLite file: lookups, accent-insensitive search, index upkeep."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from posapp.catalog.errors import ProductNotFound, StoreSchemaTooNew
from posapp.catalog.products import COMPONENT, Catalog, Product
from posapp.catalog.storedb import StoreDB
from posapp.catalog.text import fold


def _products() -> list[Product]:
    return [
        Product("1004", "Açúcar Refinado 1kg", "17019900", Decimal("4.99"), gtin="7891153002125"),
        Product("1005", "Açúcar Cristal 5kg", "17011400", Decimal("21.90"), gtin="7891153003504"),
        Product("1002", "Feijão Carioca Tipo 1 1kg", "07133399", Decimal("8.49"), gtin="7898621002397"),
        Product("1006", "Café Torrado e Moído 500g", "09012100", Decimal("18.90")),
        Product("UPC1", "Chiclete Importado", "17041000", Decimal("3.50"), gtin="012345678905"),
        Product("1020", "Pão Francês (kg)", "19059090", Decimal("14.90"), unit="KG"),
    ]


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    store = StoreDB(tmp_path / "store.sqlite3")
    cat = Catalog(store)
    cat.upsert_many(_products())
    yield cat
    store.close()


def test_fold_drops_accents_case_and_punctuation() -> None:
    assert fold("  Açúcar  REFINADO, 1kg! ") == "acucar refinado 1kg"
    assert fold("Pão Francês (kg)") == "pao frances kg"


def test_lookup_by_gtin_then_code(catalog: Catalog) -> None:
    by_gtin = catalog.find("7891153002125")
    assert by_gtin is not None and by_gtin.code == "1004"
    by_code = catalog.find("1002")
    assert by_code is not None and by_code.description.startswith("Feijão")
    # A UPC-A read as EAN-13 with a leading zero still finds the 12-digit GTIN.
    upc = catalog.find("0012345678905")
    assert upc is not None and upc.code == "UPC1"
    assert catalog.find("7890000000000") is None
    with pytest.raises(ProductNotFound) as info:
        catalog.get("nope")
    assert "nope" in info.value.user_message


def test_search_is_accent_and_case_insensitive(catalog: Catalog) -> None:
    assert {p.code for p in catalog.search("acucar")} == {"1004", "1005"}
    assert [p.code for p in catalog.search("FEIJAO car")] == ["1002"]
    assert [p.code for p in catalog.search("pão fran")] == ["1020"]
    assert [p.code for p in catalog.search("cafe moido")] == ["1006"]
    assert catalog.search("açúcar cristal")[0].code == "1005"
    assert catalog.search("") == []
    assert catalog.search("xyz") == []
    # Results are sorted by description.
    assert [p.description for p in catalog.search("acu")] == ["Açúcar Cristal 5kg", "Açúcar Refinado 1kg"]


def test_search_finds_by_code_and_gtin(catalog: Catalog) -> None:
    assert [p.code for p in catalog.search("7898621002397")] == ["1002"]
    assert [p.code for p in catalog.search("upc1")] == ["UPC1"]


def test_update_keeps_the_index_in_step(catalog: Catalog) -> None:
    catalog.upsert(Product("1006", "Chá Mate Tostado 250g", "09030090", Decimal("7.50")))
    assert catalog.search("cafe") == []
    assert [p.code for p in catalog.search("cha mate")] == ["1006"]
    assert catalog.get("1006").price == Decimal("7.50")
    assert catalog.delete("1006")
    assert catalog.search("cha") == []
    assert catalog.count() == 5


def test_search_limit(catalog: Catalog) -> None:
    assert len(catalog.search("1", limit=2)) <= 2


def test_product_becomes_an_item(catalog: Catalog) -> None:
    item = catalog.get("1020").to_item(Decimal("0.375"))
    assert item.gross_total == Decimal("5.59")
    assert item.gtin == "SEM GTIN"
    assert item.unit == "KG"


def test_data_survives_reopen_and_a_newer_schema_is_refused(tmp_path: Path) -> None:
    store = StoreDB(tmp_path / "store.sqlite3")
    Catalog(store).upsert_many(_products())
    store.close()
    store = StoreDB(tmp_path / "store.sqlite3")
    assert Catalog(store).count() == 6
    with store.transaction() as conn:
        conn.execute("UPDATE schema_versions SET version = 99 WHERE component = ?", (COMPONENT,))
    with pytest.raises(StoreSchemaTooNew):
        Catalog(store)
    store.close()


def test_settings_round_trip(tmp_path: Path) -> None:
    store = StoreDB(tmp_path / "store.sqlite3")
    assert store.get_setting("scanner", {"port": None}) == {"port": None}
    store.set_setting("scanner", {"port": "/dev/ttyUSB0", "baudrate": 9600})
    store.set_setting("scanner", {"port": "/dev/ttyS1", "baudrate": 19200})
    assert store.get_setting("scanner") == {"port": "/dev/ttyS1", "baudrate": 19200}
    store.close()


async def _lookup_off_thread(store: StoreDB, catalog: Catalog) -> tuple[str | None, str]:
    import threading

    product = await store.run(catalog.find, "1002")
    thread = await store.run(lambda: threading.current_thread().name)
    return (product.code if product else None), thread


def test_run_uses_the_store_thread(catalog: Catalog) -> None:
    import asyncio

    code, thread = asyncio.run(_lookup_off_thread(catalog.store, catalog))
    assert code == "1002"
    assert thread.startswith("store-db")
