"""``posapp fiscal``: the month's export for the accountant, the number gaps and the
inutilização of a range (issue 15 items 1 and 2). Registered by :mod:`posapp.cli`, which
hands over its helpers (:class:`~posapp.cli_kit.CliKit`): this module imports nothing of the composition
root, and the services only when a command runs.

Exit codes, as the rest of the command line: 0 done; 2 bad input or a refused manager check
(nothing sent, nothing written); 3 the issuer refused the inutilização; 4 nothing written
because sales of the month are still queued or rejected (``--allow-pending`` exports anyway),
or no issuer reachable for the inutilização; 5 sales of the month whose outcome is unknown
(nothing written without ``--allow-pending``), or an inutilização in doubt; 1 other known
failures (journal, folder).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from posapp.cli_kit import CliKit
from posapp.errors import PosappError

log = logging.getLogger("posapp.cli")


def add_fiscal_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser, kit: CliKit
) -> None:
    fiscal = sub.add_parser("fiscal", help="mês fiscal: exportação ao contador, lacunas, inutilização")
    fiscal_sub = fiscal.add_subparsers(dest="fiscal_command", required=True)

    export = fiscal_sub.add_parser(
        "export", parents=[common], help="ZIP do mês: XML das NFC-e, eventos, resumo, totais e lacunas"
    )
    export.add_argument("--month", required=True, metavar="AAAA-MM", help="o mês, no fuso da loja")
    export.add_argument("--out", required=True, type=Path, metavar="ARQUIVO.zip")
    export.add_argument(
        "--allow-pending", action="store_true", help="exporta mesmo com vendas na fila ou em dúvida"
    )
    export.add_argument("--operator", required=True, help="quem exporta (com o PIN de um gerente)")
    export.set_defaults(func=lambda args: _export(args, kit))

    gaps = fiscal_sub.add_parser("lacunas", parents=[common], help="números pulados por série")
    gaps.set_defaults(func=lambda args: _gaps(args, kit))

    inut = fiscal_sub.add_parser(
        "inutilizar", parents=[common], help="inutiliza uma faixa de números (Focus NFe, Integra Notas)"
    )
    inut.add_argument("--serie", required=True, type=int)
    inut.add_argument("--inicio", required=True, type=int, metavar="NUMERO")
    inut.add_argument("--fim", type=int, metavar="NUMERO", help="padrão: o mesmo que --inicio")
    inut.add_argument("--justificativa", required=True, help="de 15 a 255 caracteres")
    inut.add_argument("--via", help="o emissor (focusnfe, integranotas); padrão: o da série")
    inut.add_argument("--operator", required=True, help="quem pede (com o PIN de um gerente)")
    inut.set_defaults(func=lambda args: _inutilizar(args, kit))

    listing = fiscal_sub.add_parser("inutilizacoes", parents=[common], help="lista as inutilizações")
    listing.add_argument(
        "--consultar", action="store_true", help="consulta o emissor sobre as que estão em dúvida"
    )
    listing.set_defaults(func=lambda args: _listing(args, kit))


def _exit_codes() -> Any:
    from posapp.domain.lifecycle import ExitCode

    return ExitCode


# -- export ---------------------------------------------------------------------------------


def _export(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.services.fiscal_month import Month, export_month
    from posapp.services.inutilizacao import Inutilizacoes

    code = _exit_codes()
    try:
        month = Month.parse(args.month)
    except PosappError as exc:
        kit.error(exc.user_message, as_json=args.json, status="invalid")
        return int(code.BAD_INPUT)
    if args.out.suffix.lower() != ".zip":
        kit.error(
            f"o destino deve ser um arquivo .zip (recebido {args.out})", as_json=args.json, status="invalid"
        )
        return int(code.BAD_INPUT)
    by = kit.manager(args)
    if by is None:
        return int(code.BAD_INPUT)

    async def body(service: Any) -> int:
        inut = Inutilizacoes(service.core)
        try:
            try:
                report = await export_month(
                    service.core, inut, month, args.out, by=by, allow_pending=args.allow_pending
                )
            except PosappError as exc:
                from posapp.services.fiscal_month import ExportError

                if isinstance(exc, ExportError):
                    kit.error(exc.user_message, as_json=args.json, status="invalid")
                    return int(code.BAD_INPUT)
                raise
        finally:
            await inut.aclose()
        return _report_export(report, args, kit)

    return kit.run_service(args, body)


def _report_export(report: Any, args: argparse.Namespace, kit: CliKit) -> int:
    code = _exit_codes()
    plan = report.plan
    pending = [
        {
            "sale_id": p.sale_id,
            "created_at": p.created_at,
            "status": p.state.value,
            "total": p.total,
            "why": p.why,
        }
        for p in plan.pending
    ]
    gaps = [
        {"serie": g.serie, "numbered_by_us": g.numbered_by_us, "gaps": [list(r) for r in g.gaps]}
        for g in plan.gaps
    ]
    unknown = any(p.outcome_unknown for p in plan.pending)
    if report.path is None:
        message = (
            f"Nada foi exportado: {len(plan.pending)} venda(s) de {plan.month.text} ainda pendente(s) "
            "(na fila, em dúvida ou rejeitadas). Resolva-as (posapp nfce drain / reconcile, F12) ou "
            "use --allow-pending para exportar assim mesmo."
        )
        status, exit_code = "pending", (code.IN_DOUBT if unknown else code.QUEUED)
    else:
        message = (
            f"Exportado {report.path}: {plan.authorized_count} NFC-e autorizada(s), {plan.cancelled_count} "
            f"cancelada(s), {len(plan.inutilizacoes)} inutilização(ões) de {plan.month.text}."
        )
        status, exit_code = "exported", code.DONE
    if args.json:
        kit.emit_json(
            {
                "status": status,
                "month": plan.month.text,
                "timezone": plan.tz_name,
                "path": str(report.path) if report.path else None,
                "sha256": report.sha256,
                "verified": report.verified,
                "authorized": plan.authorized_count,
                "cancelled": plan.cancelled_count,
                "inutilizacoes": len(plan.inutilizacoes),
                "pending": pending,
                "gaps": gaps,
                "warnings": list(report.warnings or plan.problems),
                "message": message,
            },
            sys.stdout,
        )
    else:
        print(message)
        for p in plan.pending:
            print(f"  pendente: {p.sale_id} {p.state.label} R$ {p.total} — {p.why}", file=sys.stderr)
        for warning in report.warnings or plan.problems:
            print(f"  aviso: {warning}", file=sys.stderr)
        for g in plan.gaps:
            for first, last in g.gaps:
                print(f"  lacuna: série {g.serie}, {first} a {last}")
    if report.path is not None and not report.verified:
        return int(code.FAILED)
    return int(exit_code)


# -- gaps -----------------------------------------------------------------------------------


def _gaps(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.services.inutilizacao import Inutilizacoes

    code = _exit_codes()

    async def body(service: Any) -> int:
        inut = Inutilizacoes(service.core)
        try:
            series = await inut.gaps()
        finally:
            await inut.aclose()
        if args.json:
            kit.emit_json(
                {
                    "series": [
                        {
                            "serie": g.serie,
                            "numbered_by_us": g.numbered_by_us,
                            "backends": list(g.backends),
                            "highest": g.highest,
                            "gaps": [list(r) for r in g.gaps],
                            "in_doubt": [[r.range.first, r.range.last] for r in g.in_flight],
                            "inutilizadas": [
                                [r.range.first, r.range.last, r.protocolo] for r in g.inutilizadas
                            ],
                            "pending": [[u.numero, u.sale_id] for u in g.pending],
                        }
                        for g in series
                    ]
                },
                sys.stdout,
            )
            return int(code.DONE)
        if not series:
            print("Nenhuma série com notas neste caixa.")
        for g in series:
            print(f"Série {g.serie} (até {g.highest}; {g.note()}):")
            if not g.gaps:
                print("  sem lacunas")
            for first, last in g.gaps:
                print(f"  lacuna: {first}" + (f" a {last}" if last != first else ""))
            for r in g.in_flight:
                print(f"  inutilização nº {r.inut_id} {r.range.first}-{r.range.last}: {r.state.label}")
            for u in g.pending:
                print(f"  reservado: {u.numero} (venda {u.sale_id}, {u.state.label if u.state else '?'})")
        return int(code.DONE)

    return kit.run_service(args, body)


# -- inutilizar -----------------------------------------------------------------------------


def _inut_dict(report: Any) -> dict[str, Any]:
    not_sent = report.outcome is not None and report.outcome.value == "not_sent"
    return {
        "status": "not_sent" if not_sent else report.state.value,
        "inutilizacao": report.inut_id,
        "backend": report.backend,
        "serie": report.range.serie,
        "numero_inicial": report.range.first,
        "numero_final": report.range.last,
        "protocolo": report.protocolo,
        "errors": list(report.errors),
        "message": report.message,
    }


def _inut_exit(report: Any) -> int:
    from posapp.domain.inutilizacao import InutState

    code = _exit_codes()
    if report.state is InutState.DONE:
        return int(code.DONE)
    if report.state is InutState.IN_DOUBT or report.state is InutState.SENDING:
        return int(code.IN_DOUBT)
    not_sent = report.outcome is not None and report.outcome.value == "not_sent"
    return int(code.QUEUED if not_sent else code.REJECTED)


def _inutilizar(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.domain.errors import DomainError
    from posapp.journal.inutilizacoes import RangeTaken
    from posapp.services.errors import ServiceError
    from posapp.services.inutilizacao import InutilizacaoNotRecorded, Inutilizacoes

    code = _exit_codes()
    by = kit.manager(args)
    if by is None:
        return int(code.BAD_INPUT)

    async def body(service: Any) -> int:
        inut = Inutilizacoes(service.core)
        try:
            report = await inut.request(
                args.serie,
                args.inicio,
                args.fim if args.fim is not None else args.inicio,
                args.justificativa,
                by=by,
                via=args.via,
            )
        except InutilizacaoNotRecorded as exc:
            kit.error(exc.user_message, as_json=args.json, status="in_doubt")
            return int(code.IN_DOUBT)
        except (DomainError, RangeTaken, ServiceError) as exc:
            kit.error(exc.user_message, as_json=args.json, status="invalid")
            return int(code.BAD_INPUT)
        finally:
            await inut.aclose()
        if args.json:
            kit.emit_json(_inut_dict(report), sys.stdout)
        else:
            print(report.message)
            for error in report.errors:
                print(f"  erro: {error}")
        return _inut_exit(report)

    return kit.run_service(args, body)


def _listing(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.domain.inutilizacao import InutState
    from posapp.services.inutilizacao import Inutilizacoes

    code = _exit_codes()

    async def body(service: Any) -> int:
        inut = Inutilizacoes(service.core)
        try:
            settled = await inut.settle() if args.consultar else []
            rows = await inut.rows()
        finally:
            await inut.aclose()
        doubt = [r for r in rows if r.state in (InutState.IN_DOUBT, InutState.SENDING)]
        if args.json:
            kit.emit_json(
                {
                    "settled": [_inut_dict(r) for r in settled],
                    "inutilizacoes": [
                        {
                            "inutilizacao": r.inut_id,
                            "status": r.state.value,
                            "backend": r.backend,
                            "serie": r.range.serie,
                            "numero_inicial": r.range.first,
                            "numero_final": r.range.last,
                            "protocolo": r.protocolo,
                            "created_at": r.created_at,
                            "errors": list(r.errors),
                        }
                        for r in rows
                    ],
                },
                sys.stdout,
            )
        else:
            for report in settled:
                print(report.message)
            if not rows:
                print("Nenhuma inutilização registrada.")
            for r in rows:
                print(
                    f"nº {r.inut_id}  série {r.range.serie}  {r.range.first}-{r.range.last}  "
                    f"{r.state.label:<11}  {r.backend}  {r.protocolo or ''}"
                )
        return int(code.IN_DOUBT if doubt else code.DONE)

    return kit.run_service(args, body)
