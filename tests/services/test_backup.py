"""Issue 15 item 4: ``posapp backup`` / ``posapp restore`` and the daily backup, with real
SQLite files, the Emites-Client simulator over loopback and real ``posapp`` processes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from posapp.config import BackupConfig, Config
from posapp.doctor.backup import check_backup
from posapp.doctor.result import Level
from posapp.domain.lifecycle import SaleState
from posapp.journal.lockfile import ProcessLock
from posapp.journal.store import Journal
from posapp.services.backup import BackupReport, daily_backup, last_backup, take_backup
from posapp.services.errors import BackupFailed, RestoreRefused
from posapp.services.restore import restore_backup
from posapp.ui.daily_backup import run_daily_backups
from tests.conftest import sale_mapping
from tests.support.cli import run_cli
from tests.support.emites_thread import EmitesInThread

ROOT = Path(__file__).resolve().parents[2]


def emit(capsys: pytest.CaptureFixture[str], data: Path, sim: EmitesInThread, sale: Path) -> dict[str, Any]:
    code, out = run_cli(
        capsys,
        "nfce",
        "emit",
        str(sale),
        "--data-dir",
        str(data),
        "--emites",
        f"127.0.0.1:{sim.port}",
        "--json",
    )
    assert code == 0, out
    return out


def creates(sim: EmitesInThread) -> int:
    return sum(1 for r in sim.requests() if r.identifier == "CREATE_NFCE")


def states(data: Path) -> dict[str, SaleState]:
    journal = Journal.in_dir(data)
    try:
        return {row.sale_id: row.state for row in journal.list_sales(limit=10_000)}
    finally:
        journal.close()


def test_a_backup_taken_during_a_sale_restores_everything_acknowledged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    data = tmp_path / "data"
    before = [emit(capsys, data, emites, sale_file) for _ in range(3)]

    # A real concurrent sale: another posapp process, whose answer the issuer holds back.
    emites.faults.delay_s = 3
    command = [sys.executable, "-m", "posapp", "nfce", "emit", str(sale_file), "--data-dir", str(data)]
    command += ["--emites", f"127.0.0.1:{emites.port}", "--json"]
    process = subprocess.Popen(
        command, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while creates(emites) < 4:  # the request left: the sale is committed ISSUING
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    backup_file = tmp_path / "usb" / "caixa.zip"
    code, taken = run_cli(capsys, "backup", "--out", str(backup_file), "--data-dir", str(data), "--json")
    assert code == 0, taken
    assert process.poll() is None  # the sale was still being issued while the copy was taken
    out, err = process.communicate(timeout=60)
    during = json.loads(out.strip().splitlines()[-1])
    assert during["status"] == "authorized", err
    emites.faults.delay_s = 0
    after = emit(capsys, data, emites, sale_file)

    restored = tmp_path / "restored"
    code, report = run_cli(capsys, "restore", str(backup_file), "--data-dir", str(restored), "--json")
    assert code == 0, report
    assert report["status"] == "restored" and report["replaced_dir"] is None
    assert (restored / "journal.sqlite3").stat().st_mode & 0o777 == 0o600
    found = states(restored)
    live = Journal.in_dir(data)
    copy = Journal.in_dir(restored)
    for sale in before:  # acknowledged before the copy: all there, with their notes
        assert found[sale["sale_id"]] is SaleState.AUTHORIZED
        assert copy.authorized_xml(sale["sale_id"]) == live.authorized_xml(sale["sale_id"])
    live.close()
    copy.close()
    # The sale in flight during the copy is there, ISSUING: never lost; the next start puts it
    # in doubt for reconciling, never resends it blindly.
    assert found[during["sale_id"]] is SaleState.ISSUING
    assert after["sale_id"] not in found
    code, listing = run_cli(capsys, "nfce", "list", "--data-dir", str(restored), "--json")
    assert code == 0
    listed = {s["sale_id"]: s["status"] for s in listing["sales"]}
    assert listed[during["sale_id"]] == "in_doubt"
    assert creates(emites) == 5  # nothing was resent by the restore or the start-up


def test_restore_refuses_to_replace_a_newer_journal_unless_forced_and_keeps_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    data = tmp_path / "data"
    first = emit(capsys, data, emites, sale_file)
    backup_file = tmp_path / "b.zip"
    assert run_cli(capsys, "backup", "--out", str(backup_file), "--data-dir", str(data), "--json")[0] == 0
    second = emit(capsys, data, emites, sale_file)  # the journal is now newer than the copy

    code, refused = run_cli(capsys, "restore", str(backup_file), "--data-dir", str(data), "--json")
    assert code == 2 and refused["status"] == "refused"
    assert "mais novo" in refused["errors"][0] and "--force" in refused["errors"][0]
    assert set(states(data)) == {first["sale_id"], second["sale_id"]}  # nothing changed

    code, report = run_cli(capsys, "restore", str(backup_file), "--data-dir", str(data), "--force", "--json")
    assert code == 0, report
    assert set(states(data)) == {first["sale_id"]}
    aside = Path(report["replaced_dir"])
    assert aside.parent == data and (aside / "journal.sqlite3").exists()
    assert set(states_of_file(aside / "journal.sqlite3")) == {first["sale_id"], second["sale_id"]}


def states_of_file(path: Path) -> dict[str, SaleState]:
    folder = path.parent / "look"
    folder.mkdir()
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            shutil.copy(f"{path}{suffix}", folder / f"journal.sqlite3{suffix}")
    return states(folder)


def test_restore_onto_a_fresh_till_needs_no_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    data = tmp_path / "data"
    sale = emit(capsys, data, emites, sale_file)
    backup_file = tmp_path / "b.zip"
    assert run_cli(capsys, "backup", "--out", str(backup_file), "--data-dir", str(data), "--json")[0] == 0
    reinstalled = tmp_path / "reinstalled"
    fresh, old = Journal.in_dir(reinstalled), Journal.in_dir(data)
    assert fresh.till_id() != old.till_id()  # a new till identity, and no sales yet
    fresh.close()
    old.close()
    code, report = run_cli(capsys, "restore", str(backup_file), "--data-dir", str(reinstalled), "--json")
    assert code == 0, report
    assert set(states(reinstalled)) == {sale["sale_id"]}


def test_restore_refuses_while_another_posapp_runs_on_the_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    data = tmp_path / "data"
    emit(capsys, data, emites, sale_file)
    backup_file = tmp_path / "b.zip"
    assert run_cli(capsys, "backup", "--out", str(backup_file), "--data-dir", str(data), "--json")[0] == 0
    till = ProcessLock(data / "journal.sqlite3.lock")
    till.share()  # what a running till holds
    try:
        code, refused = run_cli(capsys, "restore", str(backup_file), "--data-dir", str(data), "--json")
    finally:
        till.release()
    assert code == 2 and "Outro posapp está aberto" in refused["errors"][0]


def _tampered(source: Path, target: Path, name: str, change: bytes) -> None:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            content = original.read(info)
            if info.filename == name:
                content = content[:-200] + change + content[-200 + len(change) :]
            copy.writestr(info, content)


def test_restore_refuses_a_damaged_or_foreign_file_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    data = tmp_path / "data"
    sale = emit(capsys, data, emites, sale_file)
    good = tmp_path / "good.zip"
    assert run_cli(capsys, "backup", "--out", str(good), "--data-dir", str(data), "--json")[0] == 0
    target = tmp_path / "fresh"

    tampered = tmp_path / "tampered.zip"
    _tampered(good, tampered, "journal.sqlite3", b"garbage!")
    code, refused = run_cli(capsys, "restore", str(tampered), "--data-dir", str(target), "--json")
    assert code == 2 and "SHA-256" in refused["errors"][0]

    not_zip = tmp_path / "notes.zip"
    not_zip.write_bytes(b"PK\x03\x04 not really")
    code, refused = run_cli(capsys, "restore", str(not_zip), "--data-dir", str(target), "--json")
    assert code == 2 and "não é uma cópia de segurança" in refused["errors"][0]
    assert not (target / "journal.sqlite3").exists()

    # Another till's backup over this till's journal: refused without --force.
    other = tmp_path / "other"
    emit(capsys, other, emites, sale_file)
    other_backup = tmp_path / "other.zip"
    assert run_cli(capsys, "backup", "--out", str(other_backup), "--data-dir", str(other), "--json")[0] == 0
    code, refused = run_cli(capsys, "restore", str(other_backup), "--data-dir", str(data), "--json")
    assert code == 2 and "outro caixa" in refused["errors"][0]
    assert set(states(data)) == {sale["sale_id"]}


def test_the_backup_holds_both_databases_checked_and_a_manifest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    data = tmp_path / "data"
    emit(capsys, data, emites, sale_file)
    from posapp.catalog.storedb import StoreDB

    StoreDB.in_data_dir(data).close()  # a till has its store database too
    out = tmp_path / "b.zip"
    code, taken = run_cli(capsys, "backup", "--out", str(out), "--data-dir", str(data), "--json")
    assert code == 0 and taken["sales"] == 1
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["journal.sqlite3", "manifest.json", "store.sqlite3"]
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["files"]["journal.sqlite3"]["user_version"] >= 6
    assert not list(out.parent.glob(".posapp-backup-*"))  # no leftovers beside it
    assert out.stat().st_mode & 0o777 == 0o600  # it holds consumers' CPFs, as the journal does
    recorded = last_backup(data)
    assert recorded is not None and recorded[1] == out.resolve()


def test_backup_to_a_missing_disk_says_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Journal.in_dir(data).close()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(Exception) as raised:
        take_backup(data, blocker / "b.zip", datetime.now(UTC))
    assert "disco ou a pasta de rede" in getattr(raised.value, "user_message", "")


def _journal_with_a_sale(data: Path) -> None:
    from posapp.domain.sale import Sale

    journal = Journal.in_dir(data)
    journal.queue_new_sale(Sale.from_mapping(sale_mapping()), datetime.now(UTC), "offline")
    journal.close()


def test_daily_backup_once_a_day_with_retention(tmp_path: Path) -> None:
    data, folder = tmp_path / "data", tmp_path / "usb"
    folder.mkdir()
    _journal_with_a_sale(data)
    settings = BackupConfig(folder=folder, keep_days=3)
    t0 = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)

    first = daily_backup(settings, data, t0)
    assert first is not None and first.path.parent == folder
    assert daily_backup(settings, data, t0 + timedelta(hours=5)) is None  # not due yet
    made = [first.path]
    for day in range(1, 6):
        report = daily_backup(settings, data, t0 + timedelta(days=day))
        assert report is not None
        made.append(report.path)
    kept = sorted(folder.glob("posapp-backup-*.zip"))
    # Day 5's check removed those older than 3 days (days 0 and 1); the newest are kept.
    assert kept == sorted(made[2:])
    (folder / "someone-elses.zip").write_text("x")  # other files in the folder are never touched
    assert daily_backup(settings, data, t0 + timedelta(days=30)) is not None
    assert (folder / "someone-elses.zip").exists()
    assert len(list(folder.glob("posapp-backup-*.zip"))) == 1

    assert daily_backup(BackupConfig(), data, t0) is None  # no folder: no automatic backup


def test_the_gui_runs_the_daily_backup_in_a_worker_thread(tmp_path: Path) -> None:
    data, folder = tmp_path / "data", tmp_path / "share"
    folder.mkdir()
    _journal_with_a_sale(data)
    config = Config(backup=BackupConfig(folder=folder))
    threads: list[int] = []
    enough = threading.Event()

    def recording(settings: BackupConfig, data_dir: Path, now: datetime) -> BackupReport | None:
        threads.append(threading.get_ident())
        if len(threads) >= 3:
            enough.set()
        return daily_backup(settings, data_dir, now)

    async def scenario() -> int:
        task = asyncio.ensure_future(
            run_daily_backups(lambda: config, data, first_s=0, every_s=0.05, backup=recording)
        )
        await asyncio.to_thread(enough.wait, 30)
        task.cancel()
        return threading.get_ident()

    loop_thread = asyncio.run(scenario())
    assert threads and all(t != loop_thread for t in threads)
    assert len(list(folder.glob("posapp-backup-*.zip"))) == 1  # one a day, however often it checks


def test_doctor_warns_when_the_last_backup_is_older_than_two_days(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _journal_with_a_sale(data)
    now = datetime.now(UTC)
    never = check_backup(data, Config(), now)
    assert never.level is Level.WARN and "Nenhuma cópia" in never.message
    assert "posapp backup" in never.action

    take_backup(data, tmp_path / "b.zip", now - timedelta(days=1))
    assert check_backup(data, Config(), now).level is Level.OK
    take_backup(data, tmp_path / "c.zip", now - timedelta(days=3))
    stale = check_backup(data, Config(backup=BackupConfig(folder=tmp_path)), now)
    assert stale.level is Level.WARN and "3 dia(s)" in stale.message and str(tmp_path) in stale.action


def test_restore_refuses_a_journal_newer_than_this_posapp(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _journal_with_a_sale(data)
    good = tmp_path / "good.zip"
    take_backup(data, good, datetime.now(UTC))
    work = tmp_path / "unzipped"
    with zipfile.ZipFile(good) as archive:
        archive.extractall(work)

    db = sqlite3.connect(work / "journal.sqlite3")
    db.execute("PRAGMA user_version=99")  # written by a future posapp
    db.close()
    manifest = json.loads((work / "manifest.json").read_text())
    journal_bytes = (work / "journal.sqlite3").read_bytes()
    manifest["files"]["journal.sqlite3"]["sha256"] = hashlib.sha256(journal_bytes).hexdigest()
    future = tmp_path / "future.zip"
    with zipfile.ZipFile(future, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name in manifest["files"]:
            archive.write(work / name, name)
    target = tmp_path / "fresh"

    with pytest.raises(RestoreRefused) as refused:
        restore_backup(target, future, datetime.now(UTC))
    assert "versão mais nova" in refused.value.user_message
    assert not (target / "journal.sqlite3").exists()


def test_the_daily_backup_says_when_its_folder_is_not_there(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _journal_with_a_sale(data)

    with pytest.raises(BackupFailed) as failed:
        daily_backup(BackupConfig(folder=tmp_path / "unplugged"), data, datetime.now(UTC))
    assert "conecte o disco" in failed.value.user_message
    assert last_backup(data) is None


def test_a_failed_daily_backup_is_told_to_the_till(tmp_path: Path) -> None:
    """The share or USB disk is gone: the till's message line says the backup was not made and
    why, in Portuguese, at each check until it works again (the GUI passes window.say)."""
    data = tmp_path / "data"
    _journal_with_a_sale(data)
    config = Config(backup=BackupConfig(folder=tmp_path / "unplugged"))
    told: list[str] = []
    twice = threading.Event()

    def tell(text: str) -> None:
        told.append(text)
        if len(told) >= 2:
            twice.set()

    async def scenario() -> None:
        task = asyncio.ensure_future(
            run_daily_backups(lambda: config, data, first_s=0, every_s=0.05, on_failure=tell)
        )
        await asyncio.to_thread(twice.wait, 30)
        task.cancel()

    asyncio.run(scenario())
    assert len(told) >= 2
    assert told[0].startswith("A cópia de segurança diária não foi feita:")
    assert str(tmp_path / "unplugged") in told[0] and "uma hora" in told[0]
