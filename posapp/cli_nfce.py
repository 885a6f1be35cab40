"""``posapp nfce emit|cancel|list|drain|reconcile|resolve``: a sale's life from the command line
(README, "Issue and cancel from the command line"). :mod:`posapp.cli` registers the group and
lends its helpers (:class:`~posapp.cli_kit.CliKit`): this module imports nothing of the composition root, and
the services only when a command runs. Exit codes are :mod:`posapp.cli`'s.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from posapp.cli_kit import PIN_ENV, CliKit
from posapp.errors import PosappError, user_text

if TYPE_CHECKING:
    pass

log = logging.getLogger("posapp.cli")


def host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"esperado HOST:PORTA, recebido {text!r}")
    return host, int(port)


def add_nfce_commands(sub: Any, common: argparse.ArgumentParser, kit: CliKit) -> None:
    nfce = sub.add_parser("nfce", help="emitir, cancelar e listar NFC-e")
    nfce_sub = nfce.add_subparsers(dest="nfce_command", required=True)
    emit = nfce_sub.add_parser("emit", parents=[common], help="emite a venda de SALE.json")
    emit.add_argument("sale", metavar="SALE.json")
    emit.add_argument("--emites", type=host_port, metavar="HOST:PORT")
    emit.add_argument("--printer", metavar="URI")
    emit.set_defaults(func=lambda args: cmd_nfce_emit(args, kit))
    cancel = nfce_sub.add_parser("cancel", parents=[common], help="cancela uma NFC-e dentro do prazo")
    cancel.add_argument("chave", metavar="CHAVE")
    cancel.add_argument("--motivo", required=True)
    cancel.add_argument("--operator", help=f"quem pede (com o PIN de um gerente, digitado ou em ${PIN_ENV})")
    cancel.add_argument("--emites", type=host_port, metavar="HOST:PORT")
    cancel.set_defaults(func=lambda args: cmd_nfce_cancel(args, kit))
    listing = nfce_sub.add_parser("list", parents=[common], help="lista as vendas")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument(
        "--store", action="store_true", help="as vendas de todos os caixas (servidor da loja)"
    )
    listing.set_defaults(func=lambda args: cmd_nfce_list(args, kit))
    drain = nfce_sub.add_parser("drain", parents=[common], help="emite as vendas da fila")
    drain.add_argument("--emites", type=host_port, metavar="HOST:PORT")
    drain.set_defaults(func=lambda args: cmd_nfce_drain(args, kit))
    reconcile = nfce_sub.add_parser("reconcile", parents=[common], help="consulta as vendas em dúvida")
    reconcile.add_argument("--emites", type=host_port, metavar="HOST:PORT")
    reconcile.set_defaults(func=lambda args: cmd_nfce_reconcile(args, kit))

    resolve = nfce_sub.add_parser(
        "resolve", parents=[common], help="registra a conferência de uma venda em dúvida (Emites-Client)"
    )
    resolve.add_argument("sale_id", metavar="SALE_ID")
    outcome = resolve.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--chave", help="a NFC-e foi autorizada com esta chave de acesso")
    outcome.add_argument(
        "--not-issued", action="store_true", help="o emissor não tem a nota: volta para a fila"
    )
    outcome.add_argument(
        "--cancelled", metavar="PROTOCOLO", help="cancelamento pendente: a nota foi cancelada (protocolo)"
    )
    outcome.add_argument(
        "--not-cancelled", action="store_true", help="cancelamento pendente: a nota continua autorizada"
    )
    resolve.add_argument(
        "--operator",
        required=True,
        help=f"quem conferiu (fica no registro; com o PIN de um gerente, digitado ou em ${PIN_ENV})",
    )
    resolve.set_defaults(func=lambda args: cmd_nfce_resolve(args, kit))


def _report_dict(report: Any) -> dict[str, Any]:
    note = getattr(report, "note", None)
    return {
        "status": report.state.value,
        "sale_id": report.sale_id,
        "backend": report.backend,
        "chave_acesso": note.chave if note else None,
        "numero": note.numero if note else None,
        "serie": note.serie if note else None,
        "protocolo": note.protocolo if note else None,
        "authorized_at": note.authorized_at if note else None,
        "cancel_deadline": report.cancel_deadline,
        "contingency": note.contingency if note else None,
        "errors": list(report.errors),
        "message": report.message,
        "printed": report.printed,
        "print_error": report.print_error,
    }


def _print_report(report: Any, out: TextIO) -> None:
    data = _report_dict(report)
    out.write(f"{data['message']}\n")
    for key in (
        "sale_id",
        "backend",
        "chave_acesso",
        "numero",
        "serie",
        "protocolo",
        "authorized_at",
        "cancel_deadline",
    ):
        if data[key] is not None:
            value = data[key].isoformat() if isinstance(data[key], datetime) else data[key]
            out.write(f"  {key}: {value}\n")
    for error in data["errors"]:
        out.write(f"  erro: {error}\n")
    if data["print_error"]:
        out.write(f"  impressão: {data['print_error']}\n")


def cmd_nfce_emit(args: argparse.Namespace, kit: CliKit) -> int:
    import errno

    from posapp.domain.lifecycle import ExitCode, SaleState, exit_code, state_notice
    from posapp.domain.sale_file import MAX_SALE_FILE_BYTES, sale_from_json_bytes

    try:
        with open(args.sale, "rb") as sale_file:  # never more than the reader accepts, plus one
            raw = sale_file.read(MAX_SALE_FILE_BYTES + 1)
        sale = sale_from_json_bytes(raw)  # the one validator of SALE.json (domain/sale_file.py)
        sale = _with_store_ibpt(sale, kit.data_dir(args), kit.load_config(args).store.uf)  # Lei 12.741
    except OSError as exc:
        reason = {
            errno.ENOENT: "arquivo não encontrado",
            errno.EACCES: "sem permissão de leitura",
            errno.EISDIR: "é uma pasta, não um arquivo",
        }.get(exc.errno or 0, "erro de leitura do arquivo")
        kit.error(f"não foi possível ler {args.sale}: {reason}", as_json=args.json, status="invalid")
        return ExitCode.BAD_INPUT
    except PosappError as exc:
        kit.error(exc.user_message, as_json=args.json, status="invalid")
        return ExitCode.BAD_INPUT

    from posapp.services.errors import AnswerNotRecorded

    async def body(service: Any) -> int:
        try:
            report = await service.issue(sale, print_receipt=args.printer is not None)
        except Exception as exc:
            # The exit code must tell whether anything was stored (and maybe sent): ask the journal.
            message = user_text(exc, logger=log, context="nfce emit failed")
            if isinstance(exc, AnswerNotRecorded):  # the journal failed after the send
                kit.error(message, as_json=args.json, status="in_doubt", sale_id=sale.sale_id)
                return ExitCode.IN_DOUBT
            state = await service.state_of(sale.sale_id)
            if state is None:
                kit.error(message, as_json=args.json, status="invalid")
                return ExitCode.BAD_INPUT
            status = SaleState.IN_DOUBT if state is SaleState.ISSUING else state
            kit.error(message, as_json=args.json, status=status.value, sale_id=sale.sale_id)
            return exit_code(state_notice(status))
        if args.json:
            kit.emit_json(_report_dict(report), sys.stdout)
        else:
            _print_report(report, sys.stdout)
        return exit_code(report.verdict)

    return kit.run_service(args, body, with_printer=args.printer is not None)


def cmd_nfce_cancel(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.domain.errors import CancelWindowClosed, DomainError
    from posapp.domain.lifecycle import ExitCode, SaleState, exit_code
    from posapp.fiscal.errors import FiscalError
    from posapp.journal.errors import UnknownSale
    from posapp.services.errors import ServiceError

    by = kit.manager(args)
    if by is None:
        return ExitCode.BAD_INPUT

    async def body(service: Any) -> int:
        try:
            row = await service.find_by_chave(args.chave)
            report = await service.cancel(row.sale_id, args.motivo, by=by)
        except CancelWindowClosed as exc:
            kit.error(exc.user_message, as_json=args.json, status="window_closed")
            return ExitCode.WINDOW_CLOSED
        except (DomainError, UnknownSale, ServiceError, FiscalError) as exc:
            # Raised before a cancel request is committed: nothing was sent.
            kit.error(exc.user_message, as_json=args.json, status="invalid")
            return ExitCode.BAD_INPUT
        except PosappError as exc:
            state = await service.state_of(row.sale_id)
            kit.error(exc.user_message, as_json=args.json, status=state.value if state else "invalid")
            return ExitCode.IN_DOUBT if state is SaleState.CANCELLING else ExitCode.BAD_INPUT
        out = {
            "status": report.state.value,
            "sale_id": report.sale_id,
            "backend": report.backend,
            "chave_acesso": row.chave,
            "numero": row.numero,
            "serie": row.serie,
            "protocolo": report.protocolo,
            "authorized_at": row.authorized_at,
            "cancel_deadline": (
                service.cancel_deadline(
                    row.authorized_at, contingency=row.contingency, protocol=row.protocolo
                )
                if row.authorized_at
                else None
            ),
            "cancelled_at": report.cancelled_at,
            "errors": list(report.errors),
            "message": report.message,
        }
        if args.json:
            kit.emit_json(out, sys.stdout)
        else:
            print(report.message)
            for error in report.errors:
                print(f"  erro: {error}")
        return exit_code(report.verdict)

    return kit.run_service(args, body)


def cmd_nfce_list(args: argparse.Namespace, kit: CliKit) -> int:
    """List the sales, newest first. A row the journal cannot read is listed as "ilegível"
    with its id and the reason (``status: "unreadable"`` in ``--json``); the others still list."""
    from posapp.domain.lifecycle import ExitCode

    if args.store:
        from posapp.cli_store import list_store_sales

        return list_store_sales(args, kit)

    async def body(service: Any) -> int:
        # The journal's rows, not the service's summaries: only a row knows it is unreadable.
        rows = await service.core.db(service.journal.list_sales, limit=args.limit)
        listed = [(row, service.queries.summary(row)) for row in rows]
        unreadable = [row for row in rows if row.unreadable is not None]
        if args.json:
            sales = [
                {
                    "sale_id": row.sale_id,
                    "created_at": row.created_at,
                    "status": "unreadable",
                    "chave_acesso": row.chave,
                    "errors": [f"venda ilegível no diário: {row.unreadable}"],
                }
                if row.unreadable is not None
                else _summary_dict(s)
                for row, s in listed
            ]
            kit.emit_json({"sales": sales}, sys.stdout)
            return ExitCode.DONE
        if not rows:
            print("Nenhuma venda registrada.")
        for row, s in listed:
            if row.unreadable is not None:
                print(
                    f"{s.created_at:%d/%m/%Y %H:%M}  {'ilegível':<11} {'-':>10}  R$ {'?':>10}  "
                    f"{s.chave or ''}  {s.sale_id}  ({row.unreadable})"
                )
                continue
            number = f"{s.serie}/{s.numero}" if s.numero is not None else "-"
            print(
                f"{s.created_at:%d/%m/%Y %H:%M}  {s.state.label:<11} {number:>10}  R$ {s.total:>10}  "
                f"{s.chave or ''}  {s.sale_id}{'  (arquivado)' if s.archived else ''}"
            )
        if unreadable:
            print(
                f"aviso: {len(unreadable)} venda(s) ilegível(is) no diário; as demais estão listadas. "
                "Rode 'posapp doctor' e chame o suporte.",
                file=sys.stderr,
            )
        return ExitCode.DONE

    return kit.run_service(args, body)


def _summary_dict(s: Any) -> dict[str, Any]:
    return {
        "sale_id": s.sale_id,
        "created_at": s.created_at,
        "status": s.state.value,
        "total": s.total,
        "operator": s.operator,
        "backend": s.backend,
        "chave_acesso": s.chave,
        "numero": s.numero,
        "serie": s.serie,
        "authorized_at": s.authorized_at,
        "cancel_deadline": s.cancel_deadline,
        "errors": [s.last_error] if s.last_error else [],
        "archived": s.archived,
    }


def cmd_nfce_drain(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.domain.lifecycle import ExitCode
    from posapp.services.results import DrainReport

    async def body(service: Any) -> int:
        caught_up = await service.catch_up()
        report = caught_up.drained or DrainReport(0, 0, 0, 0, 0)
        out = {
            "attempted": report.attempted,
            "authorized": report.authorized,
            "rejected": report.rejected,
            "in_doubt": report.in_doubt,
            "still_queued": report.still_queued,
            "reconciled": caught_up.settled,
            "still_in_doubt": caught_up.still_in_doubt,
        }
        if args.json:
            kit.emit_json(out, sys.stdout)
        else:
            print(
                f"Fila: {report.attempted} tentadas, {report.authorized} autorizadas, "
                f"{report.rejected} rejeitadas, "
                f"{report.in_doubt} em dúvida, {report.still_queued} ainda na fila; "
                f"{caught_up.settled} vendas em dúvida resolvidas, "
                f"{caught_up.still_in_doubt} ainda em dúvida."
            )
        # The exit code speaks of the queue (``nfce reconcile`` exits 5 for sales in doubt).
        return ExitCode.QUEUED if report.still_queued else ExitCode.DONE

    return kit.run_service(args, body)


def cmd_nfce_reconcile(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.domain.lifecycle import ExitCode, SaleState

    async def body(service: Any) -> int:
        reports = await service.reconcile()
        if args.json:
            kit.emit_json({"sales": [_report_dict(r) for r in reports]}, sys.stdout)
        else:
            if not reports:
                print("Nenhuma venda em dúvida.")
            for r in reports:
                print(f"{r.sale_id}: {r.state.label} — {r.message}")
        return ExitCode.IN_DOUBT if any(r.state is SaleState.IN_DOUBT for r in reports) else ExitCode.DONE

    return kit.run_service(args, body)


def cmd_nfce_resolve(args: argparse.Namespace, kit: CliKit) -> int:
    """A manager's word on an in-doubt sale the issuer cannot be asked about (Emites-Client)."""
    from posapp.domain.errors import DomainError
    from posapp.domain.lifecycle import ExitCode
    from posapp.journal.errors import UnknownSale
    from posapp.services.errors import ServiceError

    by = kit.manager(args)
    if by is None:
        return ExitCode.BAD_INPUT

    async def body(service: Any) -> int:
        try:
            if args.cancelled is not None or args.not_cancelled:
                cancel = await service.resolve_cancelling(
                    args.sale_id,
                    cancelled=args.cancelled is not None,
                    protocolo=args.cancelled,
                    by=by,
                )
                out = {
                    "status": cancel.state.value,
                    "sale_id": cancel.sale_id,
                    "protocolo": cancel.protocolo,
                    "errors": [],
                    "message": cancel.message,
                }
                if args.json:
                    kit.emit_json(out, sys.stdout)
                else:
                    print(cancel.message)
                return ExitCode.DONE
            report = await service.resolve_in_doubt(args.sale_id, issued_chave=args.chave, by=by)
        except (DomainError, UnknownSale, ServiceError) as exc:
            kit.error(exc.user_message, as_json=args.json, status="invalid")
            return ExitCode.BAD_INPUT
        if args.json:
            kit.emit_json(_report_dict(report), sys.stdout)
        else:
            _print_report(report, sys.stdout)
        return ExitCode.DONE

    return kit.run_service(args, body)


def _with_store_ibpt(sale: Any, data_dir: Path, uf: str) -> Any:
    """A SALE.json sale with the imported IBPT table's rates on the items that carry none
    (the GUI's items get them from the catalog); unchanged without a store file or table."""
    from posapp.catalog.storedb import STORE_FILENAME, StoreDB

    path = data_dir / STORE_FILENAME
    if not path.exists():
        return sale
    from posapp.catalog.ibpt import rates_for
    from posapp.domain.sale_taxes import with_ibpt

    try:
        store = StoreDB(path)
        try:
            rates = rates_for(store, uf, (item.ncm for item in sale.items))
        finally:
            store.close()
    except (PosappError, OSError, sqlite3.Error) as exc:  # the sale goes without the approximation
        log.warning("IBPT rates not read from %s: %s", path, exc)
        return sale
    return with_ibpt(sale, rates) if rates else sale
