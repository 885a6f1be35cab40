"""`posapp nfce list | head -1` (issue 12, item 9): a reader that leaves early never turns into a
traceback or a crash report. A real process whose stdout pipe is closed before it writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from posapp.journal.store import Journal
from tests.support.sales import make_sale

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGPIPE/EPIPE semantics are POSIX")

ROOT = Path(__file__).resolve().parents[2]


def _run_with_closed_stdout(tmp_path: Path, *argv: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "POSAPP_LOG_DIR": str(tmp_path / "logs"),
        "PYTHONPATH": str(ROOT),
        "PYTHONIOENCODING": "utf-8",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "posapp", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first byte (`| head -0`)
    err = process.stderr.read().decode("utf-8")
    process.stderr.close()
    return process.wait(timeout=120), err


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    journal = Journal.in_dir(data)
    for index in range(3):
        journal.queue_new_sale(make_sale(index), datetime(2026, 3, 2, 12, index, tzinfo=UTC), "offline")
    journal.close()
    return data


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_nfce_list_into_a_closed_pipe_exits_quietly(tmp_path: Path, data_dir: Path, as_json: bool) -> None:
    config = tmp_path / "posapp.toml"
    config.write_text("[emites]\nconnect_timeout_s = 1\n", encoding="utf-8")
    argv = ["nfce", "list", "--config", str(config), "--data-dir", str(data_dir)]
    code, err = _run_with_closed_stdout(tmp_path, *argv, *(["--json"] if as_json else []))
    assert code == 141, err
    assert err == ""  # no traceback, no "O posapp encontrou um erro inesperado"
    log = (tmp_path / "logs" / "posapp.log").read_text(encoding="utf-8")
    assert "Traceback" not in log and "broken pipe" in log


def test_version_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    code, err = _run_with_closed_stdout(tmp_path, "--version")
    assert "Traceback" not in err and "Exception ignored" not in err
    assert code in (0, 141)


def test_a_reader_that_stays_gets_everything(tmp_path: Path, data_dir: Path) -> None:
    config = tmp_path / "posapp.toml"
    config.write_text("", encoding="utf-8")
    argv = ["nfce", "list", "--json", "--config", str(config), "--data-dir", str(data_dir)]
    result = subprocess.run(
        [sys.executable, "-m", "posapp", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "POSAPP_LOG_DIR": str(tmp_path / "logs"), "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["sales"]) == 3
