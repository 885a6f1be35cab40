"""The demo catalog: every row is something an NFC-e can carry."""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from posapp.resources import resource_path

COLUMNS = [
    *("code", "gtin", "description", "ncm", "cfop", "cest", "unit", "price", "origin"),
    # the tax registry (issue 14): both ICMS codes, so the demo sells in either regime
    *("csosn", "icms_cst", "icms_rate", "st_base_unit", "st_rate", "st_icms_unit", "pis_cst", "cofins_cst"),
    *("ibs_cbs_cst", "cclass_trib", "ibpt_federal", "ibpt_state", "ibpt_municipal", "ibpt_source"),
]


def _rows() -> list[dict[str, str]]:
    with resource_path("catalog_demo.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS  # exactly these columns, in this order
        return list(reader)


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10: weights 3,1,3,1... from the rightmost digit of the body."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


@pytest.mark.parametrize(
    ("gtin", "valid"),
    [("7891000315507", True), ("7891000315508", False), ("4006381333931", True), ("96385074", True)],
)
def test_check_digit_oracle(gtin: str, valid: bool) -> None:
    assert (gtin_check_digit(gtin[:-1]) == int(gtin[-1])) is valid


def test_about_forty_products_with_unique_codes_and_gtins() -> None:
    rows = _rows()
    assert 35 <= len(rows) <= 60
    assert len({r["code"] for r in rows}) == len(rows)
    assert len({r["gtin"] for r in rows}) == len(rows)


def test_every_gtin13_has_a_valid_check_digit() -> None:
    for row in _rows():
        gtin = row["gtin"]
        assert len(gtin) == 13 and gtin.isdigit(), row
        assert gtin.startswith("789"), row  # GS1 Brasil prefix
        assert gtin_check_digit(gtin[:12]) == int(gtin[12]), row


def test_fiscal_fields() -> None:
    for row in _rows():
        assert len(row["ncm"]) == 8 and row["ncm"].isdigit(), row
        assert row["ncm"] != "00000000", row
        # goods under substitution (with CEST) leave with 5405 and CSOSN 500 / CST 60
        assert row["cfop"] == ("5405" if row["cest"] else "5102"), row
        assert (row["csosn"], row["icms_cst"]) in {("500", "60"), ("102", "00"), ("400", "40")}, row
        assert (row["csosn"] == "500") == bool(row["cest"]) == bool(row["st_icms_unit"]), row
        assert row["cest"] == "" or (len(row["cest"]) == 7 and row["cest"].isdigit()), row
        assert row["unit"] in {"UN", "KG", "DZ", "L", "CX", "PCT"}, row
        assert 0 <= int(row["origin"]) <= 8, row


def test_prices_are_exact_decimals() -> None:
    for row in _rows():
        try:
            price = Decimal(row["price"])
        except InvalidOperation:
            pytest.fail(f"price is not a decimal: {row}")
        assert price > 0 and price == price.quantize(Decimal("0.01")), row
        assert price.as_tuple().exponent == -2, row  # written with two decimals, like a price tag


def test_descriptions_have_accents_and_fit_the_wire() -> None:
    rows = _rows()
    descriptions = [r["description"] for r in rows]
    assert sum(1 for d in descriptions if not d.isascii()) >= 10  # accents are there on purpose
    for d in descriptions:
        d.encode("iso-8859-1")  # Emites-Client speaks ISO-8859-1: every name must survive it
        assert 3 <= len(d) <= 120 and d == d.strip()


def test_cest_only_where_substitution_applies() -> None:
    by_code = {r["description"]: r for r in _rows()}
    assert by_code["Cerveja Pilsen 350ml"]["cest"] == "0302100"
    assert by_code["Arroz Branco Tipo 1 5kg"]["cest"] == ""  # arroz is not under ST


def test_the_catalog_importer_accepts_every_row(tmp_path: Path) -> None:
    """The demo loads it through the real importer, which checks each row as an NFC-e item."""
    from posapp.catalog.csv_import import import_csv
    from posapp.catalog.products import Catalog
    from posapp.catalog.storedb import StoreDB

    store = StoreDB(tmp_path / "store.sqlite3")
    try:
        report = import_csv(Catalog(store), resource_path("catalog_demo.csv"))
    finally:
        store.close()
    assert report.rejected == []
    assert report.inserted == len(_rows())


@pytest.mark.parametrize("crt", [1, 3])
def test_every_product_can_be_sold_by_a_simples_and_by_a_normal_regime_store(
    tmp_path: Path, crt: int
) -> None:
    """Imported with the store's regime (and the example configuration's [taxes] for the
    normal regime), no row is refused: the demo sells in both."""
    from posapp.catalog.csv_import import import_csv
    from posapp.catalog.products import Catalog
    from posapp.catalog.storedb import StoreDB
    from posapp.config import load_config

    example = Path(__file__).resolve().parents[2] / "examples" / "posapp_regime_normal.toml"
    config = load_config(example) if crt == 3 else load_config(None)
    store = StoreDB(tmp_path / "store.sqlite3")
    try:
        report = import_csv(
            Catalog(store),
            resource_path("catalog_demo.csv"),
            crt=config.store.regime,
            defaults=config.tax_defaults,
        )
    finally:
        store.close()
    assert report.rejected == [], report.lines()
    assert report.inserted == len(_rows())
