"""Start-up cost of the command line, measured in fresh processes.

    .venv/bin/python benchmarks/bench_startup.py [--runs 15] [--baseline DIR] [--sale FILE] [--json]

* ``posapp --version``: wall time and CPU (user + system) of the whole process;
* ``posapp nfce emit examples/sale.json`` against the Emites-Client simulator on loopback
  (one sale per run, a fresh data folder each time): wall time and CPU of the process.

``--baseline DIR`` runs the same measurements, interleaved run by run, against another
checkout of posapp (e.g. ``git worktree add /tmp/posapp-base <commit>``), imported through
``PYTHONPATH`` with the same interpreter, and prints both medians and their ratio side by
side, so a before/after comparison shares one machine state. Targets (issue 11): ``--version``
at most 60 ms, a whole ``nfce emit`` at most 150 ms of CPU. Measured, never asserted.

Beside them, interleaved, the **floor of the stack** (``stack floor``): a process that loads
only what any ``nfce emit`` built on the design's libraries loads (argparse, json, logging,
sqlite3, a socket, asyncio running one coroutine, pydantic validating one model) and none of
posapp; and the same without pydantic (``no pydantic``). No posapp code can start below it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SALE = ROOT / "examples" / "sale.json"


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float


def _run(argv: list[str], tree: Path | None) -> Sample:
    env = dict(os.environ)
    # What a till runs: modules loaded from their compiled bytecode (an installed package or the
    # bundle has it), not compiled again at every start as PYTHONDONTWRITEBYTECODE would force.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # cwd outside both trees, so that PYTHONPATH (not the current folder) picks the code.
    proc = subprocess.run(argv, env=env, cwd=tempfile.gettempdir(), capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall, cpu)


# What every ``nfce emit`` loads before posapp's own code, whatever that code does.
_STACK = """
import argparse, json, logging, logging.handlers, socket, sqlite3, asyncio
from decimal import Decimal
async def main():
    sqlite3.connect(":memory:").execute("select 1")
asyncio.run(main())
"""
_PYDANTIC = """
import os
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"  # as posapp's entry point sets it
from pydantic import BaseModel
class Item(BaseModel):
    code: str
    price: Decimal
    note: str | None = None
Item.model_validate({"code": "1", "price": "2.50"})
"""
FLOORS = {"floor": _STACK + _PYDANTIC, "floor_no_pydantic": _STACK}


def _start_simulator() -> tuple[subprocess.Popen[bytes], int]:
    port_file = Path(tempfile.mkdtemp(prefix="posapp-bench-")) / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "posapp", "sim", "emites", "--port", "0", "--port-file", str(port_file)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text().strip())
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the Emites-Client simulator did not start")


def _median(samples: list[Sample]) -> dict[str, float]:
    return {
        "wall_ms": round(statistics.median(s.wall_s for s in samples) * 1000, 1),
        "cpu_ms": round(statistics.median(s.cpu_s for s in samples) * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, help="another posapp checkout to compare with")
    parser.add_argument(
        "--sale",
        type=Path,
        help="the SALE.json every run emits (default: examples/sale.json of the baseline if given, "
        "which both trees read, else of this tree)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    trees: dict[str, Path | None] = {"current": ROOT}
    if args.baseline is not None:
        trees["baseline"] = args.baseline.resolve()
    if args.sale is None:  # an older tree may refuse fields added since; the newer reads the older's
        args.sale = args.baseline / "examples" / "sale.json" if args.baseline is not None else SALE
    simulator, port = _start_simulator()
    samples: dict[tuple[str, str], list[Sample]] = {}
    try:
        for tree in trees.values():  # warm-up, not counted: writes the bytecode caches
            _run([sys.executable, "-m", "posapp", "--version"], tree)
        for run in range(args.runs + 1):
            for name, tree in trees.items():  # interleaved: both see the same machine state
                version = _run([sys.executable, "-m", "posapp", "--version"], tree)
                with tempfile.TemporaryDirectory(prefix="posapp-bench-") as data:
                    emit = [sys.executable, "-m", "posapp", "nfce", "emit", str(args.sale.resolve())]
                    emit += ["--emites", f"127.0.0.1:{port}", "--data-dir", data, "--json"]
                    issued = _run(emit, tree)
                if run == 0:
                    continue  # the first emit writes the bytecode of what --version did not load
                samples.setdefault((name, "version"), []).append(version)
                samples.setdefault((name, "emit"), []).append(issued)
            for what, program in FLOORS.items():
                stack_only = _run([sys.executable, "-c", program], None)
                if run:
                    samples.setdefault(("stack", what), []).append(stack_only)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
    results = {f"{name}/{what}": _median(found) for (name, what), found in samples.items()}
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"median of {args.runs} fresh processes each")
    for what in ("version", "emit"):
        current = results[f"current/{what}"]
        line = f"{what:8} current: {current['wall_ms']:7.1f} ms wall {current['cpu_ms']:7.1f} ms CPU"
        if "baseline" in trees:
            base = results[f"baseline/{what}"]
            line += (
                f" | baseline: {base['wall_ms']:7.1f} ms wall {base['cpu_ms']:7.1f} ms CPU"
                f" | ratio CPU {current['cpu_ms'] / base['cpu_ms']:.2f}"
            )
        print(line)
    floor_cpu = results["stack/floor"]["cpu_ms"]
    print(
        f"stack floor (no posapp code): {floor_cpu:7.1f} ms CPU; "
        f"no pydantic: {results['stack/floor_no_pydantic']['cpu_ms']:7.1f} ms CPU; emit over the floor: "
        f"{results['current/emit']['cpu_ms'] - floor_cpu:7.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
