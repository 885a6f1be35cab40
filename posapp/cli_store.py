"""``posapp store sync|status|publish|cancel``, ``posapp catalog import|find`` and
``posapp nfce list --store`` (issue 16). Registered by :mod:`posapp.cli`, which lends its
helpers (:class:`~posapp.cli_kit.CliKit`): this module imports nothing of the composition root, and the
store server (psycopg) only when a command needs it.

``catalog import`` and ``catalog find`` work on the till's own store file, with or without a
server; with ``[store_server]`` an import is also published to the server.

Exit codes: 0 done; 2 bad input (no ``[store_server]``, an unreadable file, a refused manager
check); 1 the server could not be reached or refused (the till keeps selling; nothing lost).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posapp.cli_kit import PIN_ENV, CliKit
from posapp.errors import PosappError, user_text

if TYPE_CHECKING:
    from posapp.config import Config
    from posapp.services.store_sync import StoreSync

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def add_store_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser, kit: CliKit
) -> None:
    store = sub.add_parser("store", help="servidor da loja (PostgreSQL): sincronizar, situação, cancelar")
    store_sub = store.add_subparsers(dest="store_command", required=True)
    sync = store_sub.add_parser("sync", parents=[common], help="envia e recebe agora e diz o que passou")
    sync.set_defaults(func=lambda args: _sync(args, kit))
    status = store_sub.add_parser("status", parents=[common], help="situação do servidor e dos caixas")
    status.set_defaults(func=lambda args: _status(args, kit))
    publish = store_sub.add_parser(
        "publish",
        parents=[common],
        help="publica no servidor o catálogo, os operadores, a tabela IBPT ou as configurações da loja",
    )
    publish.add_argument("what", choices=["catalog", "operators", "ibpt", "settings"])
    publish.add_argument(
        "--from",
        dest="from_file",
        type=Path,
        metavar="LOJA.toml",
        help="settings: de um arquivo só com as seções da loja (sem ele: da configuração deste caixa)",
    )
    publish.add_argument(
        "--operator", help=f"settings: o gerente que publica (PIN digitado ou em ${PIN_ENV})"
    )
    publish.set_defaults(func=lambda args: _publish(args, kit))
    cancel = store_sub.add_parser(
        "cancel", parents=[common], help="pede o cancelamento de uma NFC-e de outro caixa (pelo servidor)"
    )
    cancel.add_argument("chave", metavar="CHAVE")
    cancel.add_argument("--motivo", required=True)
    cancel.add_argument("--operator", help=f"quem pede (com o PIN de um gerente, digitado ou em ${PIN_ENV})")
    cancel.add_argument(
        "--wait", type=float, default=0, metavar="S", help="espera a resposta do caixa (segundos)"
    )
    cancel.set_defaults(func=lambda args: _cancel(args, kit))

    catalog = sub.add_parser("catalog", help="catálogo de produtos deste caixa")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    imp = catalog_sub.add_parser("import", parents=[common], help="importa produtos de um CSV")
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    imp.set_defaults(func=lambda args: _catalog_import(args, kit))
    find = catalog_sub.add_parser("find", parents=[common], help="procura produtos por código, GTIN ou nome")
    find.add_argument("text", metavar="TEXT")
    find.add_argument("--limit", type=int, default=20)
    find.set_defaults(func=lambda args: _catalog_find(args, kit))


# -- helpers ------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    from datetime import datetime
    from decimal import Decimal

    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else value


def _server_config(args: argparse.Namespace, kit: CliKit) -> Config | None:
    config = kit.load_config(args)
    if config.store_server is None:
        kit.error(
            "Este caixa não tem servidor da loja: configure [store_server] url no arquivo de configuração "
            "(README, 'A store of many tills').",
            as_json=args.json,
        )
        return None
    return config


def _with_sync(
    args: argparse.Namespace, kit: CliKit, body: Callable[[StoreSync], Coroutine[Any, Any, int]]
) -> int:
    """Run ``body`` with a :class:`StoreSync` on a fresh loop (no sale service needed)."""
    config = _server_config(args, kit)
    if config is None:
        return EXIT_BAD_INPUT
    import asyncio

    from posapp.services.store_sync import StoreSync

    async def main() -> int:
        sync = StoreSync(config, kit.data_dir(args))
        try:
            return await body(sync)
        except PosappError as exc:
            kit.error(exc, as_json=args.json)
            return EXIT_FAILED
        finally:
            await sync.aclose()

    return asyncio.run(main())


# -- posapp store ... ---------------------------------------------------------------------


def _sync(args: argparse.Namespace, kit: CliKit) -> int:
    """Push, pull, take this till's série and perform the cancels queued to it (that needs the
    till's service: the cancel runs with its usual discipline)."""
    if _server_config(args, kit) is None:
        return EXIT_BAD_INPUT

    async def with_service(service: Any) -> int:
        from posapp.services.store_sync import StoreSync

        sync = StoreSync(kit.load_config(args), kit.data_dir(args), service=service)
        try:
            report = await sync.sync_now()
        except PosappError as exc:
            kit.error(exc, as_json=args.json)
            return EXIT_FAILED
        finally:
            await sync.aclose()
        if args.json:
            pushed = report.pushed
            kit.emit_json(
                {
                    "status": "synced",
                    "pushed": {
                        "events": pushed.events,
                        "sales": pushed.sales,
                        "documents": pushed.documents,
                        "audit": pushed.sale_audit + pushed.store_audit,
                        "cash": pushed.cash,
                    },
                    "pulled": {
                        p.table: {"upserted": p.upserted, "deleted": p.deleted, "refused": list(p.refused)}
                        for p in report.pulled
                    },
                    "cancels": [
                        {
                            "request_id": c.request_id,
                            "sale_id": c.sale_id,
                            "status": c.status,
                            "message": c.message,
                        }
                        for c in report.cancels
                    ],
                    "serie": report.serie,
                    "settings": None
                    if report.settings is None
                    else {
                        "version": report.settings.version,
                        "applied": report.settings.applied,
                        "withdrawn": report.settings.withdrawn,
                        "refused": report.settings.refused,
                    },
                    "errors": [],
                },
                sys.stdout,
            )
        else:
            for line in report.lines():
                print(line)
        return EXIT_OK

    return kit.run_service(args, with_service)


def _status(args: argparse.Namespace, kit: CliKit) -> int:
    async def body(sync: StoreSync) -> int:
        report = await sync.sync_now(with_cancels=False)
        till_id = await sync.office.till_id()
        tills = await sync.office.tills()
        duplicates = await sync.office.duplicate_series()
        day = await sync.office.day_by_till(*_today(kit.load_config(args)))
        store_day = {
            "till_id": "loja",
            **{
                k: sum(d[k] for d in day)
                for k in ("sales", "authorized", "authorized_total", "cancelled", "open")
            },
        }
        state = sync.state
        local, on_server = await sync.office.settings_state()
        settings = {
            "version": local.version,
            "server_version": on_server[0] if on_server else None,
            "in_force": local.settings.summary() if local.settings else None,
            "problem": local.problem,
        }
        if args.json:
            kit.emit_json(
                {
                    "status": "connected",
                    "till_id": till_id,
                    "serie": report.serie,
                    "settings": settings,
                    "to_send": state.to_send,
                    "tills": [{k: _jsonable(v) for k, v in t.items()} for t in tills],
                    "duplicate_series": [{"serie": s, "tills": ts} for s, ts in duplicates],
                    "day": [{k: _jsonable(v) for k, v in d.items()} for d in [*day, store_day]],
                    "errors": [],
                },
                sys.stdout,
            )
            return EXIT_OK
        print(f"servidor da loja: conectado ({state.text})")
        print(f"este caixa: {till_id}  série {report.serie}")
        if local.settings is not None:
            print(f"configurações da loja: versão {local.version} em vigor: {local.settings.summary()}")
        else:
            print("configurações da loja: nenhuma recebida (vale o arquivo deste caixa)")
        if local.problem:
            print(
                f"aviso: as configurações da loja v{local.problem_version} foram recusadas neste caixa, "
                f"que segue com {'a versão ' + str(local.version) if local.version else 'o seu arquivo'}: "
                f"{local.problem}",
                file=sys.stderr,
            )
        for t in tills:
            mark = " (este)" if t["till_id"] == till_id else ""
            print(
                f"  caixa {t['till_id']}{mark}: série {t['assigned_serie']}, {t['sales']} venda(s), "
                f"visto em {t['last_seen']:%d/%m/%Y %H:%M:%S}"
            )
        from posapp.domain.money import format_brl

        print("hoje (fechamento por caixa e da loja):")
        for d in [*day, store_day]:
            print(
                f"  {d['till_id']}: {d['sales']} venda(s), {d['authorized']} autorizada(s) "
                f"R$ {format_brl(d['authorized_total'])}, {d['cancelled']} cancelada(s), "
                f"{d['open']} pendente(s)"
            )
        for serie, ids in duplicates:
            print(f"aviso: a série {serie} é usada por mais de um caixa: {', '.join(ids)}", file=sys.stderr)
        return EXIT_OK

    return _with_sync(args, kit, body)


def _today(config: Config) -> tuple[Any, Any]:
    """The store's day (its time zone) as UTC bounds."""
    from datetime import datetime, timedelta

    now = datetime.now(config.store.tz)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _publish(args: argparse.Namespace, kit: CliKit) -> int:
    if args.what == "settings":
        return _publish_settings(args, kit)
    table = {"catalog": "products"}.get(args.what, args.what)

    async def body(sync: StoreSync) -> int:
        changed = await sync.office.publish(table)
        if args.json:
            kit.emit_json(
                {"status": "published", "table": args.what, "changed": changed, "errors": []}, sys.stdout
            )
        else:
            print(f"publicado: {changed} registro(s) novo(s) ou alterado(s) no servidor")
        return EXIT_OK

    return _with_sync(args, kit, body)


def _publish_settings(args: argparse.Namespace, kit: CliKit) -> int:
    """A manager publishes the store's settings (posapp/store_settings.py says which): from
    ``--from LOJA.toml`` or from this till's configuration and terminal settings. Validated as
    the configuration file is, before anything reaches the server."""
    from posapp.catalog.storedb import StoreDB
    from posapp.store_settings import TERMINAL_KEY, load_settings_file, settings_from_config

    if _server_config(args, kit) is None:
        return EXIT_BAD_INPUT
    try:
        by = kit.authorize(args)
        if args.from_file is not None:
            settings = load_settings_file(args.from_file)
        else:
            store = StoreDB.in_data_dir(kit.data_dir(args))
            try:
                terminal = store.get_setting(TERMINAL_KEY)
            finally:
                store.close()
            settings = settings_from_config(
                kit.load_config(args), terminal if isinstance(terminal, dict) else None
            )
    except PosappError as exc:
        kit.error(exc, as_json=args.json)
        return EXIT_BAD_INPUT

    async def body(sync: StoreSync) -> int:
        changed = await sync.office.publish_settings(settings)
        if args.json:
            kit.emit_json(
                {
                    "status": "published",
                    "table": "settings",
                    "changed": changed,
                    "settings": settings.document,
                    "by": getattr(by, "authorized_by", None) or getattr(by, "operator", None),
                    "errors": [],
                },
                sys.stdout,
            )
        else:
            print(
                ("publicadas" if changed else "sem mudança (o servidor já tem estas)")
                + ": "
                + settings.summary()
            )
        return EXIT_OK

    return _with_sync(args, kit, body)


def _cancel(args: argparse.Namespace, kit: CliKit) -> int:
    """The manager's cross-till cancel: checked here (manager's PIN, the motivo), queued to the
    till that issued the note, performed there (see posapp/storeserver/cancels.py)."""
    from posapp.domain.cancel import check_motivo
    from posapp.domain.documents import parse_chave

    try:
        chave = parse_chave(args.chave).digits
        motivo = check_motivo(args.motivo)
        by = kit.authorize(args)
    except PosappError as exc:
        kit.error(exc, as_json=args.json)
        return EXIT_BAD_INPUT

    import asyncio

    async def body(sync: StoreSync) -> int:
        request, new = await sync.cancels.request_cancel(chave=chave, sale_id=None, motivo=motivo, by=by)
        deadline = asyncio.get_running_loop().time() + max(args.wait, 0)
        while request.status == "pending" and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
            request = await sync.cancels.cancel_request(request.request_id) or request
        data = {
            "status": {"pending": "requested", "done": "cancelled", "refused": "refused"}[request.status],
            "request_id": request.request_id,
            "till_id": request.till_id,
            "sale_id": request.sale_id,
            "new_request": new,
            "message": request.message,
            "errors": [request.message] if request.status == "refused" and request.message else [],
        }
        if args.json:
            kit.emit_json(data, sys.stdout)
        elif request.status == "pending":
            print(
                f"pedido {request.request_id} enviado ao caixa {request.till_id}; ele cancela a venda "
                f"{request.sale_id} quando sincronizar (acompanhe com posapp store status)"
            )
        else:
            print(f"caixa {request.till_id}, venda {request.sale_id}: {request.message}")
        return EXIT_FAILED if request.status == "refused" else EXIT_OK

    return _with_sync(args, kit, body)


def list_store_sales(args: argparse.Namespace, kit: CliKit) -> int:
    """``posapp nfce list --store``: every till's sales, with the till, from the server."""

    async def body(sync: StoreSync) -> int:
        sales = await sync.office.store_sales(limit=args.limit)
        if args.json:
            kit.emit_json({"sales": [{k: _jsonable(v) for k, v in s.items()} for s in sales]}, sys.stdout)
            return EXIT_OK
        if not sales:
            print("Nenhuma venda no servidor da loja.")
        for s in sales:
            number = f"{s['serie']}/{s['numero']}" if s["numero"] is not None else "-"
            print(
                f"{s['created_at']:%d/%m/%Y %H:%M}  caixa {s['till_id']}  {s['state']:<11} {number:>10}  "
                f"R$ {s['total']:>10}  {s['chave'] or ''}  {s['sale_id']}"
            )
        return EXIT_OK

    return _with_sync(args, kit, body)


# -- posapp catalog ... ---------------------------------------------------------------------


def _catalog_import(args: argparse.Namespace, kit: CliKit) -> int:
    from posapp.catalog.csv_import import import_csv
    from posapp.catalog.products import Catalog
    from posapp.catalog.storedb import StoreDB

    config = kit.load_config(args)
    store = StoreDB.in_data_dir(kit.data_dir(args))
    try:
        if config.store_server is not None:  # the store's regime and [taxes], as last pulled
            from posapp.store_settings import effective

            config = effective(config, store)
        # A product the store could not sell under its regime is refused, as the F11 import does.
        report = import_csv(Catalog(store), args.file, crt=config.store.regime, defaults=config.tax_defaults)
    except PosappError as exc:
        kit.error(exc, as_json=args.json)
        return EXIT_BAD_INPUT
    finally:
        store.close()
    published: int | None = None
    problems: list[str] = []
    if config.store_server is not None and report.accepted:
        import asyncio

        from posapp.services.store_sync import StoreSync

        async def publish() -> int:
            sync = StoreSync(config, kit.data_dir(args))
            try:
                return await sync.office.publish("products")
            finally:
                await sync.aclose()

        try:
            published = asyncio.run(publish())
        except PosappError as exc:
            problems.append(f"importado neste caixa, mas não publicado no servidor da loja: {user_text(exc)}")
    rejected = [{"line": r.line, "code": r.code, "reason": r.reason} for r in report.rejected]
    if args.json:
        kit.emit_json(
            {
                "status": "imported",
                "accepted": report.accepted,
                "rejected": rejected,
                "published": published,
                "errors": problems,
            },
            sys.stdout,
        )
    else:
        print(report.summary())
        for line in report.lines():
            print(f"  {line}")
        if published is not None:
            print(f"publicado no servidor da loja: {published} produto(s) novo(s) ou alterado(s)")
        for problem in problems:
            print(f"aviso: {problem}", file=sys.stderr)
    return EXIT_OK if not problems else EXIT_FAILED


def _catalog_find(args: argparse.Namespace, kit: CliKit) -> int:
    """By code or GTIN first (what a scan means), then by name; each product printed with all
    its columns in ``--json`` (new columns appear without a change here)."""
    from posapp.catalog.products import Catalog
    from posapp.catalog.replica import export_rows
    from posapp.catalog.storedb import StoreDB
    from posapp.domain.money import format_brl

    store = StoreDB.in_data_dir(kit.data_dir(args))
    try:
        catalog = Catalog(store)
        exact = catalog.find(args.text.strip())
        found = [exact] if exact is not None else catalog.search(args.text, limit=args.limit)
        rows = {row["code"]: row for row in export_rows(store, "products", [p.code for p in found])}
    finally:
        store.close()
    if args.json:
        kit.emit_json({"products": [rows[p.code] for p in found if p.code in rows], "errors": []}, sys.stdout)
        return EXIT_OK
    if not found:
        print(f"Nenhum produto encontrado para '{args.text}'.")
    for product in found:
        price = format_brl(product.price)
        print(f"{product.code:<14} {product.gtin or '':<14} R$ {price:>10}  {product.description}")
    return EXIT_OK
