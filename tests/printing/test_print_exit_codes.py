"""`posapp print danfe --printer bogus:...` exits 7, the README's "printer failure" (issue 12, item
11: it exited 2), with the reason in Portuguese; bad input of the command itself stays 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.printing import notes

ROOT = Path(__file__).resolve().parents[2]


def _print(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    xml = tmp_path / "nota.xml"
    xml.write_bytes(notes.authorized_xml())
    return subprocess.run(
        [sys.executable, "-m", "posapp", "print", "danfe", "--xml", str(xml), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "POSAPP_LOG_DIR": str(tmp_path / "logs"), "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.parametrize("uri", ["bogus:whatever", "tcp:", "serial:", "tcp:host:notaport"])
def test_a_bad_printer_uri_exits_7(tmp_path: Path, uri: str) -> None:
    result = _print(tmp_path, "--printer", uri)
    assert result.returncode == 7, result.stderr
    assert "impressora" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_a_bad_option_is_still_bad_input(tmp_path: Path) -> None:
    assert _print(tmp_path, "--printer", "none", "--paper", "70").returncode == 2


def test_preview_prints(tmp_path: Path) -> None:
    result = _print(tmp_path, "--printer", "preview")
    assert result.returncode == 0, result.stderr
    assert "[QR" in result.stdout
