"""The manager's cross-till cancel (README, "A store of many tills"): the request is queued to
the issuing till through the server, and that till cancels with its usual discipline. Never
lost, never doubled: two managers at once, a local cancel racing the request, the issuing
till killed before it answered, or while the issuer held the cancel's answer."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from posapp.domain.lifecycle import SaleState
from posapp.services.core import Authorization
from posapp.services.store_sync import StoreSync
from posapp.storeserver.errors import UnknownRemoteSale
from tests.storeserver.tills import Till, make_till
from tests.support.emites_thread import EmitesInThread
from tests.support.issuers import to_toml
from tests.support.sales import make_sale

ROOT = Path(__file__).resolve().parents[2]
MOTIVO = "Cliente desistiu da compra no caixa vizinho"
MANAGER = Authorization(operator="ana", authorized_by="gerente")


def sell_and_sync(till: Till) -> tuple[str, str]:
    """One authorized sale at ``till``, replicated; returns (sale id, chave)."""

    async def body() -> tuple[str, str]:
        service = till.service()
        await service.start()
        sync = StoreSync(till.config, till.data_dir, service=service)
        try:
            report = await service.issue(make_sale(1), print_receipt=False)
            assert report.state is SaleState.AUTHORIZED and report.note is not None
            await sync.sync_now()
            return report.sale_id, report.note.chave
        finally:
            await sync.aclose()
            await service.aclose()

    return asyncio.run(body())


def request(manager: Till, chave: str) -> tuple[Any, bool]:
    async def body() -> tuple[Any, bool]:
        sync = StoreSync(manager.config, manager.data_dir)
        try:
            return await sync.cancels.request_cancel(chave=chave, sale_id=None, motivo=MOTIVO, by=MANAGER)
        finally:
            await sync.aclose()

    return asyncio.run(body())


def issuing_till_syncs(till: Till, *, local_cancel_first: str | None = None) -> list[Any]:
    async def body() -> list[Any]:
        service = till.service()
        await service.start()
        sync = StoreSync(till.config, till.data_dir, service=service)
        try:
            if local_cancel_first is not None:
                await service.cancel(
                    local_cancel_first, "Cancelado no próprio caixa pelo gerente", by=MANAGER
                )
            report = await sync.sync_now()
            return list(report.cancels)
        finally:
            await sync.aclose()
            await service.aclose()

    return asyncio.run(body())


def request_status(manager: Till, request_id: str) -> Any:
    async def body() -> Any:
        sync = StoreSync(manager.config, manager.data_dir)
        try:
            return await sync.cancels.cancel_request(request_id)
        finally:
            await sync.aclose()

    return asyncio.run(body())


def state_in_journal(till: Till, sale_id: str) -> str:
    db = sqlite3.connect(till.data_dir / "journal.sqlite3")
    try:
        return str(db.execute("SELECT state FROM sales WHERE sale_id = ?", (sale_id,)).fetchone()[0])
    finally:
        db.close()


def cancel_frames(emites: EmitesInThread) -> int:
    return sum(1 for r in emites.requests() if r.identifier == "CANCEL_NFCE")


def test_a_manager_at_another_till_cancels_through_the_issuing_till(
    tmp_path: Path, pg_database: str, emites: EmitesInThread
) -> None:
    issuing = make_till(tmp_path, "a", pg_database, emites.port)
    manager = make_till(tmp_path, "m", pg_database, emites.port)
    sale_id, chave = sell_and_sync(issuing)
    queued, new = request(manager, chave)
    assert new and queued.status == "pending" and queued.sale_id == sale_id
    again, new_again = request(manager, chave)  # asked twice: one request
    assert not new_again and again.request_id == queued.request_id
    (handled,) = issuing_till_syncs(issuing)
    assert handled.status == "done" and handled.state == "cancelled"
    assert state_in_journal(issuing, sale_id) == "cancelled"
    done = request_status(manager, queued.request_id)
    assert done.status == "done" and done.result_state == "cancelled"
    assert emites.simulator.truth.cancelled(chave) == 1 and cancel_frames(emites) == 1
    assert issuing_till_syncs(issuing) == []  # nothing left to do
    # The issuing till's journal holds who asked and who allowed it.
    db = sqlite3.connect(issuing.data_dir / "journal.sqlite3")
    try:
        audit = db.execute(
            "SELECT operator, authorized_by FROM audit WHERE action = 'cancel_sale'"
        ).fetchall()
    finally:
        db.close()
    assert audit == [("ana", "gerente")]


def test_two_managers_at_once_make_one_request_and_one_cancel(
    tmp_path: Path, pg_database: str, emites: EmitesInThread
) -> None:
    issuing = make_till(tmp_path, "a", pg_database, emites.port)
    managers = [make_till(tmp_path, f"m{i}", pg_database, emites.port) for i in range(3)]
    _sale_id, chave = sell_and_sync(issuing)

    async def all_at_once() -> list[tuple[Any, bool]]:
        return list(await asyncio.gather(*(asyncio.to_thread(request, m, chave) for m in managers)))

    answers = asyncio.run(all_at_once())
    assert len({r.request_id for r, _new in answers}) == 1 and sum(new for _r, new in answers) == 1
    issuing_till_syncs(issuing)
    assert emites.simulator.truth.cancelled(chave) == 1 and cancel_frames(emites) == 1


def test_a_local_cancel_racing_the_request_sends_one_cancel(
    tmp_path: Path, pg_database: str, emites: EmitesInThread
) -> None:
    issuing = make_till(tmp_path, "a", pg_database, emites.port)
    manager = make_till(tmp_path, "m", pg_database, emites.port)
    sale_id, chave = sell_and_sync(issuing)
    queued, _new = request(manager, chave)
    (handled,) = issuing_till_syncs(issuing, local_cancel_first=sale_id)
    assert handled.status == "done" and handled.state == "cancelled"
    assert emites.simulator.truth.cancelled(chave) == 1 and cancel_frames(emites) == 1
    assert request_status(manager, queued.request_id).status == "done"


def test_a_closed_window_or_an_unknown_note_is_refused_with_the_reason(
    tmp_path: Path, pg_database: str, emites: EmitesInThread
) -> None:
    issuing = make_till(tmp_path, "a", pg_database, emites.port)
    manager = make_till(tmp_path, "m", pg_database, emites.port)
    sale_id, chave = sell_and_sync(issuing)
    with pytest.raises(UnknownRemoteSale):
        request(manager, "5" * 44)
    queued, _new = request(manager, chave)
    issuing.config = issuing.config.model_copy(
        update={"nfce": issuing.config.nfce.model_copy(update={"cancel_window_min": 1})}
    )
    db = sqlite3.connect(issuing.data_dir / "journal.sqlite3")  # authorized long ago
    db.execute("UPDATE sales SET authorized_at = '2020-01-01T00:00:00+00:00' WHERE sale_id = ?", (sale_id,))
    db.commit()
    db.close()
    (handled,) = issuing_till_syncs(issuing)
    assert handled.status == "refused" and "prazo" in handled.message.lower()
    refused = request_status(manager, queued.request_id)
    assert refused.status == "refused" and refused.result_state == "authorized"
    assert cancel_frames(emites) == 0


def worker_config(tmp_path: Path, name: str, url: str, emites_port: int) -> Path:
    path = tmp_path / f"{name}.toml"
    data = {
        "emites": {"port": emites_port, "connect_timeout_s": 1, "response_timeout_s": 3},
        "printer": {"uri": "none"},
        "store_server": {"url": url, "connect_timeout_s": 2},
    }
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def store_sync_process(config: Path, data_dir: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "posapp",
            "store",
            "sync",
            "--config",
            str(config),
            "--data-dir",
            str(data_dir),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_issuing_till_killed_before_it_answered_cancels_once_on_restart(
    tmp_path: Path, pg_database: str, emites: EmitesInThread
) -> None:
    issuing = make_till(tmp_path, "a", pg_database, emites.port)
    manager = make_till(tmp_path, "m", pg_database, emites.port)
    sale_id, chave = sell_and_sync(issuing)
    queued, _new = request(manager, chave)
    config = worker_config(tmp_path, "a", pg_database, emites.port)
    worker = store_sync_process(config, issuing.data_dir, POSAPP_CRASH_AT="remote_cancel_before_ack")
    worker.communicate(timeout=60)
    assert worker.returncode == -signal.SIGKILL
    assert state_in_journal(issuing, sale_id) == "cancelled"  # done, and not answered
    assert request_status(manager, queued.request_id).status == "pending"  # not lost
    (handled,) = issuing_till_syncs(issuing)  # the restarted till answers from its journal
    assert handled.status == "done" and handled.state == "cancelled"
    assert request_status(manager, queued.request_id).status == "done"
    assert emites.simulator.truth.cancelled(chave) == 1 and cancel_frames(emites) == 1


def test_the_issuing_till_killed_while_the_issuer_held_the_answer(
    tmp_path: Path, pg_database: str, emites: EmitesInThread
) -> None:
    issuing = make_till(tmp_path, "a", pg_database, emites.port)
    manager = make_till(tmp_path, "m", pg_database, emites.port)
    sale_id, chave = sell_and_sync(issuing)
    queued, _new = request(manager, chave)
    emites.faults.hang = True  # the cancel is registered, its answer never comes
    worker = store_sync_process(worker_config(tmp_path, "a", pg_database, emites.port), issuing.data_dir)
    deadline = time.monotonic() + 30
    while state_in_journal(issuing, sale_id) != "cancelling":
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)
    emites.faults.hang = False
    assert request_status(manager, queued.request_id).status == "pending"
    # Right after, the killed process's cancel may still be in flight: nothing is sent, the
    # request waits (never a second cancel on top of one that may land).
    (waiting,) = issuing_till_syncs(issuing)
    assert waiting.status == "pending" and cancel_frames(emites) == 1
    # Time passes beyond the issuer's answer time (the attempt is dated back).
    db = sqlite3.connect(issuing.data_dir / "journal.sqlite3")
    db.execute("UPDATE attempts SET created_at = '2020-01-01T00:00:00+00:00' WHERE kind = 'cancel'")
    db.commit()
    db.close()
    (handled,) = issuing_till_syncs(issuing)  # resending a CANCELLING cancel is harmless
    assert handled.status == "done" and state_in_journal(issuing, sale_id) == "cancelled"
    assert request_status(manager, queued.request_id).status == "done"
    assert emites.simulator.truth.cancelled(chave) == 1
