"""The crash handler: a real process that dies leaves a redacted traceback and tells the user where."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from posapp.crash import crash_message, install_crash_handler
from posapp.logging_setup import setup_logging

CPF = "529.982.247-25"
TOKEN = "yrZ8kVuXe3pVJWMZoRrlNtNpCnvkAu1S"


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


PRELUDE = f"""
import sys, threading
from pathlib import Path
from posapp.logging_setup import setup_logging
from posapp.crash import install_crash_handler
log_path = setup_logging(Path("logs"))
install_crash_handler(log_path, None)
CPF = {CPF!r}
TOKEN = {TOKEN!r}
"""


def test_uncaught_exception_in_main_thread(tmp_path: Path) -> None:
    result = _run(
        PRELUDE
        + """
def charge(document):
    raise RuntimeError(f"cliente {document} recusado; Authorization: Bearer {TOKEN}")
charge(CPF)
""",
        tmp_path,
    )
    log_path = tmp_path / "logs" / "posapp.log"
    assert result.returncode == 1
    # The user is told, in Portuguese, where the details are.
    assert "erro inesperado" in result.stderr
    assert str(log_path.resolve()) in result.stderr  # absolute, so it can be found from anywhere
    # The traceback went to the log, and went there redacted.
    text = log_path.read_text(encoding="utf-8")
    assert "Uncaught exception (main thread)" in text
    assert "Traceback (most recent call last)" in text
    assert "in charge" in text and "RuntimeError: cliente ***.***.***-25 recusado" in text
    assert CPF not in text and TOKEN not in text
    assert CPF not in result.stderr and TOKEN not in result.stderr


def test_uncaught_exception_in_a_worker_thread(tmp_path: Path) -> None:
    result = _run(
        PRELUDE
        + """
def worker():
    raise ValueError(f"token={TOKEN} cpf {CPF}")
t = threading.Thread(target=worker, name="printer-worker")
t.start(); t.join()
print("main thread still alive")
""",
        tmp_path,
    )
    assert result.returncode == 0
    assert "main thread still alive" in result.stdout
    assert "erro inesperado" in result.stderr
    text = (tmp_path / "logs" / "posapp.log").read_text(encoding="utf-8")
    assert "Uncaught exception in thread printer-worker" in text
    assert "ValueError: token=***" in text
    assert CPF not in text and TOKEN not in text


def test_hard_crash_leaves_python_stacks_in_the_fault_file(tmp_path: Path) -> None:
    result = _run(PRELUDE + "import faulthandler\nfaulthandler._sigsegv()\n", tmp_path)
    assert result.returncode != 0
    fault = (tmp_path / "logs" / "posapp.log.fault").read_text(encoding="utf-8")
    assert "Fatal Python error" in fault
    assert 'File "<string>"' in fault


def test_keyboard_interrupt_is_not_a_crash(tmp_path: Path) -> None:
    result = _run(PRELUDE + "raise KeyboardInterrupt\n", tmp_path)
    assert "erro inesperado" not in result.stderr
    assert "KeyboardInterrupt" in result.stderr
    log_file = tmp_path / "logs" / "posapp.log"
    assert "Uncaught" not in log_file.read_text(encoding="utf-8")


def test_asyncio_task_failure_is_logged_and_shown(tmp_path: Path) -> None:
    log_path = tmp_path / "direct.log"  # no logging handler on it: the handler writes directly
    shown: list[str] = []
    loop = asyncio.new_event_loop()
    handler = install_crash_handler(log_path, shown.append, loop=loop, enable_faulthandler=False)
    try:

        def boom() -> None:
            raise LookupError(f"produto do cliente {CPF} sem token {TOKEN}")

        loop.call_soon(boom)
        loop.run_until_complete(asyncio.sleep(0.01))
    finally:
        handler.uninstall()
        loop.close()
    assert shown == [crash_message(log_path)]
    assert str(log_path) in shown[0]
    text = log_path.read_text(encoding="utf-8")
    assert "Unhandled exception in asyncio" in text
    assert "LookupError: produto do cliente ***.***.***-25 sem token ***" in text
    assert CPF not in text and TOKEN not in text


def test_exception_without_object_is_logged_without_a_dialog(tmp_path: Path) -> None:
    log_path = tmp_path / "direct.log"
    shown: list[str] = []
    loop = asyncio.new_event_loop()
    handler = install_crash_handler(log_path, shown.append, loop=loop, enable_faulthandler=False)
    try:
        loop.call_exception_handler({"message": f"Task was destroyed but it is pending (CPF {CPF})"})
    finally:
        handler.uninstall()
        loop.close()
    assert shown == []
    text = log_path.read_text(encoding="utf-8")
    assert "Task was destroyed" in text and CPF not in text


def test_a_failing_dialog_falls_back_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def broken_dialog(_: str) -> None:
        raise RuntimeError("no display")

    handler = install_crash_handler(tmp_path / "x.log", broken_dialog, enable_faulthandler=False)
    try:
        worker = threading.Thread(target=lambda: 1 / 0, name="w")
        worker.start()
        worker.join()
    finally:
        handler.uninstall()
    assert "erro inesperado" in capsys.readouterr().err
    assert "ZeroDivisionError" in (tmp_path / "x.log").read_text(encoding="utf-8")


def test_uses_the_logging_handler_when_one_writes_the_log(
    tmp_path: Path, clean_root_logger: logging.Logger
) -> None:
    log_path = setup_logging(tmp_path)
    handler = install_crash_handler(log_path, lambda _: None, enable_faulthandler=False)
    try:
        try:
            raise OSError(f"disk said CPF {CPF}")
        except OSError as exc:
            handler.report("Test crash", type(exc), exc, exc.__traceback__)
    finally:
        handler.uninstall()
    text = log_path.read_text(encoding="utf-8")
    # One formatted line with level and logger name: it went through logging (rotation-safe).
    assert "CRITICAL posapp.crash" in text
    assert text.count("Test crash") == 1
    assert CPF not in text


def test_uninstall_restores_previous_hooks(tmp_path: Path) -> None:
    before = (sys.excepthook, threading.excepthook)
    handler = install_crash_handler(tmp_path / "x.log", None, enable_faulthandler=False)
    assert sys.excepthook is not before[0]
    handler.uninstall()
    assert (sys.excepthook, threading.excepthook) == before
