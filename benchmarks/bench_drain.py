"""Benchmark of the outage catch-up: how fast a full queue empties once Emites-Client is back.

    .venv/bin/python benchmarks/bench_drain.py [--sales 1000] [--runs 3] [--interval 1.0]

Each run, in a fresh data directory:

1. **Outage.** Emites-Client is down (its port refuses connections; no online provider is
   configured) and ``--sales`` sales are issued through the real ``PosService``: each one
   is committed to the journal as QUEUED. The time per queued sale is what a cashier waits
   during an outage.
2. **Issuer back.** ``posapp sim emites`` is started as its own process on that port; the
   moment it accepts connections is *back*. The application's ``QueueDrainer`` (already
   running, polling every ``--interval`` seconds with its usual backoff while everything
   was down) notices, reconciles, probes and drains.
3. **Queue empty.** When every sale is AUTHORIZED, the journal's timestamps give the first
   and last authorization.

Reported per run and as the median of the runs: queueing time per sale during the outage
(wall, mostly the journal's fdatasync, which the disk makes noisy; and the process's CPU for it,
every thread, which is steadier and is what posapp's own code changes),
*back -> first note* (detection: the drainer's poll interval and backoff), drain throughput
(sales per second, first to last authorization) and *back -> queue empty*.

Only Emites-Client is measured: Focus NFe (100 requests a minute) and Integra Notas (60 a
minute, 5-minute block beyond) are bounded by their documented rate limits, not by us, so
1,000 sales through them take tens of minutes by design. With the production drainer
settings (15 s, backing off to 120 s during a long outage) detection adds up to two minutes
to *back -> queue empty*; the drain itself is unaffected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from posapp.app import build_service
from posapp.config import Config
from posapp.domain.lifecycle import SaleState
from posapp.domain.sale import Sale
from posapp.journal.store import Journal
from posapp.services.drainer import QueueDrainer


@dataclass(frozen=True)
class RunResult:
    queue_ms_per_sale: float
    queue_cpu_ms_per_sale: float
    back_to_first_s: float
    drain_s: float
    sales_per_s: float
    back_to_empty_s: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_sale(index: int) -> Sale:
    """A small cash sale, one or two items, totals varying with the index."""
    items: list[dict[str, Any]] = [
        {
            "code": str(500_000 + index),
            "gtin": "SEM GTIN",
            "description": f"Produto {index}",
            "ncm": "19059090",
            "cfop": "5102",
            "unit": "UN",
            "quantity": str(1 + index % 3),
            "unit_price": str(Decimal("2.50") + Decimal(index % 11)),
        }
    ]
    if index % 2:
        items.append(
            {
                "code": "14600",
                "gtin": "7891000315507",
                "description": "Cerveja Pilsen 350ml",
                "ncm": "22030000",
                "cfop": "5102",
                "unit": "UN",
                "quantity": "6",
                "unit_price": "4.99",
            }
        )
    return Sale.from_mapping({"items": items, "payments": [{"method": "dinheiro", "amount": "200.00"}]})


def start_simulator(port: int) -> subprocess.Popen[bytes]:
    """``posapp sim emites`` in its own process, as a real Emites-Client would be."""
    return subprocess.Popen(
        [sys.executable, "-m", "posapp", "sim", "emites", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_listening(port: int, timeout_s: float = 30) -> datetime:
    """Block until ``port`` accepts a connection; the moment it first did."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return datetime.now(UTC)
        time.sleep(0.002)
    raise TimeoutError(f"the simulator did not listen on {port} within {timeout_s}s")


async def one_run(sales: int, interval_s: float, max_interval_s: float, workdir: Path) -> RunResult:
    port = free_port()
    config = Config.model_validate(
        {
            "emites": {"port": port, "connect_timeout_s": 1, "response_timeout_s": 30},
            "printer": {"uri": "none"},
        }
    )
    data_dir = workdir / "data"
    service = build_service(config, data_dir, with_printer=False)
    drainer = QueueDrainer(service, interval_s=interval_s, max_interval_s=max_interval_s)
    simulator: subprocess.Popen[bytes] | None = None
    try:
        await service.start()
        started = time.perf_counter()
        started_cpu = time.process_time()
        for index in range(sales):
            report = await service.issue(make_sale(index), print_receipt=False)
            if report.state is not SaleState.QUEUED:
                raise RuntimeError(f"expected QUEUED during the outage, got {report.state}")
        queue_ms = (time.perf_counter() - started) * 1000 / sales
        queue_cpu_ms = (time.process_time() - started_cpu) * 1000 / sales
        drainer.start()
        await asyncio.sleep(interval_s * 1.5)  # at least one round sees the outage

        simulator = await asyncio.to_thread(start_simulator, port)
        back = await asyncio.to_thread(wait_listening, port)
        journal = Journal.in_dir(data_dir)  # a second connection, read-only use (WAL)
        try:
            while True:
                counts = await asyncio.to_thread(journal.count_by_state)
                if counts.get(SaleState.AUTHORIZED, 0) == sales:
                    break
                if counts.get(SaleState.IN_DOUBT, 0) or counts.get(SaleState.REJECTED, 0):
                    raise RuntimeError(f"sales not authorized: {counts}")
                await asyncio.sleep(0.1)
            rows = await asyncio.to_thread(
                lambda: journal.list_sales(states=[SaleState.AUTHORIZED], limit=sales + 1)
            )
        finally:
            journal.close()
        done = sorted(row.updated_at for row in rows)
        first, last = done[0], done[-1]
        drain_s = (last - first).total_seconds()
        return RunResult(
            queue_ms_per_sale=queue_ms,
            queue_cpu_ms_per_sale=queue_cpu_ms,
            back_to_first_s=(first - back).total_seconds(),
            drain_s=drain_s,
            sales_per_s=(sales - 1) / drain_s if drain_s > 0 else float("inf"),
            back_to_empty_s=(last - back).total_seconds(),
        )
    finally:
        await drainer.stop()
        await service.aclose()
        if simulator is not None:
            simulator.send_signal(signal.SIGTERM)
            try:
                simulator.wait(timeout=10)
            except subprocess.TimeoutExpired:
                simulator.kill()
                simulator.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sales", type=int, default=1000, help="queued sales per run (default 1000)")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are reported (default 3)")
    parser.add_argument("--interval", type=float, default=1.0, help="drainer poll interval, s (default 1)")
    parser.add_argument("--max-interval", type=float, default=2.0, help="drainer backoff cap, s (default 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the outage's connection warnings are expected

    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="posapp-bench-drain-") as workdir:
            results.append(asyncio.run(one_run(args.sales, args.interval, args.max_interval, Path(workdir))))

    header = (
        f"{'run':>6} | {'queued, ms/sale':>15} | {'CPU ms/sale':>11} | {'back->1st note, s':>17} | "
        f"{'drain, s':>8} | {'sales/s':>8} | {'back->empty, s':>14}"
    )
    print(
        f"posapp queue drain benchmark: {args.sales} queued sales, Emites-Client simulator "
        f"(posapp sim emites, its own process), drainer every {args.interval:g} s "
        f"(backoff to {args.max_interval:g} s); Python {sys.version.split()[0]}"
    )
    print(header)
    print("-" * len(header))

    def row(label: str, r: RunResult) -> str:
        return (
            f"{label:>6} | {r.queue_ms_per_sale:>15.2f} | {r.queue_cpu_ms_per_sale:>11.3f} | "
            f"{r.back_to_first_s:>17.2f} | {r.drain_s:>8.2f} | "
            f"{r.sales_per_s:>8.1f} | {r.back_to_empty_s:>14.2f}"
        )

    for number, result in enumerate(results, start=1):
        print(row(str(number), result))
    median = RunResult(
        *(statistics.median(getattr(r, name) for r in results) for name in RunResult.__dataclass_fields__)
    )
    print("-" * len(header))
    print(row("median", median))
    return 0


if __name__ == "__main__":
    sys.exit(main())
