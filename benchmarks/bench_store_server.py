"""Benchmark of the store server (issue 16), against a real PostgreSQL started for the run
(Debian's ``postgresql``, as the tests start it: ``tests/support/postgres.py``).

    .venv/bin/python benchmarks/bench_store_server.py [--tills 20] [--sales 1000] [--rate 50]
        [--products 200000] [--path-sales 2000]

1. **Replication.** ``--tills`` simulated tills, each its own process with its own data
   folder, store a sale in its journal every 1/``--rate`` seconds (``Journal.queue_new_sale``,
   the real journal write: the sale, its event, ``synchronous=FULL``) while its outbox pushes
   to the one server the way ``StoreSync`` does (the journal's head compared every 0.25 s, a
   push when it moved). Reported: sales and events per second landed on the server (first
   sale stored to last event landed), and the lag from a sale's event written at the till to
   its arrival on the server (median, p99, max).
2. **Catalog to a fresh till.** ``--products`` products are published to the server, then a
   fresh till pulls them into its empty ``store.sqlite3`` (search index included). Reported:
   seconds to publish, seconds to pull.
3. **The sale path's cost.** ``--path-sales`` journal writes of a sale on one till, timed
   each, first with no outbox running, then with its pusher replicating continuously beside
   it (its own connection to the journal). The difference is what the outbox costs a sale.
   The outbox adds no code to the sale path at all (no table, no hook): only contention.

The server runs with ``fsync=off`` like the tests' (the tills' journals keep full
durability); a store's server with fsync on adds its commit latency to the lag, not to a sale.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posapp.catalog.storedb import StoreDB  # noqa: E402
from posapp.config import StoreServerConfig  # noqa: E402
from posapp.journal.changes import ChangeFeed  # noqa: E402
from posapp.journal.store import Journal  # noqa: E402
from posapp.storeserver.connection import connect  # noqa: E402
from posapp.storeserver.outbox import push_all  # noqa: E402
from posapp.storeserver.schema import migrate  # noqa: E402
from posapp.storeserver.shared import publish, pull  # noqa: E402
from tests.support.postgres import destroy, start_server  # noqa: E402
from tests.support.sales import make_sale  # noqa: E402

POLL_S = 0.25


def _pusher(
    url: str,
    password: str,
    data_dir: Path,
    stop: threading.Event,
    batch: int = 500,
    running: threading.Event | None = None,
) -> None:
    """What StoreSync's loop does for the outbox; ``running`` (when given) pauses it."""
    conn = connect(StoreServerConfig(url=url), password=password)
    feed = ChangeFeed(data_dir / "journal.sqlite3")
    till_id = feed.till_id()
    assert till_id is not None
    sent: tuple[int, int] | None = None
    try:
        while True:
            if running is not None:
                running.wait()
            heads = feed.heads()
            if heads != sent:
                push_all(conn, feed, None, till_id, batch=batch)
                sent = heads
            elif stop.is_set():
                return
            time.sleep(POLL_S)
    finally:
        feed.close()
        conn.close()


def _till(args: tuple[str, str, str, int, int, float]) -> tuple[str, float, float]:
    """One till's process: sell ``sales`` sales at ``rate`` per second while pushing."""
    url, password, folder, index, sales, rate = args
    data_dir = Path(folder)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    journal = Journal.in_dir(data_dir)
    till_id = journal.till_id()
    stop = threading.Event()
    pusher = threading.Thread(target=_pusher, args=(url, password, data_dir, stop))
    pusher.start()
    started = time.time()
    period = 1.0 / rate
    for n in range(sales):
        sale = make_sale(index * 100_000 + n)
        journal.queue_new_sale(sale, datetime.now(UTC), "benchmark")
        delay = started + (n + 1) * period - time.time()
        if delay > 0:
            time.sleep(delay)
    finished = time.time()
    journal.close()
    stop.set()
    pusher.join()
    return till_id, started, finished


def replication(url: str, password: str, root: Path, tills: int, sales: int, rate: float) -> dict[str, Any]:
    jobs = [(url, password, str(root / f"till{i:02d}"), i, sales, rate) for i in range(tills)]
    with multiprocessing.get_context("spawn").Pool(tills) as pool:
        results = pool.map(_till, jobs)
    first = min(r[1] for r in results)
    with connect(StoreServerConfig(url=url), password=password) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM received_at - at) FROM sale_events ORDER BY till_id, event_id"
        ).fetchall()
        landed = conn.execute("SELECT extract(epoch FROM max(received_at)) FROM sale_events").fetchone()
        count = conn.execute("SELECT count(*) FROM sales").fetchone()
    assert landed is not None and count is not None
    lags = sorted(float(r[0]) for r in rows)
    span = float(landed[0]) - first
    return {
        "tills": tills,
        "sales": int(count[0]),
        "events": len(lags),
        "seconds": span,
        "sales_per_s": int(count[0]) / span,
        "lag_median_s": statistics.median(lags),
        "lag_p99_s": lags[int(len(lags) * 0.99) - 1],
        "lag_max_s": lags[-1],
    }


def catalog(url: str, password: str, root: Path, products: int) -> dict[str, Any]:
    rows = (
        {
            "code": f"{100000 + i}",
            "gtin": None,
            "description": f"Produto de catálogo número {i} embalagem {i % 17} unidades",
            "ncm": "19059090",
            "cfop": "5102",
            "cest": None,
            "unit": "UN",
            "price": f"{1 + i % 300}.{i % 100:02d}",
            "origin": 0,
            "updated_at": "2026-01-01T00:00:00+00:00",
            "icms_cst": None,
            "csosn": "102",
            "pis_cst": "49",
            "cofins_cst": "49",
        }
        for i in range(products)
    )
    with connect(StoreServerConfig(url=url), password=password) as conn:
        started = time.perf_counter()
        publish(conn, "products", rows)
        published = time.perf_counter() - started
        store = StoreDB.in_data_dir(root / "fresh")
        try:
            started = time.perf_counter()
            report = pull(conn, store, "products")
            pulled = time.perf_counter() - started
        finally:
            store.close()
    return {
        "products": report.upserted,
        "publish_s": published,
        "pull_s": pulled,
        "refused": len(report.refused),
    }


def _timed_sales(journal: Journal, first: int, count: int) -> list[float]:
    times = []
    for n in range(count):
        sale = make_sale(first + n)
        started = time.perf_counter()
        journal.queue_new_sale(sale, datetime.now(UTC), "benchmark")
        times.append((time.perf_counter() - started) * 1000)
    return times


def sale_path(url: str, password: str, root: Path, count: int, block: int = 100) -> dict[str, Any]:
    """Blocks of ``block`` timed sales, alternately with the pusher paused and running, so
    that the machine's drift (other processes, the disk) falls on both sides alike."""
    data_dir = root / "path"
    data_dir.mkdir(mode=0o700)
    journal = Journal.in_dir(data_dir)
    journal.till_id()
    stop, running = threading.Event(), threading.Event()
    pusher = threading.Thread(target=_pusher, args=(url, password, data_dir, stop, 50, running))
    pusher.start()
    alone: list[float] = []
    beside: list[float] = []
    first = 5_000_000
    for _block in range(max(count // block, 1)):
        running.clear()
        time.sleep(POLL_S * 2)  # the pusher's current round ends
        alone += _timed_sales(journal, first, block)
        first += block
        running.set()
        time.sleep(POLL_S * 2)  # the same pause before both kinds of block (a pause slows the next writes)
        beside += _timed_sales(journal, first, block)
        first += block
    stop.set()
    running.set()
    pusher.join()
    journal.close()

    def summary(ms: list[float]) -> dict[str, float]:
        ordered = sorted(ms)
        return {"median_ms": statistics.median(ordered), "p99_ms": ordered[int(len(ordered) * 0.99) - 1]}

    a, b = summary(alone), summary(beside)
    return {
        "alone": a,
        "with_outbox": b,
        "cost_median_ms": b["median_ms"] - a["median_ms"],
        "cost_p99_ms": b["p99_ms"] - a["p99_ms"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tills", type=int, default=20)
    parser.add_argument("--sales", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="sales per second at each till")
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--path-sales", type=int, default=2000)
    parser.add_argument(
        "--parts", default="replication,catalog,path", help="which measurements (comma-separated)"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    os.environ.setdefault("POSAPP_LOG_DIR", tempfile.gettempdir())
    server = start_server()
    root = Path(tempfile.mkdtemp(prefix="posapp-bench-store-"))
    try:
        url = server.url(server.create_database())
        with connect(StoreServerConfig(url=url), password=server.password) as conn:
            migrate(conn)
        if "replication" in parts:
            report_replication(
                replication(url, server.password, root, args.tills, args.sales, args.rate), args
            )
        if "catalog" in parts:
            report_catalog(catalog(url, server.password, root, args.products))
        if "path" in parts:
            report_path(sale_path(url, server.password, root, args.path_sales), args)
    finally:
        destroy(server)
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return 0


def report_replication(rep: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"replication: {rep['tills']} tills x {args.sales} sales = {rep['sales']} sales "
        f"({rep['events']} events) landed in {rep['seconds']:.1f} s: {rep['sales_per_s']:.0f} sales/s; "
        f"lag sale->server median {rep['lag_median_s'] * 1000:.0f} ms, "
        f"p99 {rep['lag_p99_s'] * 1000:.0f} ms, max {rep['lag_max_s'] * 1000:.0f} ms"
    )


def report_catalog(cat: dict[str, Any]) -> None:
    print(
        f"catalog: {cat['products']} products published in {cat['publish_s']:.1f} s, "
        f"pulled by a fresh till in {cat['pull_s']:.1f} s (refused {cat['refused']})"
    )


def report_path(path: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"sale path ({args.path_sales} journal writes each): alone median "
        f"{path['alone']['median_ms']:.3f} ms p99 {path['alone']['p99_ms']:.3f} ms; "
        "with the outbox pushing beside it median "
        f"{path['with_outbox']['median_ms']:.3f} ms p99 {path['with_outbox']['p99_ms']:.3f} ms; "
        f"cost median {path['cost_median_ms']:+.3f} ms, p99 {path['cost_p99_ms']:+.3f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
