"""``posapp sim emites`` as a process: port file, a real request, clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posapp.sim.emites import main_sim_emites
from tests.sim.emites_wire import ask, example_text

WAIT_S = 30


def wait_for_port_file(path: Path, process: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if path.exists():
            return int(path.read_text(encoding="ascii"))
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the simulator never wrote its port file")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    ("command", "stop_with"),
    [
        (["-m", "posapp.sim.emites"], signal.SIGTERM),
        (["-m", "posapp.cli", "sim", "emites"], signal.SIGINT),  # Ctrl-C through the real CLI
    ],
)
def test_the_command_serves_until_signalled(
    tmp_path: Path, command: list[str], stop_with: signal.Signals
) -> None:
    port_file = tmp_path / "emites.port"
    process = subprocess.Popen(
        [sys.executable, *command, "--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = wait_for_port_file(port_file, process)
        answer = asyncio.run(ask(port, "CREATE_NFCE", example_text().encode("iso-8859-1")))
        assert answer["status"] == "sucesso" and answer["nfe_numero"] == 1
        process.send_signal(stop_with)
        out, err = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert f"ouvindo em 127.0.0.1:{port}" in out
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # nothing listens any more


def test_a_busy_port_is_reported_in_portuguese(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main_sim_emites(argparse.Namespace(host="127.0.0.1", port=port, port_file=None))
    assert code == 1
    assert "Não foi possível iniciar o simulador do Emites-Client" in capsys.readouterr().err
