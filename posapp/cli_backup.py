"""``posapp backup``, ``posapp restore`` and ``posapp archive`` (issue 15 items 3 and 4).
Registered by :mod:`posapp.cli`, which lends its helpers (:class:`~posapp.cli_kit.CliKit`); the services
are imported only when a command runs.

Exit codes, as the rest of the command line: 0 done; 2 refused, nothing changed (a backup
file that cannot be restored, a journal newer than the backup without ``--force``, another
posapp running, a month that cannot be archived yet); 1 other known failures (disk, folder).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from posapp.cli_kit import CliKit
from posapp.errors import PosappError


def add_backup_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser, kit: CliKit
) -> None:
    backup = sub.add_parser(
        "backup", parents=[common], help="cópia de segurança do diário e do cadastro, com o caixa aberto"
    )
    backup.add_argument("--out", required=True, type=Path, metavar="ARQUIVO.zip", help="onde gravar a cópia")
    backup.set_defaults(func=lambda args: _backup(args, kit))

    restore = sub.add_parser(
        "restore", parents=[common], help="restaura uma cópia de segurança (caixa fechado)"
    )
    restore.add_argument("file", type=Path, metavar="ARQUIVO.zip")
    restore.add_argument(
        "--force",
        action="store_true",
        help="substitui mesmo um diário mais novo que a cópia (guardado à parte)",
    )
    restore.set_defaults(func=lambda args: _restore(args, kit))

    archive = sub.add_parser(
        "archive", parents=[common], help="arquiva um mês fechado e exportado fora do diário de vendas"
    )
    archive.add_argument("--month", required=True, metavar="AAAA-MM", help="o mês, no fuso da loja")
    archive.set_defaults(func=lambda args: _archive(args, kit))


def _now() -> datetime:
    return datetime.now().astimezone()


def _backup(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.services.backup import take_backup

    try:
        report = take_backup(kit.data_dir(args), args.out, _now())
    except PosappError as exc:
        kit.error(exc, as_json=args.json)
        return 1
    if args.json:
        kit.emit_json(
            {
                "status": "ok",
                "path": str(report.path),
                "taken_at": report.taken_at.isoformat(),
                "files": report.files,
                "sales": report.sales,
            },
            sys.stdout,
        )
    else:
        print(f"Cópia de segurança gravada em {report.path} ({report.sales} vendas).")
    return 0


def _restore(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.services.errors import RestoreRefused
    from posapp.services.restore import restore_backup

    try:
        report = restore_backup(kit.data_dir(args), args.file, _now(), force=args.force)
    except RestoreRefused as exc:
        kit.error(exc, as_json=args.json, status="refused")
        return 2
    except PosappError as exc:
        kit.error(exc, as_json=args.json)
        return 1
    aside = str(report.replaced_dir) if report.replaced_dir else None
    if args.json:
        kit.emit_json(
            {
                "status": "restored",
                "files": list(report.restored),
                "taken_at": report.taken_at.isoformat(),
                "sales": report.sales,
                "replaced_dir": aside,
            },
            sys.stdout,
        )
    else:
        print(f"Cópia de {report.taken_at:%d/%m/%Y %H:%M} restaurada ({report.sales} vendas).")
        if aside:
            print(f"Os arquivos substituídos estão guardados em {aside}.")
        print("Vendas que estavam sendo emitidas na hora da cópia aparecem EM DÚVIDA: confira-as (F12).")
    return 0


def _archive(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.journal.store import Journal
    from posapp.services.archiving import archive_month
    from posapp.services.errors import ArchiveRefused

    config = kit.load_config(args)
    journal = Journal.in_dir(kit.data_dir(args))
    try:
        report = archive_month(journal, args.month, config.store.tz, _now())
    except ArchiveRefused as exc:
        kit.error(exc, as_json=args.json, status="refused")
        return 2
    except PosappError as exc:
        kit.error(exc, as_json=args.json)
        return 1
    finally:
        journal.close()
    if args.json:
        kit.emit_json(
            {"status": "archived", "month": report.month, "archived": report.archived, "file": report.file},
            sys.stdout,
        )
    else:
        print(f"{report.archived} venda(s) de {report.month} arquivada(s) em {report.file} (pasta de dados).")
    return 0
