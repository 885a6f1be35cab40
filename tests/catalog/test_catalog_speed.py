"""The catalog's fast paths (issue 11: the catalog as fast as before issue 14) keep every
rule: the CSV import's check of a plain row gives exactly what ``Item`` gives, a cached tax
profile is refused on every row that carries it, and a search answers the same products,
with their tax data, in the same order. Real SQLite files, the real import."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from posapp.catalog.csv_import import (
    BASE_COLUMNS,
    _item_fields,
    _plain_fields,
    import_csv,
    parse_price,
)
from posapp.catalog.ibpt import import_ibpt
from posapp.catalog.products import Catalog, Product
from posapp.catalog.storedb import StoreDB
from posapp.catalog.text import fold
from posapp.domain.sale import gtin_is_valid
from posapp.domain.taxes import Crt, ItemTax, store_defaults

HEADER = ",".join(BASE_COLUMNS)
PLAIN = {
    "code": "A1",
    "gtin": "7891153002125",
    "description": "Açúcar Refinado 1kg",
    "ncm": "17019900",
    "cfop": "5102",
    "cest": "",
    "unit": "UN",
    "price": "4.99",
    "origin": "0",
}
# Each field's edge values: the bounds of Item's rules on both sides, and the forms Item
# normalizes (dots, spaces, case) that the plain check must leave to Item.
EDGES: dict[str, list[str]] = {
    "code": ["", "x" * 60, "x" * 61, " A1", "A1\u00a0", "\u2003A1", "Código", "a b", "ñ"],
    "gtin": [
        "",
        "SEM GTIN",
        "sem gtin",
        "7891153002125",
        "7891153002126",
        "00000000",
        "00000000000000",
        "96385074",
        "036000291452",
        "10012345678902",
        "789 1153002125",
        " 7891153002125",
        "٧٨٩١١٥٣٠٠٢١٢٥",
        "7891153002125.0",
    ],
    "description": [
        "",
        "a" * 120,
        "a" * 121,
        "ß" * 120,
        "  Açúcar   Refinado ",
        "!!!",
        "x\u200by",
        "Pão\u00a0fr",
    ],
    "ncm": ["", "1701.99.00", "1701990", "170199000", "abcdefgh", "٠١٢٣٤٥٦٧", " 17019900", "00"],
    "cfop": ["", "5.102", "5405", "5933", "6102", "51O2", "5656", "5667", "5101", " 5102", "5102 "],
    "cest": ["", "1709900", "17.099.00", "12345", "abc", "１７０９９００", " 1709900"],
    "unit": ["", "un", "kg", "UNIDAD", "UNIDADE", "ß" * 3, "ß" * 4, " UN", "CX 12"],
    "price": [
        "0.001",
        "0.004",
        "0.005",
        "0.01",
        "99999999999",
        "100000000000",
        "99999999999.9999999999",
        "0.0000000001",
        "12.3456789012",
        "1,5",
        "1.234,56",
        "R$ 7,5",
        "1e3",
    ],
    "origin": ["", "0", "8", "9", "00", "08", "3", "٣", "²", "a"],
}


def _through_both(values: dict[str, str]) -> tuple[object, object] | None:
    """(the plain check's answer, Item's answer or the ValueError it raised); ``None`` for a
    row refused before either (its price or origin)."""
    try:
        price = parse_price(values["price"])
    except ValueError:
        return None
    origin_text = values["origin"].strip() or "0"
    if not origin_text.isdigit() or not origin_text.isascii():
        return None
    try:
        by_item: object = _item_fields(values, price, int(origin_text))
    except ValueError as exc:
        by_item = exc
    return _plain_fields(values, price), by_item


def _rows() -> Iterator[dict[str, str]]:
    yield dict(PLAIN)
    for field, edges in EDGES.items():  # one field at a time
        for edge in edges:
            yield {**PLAIN, field: edge}
    rng = random.Random(11)
    for _ in range(3000):  # and mixed
        yield {
            field: PLAIN[field] if rng.random() < 0.7 else rng.choice(edges) for field, edges in EDGES.items()
        }


def test_a_plain_row_takes_exactly_what_item_gives() -> None:
    """Whatever the plain check accepts, Item accepts with the very same values; anything
    else is left to Item (and so to its messages)."""
    plain = left = 0
    for values in _rows():
        answers = _through_both(values)
        if answers is None:
            continue
        fast, by_item = answers
        if fast is None:
            left += 1
            continue
        plain += 1
        assert not isinstance(by_item, ValueError), (values, by_item)
        assert fast == by_item, values
    assert plain > 500 and left > 500  # both paths were exercised
    assert _through_both(dict(PLAIN)) == (_item_fields(PLAIN, Decimal("4.99"), 0),) * 2


def test_a_gtin_with_a_line_break_is_no_gtin_and_no_crash() -> None:
    """A "$" anchor let "...\n" through to int(), a ValueError from the simulator's check."""
    assert gtin_is_valid("7891000315507")
    assert not gtin_is_valid("7891000315507\n")
    assert not gtin_is_valid("789100031550\n")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StoreDB]:
    db = StoreDB(tmp_path / "store.sqlite3")
    yield db
    db.close()


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rows_item_normalizes_are_stored_as_item_normalizes_them(store: StoreDB, tmp_path: Path) -> None:
    catalog = Catalog(store)
    report = import_csv(
        catalog,
        write(
            tmp_path / "c.csv",
            HEADER,
            'A1,sem gtin,Açúcar   Refinado,1701.99.00,5.102,17.099.00,kg,"4,99",08',
            "A2,,Arroz,10063021,,,,1.00,",
        ),
    )
    assert report.rejected == [] and report.inserted == 2
    sugar = catalog.get("A1")
    assert (sugar.gtin, sugar.description, sugar.ncm, sugar.cfop, sugar.cest, sugar.unit, sugar.origin) == (
        None,
        "Açúcar Refinado",
        "17019900",
        "5102",
        "1709900",
        "KG",
        8,
    )
    rice = catalog.get("A2")
    assert (rice.cfop, rice.unit, rice.origin, rice.price) == ("5102", "UN", 0, Decimal("1.00"))


def test_a_bad_tax_profile_is_refused_on_every_row_that_carries_it(store: StoreDB, tmp_path: Path) -> None:
    """Profiles are validated once per distinct combination; each row that carries a bad one
    is still refused, under its own line number, with the same reason."""
    report = import_csv(
        Catalog(store),
        write(
            tmp_path / "c.csv",
            f"{HEADER},csosn,pis_cst,cofins_cst",
            "1,,Arroz,10063021,5102,,UN,27.90,0,10,49,49",
            "2,,Feijao,07133399,5102,,UN,8.49,0,102,49,49",
            "3,,Sal,25010020,5102,,UN,2.49,0,10,49,49",
            "4,,Cerveja,22030000,5405,,UN,4.99,0,500,04,04",
            "5,,Oleo,15079011,5102,,UN,7.99,0,10,49,49",
            "6,,Refrigerante,22021000,5405,,UN,8.99,0,500,04,04",
            "7,,Cafe,09012100,5102,,UN,15.90,0,102,49,49",
        ),
        crt=Crt.SIMPLES,
        defaults=store_defaults(Crt.SIMPLES),
    )
    assert report.inserted == 2
    lines = report.lines()[1:]
    bad_code = "csosn: CSOSN '10' não aceito na NFC-e"
    for line, code in ((2, "1"), (4, "3"), (6, "5")):
        assert any(text.startswith(f"linha {line} ({code}): {bad_code}") for text in lines), lines
    for line, code in ((5, "4"), (7, "6")):  # the regime's rule, cached per profile too
        assert f"linha {line} ({code}): cest: mercadoria com ICMS-ST (500) exige o CEST" in " | ".join(lines)
    assert len(report.rejected) == 5


def test_an_origin_digit_that_is_no_number_is_refused_in_portuguese(store: StoreDB, tmp_path: Path) -> None:
    report = import_csv(
        Catalog(store), write(tmp_path / "c.csv", HEADER, "1,,Arroz,10063021,5102,,UN,2.00,²")
    )
    assert [r.reason for r in report.rejected] == ["origem '²' deve ser um número de 0 a 8"]


# -- search ---------------------------------------------------------------------------------

DESCRIPTIONS = ["Água Mineral 500ml", "agua com gás", "Açaí", "ACAI Zero", "!!!", "Ação", "Álcool 70%", "a"]


def _catalog_for_search(store: StoreDB, tmp_path: Path, uf: str | None) -> Catalog:
    catalog = Catalog(store, uf=uf)
    lines = [f"{HEADER},csosn,pis_cst,cofins_cst,federal"]
    for n, description in enumerate(DESCRIPTIONS * 3):
        taxes = "102,49,49," if n % 3 == 0 else ("500,04,04,24.5" if n % 3 == 1 else ",,,")
        cfop, cest = ("5405", "0302100") if n % 3 == 1 else ("5102", "")
        gtin = "7891153002125" if n == 4 else ""
        code = f"{'Bc'[n % 2]}{30 - n}"  # codes out of description order, upper and lower case
        lines.append(f'{code},{gtin},"{description}",22021000,{cfop},{cest},UN,1.00,{n % 2},{taxes}')
    assert import_csv(catalog, write(tmp_path / "c.csv", *lines)).rejected == []
    import_ibpt(
        store,
        write(
            tmp_path / "TabelaIBPTaxDF26.1.A.csv",
            "codigo;ex;tipo;descricao;nacionalfederal;importadosfederal;estadual;municipal;"
            "vigenciainicio;vigenciafim;chave;versao;fonte",
            "22021000;;0;Refrigerantes;13.45;18.10;18.00;0.00;01/01/2026;30/06/2026;k1;26.1.A;IBPT",
        ),
    )
    return catalog


@pytest.mark.parametrize("uf", ["DF", None])
def test_search_answers_whole_products_in_description_order(
    store: StoreDB, tmp_path: Path, uf: str | None
) -> None:
    catalog = _catalog_for_search(store, tmp_path, uf)
    # "a" finds every product but "!!!" (no word), whose code is B26/B18/B10... found by code
    found = catalog.search("a", limit=200)
    expected = sorted(
        (p for p in (catalog.get(c) for c in catalog.all_codes()) if fold(p.description)),
        key=lambda p: (fold(p.description), p.code),
    )
    assert [p.code for p in found] == [p.code for p in expected]
    assert found == expected  # every field, the tax registry and the IBPT rates included
    by_code = catalog.search("b2", limit=200)  # codes B2x: "!!!" among them, sorted first
    assert by_code[0].description == "!!!" and by_code == sorted(
        by_code, key=lambda p: (fold(p.description), p.code)
    )
    with_tax = next(p for p in found if p.tax is not None and p.tax.csosn == "500")
    assert with_tax.tax == ItemTax(csosn="500", pis_cst="04", cofins_cst="04", ibpt_federal="24.5")
    plain = next(p for p in found if p.tax is None)
    item_tax = plain.to_item(Decimal(1)).tax
    if uf is None:
        assert plain.ibpt is None and item_tax is None
    else:  # the cart's item gets the UF's IBPT rates for its NCM and origin
        federal = Decimal("18.10") if plain.origin == 1 else Decimal("13.45")
        assert item_tax == ItemTax(
            ibpt_federal=federal, ibpt_state="18.00", ibpt_municipal="0.00", ibpt_source="IBPT 26.1.A k1"
        )


def test_a_search_text_that_is_not_its_products_is_folded_anew(store: StoreDB, tmp_path: Path) -> None:
    """The order reads the folded description back from the stored search text; one that
    does not end with the product's code and GTIN (written by hand, say) is not trusted."""
    catalog = Catalog(store)
    catalog.upsert_many(
        [
            Product(code="A1", description="Alho", ncm="07032090", price=Decimal("1")),
            Product(code="Z1", description="Azeite", ncm="15091000", price=Decimal("1")),
        ]
    )
    assert [p.code for p in catalog.search("a")] == ["A1", "Z1"]
    with store.transaction() as conn:  # the index follows (trigger); the text lacks "z1"
        conn.execute("UPDATE products SET search_text = 'aaa azeite' WHERE code = 'Z1'")
    assert [p.code for p in catalog.search("a")] == ["A1", "Z1"]
