"""DANFE printing benchmark: bytes per receipt, time to render, wire time on serial links.

    .venv/bin/python benchmarks/bench_printing.py [--runs N]

Renders the vendor fixtures (``tests/fixtures/printing``: the 2-item authorized XML and
its DANFE PDF) in each mode and paper width, N times each, and prints medians. Wire time
is bytes x 10 bits (8N1) / baud: what a serial printer needs just to receive the job.
Targets (issue "DANFE NFC-e on ESC/POS receipt printers"): native <= 6 KB and <= 50 ms;
raster within 2x of the raw bitmap and <= 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from posapp.printing import ReceiptOptions, decode_escpos, render_danfe  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "printing"
BAUDS = (9600, 115200)


def measure(options: ReceiptOptions, xml: bytes | None, pdf: bytes | None, runs: int) -> dict[str, float]:
    timings = []
    data = b""
    for _ in range(runs):
        start = time.perf_counter()
        data = render_danfe(xml=xml, pdf=pdf, options=options)
        timings.append(time.perf_counter() - start)
    receipt = decode_escpos(
        data, tables=options.table_map(), width_dots=options.width_dots, columns=options.columns
    )
    row = {
        "bytes": float(len(data)),
        "raw_bitmap": float(receipt.raster_bytes),
        "render_ms": statistics.median(timings) * 1000,
        "render_max_ms": max(timings) * 1000,
    }
    for baud in BAUDS:
        row[f"wire_{baud}_s"] = len(data) * 10 / baud
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="renders per case (median reported)")
    args = parser.parse_args(argv)
    xml = (FIXTURES / "nfce_authorized_df_homologacao.xml").read_bytes()
    pdf = (FIXTURES / "danfe_nfce_df_homologacao.pdf").read_bytes()

    cases = []
    for paper in (58, 80):
        base = ReceiptOptions(paper_mm=paper, open_drawer=True)
        cases.append(("native", paper, measure(base, xml, None, args.runs)))
        cases.append(
            ("native+rasterQR", paper, measure(replace(base, native_qr=False), xml, None, args.runs))
        )
        cases.append(("raster", paper, measure(replace(base, mode="raster"), None, pdf, args.runs)))

    header = (
        f"{'mode':<16}{'paper':>6}{'bytes':>9}{'raw bmp':>9}{'ratio':>7}"
        f"{'render ms':>11}{'max ms':>8}{'9600 bd':>10}{'115200 bd':>11}"
    )
    print(f"posapp DANFE printing benchmark — median of {args.runs} renders, Python {sys.version.split()[0]}")
    print(header)
    print("-" * len(header))
    for mode, paper, row in cases:
        ratio = f"{row['bytes'] / row['raw_bitmap']:.2f}" if row["raw_bitmap"] else "-"
        raw = f"{row['raw_bitmap']:.0f}" if row["raw_bitmap"] else "-"
        print(
            f"{mode:<16}{paper:>4}mm{row['bytes']:>9.0f}{raw:>9}{ratio:>7}"
            f"{row['render_ms']:>11.1f}{row['render_max_ms']:>8.1f}"
            f"{row['wire_9600_s']:>9.1f}s{row['wire_115200_s']:>10.2f}s"
        )
    native_ok = all(r["bytes"] <= 6 * 1024 and r["render_ms"] <= 50 for m, _, r in cases if m == "native")
    raster_ok = all(
        r["bytes"] <= 2 * r["raw_bitmap"] and r["render_ms"] <= 300 for m, _, r in cases if m == "raster"
    )
    print()
    print(
        f"targets: native <= 6 KB and <= 50 ms: {'met' if native_ok else 'MISSED'}; "
        f"raster <= 2x raw bitmap and <= 300 ms: {'met' if raster_ok else 'MISSED'}"
    )
    return 0 if native_ok and raster_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
