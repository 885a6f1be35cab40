"""The catalog's tax registry and the IBPT table (issue 14 items 2 and 5), on real SQLite
files: the CSV import's tax columns, their errors, the store's regime at import, an older
store file migrated, the IBPT table in its public layout, and the item a scan builds."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from posapp.catalog.csv_import import import_csv
from posapp.catalog.errors import CatalogFileError
from posapp.catalog.ibpt import import_ibpt, uf_from_name
from posapp.catalog.products import Catalog
from posapp.catalog.storedb import StoreDB
from posapp.domain.taxes import Crt, ItemTax, store_defaults

HEADER = "code,gtin,description,ncm,cfop,cest,unit,price,origin"
IBPT_HEADER = (
    "codigo;ex;tipo;descricao;nacionalfederal;importadosfederal;estadual;municipal;"
    "vigenciainicio;vigenciafim;chave;versao;fonte"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StoreDB]:
    db = StoreDB(tmp_path / "store.sqlite3")
    yield db
    db.close()


def write(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_tax_columns_with_portuguese_names_are_imported_and_sold(store: StoreDB, tmp_path: Path) -> None:
    csv = write(
        tmp_path / "c.csv",
        "codigo;descricao;ncm;cfop;cest;preco;csosn;vbcstret;pst;vicmsstret;cst_pis;cst_cofins;federal;estadual",
        "14600;Cerveja Pilsen 350ml;22030000;5405;0302100;4,99;500;4,50;18;0,45;04;04;24,71;18,00",
        "200;Pão francês;19059090;5102;;15,90;102;;;;49;49;7,85;12",
    )
    catalog = Catalog(store, uf="DF")
    report = import_csv(catalog, csv, crt=Crt.SIMPLES, defaults=store_defaults(Crt.SIMPLES))
    assert (report.inserted, report.rejected) == (2, [])
    beer = catalog.get("14600")
    assert beer.tax == ItemTax(
        csosn="500",
        st_base_unit="4.50",
        st_rate="18",
        st_icms_unit="0.45",
        pis_cst="04",
        cofins_cst="04",
        ibpt_federal="24.71",
        ibpt_state="18.00",
    )
    item = beer.to_item(Decimal(6))
    assert item.tax is not None and item.tax.st_base_unit == Decimal("4.50")


def test_bad_tax_columns_are_refused_per_line_with_the_reason(store: StoreDB, tmp_path: Path) -> None:
    csv = write(
        tmp_path / "c.csv",
        f"{HEADER},csosn,pis_cst,cofins_cst,icms_rate",
        "1,,Arroz,10063021,5102,,UN,27.90,0,102,49,49,",
        "2,,Feijao,07133399,5102,,UN,8.49,0,10,49,49,",
        "3,,Cerveja,22030000,5405,,UN,4.99,0,500,04,04,",
        "4,,Sabao,34022000,5102,,UN,12.45,0,102,49,49,abc",
    )
    report = import_csv(Catalog(store), csv, crt=Crt.SIMPLES, defaults=store_defaults(Crt.SIMPLES))
    assert report.inserted == 1
    reasons = {r.code: r.reason for r in report.rejected}
    assert reasons["2"].startswith("csosn: CSOSN '10' não aceito")
    assert reasons["3"].startswith("cest: mercadoria com ICMS-ST (500) exige o CEST")
    assert reasons["4"].startswith("icms_rate:")


def test_the_store_regime_refuses_a_csosn_in_a_normal_regime_store(store: StoreDB, tmp_path: Path) -> None:
    csv = write(
        tmp_path / "c.csv",
        f"{HEADER},csosn,icms_cst,icms_rate",
        "1,,Arroz,10063021,5102,,UN,27.90,0,102,,",
        "2,,Sabao,34022000,5102,,UN,12.45,0,,00,20",
    )
    defaults = ItemTax(
        pis_cst="01",
        pis_rate="1.65",
        cofins_cst="01",
        cofins_rate="7.6",
        ibs_cbs_cst="000",
        cclass_trib="000001",
    )
    report = import_csv(Catalog(store), csv, crt=Crt.NORMAL, defaults=defaults)
    assert [r.code for r in report.rejected] == ["1"]
    assert "informa CST do ICMS, não CSOSN" in report.rejected[0].reason
    # without the regime (an import that does not know the store) only the fields are checked
    assert import_csv(Catalog(store), csv).accepted == 2


def test_a_price_list_without_tax_columns_keeps_the_registry(store: StoreDB, tmp_path: Path) -> None:
    catalog = Catalog(store)
    import_csv(
        catalog,
        write(
            tmp_path / "a.csv",
            f"{HEADER},csosn,pis_cst,cofins_cst",
            "1,,Arroz,10063021,5102,,UN,27.90,0,103,49,49",
        ),
    )
    import_csv(catalog, write(tmp_path / "b.csv", HEADER, "1,,Arroz,10063021,5102,,UN,29.90,0"))
    product = catalog.get("1")
    assert product.price == Decimal("29.90") and product.tax is not None and product.tax.csosn == "103"
    # a file with tax columns replaces the registry: an empty cell is the store's default again
    import_csv(catalog, write(tmp_path / "c.csv", f"{HEADER},csosn", "1,,Arroz,10063021,5102,,UN,29.90,0,"))
    assert catalog.get("1").tax is None


def test_a_store_file_from_before_the_registry_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    old = StoreDB(path)
    from posapp.catalog.products import MIGRATIONS

    old.migrate("catalog", MIGRATIONS[:1])
    with old.transaction() as conn:
        conn.execute(
            "INSERT INTO products(code, gtin, description, ncm, cfop, cest, unit, price, origin, "
            "search_text, updated_at) "
            "VALUES ('1', NULL, 'Arroz', '10063021', '5102', NULL, 'UN', '27.90', 0, 'arroz 1', 'x')"
        )
    old.close()
    store = StoreDB(path)
    try:
        product = Catalog(store, uf="SP").get("1")
        assert product.price == Decimal("27.90") and product.tax is None and product.ibpt is None
    finally:
        store.close()


# -- the IBPT table -----------------------------------------------------------------------------


def ibpt_file(tmp_path: Path, name: str = "TabelaIBPTaxDF26.1.A.csv") -> Path:
    return write(
        tmp_path / name,
        IBPT_HEADER,
        "22030000;;0;Cervejas de malte;24.71;32.10;18.00;0.00;01/01/2026;30/06/2026;x9Y8Z7;26.1.A;IBPT",
        "22030000;01;0;Cervejas ex 01;10.00;10.00;10.00;0.00;01/01/2026;30/06/2026;x9Y8Z7;26.1.A;IBPT",
        "19059090;;0;Outros pães;7.85;12.40;12.00;0.00;01/01/2026;30/06/2026;x9Y8Z7;26.1.A;IBPT",
        "0107;;1;Serviço NBS;13.45;15.45;0.00;2.00;01/01/2026;30/06/2026;x9Y8Z7;26.1.A;IBPT",
        "2203;;0;NCM curto;1.00;1.00;1.00;0.00;01/01/2026;30/06/2026;x9Y8Z7;26.1.A;IBPT",
        encoding="latin-1",
    )


def test_the_ibpt_table_in_its_public_layout(store: StoreDB, tmp_path: Path) -> None:
    path = ibpt_file(tmp_path)
    assert uf_from_name(path) == "DF"
    report = import_ibpt(store, path)
    assert (report.uf, report.imported, report.skipped, report.refused_count) == ("DF", 2, 2, 1)
    assert report.version == "26.1.A" and str(report.valid_until) == "2026-06-30"
    assert "Outros pães" not in report.summary() and "26.1.A" in report.summary()
    # imported again: the UF's table is replaced, not doubled
    assert import_ibpt(store, path).imported == 2
    with store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM ibpt").fetchone()[0] == 2


def test_a_scanned_product_takes_the_ibpt_rates_of_its_ncm_in_the_store_uf(
    store: StoreDB, tmp_path: Path
) -> None:
    catalog = Catalog(store, uf="DF")
    import_csv(
        catalog,
        write(
            tmp_path / "c.csv",
            HEADER,
            "1,,Cerveja nacional,22030000,5405,0302100,UN,4.99,0",
            "2,,Cerveja importada,22030000,5405,0302100,UN,9.99,1",
            "3,,Sabao,34022000,5102,,UN,12.45,0",
        ),
    )
    import_ibpt(store, ibpt_file(tmp_path))
    national, imported, soap = (catalog.get(code).to_item(Decimal(1)).tax for code in ("1", "2", "3"))
    assert national is not None and national.ibpt_federal == Decimal("24.71")
    assert national.ibpt_source == "IBPT 26.1.A x9Y8Z7"
    assert imported is not None and imported.ibpt_federal == Decimal("32.10")
    assert soap is None  # no IBPT line for its NCM
    # another UF's till does not take DF's rates
    assert Catalog(store, uf="SP").get("1").to_item(Decimal(1)).tax is None
    # the product's own rates win over the table's
    import_csv(
        catalog,
        write(
            tmp_path / "d.csv", f"{HEADER},federal", "1,,Cerveja nacional,22030000,5405,0302100,UN,4.99,0,20"
        ),
    )
    own = catalog.get("1").to_item(Decimal(1)).tax
    assert own is not None and own.ibpt_federal == Decimal("20") and own.ibpt_source is None


def test_ibpt_files_that_cannot_be_used_change_nothing(store: StoreDB, tmp_path: Path) -> None:
    Catalog(store)  # the tables exist; the bad files must leave them empty
    with pytest.raises(CatalogFileError) as caught:
        import_ibpt(store, write(tmp_path / "tabela.csv", IBPT_HEADER))
    assert "informe --uf" in caught.value.user_message
    with pytest.raises(CatalogFileError) as caught:
        import_ibpt(store, write(tmp_path / "TabelaIBPTaxSP.csv", "codigo;descricao", "22030000;x"), uf="SP")
    assert "nacionalfederal" in caught.value.user_message
    with pytest.raises(CatalogFileError):
        import_ibpt(
            store, write(tmp_path / "TabelaIBPTaxSP1.csv", IBPT_HEADER, "0107;;1;NBS;1;1;1;1;;;k;v;IBPT")
        )
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT count(*) FROM ibpt").fetchone()[0] == 0
