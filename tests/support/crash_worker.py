"""The till as the kill -9 test runs it: one process that issues many sales, then dies.

``python -m tests.support.crash_worker DATA_DIR CONFIG SALES_JSON [--max-sales N]`` does
what ``posapp`` does after a restart, then sells:

1. builds the service from the configuration file (``build_service``; the printer is the
   configuration's, a ``file:`` URI in the test);
2. ``start()``: sales left ISSUING by the previous process become IN_DOUBT;
3. ``reconcile()`` then ``drain()``: what the background drainer does on its first round;
4. issues, in order, each sale of SALES_JSON not yet in the journal (at most N), printing
   the receipt, and reports every step on stdout (one flushed line each).

``POSAPP_CRASH_AT=<point>:<n>`` makes it SIGKILL itself at the *n*-th pass through a crash
point (:mod:`posapp.services.crashpoints`); the test kills it from outside for "after the
request was sent". Only ``posapp`` and the standard library are imported, as in the app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from posapp.app import build_service
from posapp.config import load_config
from posapp.domain.sale import Sale
from posapp.journal.errors import UnknownSale


def say(*words: object) -> None:
    print(*words, flush=True)


async def run(data_dir: Path, config_path: Path, sales: list[dict[str, object]], max_sales: int) -> int:
    # What ``posapp`` builds from its configuration: issuers in order, the spool printer.
    service = build_service(load_config(config_path), data_dir)
    try:
        for sale_id in await service.start():
            say("recovered", sale_id)
        for report in await service.reconcile():
            say("reconciled", report.sale_id, report.state.value)
        drained = await service.drain()
        say("drained", drained.attempted, drained.authorized, drained.still_queued)
        sold = 0
        for mapping in sales:
            if sold >= max_sales:
                break
            sale = Sale.from_mapping(mapping)
            try:
                await service.get_sale(sale.sale_id)
                continue  # sold by an earlier process
            except UnknownSale:
                pass
            say("issuing", sale.sale_id)
            report = await service.issue(sale)
            say("issued", sale.sale_id, report.state.value, report.backend, report.printed)
            sold += 1
        say("finished", sold)
        return 0
    finally:
        await service.aclose()
        service.journal.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crash_worker")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("config", type=Path)
    parser.add_argument("sales", type=Path)
    parser.add_argument("--max-sales", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    sales = json.loads(args.sales.read_text(encoding="utf-8"))
    return asyncio.run(run(args.data_dir, args.config, sales, args.max_sales))


if __name__ == "__main__":
    sys.exit(main())
