"""Private by default (issue 12, item 8): whatever the umask, every folder posapp makes is 0700 and
every file 0600: the journal with its -wal, -shm and lock, the store database, the log and its
rotated files, the crash report and the fault file. Looser folders and files left by an older
posapp (or an installer) are tightened on open, and the log says so.

Each umask case runs in a fresh process: the umask is process-wide, and so are logging and the
crash handler."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from posapp.files import private_dir, private_file, private_sqlite

pytestmark = pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX; Windows uses ACLs")

SCRIPT = """
import json, logging, os, stat, sys
from datetime import UTC, datetime
from pathlib import Path

os.umask(int(sys.argv[1], 8))
root = Path(sys.argv[2])
data, logs = root / "a" / "data", root / "b" / "logs"

from posapp.logging_setup import setup_logging
from posapp.crash import install_crash_handler
log_path = setup_logging(logs, max_bytes=2048, backup_count=2)
handler = install_crash_handler(log_path, lambda text: None)

from posapp.journal.store import Journal
from posapp.journal.lockfile import ProcessLock
from posapp.catalog.storedb import StoreDB

journal = Journal.in_dir(data)
journal.record_job(None, "test", "none")  # a write: SQLite makes the -wal and -shm now
lock = ProcessLock(journal.path.with_name(journal.path.name + ".lock"))
lock.acquire()
store = StoreDB.in_data_dir(data)
store.set_setting("k", "v")
for i in range(200):  # past max_bytes: rotated files
    logging.getLogger("posapp.test").info("line %d %s", i, "x" * 40)
try:
    raise RuntimeError("boom")
except RuntimeError as exc:
    handler.report("test crash", type(exc), exc, exc.__traceback__)

modes = {}
for base in (root / "a", root / "b"):
    for path in [base, *sorted(base.rglob("*"))]:
        modes[str(path.relative_to(root))] = [stat.S_IMODE(path.stat().st_mode), path.is_dir()]
print(json.dumps(modes))
handler.uninstall()
"""


def _run(umask: int, root: Path) -> dict[str, tuple[int, bool]]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), oct(umask), str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 0, result.stderr
    raw = json.loads(result.stdout.strip().splitlines()[-1])
    return {name: (int(mode), bool(is_dir)) for name, (mode, is_dir) in raw.items()}


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o000], ids=["022", "002", "000"])
def test_everything_posapp_creates_is_private_whatever_the_umask(umask: int, tmp_path: Path) -> None:
    modes = _run(umask, tmp_path)
    expected = {
        "a/data/journal.sqlite3",
        "a/data/journal.sqlite3-wal",
        "a/data/journal.sqlite3-shm",
        "a/data/journal.sqlite3.lock",
        "a/data/store.sqlite3",
        "a/data/store.sqlite3-wal",
        "a/data/store.sqlite3-shm",
        "b/logs/posapp.log",
        "b/logs/posapp.log.1",
        "b/logs/posapp.log.2",
        "b/logs/posapp.log.fault",
    }
    assert expected <= modes.keys(), sorted(modes)
    loose = {
        name: oct(mode) for name, (mode, is_dir) in modes.items() if mode != (0o700 if is_dir else 0o600)
    }
    assert loose == {}


def test_looser_folders_and_files_are_tightened_on_open_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    journal = data / "journal.sqlite3"
    leftovers = [journal, data / "journal.sqlite3-wal", data / "journal.sqlite3-shm"]
    for path in leftovers:
        path.touch()
        path.chmod(0o644)
    caplog.set_level(logging.WARNING, logger="posapp.files")

    private_sqlite(journal)

    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in leftovers} == {p.name: 0o600 for p in leftovers}
    said = " ".join(r.getMessage() for r in caplog.records)
    assert str(data) in said and "755" in said and "700" in said
    assert "journal.sqlite3-wal" in said


def test_only_group_and_other_bits_are_removed(tmp_path: Path) -> None:
    """A folder its owner made read-only stays read-only: tightening never adds a bit."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        private_dir(folder)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o500
    finally:
        folder.chmod(0o700)


def test_missing_parents_are_made_private_existing_ones_left_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    target = tmp_path / "x" / "y" / "z"
    private_dir(target)
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755  # not ours
    for folder in (tmp_path / "x", tmp_path / "x" / "y", target):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    made = private_file(target / "f")
    assert stat.S_IMODE(made.stat().st_mode) == 0o600


def test_the_log_replays_what_was_tightened_before_it_existed(tmp_path: Path) -> None:
    """setup_logging tightens the log folder before any handler exists; the line still lands in
    the log (not on the terminal)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    logs.chmod(0o755)
    script = f"""
import os
from pathlib import Path
from posapp.logging_setup import setup_logging
path = setup_logging(Path({str(logs)!r}))
import logging
for h in logging.getLogger().handlers:
    h.flush()
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = (logs / "posapp.log").read_text(encoding="utf-8")
    assert "readable by other users" in text and str(logs) in text
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700


def test_doctor_warns_about_a_data_folder_others_can_read(tmp_path: Path) -> None:
    from posapp.doctor import Level, check_data_dir

    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    (data / "journal.sqlite3").touch(mode=0o644)
    (data / "journal.sqlite3").chmod(0o644)
    privacy = next(r for r in check_data_dir(data) if r.title == "Privacidade")
    assert privacy.level is Level.WARN
    assert "journal.sqlite3 (644)" in privacy.message and "chmod" in privacy.action
    private_sqlite(data / "journal.sqlite3")
    assert next(r for r in check_data_dir(data) if r.title == "Privacidade").level is Level.OK
