"""Proof at scale: N sales through real posapp processes killed at random, against the three
issuer simulators failing in every way we know, then every sale checked against what the
issuers really issued.

    .venv/bin/python benchmarks/soak.py [--sales 10000] [--seed 1] [--minutes M] [--keep]

What it randomizes, how it catches up and what it checks is in :mod:`tests.support.soak`
(the same code CI runs with a few hundred sales, ``tests/services/test_soak_short.py``).
Everything listens on 127.0.0.1. Prints a summary; exits 1 if a sale was lost, issued twice
or left in a wrong state (or a note belongs to no sale), 0 otherwise. The work folder (the
journal, the processes' stderr) is kept when a check fails, or with ``--keep``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: the test support lives next to posapp
    sys.path.insert(0, str(REPO))

from tests.support.soak import SoakOptions, run_soak  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soak", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sales", type=int, default=10_000, help="sales to sell (default 10,000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random schedule (default 1)")
    parser.add_argument(
        "--minutes", type=float, default=None, help="stop handing out new sales after this long"
    )
    parser.add_argument(
        "--cancel-share", type=float, default=0.08, help="share of authorized sales cancelled"
    )
    parser.add_argument("--kill-every", type=int, default=25, help="about one kill -9 per this many sales")
    parser.add_argument(
        "--fault-every", type=float, default=1.5, help="faults switched about this often (seconds)"
    )
    parser.add_argument("--work-dir", type=Path, default=None, help="where to make the work folder")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--quiet", action="store_true", help="only the summary")
    args = parser.parse_args(argv)
    if not 1 <= args.sales <= 99_999:
        parser.error("--sales: 1 to 99,999")
    options = SoakOptions(
        sales=args.sales,
        seed=args.seed,
        minutes=args.minutes,
        cancel_share=args.cancel_share,
        kill_every=max(args.kill_every, 1),
        fault_every_s=max(args.fault_every, 0.05),
        work_dir=args.work_dir,
        keep=args.keep,
        log=None if args.quiet else sys.stderr,
    )
    report = run_soak(options)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
