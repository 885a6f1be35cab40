"""CSV import: accepted rows land, refused rows are reported line by line."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from posapp.catalog.csv_import import import_csv, parse_price
from posapp.catalog.errors import CatalogFileError
from posapp.catalog.products import Catalog
from posapp.catalog.storedb import StoreDB
from posapp.resources import resource_path

GOOD_AND_BAD = """code,gtin,description,ncm,cfop,cest,unit,price,origin
1001,7898621001017,Arroz Branco Tipo 1 5kg,10063021,5102,,UN,27.90,0
1002,7898621001018,GTIN com dígito errado,07133399,5102,,UN,8.49,0
1003,,Sem NCM,,5102,,UN,9.29,0
1004,7891153002125,Açúcar Refinado 1kg,1701.99.00,5102,1709900,UN,"4,99",0
1005,,Preço inválido,17011400,5102,,UN,abc,0
1006,,Preço zero,17011400,5102,,UN,0,0
1001,,Código repetido,10063021,5102,,UN,1.00,0
1007,,CEST curto,17011400,5102,12345,UN,1.00,0
1008,,Origem ruim,17011400,5102,,UN,1.00,9

1009,,"Queijo Muçarela, fatiado (kg)",04061010,,,kg,"1.234,56",
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    store = StoreDB(tmp_path / "store.sqlite3")
    yield Catalog(store)
    store.close()


def test_report_names_every_refused_line(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "produtos.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    seen: list[int] = []
    report = import_csv(catalog, path, progress=seen.append)
    assert (report.rows, report.inserted, report.updated) == (10, 3, 0)
    rejected = {r.line: r for r in report.rejected}
    assert sorted(rejected) == [3, 4, 6, 7, 8, 9, 10]
    assert "GTIN" in rejected[3].reason
    assert "NCM" in rejected[4].reason
    assert "não é um número" in rejected[6].reason
    assert "maior que zero" in rejected[7].reason
    assert "linha 2" in rejected[8].reason and rejected[8].code == "1001"
    assert "CEST" in rejected[9].reason
    assert "origem" in rejected[10].reason.lower() or "origin" in rejected[10].reason.lower()
    assert seen and seen[-1] == 10
    assert report.lines()[0] == report.summary()
    assert any(line.startswith("linha 3 (1002)") for line in report.lines())

    sugar = catalog.get("7891153002125")
    assert sugar.price == Decimal("4.99")
    assert sugar.ncm == "17019900"
    cheese = catalog.get("1009")
    assert cheese.price == Decimal("1234.56")
    assert cheese.unit == "KG"
    assert cheese.cfop == "5102"
    assert cheese.gtin is None
    assert catalog.count() == 3


def test_semicolon_cp1252_and_portuguese_header(catalog: Catalog, tmp_path: Path) -> None:
    text = "codigo;descricao;ncm;preco;unidade\r\n77;Feijão Preto 1kg;07133319;9,29;UN\r\n"
    path = tmp_path / "planilha.csv"
    path.write_bytes(text.encode("cp1252"))
    report = import_csv(catalog, path)
    assert report.inserted == 1, report.lines()
    assert catalog.get("77").description == "Feijão Preto 1kg"
    assert [p.code for p in catalog.search("feijao")] == ["77"]


def test_reimport_updates(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("code,description,ncm,price\nA1,Item A,10063021,1.00\n", encoding="utf-8")
    import_csv(catalog, path)
    path.write_text("code,description,ncm,price\nA1,Item A novo,10063021,2.00\nA2,Item B,10063021,3\n")
    report = import_csv(catalog, path)
    assert (report.inserted, report.updated) == (1, 1)
    assert catalog.get("A1").price == Decimal("2.00")
    assert catalog.search("novo")[0].code == "A1"


def test_missing_required_column_imports_nothing(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("code,description,price\n1,X,1.00\n", encoding="utf-8")
    with pytest.raises(CatalogFileError) as info:
        import_csv(catalog, path)
    assert "ncm" in info.value.user_message
    assert catalog.count() == 0
    with pytest.raises(CatalogFileError):
        import_csv(catalog, tmp_path / "missing.csv")


def test_demo_catalog_imports_cleanly(catalog: Catalog) -> None:
    report = import_csv(catalog, resource_path("catalog_demo.csv"))
    assert report.rejected == [], report.lines()
    assert report.inserted >= 40
    assert catalog.search("acucar")


@pytest.mark.parametrize(
    ("text", "value"),
    [("4.99", "4.99"), ("4,99", "4.99"), ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("R$ 7,5", "7.5")],
)
def test_parse_price(text: str, value: str) -> None:
    assert parse_price(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "abc", "-1", "0", "NaN", "Infinity"])
def test_parse_price_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_price(text)


def test_control_characters_are_refused_with_their_line(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_text(
        "code,description,ncm,price\n"
        "A1,Arroz\x00Branco,10063021,1.00\n"
        'A2,"Feijão\ncom quebra",07133319,2.00\n'
        "A3\x07,Sino,07133319,2.00\n"
        "A4,Bom,07133319,3.00\n",
        encoding="utf-8",
    )
    report = import_csv(catalog, path)
    assert (report.inserted, report.updated) == (1, 0), report.lines()
    reasons = {r.line: r for r in report.rejected}
    assert sorted(reasons) == [2, 4, 5]  # line_num is where the record ends (quoted break)
    assert "description" in reasons[2].reason and "0x00" in reasons[2].reason
    assert "0x0a" in reasons[4].reason
    assert reasons[5].code == "A3?"  # shown without the control character
    assert all("\x00" not in line and "\x07" not in line for line in report.lines())
    assert catalog.get("A4").description == "Bom"


def test_unparseable_csv_is_a_catalog_error_with_its_line(catalog: Catalog, tmp_path: Path) -> None:
    import csv

    path = tmp_path / "huge.csv"
    field = "x" * (csv.field_size_limit() + 10)
    path.write_text(f"code,description,ncm,price\nA1,Ok,10063021,1.00\nA2,{field},10063021,1.00\n")
    with pytest.raises(CatalogFileError) as info:
        import_csv(catalog, path)
    assert "linha 3" in info.value.user_message
    assert "Nada foi importado" in info.value.user_message
    assert catalog.count() == 0  # all or nothing: the good line before it is not kept


def test_database_refusal_is_a_catalog_error(catalog: Catalog, tmp_path: Path) -> None:
    from posapp.catalog.errors import StoreUnavailable

    with catalog.store.transaction() as conn:  # a real refusal from SQLite itself
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON products BEGIN SELECT RAISE(ABORT, 'disk is full'); END"
        )
    path = tmp_path / "ok.csv"
    path.write_text("code,description,ncm,price\nA1,Item,10063021,1.00\n", encoding="utf-8")
    with pytest.raises(StoreUnavailable) as info:
        import_csv(catalog, path)
    assert "Nada foi importado" in info.value.user_message
    assert catalog.count() == 0
