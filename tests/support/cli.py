"""The command line as the tests drive it: in this process, ``--json`` output parsed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from posapp import cli


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    """``posapp ARGV`` through :func:`posapp.cli.main`: its exit code and its last JSON line."""
    code = cli.main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out.strip().splitlines()[-1])
