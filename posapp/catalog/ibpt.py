"""The IBPT table (Lei 12.741/2012, "De Olho no Imposto"): approximate tax rates per NCM,
one file per UF, imported into ``store.sqlite3`` (table ``ibpt``).

The public layout IBPT distributes (``TabelaIBPTaxSP25.2.B.csv``; ``;``-separated, a header
line, Latin-1 or UTF-8, decimals with a point)::

    codigo;ex;tipo;descricao;nacionalfederal;importadosfederal;estadual;municipal;
    vigenciainicio;vigenciafim;chave;versao;fonte

Only the NCM lines (``tipo`` 0) without an *ex-tarifário* (``ex`` empty) are kept: a product
is registered by its NCM. ``nacionalfederal`` applies to national goods, ``importadosfederal``
to foreign ones (origins 1, 2, 6, 7). ``fonte``, ``versao`` and ``chave`` make the source the
DANFE cites ("Fonte: IBPT 25.2.B 5oi7eW"). An import replaces the UF's rows in one
transaction: never half a table.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from posapp.catalog.errors import CatalogFileError, StoreUnavailable
from posapp.catalog.products import COMPONENT, MIGRATIONS
from posapp.catalog.storedb import StoreDB
from posapp.domain.taxes import IbptRates

COLUMNS = (
    "codigo",
    "ex",
    "tipo",
    "descricao",
    "nacionalfederal",
    "importadosfederal",
    "estadual",
    "municipal",
    "vigenciainicio",
    "vigenciafim",
    "chave",
    "versao",
    "fonte",
)
_RATES = ("nacionalfederal", "importadosfederal", "estadual", "municipal")
_UF_IN_NAME = re.compile(r"IBPTax([A-Z]{2})", re.IGNORECASE)
UFS = frozenset(
    [
        "AC",
        "AL",
        "AM",
        "AP",
        "BA",
        "CE",
        "DF",
        "ES",
        "GO",
        "MA",
        "MG",
        "MS",
        "MT",
        "PA",
        "PB",
        "PE",
        "PI",
        "PR",
        "RJ",
        "RN",
        "RO",
        "RR",
        "RS",
        "SC",
        "SE",
        "SP",
        "TO",
    ]
)
_MAX_REPORTED = 50  # refused lines listed in the report (the count is always complete)


@dataclass(slots=True)
class IbptReport:
    path: str
    uf: str
    imported: int = 0
    skipped: int = 0  # NBS/LC 116 lines and ex-tarifários: not used for products
    refused: list[str] = field(default_factory=list)
    refused_count: int = 0
    version: str | None = None
    valid_until: date | None = None

    def summary(self) -> str:
        until = f", válida até {self.valid_until:%d/%m/%Y}" if self.valid_until else ""
        version = f" versão {self.version}" if self.version else ""
        return (
            f"Tabela IBPT{version} ({self.uf}{until}): {self.imported} NCMs importados, "
            f"{self.skipped} linhas de serviço ou ex-tarifário ignoradas, {self.refused_count} recusadas."
        )

    def lines(self) -> list[str]:
        return [self.summary(), *self.refused]


def uf_from_name(path: Path) -> str | None:
    """``TabelaIBPTaxSP25.2.B.csv`` -> ``SP``."""
    found = _UF_IN_NAME.search(path.name)
    return found.group(1).upper() if found else None


def _rate(text: str) -> Decimal:
    value = Decimal(text.strip().replace(",", "."))
    if not value.is_finite() or value < 0 or value > 100:
        raise InvalidOperation
    return value


def _date(text: str) -> date | None:
    text = text.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    return None


def import_ibpt(store: StoreDB, path: Path, *, uf: str | None = None) -> IbptReport:
    """Read the IBPT file at ``path`` for ``uf`` (default: from the file name) and replace
    that UF's table; blocking (use an executor). Raises the catalog's errors, in Portuguese,
    with nothing changed, when the file cannot be used at all."""
    uf = (uf or uf_from_name(path) or "").upper()
    if uf not in UFS:
        raise CatalogFileError(
            f"no UF for {path}",
            user_message=(
                f"Não sei de que UF é a tabela {path.name}: informe --uf (o nome do arquivo do IBPT "
                "traz a UF, como TabelaIBPTaxSP25.2.B.csv)."
            ),
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogFileError(
            f"cannot read {path}: {exc}", user_message=f"Não foi possível ler o arquivo {path}: {exc}"
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise CatalogFileError("empty IBPT file", user_message=f"O arquivo {path.name} está vazio.") from None
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CatalogFileError(
            f"IBPT header lacks {missing}",
            user_message=(
                f"{path.name} não está no leiaute da tabela IBPT: faltam as colunas {', '.join(missing)} "
                f"(esperado: {';'.join(COLUMNS)})."
            ),
        )
    at = {name: header.index(name) for name in COLUMNS}
    report = IbptReport(path=str(path), uf=uf)
    rows: dict[str, tuple[str | None, ...]] = {}
    try:
        for line in reader:
            if not any(cell.strip() for cell in line):
                continue
            cells = {name: (line[i].strip() if i < len(line) else "") for name, i in at.items()}
            if cells["tipo"] != "0" or cells["ex"]:
                report.skipped += 1
                continue
            ncm = cells["codigo"].replace(".", "")
            try:
                if not re.fullmatch(r"[0-9]{8}", ncm):
                    raise InvalidOperation
                rates = [_rate(cells[name]) for name in _RATES]
            except (InvalidOperation, ValueError):
                report.refused_count += 1
                if len(report.refused) < _MAX_REPORTED:
                    report.refused.append(
                        f"linha {reader.line_num}: NCM ou alíquota inválida ({cells['codigo']})"
                    )
                continue
            valid_until = _date(cells["vigenciafim"])
            if valid_until is not None and (report.valid_until is None or valid_until > report.valid_until):
                report.valid_until = valid_until
            report.version = report.version or cells["versao"] or None
            source = " ".join(p for p in (cells["fonte"] or "IBPT", cells["versao"], cells["chave"]) if p)
            rows[ncm] = (
                uf,
                ncm,
                *(str(r) for r in rates),
                valid_until.isoformat() if valid_until else None,
                source[:60],
            )
    except csv.Error as exc:
        raise CatalogFileError(
            f"IBPT file unreadable at line {reader.line_num}: {exc}",
            user_message=f"{path.name} não pode ser lido na linha {reader.line_num}; nada foi importado.",
        ) from exc
    if not rows:
        raise CatalogFileError(
            "no NCM line in the IBPT file",
            user_message=f"{path.name} não tem nenhuma linha de NCM válida; nada foi importado.",
        )
    store.migrate(COMPONENT, MIGRATIONS)  # the ibpt table, on a store file not opened yet
    try:
        with store.transaction() as conn:
            conn.execute("DELETE FROM ibpt WHERE uf = ?", (uf,))
            conn.executemany("INSERT INTO ibpt VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(rows.values()))
    except sqlite3.Error as exc:
        raise StoreUnavailable(
            f"IBPT import failed: {exc}",
            user_message=f"O banco da loja recusou a tabela IBPT ({exc}); nada foi importado.",
        ) from exc
    report.imported = len(rows)
    return report


def ibpt_valid_until(store: StoreDB, uf: str) -> date | bool | None:
    """When the UF's imported table stops being valid; ``False`` when none was imported."""
    with store.reading() as conn:
        row = conn.execute("SELECT count(*), max(valid_until) FROM ibpt WHERE uf = ?", (uf,)).fetchone()
    if not row or not row[0]:
        return False
    return date.fromisoformat(row[1]) if row[1] else None


def rates_for(store: StoreDB, uf: str, ncms: Iterable[str]) -> dict[str, IbptRates]:
    """The UF's imported rates of these NCMs (none for a store file without the table)."""
    wanted = sorted(set(ncms))
    marks = ", ".join("?" * len(wanted))
    columns = "ncm, national_federal, imported_federal, state, municipal, source"
    query = f"SELECT {columns} FROM ibpt WHERE uf = ? AND ncm IN ({marks})"  # noqa: S608 (placeholders)
    with store.reading() as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ibpt'").fetchone():
            return {}
        rows = conn.execute(query, (uf, *wanted)).fetchall()
    return {
        str(ncm): IbptRates(
            str(ncm), Decimal(str(nf)), Decimal(str(imp)), Decimal(str(st)), Decimal(str(mu)), str(src)
        )
        for ncm, nf, imp, st, mu, src in rows
    }
