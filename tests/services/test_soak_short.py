"""The soak of ``benchmarks/soak.py``, short: a few hundred sales through real till processes
killed at random (crash points and SIGKILL from outside, in issue, drain and cancel), against
the three issuer simulators switching faults on and off (down, hang, dropped answers, garbage,
5xx before and after issuing, refused queries, duplicidade, lying chaves, cancel races), with
cancels (some by two processes at once); then the catch-up and a manager's resolutions, and
every sale checked against what the simulators really issued (:mod:`tests.support.soak`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.soak import SoakOptions, run_soak

pytestmark = pytest.mark.slow


def test_a_short_soak_loses_no_sale_issues_none_twice_and_leaves_none_in_a_wrong_state(
    tmp_path: Path,
) -> None:
    report = run_soak(SoakOptions(sales=250, seed=12, kill_every=20, fault_every_s=1.0, work_dir=tmp_path))
    summary = report.summary()
    assert report.sales == 250, summary
    assert (report.lost, report.twice, report.wrong, report.orphans) == (0, 0, 0, 0), summary
    # It was a soak: processes died, issuers failed, notes were cancelled and issued everywhere.
    assert sum(report.kills.values()) >= 3, summary
    assert {"emites", "focusnfe", "integranotas"} <= {key.split(":")[0] for key in report.faults}, summary
    assert report.outcomes["authorized"] >= 50 and report.outcomes["cancelled"] > 0, summary
