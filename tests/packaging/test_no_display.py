"""Without a display, `posapp demo` said only Qt's misleading "xcb" message (issue 13, item 6):
now it says in Portuguese that no graphical display was found and how to run it, exits 1,
and leaves no throw-away demo folder behind. A real process with DISPLAY, WAYLAND_DISPLAY
and QT_QPA_PLATFORM unset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from posapp.app import display_problem

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="DISPLAY is the X11/Wayland rule"
)


def _run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env.update(
        {
            "POSAPP_LOG_DIR": str(tmp_path / "logs"),
            "PYTHONPATH": str(ROOT),
            "PYTHONIOENCODING": "utf-8",
            "TMPDIR": str(tmp_path / "tmp"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }
    )
    (tmp_path / "tmp").mkdir()
    return subprocess.run(
        [sys.executable, "-m", "posapp", *argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("argv", [("demo",), ("demo", "--scenario", "down")])
def test_demo_without_a_display_says_so_in_portuguese(tmp_path: Path, argv: tuple[str, ...]) -> None:
    result = _run(tmp_path, *argv)
    assert result.returncode == 1, result.stderr
    assert "Nenhuma tela gráfica foi encontrada" in result.stderr
    assert "xvfb-run" in result.stderr and "ssh -X" in result.stderr
    assert "xcb" not in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "tmp").glob("posapp-demo-*"))  # no demo folder left behind


def test_the_rule() -> None:
    linux = "linux"
    assert display_problem({}, linux) is not None
    assert display_problem({"DISPLAY": ":0"}, linux) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, linux) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, linux) is None
    assert display_problem({"QT_QPA_PLATFORM": "xcb"}, linux) is not None
    assert display_problem({}, "win32") is None
