"""Manager actions from the command line ask the same as the GUI (an operator and a
manager's PIN) and leave the same journal events and audit row, committed together."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from posapp.app import build_service
from posapp.catalog.storedb import StoreDB
from posapp.cli_kit import PIN_ENV
from posapp.config import Config
from posapp.domain.lifecycle import SaleState
from posapp.journal.store import Journal
from posapp.operators.accounts import Operators, Role
from posapp.operators.audit import AuditLog
from posapp.services.core import Authorization
from tests.conftest import sale_mapping
from tests.support.cli import run_cli
from tests.support.emites_thread import EmitesInThread

MOTIVO = "Desistencia do comprador"


def add_operators(data: Path) -> None:
    store = StoreDB.in_data_dir(data)
    try:
        operators = Operators(store, AuditLog(store))
        operators.create("gerente", "Gerente", Role.MANAGER, "1234", created_by="teste")
        operators.create("caixa", "Caixa", Role.CASHIER, "0000", created_by="teste")
    finally:
        store.close()


def emit(capsys: pytest.CaptureFixture[str], data: Path, sim: EmitesInThread, index: int) -> dict[str, Any]:
    sale = data.parent / f"sale{index}.json"
    sale.write_text(json.dumps(sale_mapping()), encoding="utf-8")
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


def cli_cancel(
    capsys: pytest.CaptureFixture[str], data: Path, sim: EmitesInThread, chave: str, *extra: str
) -> tuple[int, dict[str, Any]]:
    return run_cli(
        capsys,
        "nfce",
        "cancel",
        chave,
        "--motivo",
        MOTIVO,
        "--data-dir",
        str(data),
        "--emites",
        f"127.0.0.1:{sim.port}",
        "--json",
        *extra,
    )


def trail(data: Path, sale_id: str) -> tuple[list[tuple[str, Any, Any]], list[tuple[str, Any, Any, str]]]:
    """The sale's events from its cancel on, and its audit rows, without ids and times."""
    journal = Journal.in_dir(data)
    try:
        events = [(e.kind, e.from_state, e.to_state) for e in journal.events(sale_id)]
        audit = [
            (a.action, a.operator, a.authorized_by, a.detail)
            for a in journal.audit_entries()
            if a.sale_id == sale_id
        ]
    finally:
        journal.close()
    return events[events.index(("cancelling", SaleState.AUTHORIZED, SaleState.CANCELLING)) :], audit


def test_cli_and_gui_cancels_leave_the_same_events_and_audit_row(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    emites: EmitesInThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    add_operators(data)
    by_cli = emit(capsys, data, emites, 1)
    by_gui = emit(capsys, data, emites, 2)

    monkeypatch.setenv(PIN_ENV, "1234")
    code, out = cli_cancel(capsys, data, emites, by_cli["chave_acesso"], "--operator", "caixa")
    assert (code, out["status"]) == (0, "cancelled")

    # The GUI's cancel dialog: the cashier logged in, a manager typed the PIN.
    async def gui_cancel() -> None:
        service = build_service(Config(), data, emites_address=("127.0.0.1", emites.port), with_printer=False)
        await service.start()
        try:
            report = await service.cancel(by_gui["sale_id"], MOTIVO, by=Authorization("caixa", "gerente"))
            assert report.state is SaleState.CANCELLED
        finally:
            await service.aclose()

    asyncio.run(gui_cancel())
    cli_trail, gui_trail = trail(data, by_cli["sale_id"]), trail(data, by_gui["sale_id"])
    assert cli_trail == gui_trail
    events, audit = cli_trail
    assert [kind for kind, _, _ in events] == ["cancelling", "cancelled"]
    assert audit == [("cancel_sale", "caixa", "gerente", MOTIVO)]


def test_a_wrong_pin_sends_nothing_and_is_audited(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    emites: EmitesInThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    add_operators(data)
    sale = emit(capsys, data, emites, 1)
    monkeypatch.setenv(PIN_ENV, "9999")
    code, out = cli_cancel(capsys, data, emites, sale["chave_acesso"], "--operator", "caixa")
    assert code == 2 and out["status"] == "not_authorized"
    assert [r for r in emites.requests() if r.identifier == "CANCEL_NFCE"] == []
    store = StoreDB.in_data_dir(data)
    try:
        assert any(e.action == "override_failed" and e.operator == "caixa" for e in AuditLog(store).entries())
    finally:
        store.close()
    journal = Journal.in_dir(data)
    try:
        assert journal.get_sale(sale["sale_id"]).state is SaleState.AUTHORIZED
    finally:
        journal.close()


def test_a_till_with_operators_needs_one(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    emites: EmitesInThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    add_operators(data)
    sale = emit(capsys, data, emites, 1)
    monkeypatch.delenv(PIN_ENV, raising=False)
    code, out = cli_cancel(capsys, data, emites, sale["chave_acesso"])
    assert code == 2 and "--operator" in out["errors"][0]
    # An operator but no PIN (no terminal, no POSAPP_PIN): refused, in Portuguese.
    code, out = cli_cancel(capsys, data, emites, sale["chave_acesso"], "--operator", "caixa")
    assert code == 2 and "PIN" in out["errors"][0]
    assert [r for r in emites.requests() if r.identifier == "CANCEL_NFCE"] == []


def test_a_fresh_till_records_the_login_it_was_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    data = tmp_path / "data"
    sale = emit(capsys, data, emites, 1)
    code, out = cli_cancel(capsys, data, emites, sale["chave_acesso"], "--operator", "integrador")
    assert (code, out["status"]) == (0, "cancelled")
    _, audit = trail(data, sale["sale_id"])
    assert audit == [("cancel_sale", "integrador", None, MOTIVO)]
