"""The store's settings and IBPT table through the store server (issue 16 item 3), measured.

* **IBPT**: a till publishes an IBPT table of ``--ncms`` rows per UF for ``--ufs`` UFs (the
  public table has about 10,500 NCM lines per UF), and a fresh till pulls it (chunks of
  ``storeserver.shared.CHUNK``, each with its cursor).
* **Settings**: a running till's :class:`StoreSync` loop (``sync_interval_s`` as configured,
  2 s by default) and a manager publishing a new document ``--rounds`` times: the time from
  the publish's commit to the till's local copy holding it (median and max).

Runs its own PostgreSQL (``tests/support/postgres.py``, ``fsync=off``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posapp.catalog.ibpt_replica import ensure_table  # noqa: E402
from posapp.catalog.storedb import StoreDB  # noqa: E402
from posapp.config import Config, StoreServerConfig  # noqa: E402
from posapp.services.store_sync import StoreSync  # noqa: E402
from posapp.store_settings import local_state, parse_settings  # noqa: E402
from posapp.storeserver.connection import connect  # noqa: E402
from posapp.storeserver.schema import migrate  # noqa: E402
from posapp.storeserver.settings import publish_ibpt, publish_settings  # noqa: E402
from posapp.storeserver.shared import pull  # noqa: E402
from tests.support.postgres import destroy, start_server  # noqa: E402

UFS = ("DF", "SP", "RJ", "MG", "PR", "RS", "SC", "BA", "GO", "PE")


def ibpt(url: str, password: str, root: Path, ufs: int, ncms: int) -> dict[str, float]:
    source = StoreDB.in_data_dir(_dir(root / "publisher"))
    ensure_table(source)
    with source.transaction() as conn:
        conn.executemany(
            "INSERT INTO ibpt VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    uf,
                    f"{10000000 + i:08d}",
                    "7.85",
                    "12.40",
                    "12.00",
                    "0.00",
                    "2026-06-30",
                    "IBPT 26.1.A 9oi7eW",
                )
                for uf in UFS[:ufs]
                for i in range(ncms)
            ],
        )
    fresh = StoreDB.in_data_dir(_dir(root / "fresh"))
    with connect(StoreServerConfig(url=url), password=password) as conn:
        started = time.perf_counter()
        changed, _withdrawn = publish_ibpt(conn, source)
        published = time.perf_counter() - started
        started = time.perf_counter()
        report = pull(conn, fresh, "ibpt")
        pulled = time.perf_counter() - started
    source.close()
    fresh.close()
    assert report.upserted == changed == ufs * ncms and not report.refused
    return {"rows": float(changed), "publish_s": published, "pull_s": pulled}


def settings(url: str, password: str, root: Path, rounds: int, interval: float) -> list[float]:
    till = _dir(root / "till")
    config = Config.model_validate(
        {"emites": {"enabled": False}, "store_server": {"url": url, "sync_interval_s": interval}}
    )

    async def run() -> list[float]:
        sync = StoreSync(config, till)
        sync.start()
        store = StoreDB.in_data_dir(till)
        delays: list[float] = []
        try:
            with connect(StoreServerConfig(url=url), password=password) as conn:
                for n in range(rounds):
                    document = parse_settings({"store": {"crt": 3}, "nfce": {"cancel_window_min": 10 + n}})
                    await asyncio.to_thread(publish_settings, conn, document, till_id="bench")
                    started = time.perf_counter()
                    while True:
                        state = await asyncio.to_thread(local_state, store)
                        if (
                            state.settings is not None
                            and state.settings.part.nfce.cancel_window_min == 10 + n
                        ):
                            break
                        await asyncio.sleep(0.01)
                    delays.append(time.perf_counter() - started)
                    await asyncio.sleep(random.uniform(0, interval))  # publish anywhere in the loop
        finally:
            await sync.aclose()
            store.close()
        return delays

    return asyncio.run(run())


def _dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ufs", type=int, default=1, choices=range(1, len(UFS) + 1))
    parser.add_argument("--ncms", type=int, default=10_500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2.0, help="the till's sync_interval_s")
    args = parser.parse_args()
    random.seed(16)
    os.environ.setdefault("POSAPP_LOG_DIR", tempfile.gettempdir())
    server = start_server()
    root = Path(tempfile.mkdtemp(prefix="posapp-bench-settings-"))
    os.environ["POSAPP_STORE_SERVER_PASSWORD"] = server.password
    try:
        url = server.url(server.create_database())
        with connect(StoreServerConfig(url=url), password=server.password) as conn:
            migrate(conn)
        got = ibpt(url, server.password, root, args.ufs, args.ncms)
        print(
            f"IBPT: {int(got['rows'])} rows ({args.ufs} UF x {args.ncms} NCMs) published in "
            f"{got['publish_s']:.2f} s; a fresh till pulled them in {got['pull_s']:.2f} s"
        )
        delays = settings(url, server.password, root, args.rounds, args.interval)
        print(
            f"settings: published -> in the running till's copy (sync_interval_s {args.interval:g}): "
            f"median {statistics.median(delays):.2f} s, max {max(delays):.2f} s over {len(delays)} publishes"
        )
    finally:
        destroy(server)
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
