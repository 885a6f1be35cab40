"""Run every check in order, print the report, choose the exit code."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from posapp import __version__
from posapp.doctor.backup import check_backup
from posapp.doctor.issuers import check_emites, check_provider, check_some_issuer
from posapp.doctor.local import (
    JOURNAL_FILENAME,
    STORE_FILENAME,
    check_config,
    check_data_dir,
    check_sqlite_file,
    check_till_identity,
)
from posapp.doctor.printer import check_printer
from posapp.doctor.regime import check_regime
from posapp.doctor.result import LABELS, CheckResult, Level, warn


def collect_checks(config_path: Path | None, data_dir: Path, *, test_page: bool = False) -> list[CheckResult]:
    """Run every check in order and return the results (no output)."""
    config_result, config = check_config(config_path)
    results = [config_result]
    results.extend(check_data_dir(data_dir))
    results.append(check_sqlite_file(data_dir / JOURNAL_FILENAME, "Diário de vendas"))
    results.append(check_till_identity(data_dir / JOURNAL_FILENAME))
    results.append(check_sqlite_file(data_dir / STORE_FILENAME, "Cadastro da loja"))
    results.append(check_backup(data_dir, config, datetime.now().astimezone()))
    if config is None:
        skipped = "Não verificado: a configuração é inválida."
        action = "Corrija a configuração primeiro."
        results.extend(warn(t, skipped, action) for t in ("Emites-Client", "Provedores", "Impressora"))
        return results
    results.extend(check_regime(config, data_dir / STORE_FILENAME))
    results.append(check_emites(config.emites))
    for provider in config.providers:
        results.extend(check_provider(provider))
    no_issuer = check_some_issuer(config.emites, config.providers)
    if no_issuer is not None:
        results.append(no_issuer)
    results.extend(check_printer(config.printer, test_page=test_page))
    if config.store_server is not None:  # issue 16; psycopg is loaded only then
        from posapp.doctor.store import check_store_server, check_store_settings

        results.extend(check_store_server(config, data_dir / JOURNAL_FILENAME))
        results.extend(check_store_settings(data_dir))
    return results


def render(results: Iterable[CheckResult], out: TextIO) -> tuple[int, int, int]:
    """Write the report; return the (ok, warn, fail) counts."""
    counts = {Level.OK: 0, Level.WARN: 0, Level.FAIL: 0}
    out.write(f"posapp {__version__} — verificação deste caixa\n\n")
    for result in results:
        counts[result.level] += 1
        out.write(f"{LABELS[result.level]} {result.title}: {result.message}\n")
        if result.action:
            out.write(f"        O que fazer: {result.action}\n")
    n_ok, n_warn, n_fail = counts[Level.OK], counts[Level.WARN], counts[Level.FAIL]
    verdict = "Há problemas a corrigir." if n_fail else "Tudo pronto para vender."
    out.write(f"\nResumo: {n_ok} ok, {n_warn} aviso(s), {n_fail} falha(s). {verdict}\n")
    return n_ok, n_warn, n_fail


def run_doctor(config_path: Path | None, data_dir: Path, *, test_page: bool, out: TextIO) -> int:
    """Check the terminal and print the report to ``out``; 0 when nothing failed, else 1."""
    results = collect_checks(config_path, data_dir, test_page=test_page)
    _, _, failures = render(results, out)
    out.flush()
    return 1 if failures else 0
