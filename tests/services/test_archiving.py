"""Issue 15 item 3: a closed month that was exported and verified leaves the live journal for
its archive file; reprint, history and the export read it as before; nothing that was not
exported moves, and the rows the lifecycle reads stay. Real ``posapp`` commands, the
Emites-Client simulator over loopback, real SQLite files."""

from __future__ import annotations

import sqlite3
import zipfile
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import pytest

from posapp import cli
from posapp.config import load_config
from posapp.domain.lifecycle import SaleState
from posapp.journal.store import Journal
from posapp.printing.escpos_decode import decode_escpos
from posapp.services.archiving import archive_month
from posapp.services.errors import ArchiveRefused
from posapp.services.fiscal_month import Month
from tests.support.cli import run_cli
from tests.support.emites_thread import EmitesInThread

MOTIVO = "Desistencia do comprador"


class Till:
    def __init__(
        self, capsys: pytest.CaptureFixture[str], data: Path, sim: EmitesInThread, sale: Path
    ) -> None:
        self.capsys, self.data, self.sim, self.sale = capsys, data, sim, sale
        self.tz = load_config(None).store.tz

    def cli(self, *argv: str) -> tuple[int, dict[str, Any]]:
        return run_cli(self.capsys, *argv, "--data-dir", str(self.data), "--json")

    def emit(self) -> dict[str, Any]:
        code, out = self.cli("nfce", "emit", str(self.sale), "--emites", f"127.0.0.1:{self.sim.port}")
        assert code == 0, out
        return out

    def cancel(self, chave: str) -> None:
        code, out = self.cli(
            "nfce", "cancel", chave, "--motivo", MOTIVO, "--emites", f"127.0.0.1:{self.sim.port}"
        )
        assert code == 0, out

    def export(self, month: Month, out: Path) -> dict[str, Any]:
        code, report = self.cli(
            "fiscal", "export", "--month", month.text, "--out", str(out), "--operator", "gerente"
        )
        assert code == 0, report
        return report

    def month(self) -> Month:
        now = datetime.now(self.tz)
        return Month(now.year, now.month)

    def after_month(self) -> datetime:
        return self.month().bounds(self.tz)[1] + timedelta(hours=1)


@pytest.fixture
def till(capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, sale_file: Path) -> Till:
    return Till(capsys, tmp_path / "data", emites, sale_file)


def live_rows(data: Path, table: str, sale_id: str) -> int:
    db = sqlite3.connect(data / "journal.sqlite3")
    try:
        return int(db.execute(f"SELECT COUNT(*) FROM {table} WHERE sale_id = ?", (sale_id,)).fetchone()[0])
    finally:
        db.close()


def refusal(journal: Journal, month: str, tz: tzinfo, now: datetime) -> str:
    with pytest.raises(ArchiveRefused) as raised:
        archive_month(journal, month, tz, now)
    return raised.value.user_message


def xml_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as export:
        return {name: export.read(name) for name in export.namelist() if name.endswith(".xml")}


def test_an_exported_month_is_archived_and_still_read_by_reprint_history_and_export(
    till: Till, tmp_path: Path
) -> None:
    sales = [till.emit() for _ in range(3)]
    till.cancel(sales[1]["chave_acesso"])
    month = till.month()
    first_export = tmp_path / "contador" / "mes.zip"
    first_export.parent.mkdir()
    till.export(month, first_export)
    journal = Journal.in_dir(till.data)
    before = {
        s["sale_id"]: (journal.authorized_xml(s["sale_id"]), journal.attempts(s["sale_id"])) for s in sales
    }
    cancel_xml = journal.cancel_event_xml(sales[1]["sale_id"])
    assert cancel_xml is not None

    report = archive_month(journal, month.text, till.tz, till.after_month())
    assert report.archived == 3 and report.file == f"archive/journal-{month.text}.sqlite3"
    assert (till.data / report.file).is_file()
    for sale in sales:
        sale_id = sale["sale_id"]
        row = journal.get_sale(sale_id)
        assert row.archived == month.text  # "arquivado", and still the same sale
        assert row.state is (SaleState.CANCELLED if sale is sales[1] else SaleState.AUTHORIZED)
        assert live_rows(till.data, "documents", sale_id) == 0
        assert live_rows(till.data, "attempts", sale_id) == 0
        assert live_rows(till.data, "events", sale_id) >= 3  # the lifecycle's history stays live
        xml, attempts = before[sale_id]
        assert journal.authorized_xml(sale_id) == xml  # read through the same method
        assert [(a.attempt_id, a.request, a.response) for a in journal.attempts(sale_id)] == [
            (a.attempt_id, a.request, a.response) for a in attempts
        ]
        assert journal.attempt(attempts[0].attempt_id).response == attempts[0].response
    assert journal.cancel_event_xml(sales[1]["sale_id"]) == cancel_xml
    assert journal.archive_files() == [till.data / report.file]
    journal.close()

    # History still lists them; reprint still prints the archived note.
    code, listing = till.cli("nfce", "list")
    assert code == 0
    listed = {s["sale_id"]: s["archived"] for s in listing["sales"]}
    assert all(listed[s["sale_id"]] == month.text for s in sales)  # shown as "arquivado"
    receipt = tmp_path / "receipt.bin"
    code = cli.main(
        [
            "print",
            "danfe",
            "--chave",
            sales[0]["chave_acesso"],
            "--printer",
            f"file:{receipt}",
            "--data-dir",
            str(till.data),
        ]
    )
    till.capsys.readouterr()
    printed = decode_escpos(receipt.read_bytes()).text.replace(" ", "").replace("\n", "")
    assert code == 0 and sales[0]["chave_acesso"] in printed

    # The export written again from the archive is the same, byte for byte.
    again = tmp_path / "contador" / "de-novo.zip"
    till.export(month, again)
    assert xml_entries(again) == xml_entries(first_export)


def test_nothing_is_archived_that_was_not_exported_and_verified(till: Till, tmp_path: Path) -> None:
    first = till.emit()
    month = till.month()
    journal = Journal.in_dir(till.data)
    try:
        assert "exportação conferida" in refusal(journal, month.text, till.tz, till.after_month())

        export = tmp_path / "mes.zip"
        till.export(month, export)
        assert "não terminou" in refusal(journal, month.text, till.tz, datetime.now(till.tz))

        later = till.emit()  # sold after the export: not in it
        report = archive_month(journal, month.text, till.tz, till.after_month())
        assert report.archived == 1
        assert journal.get_sale(first["sale_id"]).archived == month.text
        assert journal.get_sale(later["sale_id"]).archived is None
        assert live_rows(till.data, "documents", later["sale_id"]) == 1

        # An export file changed (or gone) after it was verified proves nothing any more.
        with export.open("ab") as handle:
            handle.write(b"\0")
        assert "alterada" in refusal(journal, month.text, till.tz, till.after_month())
        export.unlink()
        assert "não está mais" in refusal(journal, month.text, till.tz, till.after_month())
        assert journal.get_sale(later["sale_id"]).archived is None
    finally:
        journal.close()


def test_a_sale_whose_cancel_is_not_final_stays_live(till: Till, tmp_path: Path) -> None:
    sale = till.emit()
    pending = till.emit()
    till.sim.faults.hang = True  # the cancel's answer never comes: CANCELLING, in doubt
    code, _ = till.cli(
        "nfce",
        "cancel",
        pending["chave_acesso"],
        "--motivo",
        MOTIVO,
        "--emites",
        f"127.0.0.1:{till.sim.port}",
        "--config",
        str(short_timeouts(tmp_path)),
    )
    assert code != 0
    till.sim.faults.hang = False
    month = till.month()
    export = tmp_path / "mes.zip"
    code, report = till.cli(
        "fiscal", "export", "--month", month.text, "--out", str(export), "--operator", "g", "--allow-pending"
    )
    assert code == 0, report
    journal = Journal.in_dir(till.data)
    try:
        assert journal.get_sale(pending["sale_id"]).state is SaleState.CANCELLING
        assert archive_month(journal, month.text, till.tz, till.after_month()).archived == 1
        assert journal.get_sale(sale["sale_id"]).archived == month.text
        assert journal.get_sale(pending["sale_id"]).archived is None
        assert live_rows(till.data, "attempts", pending["sale_id"]) == 2  # the cancel can be resolved
    finally:
        journal.close()


def short_timeouts(tmp_path: Path) -> Path:
    path = tmp_path / "posapp.toml"
    path.write_text("[emites]\nconnect_timeout_s = 1\nresponse_timeout_s = 1\n", encoding="utf-8")
    return path


def test_archive_command_and_backup_carry_the_archive_file(till: Till, tmp_path: Path) -> None:
    sale = till.emit()
    month = till.month()
    till.export(month, tmp_path / "mes.zip")
    code, refused = till.cli("archive", "--month", month.text)
    assert code == 2 and refused["status"] == "refused" and "não terminou" in refused["errors"][0]
    journal = Journal.in_dir(till.data)
    archive_month(journal, month.text, till.tz, till.after_month())
    xml = journal.authorized_xml(sale["sale_id"])
    journal.close()

    code, taken = till.cli("backup", "--out", str(tmp_path / "b.zip"))
    assert code == 0, taken
    restored = tmp_path / "restored"
    backup = str(tmp_path / "b.zip")
    code, report = run_cli(till.capsys, "restore", backup, "--data-dir", str(restored), "--json")
    assert code == 0 and f"archive/journal-{month.text}.sqlite3" in report["files"]
    copy = Journal.in_dir(restored)
    try:
        assert copy.get_sale(sale["sale_id"]).archived == month.text
        assert copy.authorized_xml(sale["sale_id"]) == xml
    finally:
        copy.close()
