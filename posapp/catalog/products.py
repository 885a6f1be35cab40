"""Products in ``store.sqlite3``: lookups by code or GTIN, and accent-insensitive name search.

Lookups are what the checkout does on every scan, so both ``code`` (unique) and ``gtin``
are indexed. Name search uses an FTS5 index over the folded description, code and GTIN,
with prefix indexes so ``"arr tio"`` finds *Arroz Tio João* without scanning the table.
A product is stored with the fiscal fields an NFC-e item needs (NCM, CFOP, CEST, origin),
so :meth:`Product.to_item` is all the checkout has to do.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from posapp.catalog.errors import ProductNotFound
from posapp.catalog.storedb import StoreDB
from posapp.catalog.text import fold, words
from posapp.domain.money import round_quantity
from posapp.domain.sale import SEM_GTIN, Item
from posapp.domain.taxes import TAX_FIELDS, IbptRates, ItemTax

COMPONENT = "catalog"

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE products (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        gtin TEXT,
        description TEXT NOT NULL,
        ncm TEXT NOT NULL,
        cfop TEXT NOT NULL,
        cest TEXT,
        unit TEXT NOT NULL,
        price TEXT NOT NULL,
        origin INTEGER NOT NULL,
        search_text TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX products_gtin ON products(gtin) WHERE gtin IS NOT NULL;
    CREATE VIRTUAL TABLE products_fts USING fts5(
        search_text, content='products', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='1 2 3'
    );
    """,
    # 2 (issue 14): the product's tax registry, plain columns (NULL: the store's default;
    # rates and values as exact decimal text), and the IBPT table (Lei 12.741) per UF and NCM.
    """
    ALTER TABLE products ADD COLUMN icms_cst TEXT;
    ALTER TABLE products ADD COLUMN csosn TEXT;
    ALTER TABLE products ADD COLUMN icms_rate TEXT;
    ALTER TABLE products ADD COLUMN icms_base_reduction TEXT;
    ALTER TABLE products ADD COLUMN st_base_unit TEXT;
    ALTER TABLE products ADD COLUMN st_rate TEXT;
    ALTER TABLE products ADD COLUMN st_icms_unit TEXT;
    ALTER TABLE products ADD COLUMN pis_cst TEXT;
    ALTER TABLE products ADD COLUMN pis_rate TEXT;
    ALTER TABLE products ADD COLUMN cofins_cst TEXT;
    ALTER TABLE products ADD COLUMN cofins_rate TEXT;
    ALTER TABLE products ADD COLUMN ibs_cbs_cst TEXT;
    ALTER TABLE products ADD COLUMN cclass_trib TEXT;
    ALTER TABLE products ADD COLUMN ibpt_federal TEXT;
    ALTER TABLE products ADD COLUMN ibpt_state TEXT;
    ALTER TABLE products ADD COLUMN ibpt_municipal TEXT;
    ALTER TABLE products ADD COLUMN ibpt_source TEXT;
    CREATE TABLE ibpt (
        uf TEXT NOT NULL,
        ncm TEXT NOT NULL,
        national_federal TEXT NOT NULL,
        imported_federal TEXT NOT NULL,
        state TEXT NOT NULL,
        municipal TEXT NOT NULL,
        valid_until TEXT,
        source TEXT NOT NULL,
        PRIMARY KEY (uf, ncm)
    ) WITHOUT ROWID;
    """,
)

#: The tax columns of ``products``, named as :class:`~posapp.domain.taxes.ItemTax` fields.
TAX_COLUMNS: tuple[str, ...] = TAX_FIELDS
_BASE_COLUMNS = ("code", "gtin", "description", "ncm", "cfop", "cest", "unit", "price", "origin")

# The triggers that keep the FTS index in step, row by row. A bulk import drops them,
# writes, then rebuilds the index in one pass (about four times faster for 200,000 rows).
INDEX_TRIGGERS: tuple[str, ...] = (
    """CREATE TRIGGER products_ai AFTER INSERT ON products BEGIN
        INSERT INTO products_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER products_ad AFTER DELETE ON products BEGIN
        INSERT INTO products_fts(products_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER products_au AFTER UPDATE OF search_text ON products BEGIN
        INSERT INTO products_fts(products_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO products_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
)


def suspend_index(conn: sqlite3.Connection) -> None:
    """Inside a transaction: stop per-row index upkeep (see :func:`rebuild_index`)."""
    for name in ("products_ai", "products_ad", "products_au"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")


def rebuild_index(conn: sqlite3.Connection) -> None:
    """Inside the same transaction: rebuild the FTS index from the table, restore the
    triggers. Either both happen or neither (the transaction)."""
    conn.execute("INSERT INTO products_fts(products_fts) VALUES ('rebuild')")
    for statement in INDEX_TRIGGERS:
        conn.execute(statement)


# What a lookup or a search reads: the product's columns, then its tax registry as one
# value, NULL when it has none (most products) or else a JSON array of the tax columns that
# SQLite builds and Python decodes once per distinct registry (``_tax_of``): 17 columns read
# and checked per row were a third of a search's time. With the store's UF (``?``), the
# IBPT table's rates for the product's NCM follow (a LEFT JOIN, only then: without a UF none
# apply); a search adds the search text last (the order of its results, ``_sort_key``).
_BASE_SQL = ", ".join(f"p.{c}" for c in _BASE_COLUMNS)
_TAX_LIST = ", ".join(f"p.{c}" for c in TAX_COLUMNS)
_TAX_SQL = f"CASE WHEN coalesce({_TAX_LIST}) IS NULL THEN NULL ELSE json_array({_TAX_LIST}) END"
_IBPT_SQL = ", i.national_federal, i.imported_federal, i.state, i.municipal, i.source"
_IBPT_JOIN = "LEFT JOIN ibpt i ON i.uf = ? AND i.ncm = p.ncm "


def _queries(where: str, *, search_text: bool = False) -> tuple[str, str]:
    """A query without and with the store's UF, built once (SQLite's statement cache then
    finds the same string object each time)."""
    last = ", p.search_text" if search_text else ""
    return (
        f"SELECT {_BASE_SQL}, {_TAX_SQL}{last} FROM products p {where}",  # noqa: S608 (our own names)
        f"SELECT {_BASE_SQL}, {_TAX_SQL}{_IBPT_SQL}{last} FROM products p {_IBPT_JOIN}{where}",  # noqa: S608
    )


_BY_CODE = _queries("WHERE p.code = ?")
_BY_GTIN = _queries("WHERE p.gtin = ? ORDER BY p.id LIMIT 1")
_SEARCH = _queries(
    "WHERE p.id IN (SELECT rowid FROM products_fts WHERE products_fts MATCH ? LIMIT ?)", search_text=True
)


@dataclass(frozen=True, slots=True)
class Product:
    """One product of the catalog; ``gtin`` is ``None`` when the product has none."""

    code: str
    description: str
    ncm: str
    price: Decimal
    gtin: str | None = None
    cfop: str = "5102"
    cest: str | None = None
    unit: str = "UN"
    origin: int = 0
    #: The product's own tax registry (``None``: the store's defaults); IBPT rates here
    #: override the table's.
    tax: ItemTax | None = None
    #: The IBPT table's rates for the product's NCM in the store's UF, when imported.
    ibpt: IbptRates | None = None

    @property
    def item_tax(self) -> ItemTax | None:
        """What the sale's item carries: the product's registry with the IBPT table's
        rates for its NCM and origin where the product has none of its own."""
        table = self.ibpt.for_origin(self.origin) if self.ibpt is not None else None
        if self.tax is None:
            return table
        if table is None or self.tax.ibpt_federal is not None or self.tax.ibpt_state is not None:
            return self.tax
        return self.tax.merged_over(table)

    def tax_row(self) -> tuple[str | None, ...]:
        """The tax columns' values, in :data:`TAX_COLUMNS` order."""
        return tax_row(self.tax)

    @property
    def search_text(self) -> str:
        return " ".join(part for part in (fold(self.description), self.code.lower(), self.gtin or "") if part)

    @property
    def sold_by_weight(self) -> bool:
        return self.unit.upper() in {"KG", "G", "L", "ML", "M"}

    def to_item(self, quantity: Decimal, *, unit_price: Decimal | None = None) -> Item:
        """The NFC-e item for ``quantity`` of this product (raises InvalidSale-style
        ``ValueError`` through pydantic if the catalog data is not issuable)."""
        return Item(
            code=self.code,
            gtin=self.gtin or SEM_GTIN,
            description=self.description,
            ncm=self.ncm,
            cfop=self.cfop,
            cest=self.cest,
            unit=self.unit,
            quantity=round_quantity(quantity),
            unit_price=self.price if unit_price is None else unit_price,
            origin=self.origin,
            tax=self.item_tax,
        )


def tax_row(tax: ItemTax | None) -> tuple[str | None, ...]:
    if tax is None:
        return (None,) * len(TAX_COLUMNS)
    values = tax.model_dump()
    return tuple(None if values[c] is None else str(values[c]) for c in TAX_COLUMNS)


@functools.lru_cache(maxsize=4096)
def _tax_of(packed: str | None) -> ItemTax | None:
    """The registry of a product's tax columns (``_TAX_SQL``); a catalog has few distinct ones,
    so a search of 200 rows validates a handful (the model is immutable: sharing it is safe)."""
    if packed is None:
        return None
    values = json.loads(packed)
    return ItemTax.model_validate(
        {name: value for name, value in zip(TAX_COLUMNS, values, strict=True) if value is not None}
    )


@functools.lru_cache(maxsize=4096)
def _ibpt_of(
    ncm: str, national: str | None, imported: str, state: str, municipal: str, source: str
) -> IbptRates | None:
    """The IBPT table's rates of a row (``_IBPT_SQL``), built once per NCM (immutable)."""
    if national is None:
        return None
    return IbptRates(ncm, Decimal(national), Decimal(imported), Decimal(state), Decimal(municipal), source)


def _row_to_product(row: Sequence[Any], with_ibpt: bool) -> Product:
    """A row of ``_queries`` as a product (``with_ibpt``: the UF's query). The columns' TEXT
    and INTEGER affinities already give ``str`` and ``int`` (no conversions: a search makes
    200 of these)."""
    code, gtin, description, ncm, cfop, cest, unit, price, origin, taxes = row[:10]
    return Product(
        code=code,
        description=description,
        ncm=ncm,
        price=Decimal(price),
        gtin=gtin or None,
        cfop=cfop,
        cest=cest or None,
        unit=unit,
        origin=int(origin),
        tax=_tax_of(taxes),
        ibpt=_ibpt_of(ncm, *row[10:15]) if with_ibpt else None,
    )


def _sort_key(product: Product, search_text: str) -> tuple[str, str]:
    """(the folded description, the code): the order of a search's results. The stored
    search text is :attr:`Product.search_text` (the folded description, then the code and
    the GTIN, as every writer makes it), so its head is read back rather than folded again;
    a text that does not end with the product's code and GTIN is folded anew."""
    tail = " ".join(part for part in (product.code.lower(), product.gtin or "") if part)
    if tail and search_text.endswith(" " + tail):
        return search_text[: -len(tail) - 1], product.code
    if tail and search_text == tail:
        return "", product.code
    return fold(product.description), product.code


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Catalog:
    """Blocking catalog calls; from the GUI, wrap them in ``await store.run(...)``."""

    def __init__(self, store: StoreDB, *, uf: str | None = None) -> None:
        self.store = store
        self.uf = uf  # the store's UF: which IBPT rates apply (none without it)
        store.migrate(COMPONENT, MIGRATIONS)
        with store.transaction() as conn:
            present = {
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            }
            if not {"products_ai", "products_ad", "products_au"} <= present:
                rebuild_index(conn)  # first start: create the triggers (and an empty index)

    # -- reading -----------------------------------------------------------------------

    def count(self) -> int:
        with self.store.reading() as conn:
            return int(conn.execute("SELECT count(*) FROM products").fetchone()[0])

    def _execute(self, conn: sqlite3.Connection, queries: tuple[str, str], *params: object) -> sqlite3.Cursor:
        """One of ``_queries``: with the UF's IBPT rates when the store has a UF."""
        if self.uf is None:
            return conn.execute(queries[0], params)
        return conn.execute(queries[1], (self.uf, *params))

    def by_code(self, code: str) -> Product | None:
        with self.store.reading() as conn:
            row = self._execute(conn, _BY_CODE, code).fetchone()
        return _row_to_product(row, self.uf is not None) if row else None

    def by_gtin(self, gtin: str) -> Product | None:
        with self.store.reading() as conn:
            row = self._execute(conn, _BY_GTIN, gtin).fetchone()
        return _row_to_product(row, self.uf is not None) if row else None

    def find(self, code: str) -> Product | None:
        """What a scan or a typed code means: a GTIN first (for digit strings of GTIN
        length), then the store's own code; a GTIN-13 with a leading zero also matches the
        GTIN-12 (UPC-A) it encodes."""
        text = code.strip()
        if not text:
            return None
        if text.isdigit() and len(text) in (8, 12, 13, 14):
            product = self.by_gtin(text)
            if product is None and len(text) == 13 and text.startswith("0"):
                product = self.by_gtin(text[1:])
            if product is not None:
                return product
        return self.by_code(text)

    def get(self, code: str) -> Product:
        product = self.find(code)
        if product is None:
            raise ProductNotFound(code)
        return product

    def search(self, text: str, *, limit: int = 100) -> list[Product]:
        """Products whose description, code or GTIN has words starting with every word
        typed, accent- and case-insensitive, sorted by description.

        FTS5 answers in rowid order and stops at ``limit``; sorting happens on that
        page only, which keeps a one-letter query on a 200,000-product catalog fast.
        """
        terms = words(text)
        if not terms:
            return []
        match = " AND ".join(f'"{term}"*' for term in terms)
        with self.store.reading() as conn:
            rows = self._execute(conn, _SEARCH, match, limit).fetchall()
        keyed = []
        with_ibpt = self.uf is not None
        for row in rows:
            product = _row_to_product(row, with_ibpt)
            keyed.append((_sort_key(product, row[-1]), product))
        keyed.sort(key=lambda pair: pair[0])
        return [product for _key, product in keyed]

    def all_codes(self) -> set[str]:
        with self.store.reading() as conn:
            return {str(row[0]) for row in conn.execute("SELECT code FROM products")}

    # -- writing -----------------------------------------------------------------------

    def upsert_many(self, products: Iterable[Product]) -> int:
        """Insert or update (by code) in one transaction; returns how many were written."""
        now = utc_now_iso()
        rows = [
            (
                p.code,
                p.gtin,
                p.description,
                p.ncm,
                p.cfop,
                p.cest,
                p.unit,
                str(p.price),
                p.origin,
                p.search_text,
                now,
                *p.tax_row(),
            )
            for p in products
        ]
        with self.store.transaction() as conn:
            upsert_rows(conn, rows, with_taxes=True)
        return len(rows)

    def upsert(self, product: Product) -> None:
        self.upsert_many([product])

    def delete(self, code: str) -> bool:
        with self.store.transaction() as conn:
            cursor = conn.execute("DELETE FROM products WHERE code = ?", (code,))
            return cursor.rowcount > 0


def _upsert_sql(columns: Sequence[str]) -> str:
    return (
        f"INSERT INTO products({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "  # noqa: S608
        "ON CONFLICT(code) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in columns if c != "code")
    )


_ROW_COLUMNS = (*_BASE_COLUMNS, "search_text", "updated_at")
_UPSERT = _upsert_sql(_ROW_COLUMNS)
_UPSERT_WITH_TAXES = _upsert_sql((*_ROW_COLUMNS, *TAX_COLUMNS))


def upsert_rows(
    conn: sqlite3.Connection, rows: Sequence[tuple[object, ...]], *, with_taxes: bool = False
) -> None:
    """Rows of the product's columns, search text and time, then (``with_taxes``) the tax
    columns. Without them an update keeps the product's tax registry: a price list does not
    erase it; with them the registry is replaced (an empty column: the store's default)."""
    conn.executemany(_UPSERT_WITH_TAXES if with_taxes else _UPSERT, rows)
