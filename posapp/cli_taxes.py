"""``posapp ibpt FILE.csv`` (issue 14 item 5): import the IBPT table of approximate taxes
(Lei 12.741/2012) for the store's UF. Registered by :mod:`posapp.cli`, which lends its
helpers (:class:`~posapp.cli_kit.CliKit`).

Exit codes, as the rest of the command line: 0 imported; 2 the file cannot be used
(nothing changed); 1 the store file failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from posapp.cli_kit import CliKit
from posapp.errors import PosappError

EXIT_BAD_INPUT = 2
log = logging.getLogger("posapp.cli")


def add_tax_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser, kit: CliKit
) -> None:
    ibpt = sub.add_parser(
        "ibpt", parents=[common], help="importa a tabela IBPT de tributos aproximados (Lei 12.741/2012)"
    )
    ibpt.add_argument("file", type=Path, metavar="TABELA.csv", help="o CSV do IBPT (TabelaIBPTaxUF….csv)")
    ibpt.add_argument("--uf", help="a UF da tabela (padrão: a do nome do arquivo; deve ser a da loja)")
    ibpt.set_defaults(func=lambda args: _ibpt(args, kit))


def _ibpt(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.catalog.errors import CatalogFileError
    from posapp.catalog.ibpt import import_ibpt, uf_from_name
    from posapp.catalog.storedb import StoreDB

    try:
        config = kit.load_config(args)
    except PosappError as exc:
        kit.error(exc, as_json=args.json, status="invalid")
        return EXIT_BAD_INPUT
    uf = (args.uf or uf_from_name(args.file) or config.store.uf).upper()
    store = StoreDB.in_data_dir(kit.data_dir(args))
    try:
        report = import_ibpt(store, args.file, uf=uf)
    except CatalogFileError as exc:
        kit.error(exc, as_json=args.json, status="invalid")
        return EXIT_BAD_INPUT
    except PosappError as exc:
        kit.error(exc, as_json=args.json)
        return 1
    finally:
        store.close()
    warnings = []
    if uf != config.store.uf:
        warnings.append(
            f"a loja é de {config.store.uf} ([store] uf): esta tabela ({uf}) não será usada nas vendas"
        )
    if args.json:
        kit.emit_json(
            {
                "status": "imported",
                "uf": report.uf,
                "version": report.version,
                "valid_until": report.valid_until.isoformat() if report.valid_until else None,
                "imported": report.imported,
                "skipped": report.skipped,
                "refused": report.refused_count,
                "errors": report.refused,
                "warnings": warnings,
            },
            sys.stdout,
        )
    else:
        for line in [*report.lines(), *(f"aviso: {w}" for w in warnings)]:
            print(line)
    return 0
