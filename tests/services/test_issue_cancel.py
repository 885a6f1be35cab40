"""Issue and cancel from the command line against the Emites-Client simulator over
loopback, with real SQLite journals: the headless core's acceptance tests.

The simulator runs on its own loop in a thread (the CLI runs ``asyncio.run`` itself);
what it received is the evidence for "nothing sent" and "no second CREATE".
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from posapp.domain.documents import parse_chave
from posapp.journal.store import Journal
from posapp.protocol.framing import FrameDecoder
from posapp.services.core import Authorization
from tests.conftest import sale_mapping
from tests.support.cli import run_cli
from tests.support.emites_thread import EmitesInThread

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, *, response_timeout_s: float = 5, window_min: int = 30) -> Path:
    path = tmp_path / "posapp.toml"
    path.write_text(
        f"[emites]\nconnect_timeout_s = 1\nresponse_timeout_s = {response_timeout_s}\n"
        f"[nfce]\ncancel_window_min = {window_min}\n",
        encoding="utf-8",
    )
    return path


def emit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sim: EmitesInThread, sale: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    return run_cli(
        capsys,
        "nfce",
        "emit",
        str(sale),
        "--data-dir",
        str(tmp_path / "data"),
        "--emites",
        f"127.0.0.1:{sim.port}",
        "--json",
        *extra,
    )


MOTIVO = "Desistencia do comprador"


def cancel(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sim: EmitesInThread,
    chave: str,
    motivo: str,
    *extra: str,
) -> tuple[int, dict[str, Any]]:
    return run_cli(
        capsys,
        "nfce",
        "cancel",
        chave,
        "--motivo",
        motivo,
        "--data-dir",
        str(tmp_path / "data"),
        "--emites",
        f"127.0.0.1:{sim.port}",
        "--json",
        *extra,
    )


def creates(sim: EmitesInThread) -> list[bytes]:
    return [r.payload for r in sim.requests() if r.identifier == "CREATE_NFCE"]


def test_emit_then_cancel_with_the_documented_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    code, out = emit(capsys, tmp_path, emites, sale_file)
    assert code == 0, out
    assert out["status"] == "authorized"
    assert out["backend"] == "emites"
    chave = parse_chave(out["chave_acesso"])
    assert (chave.number, chave.series) == (out["numero"], out["serie"])
    authorized_at = datetime.fromisoformat(out["authorized_at"])
    assert authorized_at.tzinfo is not None
    assert datetime.fromisoformat(out["cancel_deadline"]) == authorized_at + timedelta(minutes=29)
    assert out["protocolo"] and out["errors"] == []

    # The journal holds the answer's XML, which carries our items; a till printing natively
    # (the default) keeps no DANFE PDF (issue 15: it reprints from the XML).
    journal = Journal.in_dir(tmp_path / "data")
    xml = journal.document(out["sale_id"], "xml")
    assert xml is not None and b"14600" in xml and out["chave_acesso"].encode() in xml
    assert journal.document(out["sale_id"], "danfe_pdf") is None
    journal.close()

    code, cancelled = cancel(capsys, tmp_path, emites, out["chave_acesso"], MOTIVO)
    assert code == 0, cancelled
    assert cancelled["status"] == "cancelled"
    assert cancelled["protocolo"] and cancelled["protocolo"] != out["protocolo"]

    code, listing = run_cli(capsys, "nfce", "list", "--data-dir", str(tmp_path / "data"), "--json")
    assert code == 0
    assert [s["status"] for s in listing["sales"]] == ["cancelled"]


def test_latin1_on_the_wire_and_exact_size_header(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    code, _ = emit(capsys, tmp_path, emites, sale_file)
    assert code == 0
    (raw,) = creates(emites)
    assert b"P\xe3o de A\xe7\xfacar" in raw  # "ã" is the single byte 0xE3, "ç" 0xE7, "ú" 0xFA
    assert "ã".encode() not in raw  # never UTF-8
    journal = Journal.in_dir(tmp_path / "data")
    (sale,) = journal.list_sales()
    request = journal.attempts(sale.sale_id)[0].request
    journal.close()
    size, _, rest = request.partition(b":")
    assert int(size) == len(rest) + 1  # the size counts ":" + identifier + ":" + payload
    decoder = FrameDecoder()
    decoder.feed(request)
    frame = decoder.next_frame()
    assert frame is not None and frame.identifier == "CREATE_NFCE" and frame.payload == raw
    assert decoder.buffered == 0


@pytest.mark.parametrize(
    ("fault", "value", "status", "code"),
    [
        ("hang", True, "in_doubt", 5),
        ("delay_s", 3.0, "in_doubt", 5),
        ("close_mid_answer", True, "in_doubt", 5),
        ("garbage", True, "in_doubt", 5),
        ("invalid_json", True, "in_doubt", 5),
        ("status_override", "processando", "in_doubt", 5),
        ("status_override", "erro", "in_doubt", 5),
        ("reject_next", "471 - Rejeição: Informado NCM=00 indevidamente", "rejected", 3),
        ("contingency", True, "authorized", 0),
    ],
)
def test_misbehaviour_maps_to_state_and_exit_code(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    emites: EmitesInThread,
    sale_file: Path,
    fault: str,
    value: object,
    status: str,
    code: int,
) -> None:
    setattr(emites.faults, fault, value)
    config = write_config(tmp_path, response_timeout_s=1)
    exit_code, out = emit(capsys, tmp_path, emites, sale_file, "--config", str(config))
    assert (exit_code, out["status"]) == (code, status), out
    assert len(creates(emites)) == 1  # sent exactly once, never retried blindly
    journal = Journal.in_dir(tmp_path / "data")
    (row,) = journal.list_sales()
    assert row.state.value == status
    journal.close()
    if status == "rejected":
        assert any("471" in e for e in out["errors"])
    if fault == "contingency":
        assert out["contingency"] is True and parse_chave(out["chave_acesso"]).emission_type == 9


def test_issuer_down_queues_the_sale_and_drain_sends_it_later(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    emites.stop()
    config = write_config(tmp_path)
    code, out = emit(capsys, tmp_path, emites, sale_file, "--config", str(config))
    assert (code, out["status"]) == (4, "queued")
    assert creates(emites) == []
    emites.start()
    code, drained = run_cli(
        capsys,
        "nfce",
        "drain",
        "--data-dir",
        str(tmp_path / "data"),
        "--config",
        str(config),
        "--emites",
        f"127.0.0.1:{emites.port}",
        "--json",
    )
    assert code == 0 and drained["authorized"] == 1 and drained["still_queued"] == 0
    assert len(creates(emites)) == 1


def test_bad_input_sends_and_stores_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(sale_mapping(customer={"document": "529.982.247-24"})), encoding="utf-8")
    code, out = emit(capsys, tmp_path, emites, bad)
    assert code == 2 and out["status"] == "invalid"
    assert "CPF" in out["errors"][0]
    assert emites.requests() == []
    assert not (tmp_path / "data" / "journal.sqlite3").exists()


def test_cancel_past_the_window_is_refused_locally(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    code, out = emit(capsys, tmp_path, emites, sale_file)
    assert code == 0
    # Age the note: the journal says it was authorized 31 minutes ago.
    old = (datetime.now(UTC) - timedelta(minutes=31)).isoformat()
    db = sqlite3.connect(tmp_path / "data" / "journal.sqlite3")
    db.execute("UPDATE sales SET authorized_at = ?", (old,))
    db.commit()
    db.close()
    code, refused = cancel(capsys, tmp_path, emites, out["chave_acesso"], MOTIVO)
    assert code == 6 and refused["status"] == "window_closed"
    assert "30 minutos" in refused["errors"][0]
    assert [r.identifier for r in emites.requests()] == ["CREATE_NFCE"]  # no CANCEL_NFCE went out


def test_sefaz_501_keeps_the_note_authorized_with_the_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    # The issuer's clock is 31 minutes ahead of ours (a window can no longer be configured
    # longer than the legal 30 minutes): its 501 must be handled.
    config = write_config(tmp_path)
    code, out = emit(capsys, tmp_path, emites, sale_file, "--config", str(config))
    assert code == 0
    emites.simulator.advance_clock(timedelta(minutes=31))
    code, refused = cancel(capsys, tmp_path, emites, out["chave_acesso"], MOTIVO, "--config", str(config))
    assert code == 3 and refused["status"] == "authorized"
    assert any("501" in e for e in refused["errors"])


def test_short_motivo_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    code, out = emit(capsys, tmp_path, emites, sale_file)
    assert code == 0
    code, refused = cancel(capsys, tmp_path, emites, out["chave_acesso"], "muito curto")
    assert code == 2 and "15" in refused["errors"][0]
    assert [r.identifier for r in emites.requests()] == ["CREATE_NFCE"]


def posapp_process(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m posapp ARGS --data-dir DATA --json`` in a child process, as a user runs it."""
    command = [sys.executable, "-m", "posapp", *args, "--data-dir", str(data), "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_kill_9_while_waiting_for_the_issuer_leaves_the_sale_in_doubt(
    tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    emites.faults.hang = True
    data = tmp_path / "data"
    emit_args = ["nfce", "emit", str(sale_file), "--emites", f"127.0.0.1:{emites.port}"]
    command = [sys.executable, "-m", "posapp", *emit_args, "--data-dir", str(data), "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not creates(emites):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the request never reached the simulator"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL

    # What the dead process committed: the sale, the exact request, ISSUING.
    journal = Journal.in_dir(data)
    (row,) = journal.list_sales()
    assert row.state.value == "issuing"
    assert journal.attempts(row.sale_id)[0].request.endswith(creates(emites)[0])
    journal.close()

    # The next start reports it IN_DOUBT and does not resend it, not even on drain.
    emites.faults.hang = False
    listing = posapp_process(data, "nfce", "list")
    assert listing.returncode == 0, listing.stderr
    assert [s["status"] for s in json.loads(listing.stdout)["sales"]] == ["in_doubt"]
    drained = posapp_process(data, "nfce", "drain", "--emites", f"127.0.0.1:{emites.port}")
    assert drained.returncode == 0, drained.stderr
    assert len(creates(emites)) == 1

    # The manager looks the sale up in the Emites-Client console (here: the simulator's
    # notes) and records what it found; the sale is authorized, still with one note.
    (issued,) = emites.notes()
    resolved = posapp_process(
        data, "nfce", "resolve", row.sale_id, "--chave", issued.note.chave, "--operator", "gerente"
    )
    assert resolved.returncode == 0, resolved.stderr
    out = json.loads(resolved.stdout)
    assert (out["status"], out["chave_acesso"]) == ("authorized", issued.note.chave)
    assert len(creates(emites)) == 1


def test_unanswered_cancel_stays_cancelling_and_can_be_retried(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    config = write_config(tmp_path, response_timeout_s=1)
    code, out = emit(capsys, tmp_path, emites, sale_file, "--config", str(config))
    assert code == 0

    def cancel_once() -> tuple[int, dict[str, Any]]:
        return cancel(capsys, tmp_path, emites, out["chave_acesso"], MOTIVO, "--config", str(config))

    emites.faults.hang = True
    code, first = cancel_once()
    assert (code, first["status"]) == (5, "cancelling")
    emites.faults.hang = False
    code, second = cancel_once()
    assert (code, second["status"]) == (0, "cancelled")
    # The first cancel had landed (the simulator processed it, only the answer hung): the
    # retry is answered "cancelled" again, and nothing was issued.
    assert [r.identifier for r in emites.requests()] == ["CREATE_NFCE", "CANCEL_NFCE", "CANCEL_NFCE"]


def test_a_rejected_sale_can_be_voided_and_is_never_sent_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    import asyncio

    from posapp.app import build_service
    from posapp.config import Config
    from posapp.domain.lifecycle import SaleState
    from posapp.services.errors import NothingToDo

    emites.faults.reject_next = "539 - Rejeição: Duplicidade de NF-e"
    code, out = emit(capsys, tmp_path, emites, sale_file)
    assert code == 3

    async def scenario() -> None:
        service = build_service(Config(), tmp_path / "data", emites_address=("127.0.0.1", emites.port))
        try:
            report = await service.void(out["sale_id"], by=Authorization("gerente"), reason="duplicidade")
            assert report.state is SaleState.VOIDED
            with pytest.raises(NothingToDo):
                await service.resend(out["sale_id"])
            assert (await service.drain()).attempted == 0
        finally:
            await service.aclose()

    asyncio.run(scenario())
    assert len(creates(emites)) == 1


def test_a_cancel_left_pending_past_the_window_is_settled_by_a_manager(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path
) -> None:
    config = write_config(tmp_path, response_timeout_s=1)
    code, out = emit(capsys, tmp_path, emites, sale_file, "--config", str(config))
    assert code == 0
    emites.faults.hang = True
    code, pending = cancel(capsys, tmp_path, emites, out["chave_acesso"], MOTIVO, "--config", str(config))
    assert (code, pending["status"]) == (5, "cancelling")
    # The window closes before anyone retries: a retry is refused locally, nothing is sent.
    old = (datetime.now(UTC) - timedelta(minutes=31)).isoformat()
    db = sqlite3.connect(tmp_path / "data" / "journal.sqlite3")
    db.execute("UPDATE sales SET authorized_at = ?", (old,))
    db.commit()
    db.close()
    code, refused = cancel(capsys, tmp_path, emites, out["chave_acesso"], MOTIVO, "--config", str(config))
    assert (code, refused["status"]) == (6, "window_closed")
    # The manager checks the SEFAZ portal and records what it says.
    (note,) = emites.notes()
    assert note.cancel_answer is not None  # the simulator did cancel it; only the answer was lost
    code, settled = run_cli(
        capsys,
        "nfce",
        "resolve",
        out["sale_id"],
        "--cancelled",
        "353260000000099",
        "--operator",
        "gerente",
        "--data-dir",
        str(tmp_path / "data"),
        "--json",
    )
    assert (code, settled["status"], settled["protocolo"]) == (0, "cancelled", "353260000000099")
    code, again = run_cli(
        capsys,
        "nfce",
        "resolve",
        out["sale_id"],
        "--not-cancelled",
        "--operator",
        "gerente",
        "--data-dir",
        str(tmp_path / "data"),
        "--json",
    )
    assert code == 2 and again["status"] == "invalid"  # nothing pending any more
    assert [r.identifier for r in emites.requests()] == ["CREATE_NFCE", "CANCEL_NFCE"]
