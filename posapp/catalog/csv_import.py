"""Import the catalog from a CSV file, with a line-by-line report of what was refused.

Columns (header required, any order, case-insensitive; Portuguese names accepted)::

    code,gtin,description,ncm,cfop,cest,unit,price,origin
    codigo,gtin,descricao,ncm,cfop,cest,unidade,preco,origem

* ``code`` (required) the store's code, unique; a later line with the same code is refused.
* ``gtin`` optional; 8/12/13/14 digits with a valid check digit, or empty / ``SEM GTIN``.
* ``description`` (required) up to 120 characters.
* ``ncm`` (required) 8 digits (dots allowed). ``cfop`` defaults to 5102, ``cest`` optional
  (7 digits), ``unit`` defaults to UN, ``origin`` 0-8 (default 0).
* ``price`` > 0, ``4.99``, ``4,99`` or ``1.234,56``.
* the tax registry, all optional (an empty cell: the store's default, ``[taxes]``):
  ``csosn`` and/or ``icms_cst`` (a catalog may carry both: the store's regime picks),
  ``icms_rate``, ``icms_base_reduction``; for goods under substitution ``st_base_unit``,
  ``st_rate``, ``st_icms_unit`` (per unit, from the purchase note); ``pis_cst``,
  ``pis_rate``, ``cofins_cst``, ``cofins_rate``; ``ibs_cbs_cst``, ``cclass_trib``;
  ``ibpt_federal``, ``ibpt_state``, ``ibpt_municipal``, ``ibpt_source`` (Lei 12.741; else the
  imported IBPT table). Portuguese names too (``cst``, ``cst_pis``, ``aliquota_icms``,
  ``vbcstret``, ``pst``, ``vicmsstret``, ``federal``, ``estadual``...). A file without tax
  columns keeps the products' registries (a price list); one with them replaces them.
  Given the store's regime (``crt``), a product it could not sell is refused, with why.

The delimiter is ``,`` or ``;`` (spreadsheets in Brazil save with ``;``), detected from
the header. The file is UTF-8 (with or without BOM), else Windows-1252. Every row is
checked with the same rules an NFC-e item is built with (:class:`posapp.domain.sale.Item`),
so a product that imports can always be sold (a row already in plain form takes a cheaper
check of the same bounds; any other row is built as an ``Item``, whose messages it reports),
and no field may hold a control character (NUL, a line break inside quotes...): the
description goes into the note and the receipt. Accepted rows are written in one
transaction: an import is all or nothing for the rows it accepts, never half a file. A
file the CSV reader cannot parse, or a database that refuses the write, raises the
catalog's own errors (Portuguese message, nothing imported).
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from posapp.catalog.errors import CatalogFileError, StoreUnavailable
from posapp.catalog.products import (
    TAX_COLUMNS,
    Catalog,
    Product,
    rebuild_index,
    suspend_index,
    tax_row,
    upsert_rows,
    utc_now_iso,
)
from posapp.domain.errors import DomainError
from posapp.domain.money import CENT, VUNCOM, parse_amount_text
from posapp.domain.sale import ISSUABLE_CFOPS, SEM_GTIN, Item, describe_validation_error, gtin_is_valid
from posapp.domain.taxes import Crt, ItemTax, tax_from_mapping, tax_problems

BASE_COLUMNS = ("code", "gtin", "description", "ncm", "cfop", "cest", "unit", "price", "origin")
COLUMNS = (*BASE_COLUMNS, *TAX_COLUMNS)
REQUIRED = ("code", "description", "ncm", "price")
_ALIASES = {
    "codigo": "code",
    "código": "code",
    "cod": "code",
    "ean": "gtin",
    "descricao": "description",
    "descrição": "description",
    "nome": "description",
    "unidade": "unit",
    "un": "unit",
    "preco": "price",
    "preço": "price",
    "origem": "origin",
    "cst": "icms_cst",
    "cst_icms": "icms_cst",
    "aliquota_icms": "icms_rate",
    "picms": "icms_rate",
    "reducao_bc": "icms_base_reduction",
    "predbc": "icms_base_reduction",
    "vbcstret": "st_base_unit",
    "pst": "st_rate",
    "vicmsstret": "st_icms_unit",
    "cst_pis": "pis_cst",
    "aliquota_pis": "pis_rate",
    "ppis": "pis_rate",
    "cst_cofins": "cofins_cst",
    "aliquota_cofins": "cofins_rate",
    "pcofins": "cofins_rate",
    "cst_ibs_cbs": "ibs_cbs_cst",
    "cst_ibscbs": "ibs_cbs_cst",
    "cclasstrib": "cclass_trib",
    "federal": "ibpt_federal",
    "estadual": "ibpt_state",
    "municipal": "ibpt_municipal",
    "fonte": "ibpt_source",
}

_BATCH = 5000
BULK_ROWS = 2000  # above this, rebuild the search index once instead of row by row


@dataclass(frozen=True, slots=True)
class RejectedRow:
    line: int  # 1-based line number in the file (the header is line 1)
    code: str
    reason: str  # Portuguese, for the manager


@dataclass(slots=True)
class ImportReport:
    path: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated

    def summary(self) -> str:
        return (
            f"{self.rows} linhas lidas: {self.inserted} produtos novos, {self.updated} atualizados, "
            f"{len(self.rejected)} recusados."
        )

    def lines(self) -> list[str]:
        """The report as text lines: the summary, then one line per refused row."""
        return [self.summary()] + [
            f"linha {r.line} ({r.code or 'sem código'}): {r.reason}" for r in self.rejected
        ]


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _header_map(header: list[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().lower()
        key = _ALIASES.get(key, key)
        if key in COLUMNS and key not in mapping:
            mapping[key] = index
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        raise CatalogFileError(
            f"CSV header lacks {missing}: {header}",
            user_message=(
                f"Cabeçalho do CSV sem as colunas obrigatórias: {', '.join(missing)}. "
                f"Colunas aceitas: {', '.join(COLUMNS)}."
            ),
        )
    return mapping


def parse_price(text: str) -> Decimal:
    """``4.99``, ``4,99``, ``1.234,56``, ``1,234.56``, ``R$ 4,99`` -> Decimal; refuses floats
    by construction (strings only) and anything that is not a positive amount."""
    try:
        price = parse_amount_text(text)
    except DomainError:
        raise ValueError(f"preço '{text}' não é um número") from None
    if price <= 0:
        raise ValueError(f"preço '{text}' deve ser maior que zero")
    if price.as_tuple().exponent < -10:  # type: ignore[operator]
        raise ValueError(f"preço '{text}' tem casas decimais demais (máx. 10)")
    return price


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc, at C speed


def _control_character(text: str) -> str | None:
    """The first control character in ``text`` (NUL, tab, line break...), if any."""
    found = _CONTROL.search(text)
    return found.group() if found else None


def printable(text: str) -> str:
    """``text`` with control characters shown as ``?`` (for the report)."""
    return _CONTROL.sub("?", text)


class TaxRows:
    """The tax columns of the rows of one import, validated once per distinct combination
    (a catalog has a handful of tax profiles and thousands of rows: the import stays fast),
    and, given the store's regime, checked against its rules."""

    def __init__(
        self, crt: Crt | None = None, defaults: ItemTax | None = None, columns: tuple[str, ...] = TAX_COLUMNS
    ) -> None:
        self.crt = crt
        self.defaults = defaults
        self.columns = columns  # the tax columns the file has
        self._taxes: dict[tuple[str, ...], ItemTax | str | None] = {}
        self._rules: dict[tuple[ItemTax | None, str, bool], str | None] = {}
        self._rows: dict[int, tuple[str | None, ...]] = {}  # by id(): the cached taxes live as long

    def row(self, tax: ItemTax | None) -> tuple[str | None, ...]:
        """The tax columns of ``tax`` for the database, computed once per profile."""
        found = self._rows.get(id(tax))
        if found is None:
            found = self._rows[id(tax)] = tax_row(tax)
        return found

    def tax(self, values: dict[str, str]) -> ItemTax | None:
        if not self.columns:
            return None
        key = tuple(values[c] for c in self.columns)
        found = self._taxes.get(key)
        if found is None and key not in self._taxes:
            try:
                found = None if not any(key) else tax_from_mapping(dict(zip(self.columns, key, strict=True)))
            except ValidationError as exc:
                found = "; ".join(
                    f"{err['loc'][0] if err['loc'] else 'tributos'}: {_tax_message(err)}"
                    for err in exc.errors(include_url=False, include_input=False)
                )
            self._taxes[key] = found
        if isinstance(found, str):
            raise ValueError(found)
        return found

    def check(self, tax: ItemTax | None, cfop: str, cest: str | None) -> None:
        """Raises ``ValueError`` when the store's regime cannot sell the product as it is."""
        if self.crt is None:
            return
        key = (tax, cfop, cest is not None)
        if key not in self._rules:
            merged = (tax or ItemTax()).merged_over(self.defaults)
            problems = tax_problems(merged, crt=self.crt, cfop=cfop, cest=cest)
            self._rules[key] = "; ".join(f"{p.field}: {p.message}" for p in problems[:2]) or None
        reason = self._rules[key]
        if reason is not None:
            raise ValueError(reason)


def _tax_message(err: Any) -> str:
    error = (err.get("ctx") or {}).get("error")
    return str(error) if isinstance(error, ValueError) else "valor inválido"


class _Fields(NamedTuple):
    """A row's product fields as :class:`~posapp.domain.sale.Item` leaves them."""

    code: str
    gtin: str | None
    description: str
    ncm: str
    cfop: str
    cest: str | None
    unit: str
    origin: int


_DIGITS8 = re.compile(r"[0-9]{8}")
_DIGITS7 = re.compile(r"[0-9]{7}")
_ORIGINS = {str(n): n for n in range(9)}


def _max_length(field: str) -> int:
    """``Item``'s own bound on a text field (so the two can never drift apart)."""
    return next(int(m.max_length) for m in Item.model_fields[field].metadata if hasattr(m, "max_length"))


_CODE_MAX, _DESCRIPTION_MAX, _UNIT_MAX = (_max_length(f) for f in ("code", "description", "unit"))


def _plain_fields(values: dict[str, str], price: Decimal) -> _Fields | None:
    """The fields of a row already in the form :class:`Item` accepts unchanged (a code,
    an empty or valid GTIN, 8 plain NCM digits, an issuable CFOP...), or ``None`` for
    anything else, which then goes through ``Item`` itself (its rules and its messages).

    Why: building a pydantic ``Item`` per row was most of an import's time, and nearly
    every row of a real catalog is plain. This only ever accepts a subset of what ``Item``
    accepts, with the same values (``tests/catalog/test_catalog_speed.py`` holds both side
    by side)."""
    code = values.get("code", "")
    description = " ".join(values.get("description", "").split())
    ncm = values.get("ncm", "")
    cfop = values.get("cfop", "").strip() or "5102"
    cest = values.get("cest", "")
    unit = (values.get("unit", "").strip() or "UN").upper()
    origin = _ORIGINS.get(values.get("origin", "").strip() or "0")
    gtin = values.get("gtin", "")
    if not (
        0 < len(code) <= _CODE_MAX
        and code == code.strip()
        and 0 < len(description) <= _DESCRIPTION_MAX
        and _DIGITS8.fullmatch(ncm)
        and cfop in ISSUABLE_CFOPS
        and (not cest or _DIGITS7.fullmatch(cest))
        and len(unit) <= _UNIT_MAX
        and unit == unit.strip()
        and origin is not None
        # parse_price allows at most 10 decimals (vUnCom's); from R$ 0,01 the item's total
        # rounds to at least a centavo, and below 11 integer digits it fits vUnCom and vProd
        and price >= CENT
        and price.adjusted() < VUNCOM.integer_digits
        and (not gtin or gtin_is_valid(gtin))
    ):
        return None
    return _Fields(code, gtin or None, description, ncm, cfop, cest or None, unit, origin)


def _item_fields(values: dict[str, str], price: Decimal, origin: int) -> _Fields:
    """The row through :class:`Item`'s rules; raises ``ValueError`` with its Portuguese reason."""
    try:
        item = Item(
            code=values.get("code", ""),
            gtin=values.get("gtin", "") or SEM_GTIN,
            description=" ".join(values.get("description", "").split()),
            ncm=values.get("ncm", ""),
            cfop=values.get("cfop", "").strip() or "5102",
            cest=values.get("cest", "") or None,
            unit=(values.get("unit", "").strip() or "UN").upper(),
            quantity=Decimal(1),
            unit_price=price,
            origin=origin,
        )
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc).replace("\n", "; ")) from None
    except DomainError as exc:
        raise ValueError(exc.user_message) from None
    gtin = None if item.gtin == SEM_GTIN else item.gtin
    return _Fields(item.code, gtin, item.description, item.ncm, item.cfop, item.cest, item.unit, item.origin)


def product_from_row(values: dict[str, str], taxes: TaxRows | None = None) -> Product:
    """Validate one row (already mapped to column names); raises ``ValueError`` with a
    Portuguese reason."""
    if _CONTROL.search("".join(values.values())):  # one search per row; which column, only if so
        for name, value in values.items():
            bad = _control_character(value)
            if bad is not None:
                raise ValueError(
                    f"a coluna '{name}' tem um caractere de controle (código {ord(bad):#04x}); "
                    "corrija o arquivo e importe de novo"
                )
    price = parse_price(values.get("price", ""))
    fields = _plain_fields(values, price)
    if fields is None:
        origin_text = values.get("origin", "").strip() or "0"
        if not (origin_text.isascii() and origin_text.isdigit()):  # "²" is a digit int() refuses
            raise ValueError(f"origem '{origin_text}' deve ser um número de 0 a 8")
        fields = _item_fields(values, price, int(origin_text))
    taxes = taxes or TaxRows()
    tax = taxes.tax(values)
    taxes.check(tax, fields.cfop, fields.cest)
    return Product(
        code=fields.code,
        gtin=fields.gtin,
        description=fields.description,
        ncm=fields.ncm,
        cfop=fields.cfop,
        cest=fields.cest,
        unit=fields.unit,
        price=price,
        origin=fields.origin,
        tax=tax,
    )


def _rows(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogFileError("empty CSV", user_message="O arquivo CSV está vazio.") from None
    except csv.Error as exc:
        raise _unreadable(reader.line_num or 1, exc) from exc

    def numbered() -> Iterator[tuple[int, list[str]]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _unreadable(reader.line_num, exc) from exc
            yield reader.line_num, row

    return header, numbered()


def _unreadable(line: int, exc: csv.Error) -> CatalogFileError:
    return CatalogFileError(
        f"CSV unreadable at line {line}: {exc}",
        user_message=(
            f"O arquivo CSV não pode ser lido na linha {line} (aspas sem fechar ou campo grande "
            "demais?). Nada foi importado; corrija o arquivo e tente de novo."
        ),
    )


def import_csv(
    catalog: Catalog,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    crt: Crt | None = None,
    defaults: ItemTax | None = None,
) -> ImportReport:
    """Read ``path``, validate every row, write the accepted ones; blocking (use an executor).

    ``progress`` is called with the number of rows read so far, every few thousand rows,
    from the calling thread. With the store's regime ``crt`` (and its ``[taxes]``
    ``defaults``), a product the store could not sell as it is (a CSOSN in a normal-regime
    store, ST without CEST...) is refused, with the reason.
    """
    try:
        return _import(catalog, path, progress, crt, defaults)
    except sqlite3.Error as exc:
        raise StoreUnavailable(
            f"catalog import from {path} failed in the database: {exc}",
            user_message=(
                f"O banco da loja recusou a gravação dos produtos ({exc}). Nada foi importado; "
                "verifique o espaço em disco e tente de novo."
            ),
        ) from exc


def _import(
    catalog: Catalog,
    path: Path,
    progress: Callable[[int], None] | None,
    crt: Crt | None,
    defaults: ItemTax | None,
) -> ImportReport:
    started = time.perf_counter()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogFileError(
            f"cannot read {path}: {exc}", user_message=f"Não foi possível ler o arquivo {path}: {exc}"
        ) from exc
    text = _decode(raw)
    bulk = text.count("\n") > BULK_ROWS
    header, rows = _rows(text)
    mapping = _header_map(header)
    taxes = TaxRows(crt, defaults, tuple(c for c in TAX_COLUMNS if c in mapping))
    with_taxes = bool(taxes.columns)
    report = ImportReport(path=str(path))
    existing = catalog.all_codes()
    seen: dict[str, int] = {}
    batch: list[tuple[object, ...]] = []
    now = utc_now_iso()

    with catalog.store.transaction() as conn:
        if bulk:
            suspend_index(conn)
        for line, row in rows:
            if not any(cell.strip() for cell in row):
                continue
            report.rows += 1
            values = {name: row[index].strip() if index < len(row) else "" for name, index in mapping.items()}
            code = values.get("code", "")
            shown = printable(code)
            if code in seen:
                report.rejected.append(
                    RejectedRow(line, shown, f"código repetido (já na linha {seen[code]})")
                )
                continue
            try:
                product = product_from_row(values, taxes)
            except ValueError as exc:
                report.rejected.append(RejectedRow(line, shown, str(exc)))
                continue
            seen[product.code] = line
            if product.code in existing:
                report.updated += 1
            else:
                report.inserted += 1
            batch.append(
                (
                    product.code,
                    product.gtin,
                    product.description,
                    product.ncm,
                    product.cfop,
                    product.cest,
                    product.unit,
                    str(product.price),
                    product.origin,
                    product.search_text,
                    now,
                    *(taxes.row(product.tax) if with_taxes else ()),
                )
            )
            if len(batch) >= _BATCH:
                upsert_rows(conn, batch, with_taxes=with_taxes)
                batch.clear()
                if progress is not None:
                    progress(report.rows)
        if batch:
            upsert_rows(conn, batch, with_taxes=with_taxes)
        if bulk:
            rebuild_index(conn)
    if progress is not None:
        progress(report.rows)
    report.seconds = time.perf_counter() - started
    return report
