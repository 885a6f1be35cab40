"""The store's tax regime (``[store] crt``) against what it sells: every product's tax
registry, completed by ``[taxes]``, must be issuable by that regime (a CSOSN in a
normal-regime store, or a CST in a Simples one, is a SEFAZ rejection at the counter); and
the IBPT table of the store's UF must be imported and current for the DANFE's Lei 12.741
line. The store file is opened read-only: the doctor never changes it.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path

from posapp.config import Config
from posapp.doctor.result import CheckResult, fail, ok, warn
from posapp.domain.taxes import TAX_FIELDS, ItemTax, tax_problems

TAX_COLUMNS = TAX_FIELDS  # the catalog's tax columns (the doctor reads the file, not the package)
TITLE = "Regime tributário"
IBPT_TITLE = "Tabela IBPT (Lei 12.741)"


def _configured(config: Config) -> CheckResult:
    regime = config.store.regime
    defaults = config.tax_defaults
    own = defaults.icms_code_for(regime)
    code = None if own is None else (f"CSOSN {own}" if regime.uses_csosn else f"CST {own}")
    if code is None:
        return warn(
            TITLE,
            f"CRT {int(regime)} ({regime.label}) sem código de ICMS padrão: só vendem os produtos com "
            "o próprio CST cadastrado.",
            "Defina em [taxes] da configuração o padrão da loja (icms_cst e icms_rate, pis_cst, cofins_cst, "
            "ibs_cbs_cst e cclass_trib), ou cadastre-os em cada produto.",
        )
    return ok(
        TITLE,
        f"CRT {int(regime)} ({regime.label}); padrão dos produtos sem cadastro próprio: {code}, "
        f"PIS {defaults.pis_cst or '-'}, COFINS {defaults.cofins_cst or '-'}.",
    )


def check_regime(config: Config, store_path: Path, *, today: date | None = None) -> list[CheckResult]:
    """The regime's defaults, the catalog against the regime, and the IBPT table."""
    results = [_configured(config)]
    if not store_path.exists():
        return results
    try:
        db = sqlite3.connect(f"{store_path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return results  # the integrity check reports an unreadable file
    try:
        names = {row[1] for row in db.execute("PRAGMA table_info(products)")}
        if not set(TAX_COLUMNS) <= names:
            return results  # a catalog from before the tax registry: products take the defaults
        profiles = db.execute(
            f"SELECT {', '.join(TAX_COLUMNS)}, cfop, cest IS NOT NULL, count(*), min(code) FROM products "  # noqa: S608
            f"GROUP BY {', '.join(TAX_COLUMNS)}, cfop, cest IS NOT NULL"
        ).fetchall()
        ibpt = db.execute(
            "SELECT count(*), max(valid_until) FROM ibpt WHERE uf = ?", (config.store.uf,)
        ).fetchone()
    except sqlite3.Error:
        return results
    finally:
        db.close()
    results.append(_catalog(config, profiles))
    results.append(_ibpt(config.store.uf, ibpt, today or datetime.now(config.store.tz).date()))
    return results


def _catalog(config: Config, profiles: list[tuple[object, ...]]) -> CheckResult:
    title = f"{TITLE}: produtos"
    regime, defaults = config.store.regime, config.tax_defaults
    blocked, example, total = 0, "", 0
    for profile in profiles:
        values = dict(zip(TAX_COLUMNS, profile[: len(TAX_COLUMNS)], strict=True))
        cfop, has_cest, count, code = profile[len(TAX_COLUMNS) :]
        total += int(str(count))
        try:
            own = ItemTax.model_validate({k: v for k, v in values.items() if v is not None})
        except ValueError:
            problems = ["cadastro tributário ilegível"]
        else:
            merged = own.merged_over(defaults)
            problems = [
                f"{p.field}: {p.message}"
                for p in tax_problems(merged, crt=regime, cfop=str(cfop), cest="x" if has_cest else None)
            ]
        if problems:
            blocked += int(str(count))
            example = example or f"{code}: {problems[0]}"
    if blocked:
        return fail(
            title,
            f"{blocked} de {total} produtos não podem ser vendidos por esta loja (CRT {int(regime)}); "
            f"por exemplo {example}.",
            "Corrija o cadastro tributário desses produtos (importe o CSV com as colunas de tributos) "
            "ou o padrão em [taxes] da configuração.",
        )
    return ok(title, f"os {total} produtos do cadastro podem ser vendidos no CRT {int(regime)}.")


def _ibpt(uf: str, row: tuple[object, ...] | None, today: date) -> CheckResult:
    count = int(str(row[0])) if row else 0
    if not count:
        return warn(
            IBPT_TITLE,
            f"nenhuma tabela IBPT de {uf} importada: os produtos sem alíquotas próprias saem sem os "
            "tributos aproximados no DANFE.",
            f"Baixe a tabela de {uf} no site do IBPT (De Olho no Imposto) e rode 'posapp ibpt TABELA.csv'.",
        )
    until = date.fromisoformat(str(row[1])) if row and row[1] else None
    if until is not None and until < today:
        return warn(
            IBPT_TITLE,
            f"a tabela de {uf} venceu em {until:%d/%m/%Y} ({count} NCMs).",
            "Importe a versão atual com 'posapp ibpt TABELA.csv' (o IBPT publica uma a cada semestre).",
        )
    shown = f", válida até {until:%d/%m/%Y}" if until else ""
    return ok(IBPT_TITLE, f"{count} NCMs de {uf}{shown}.")
