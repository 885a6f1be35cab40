"""The accountant's monthly export (issue 15 item 1), through ``posapp fiscal export`` against
the simulators: the ZIP opened and every XML parsed (well-formed, signature untouched, byte
for byte what the issuer returned), the CSV columns and values, the store's time zone at the
month's edges, and sales still pending (warning, exit code, ``--allow-pending``)."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from posapp.app import build_backends
from posapp.cli import main
from posapp.config import Config
from posapp.domain.lifecycle import SaleState
from posapp.domain.nfe_xml import read_nfe, read_nfe_event
from posapp.fiscal.router import FailoverRouter
from posapp.journal.inutilizacoes import InutilizacaoBook
from posapp.journal.store import Journal
from posapp.services.fiscal_month import SUMMARY_HEADER, Month
from posapp.services.pos import PosService
from posapp.sim.focusnfe import FocusNfeSimulator
from tests.support.issuers import FOCUS_TOKEN, FOCUS_TOKEN_ENV, Issuers, to_toml
from tests.support.sales import make_sale
from tests.support.service import service_for

SIGNATURE = "{http://www.w3.org/2000/09/xmldsig#}Signature"
MOTIVO = "Cliente desistiu da compra no caixa"
BRT = timezone(timedelta(hours=-3))


def _this_month(config: Config) -> Month:
    now = datetime.now(UTC).astimezone(config.store.tz)
    return Month(now.year, now.month)


def _export(data_dir: Path, config: Path, month: str, out: Path, *extra: str) -> int:
    argv = ["fiscal", "export", "--data-dir", str(data_dir), "--config", str(config)]
    return main([*argv, "--month", month, "--out", str(out), "--operator", "gerente", *extra])


def _read_csv(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    text = archive.read(name).decode("utf-8")
    assert text.startswith("\ufeff"), "a Brazilian spreadsheet needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def _sell(issuers: Issuers, data_dir: Path) -> dict[str, str]:
    """Two notes by Emites-Client (one then cancelled), one by Focus NFe, one by Integra Notas
    with a número skipped before it; returns sale id -> backend."""
    backends: dict[str, str] = {}

    async def scenario() -> None:
        service = service_for(issuers, data_dir)
        try:
            await service.start()
            for index, up in ((1, "emites"), (2, "emites"), (3, "focusnfe"), (4, "integranotas")):
                issuers.set_up(emites=up == "emites", focus=up == "focusnfe", integra=up == "integranotas")
                if index == 4:  # a número handed out and never sent: the gap
                    await service.core.db(
                        service.journal.reserve_number, "integranotas", 2, "never-sent", datetime.now(UTC)
                    )
                report = await service.issue(make_sale(index), print_receipt=False)
                assert report.state is SaleState.AUTHORIZED, report
                backends[report.sale_id] = up
            issuers.set_up(emites=True, focus=True, integra=True)  # the cancel goes to the issuer
            cancelled = await service.cancel(make_sale(1).sale_id, MOTIVO)
            assert cancelled.state is SaleState.CANCELLED
        finally:
            await service.aclose()

    asyncio.run(scenario())
    return backends


def test_the_zip_holds_every_note_byte_for_byte_with_events_summary_totals_and_gaps(
    issuers: Issuers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    backends = _sell(issuers, data_dir)
    config_file = tmp_path / "posapp.toml"
    config_file.write_text(issuers.config_toml(), encoding="utf-8")
    config = issuers.config()
    month = _this_month(config)
    out = tmp_path / "contador.zip"
    capsys.readouterr()

    code = _export(data_dir, config_file, month.text, out, "--json")

    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert (report["status"], report["authorized"], report["cancelled"], report["verified"]) == (
        "exported",
        3,
        1,
        True,
    )
    journal = Journal.in_dir(data_dir)
    try:
        rows = {r.sale_id: r for r in journal.list_sales(limit=100)}
        expected = {r.chave: journal.authorized_xml(r.sale_id) for r in rows.values() if r.chave}
        cancelled = make_sale(1).sale_id
        cancel_xml = journal.cancel_event_xml(cancelled)
        book = InutilizacaoBook(journal.path)
        [export_row] = book.exports(month.text)
        book.close()
    finally:
        journal.close()
    assert (
        export_row["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() and export_row["verified"] == 1
    )

    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        note_names = {n for n in names if n.startswith("NFCe/")}
        assert note_names == {f"NFCe/{chave}-nfce.xml" for chave in expected}
        for chave, xml in expected.items():
            data = archive.read(f"NFCe/{chave}-nfce.xml")
            assert xml is not None and data == xml  # byte for byte: the signature untouched
            root = ET.fromstring(data)
            assert root.tag.endswith("nfeProc")
            assert root.find(f".//{SIGNATURE}") is not None
            assert read_nfe(data).chave == chave
        # Each note is the very XML its issuer returned: Emites-Client's, the file Focus
        # serves, Integra's document.
        issued: dict[str, bytes | None] = {n.note.chave: n.xml for n in issuers.emites.notes()}
        issued |= {n.note.chave: n.xml for n in issuers.focus.issued() if n.note is not None}
        issued |= {d.note.chave: d.xml for d in issuers.integra.documents.values()}
        assert set(issued) == set(expected)
        for chave, xml in issued.items():
            assert archive.read(f"NFCe/{chave}-nfce.xml") == xml, chave
        # The cancel event Emites-Client registered, byte for byte.
        [emites_cancelled] = [n for n in issuers.emites.notes() if n.cancel_xml is not None]
        # The cancel event, as the issuer returned it.
        cancelled_chave = rows[cancelled].chave
        event = archive.read(f"Eventos/{cancelled_chave}-cancelamento.xml")
        assert cancel_xml is not None and event == cancel_xml == emites_cancelled.cancel_xml
        assert ET.fromstring(event).tag.endswith("procEventoNFe")
        assert read_nfe_event(event).chave == cancelled_chave

        summary = _read_csv(archive, "resumo.csv")
        assert tuple(summary[0]) == SUMMARY_HEADER
        by_chave = {line[0]: dict(zip(SUMMARY_HEADER, line, strict=True)) for line in summary[1:]}
        assert set(by_chave) == set(expected)
        tz = config.store.tz
        for sale_id, row in rows.items():
            line = by_chave[row.chave or ""]
            note = read_nfe(expected[row.chave or ""] or b"")
            assert (line["numero"], line["serie"]) == (str(note.numero), str(note.serie))
            assert line["total"] == f"{note.total:.2f}".replace(".", ",")
            assert line["emissao"] == note.emitted_at.astimezone(tz).isoformat(timespec="seconds")
            assert line["situacao"] == ("cancelada" if sale_id == cancelled else "autorizada")
            assert line["emissor"] == (row.backend or "") and line["emissor"] == backends[sale_id]
            assert line["caixa"] and line["venda"] == sale_id

        totals = _read_csv(archive, "totais.csv")
        assert totals[0] == ["dia", "tpag", "forma_pagamento", "quantidade", "valor"]
        [month_total] = [line for line in totals if line[2] == "TOTAL DO MÊS"]
        authorized = [read_nfe(x or b"").total for c, x in expected.items() if c != cancelled_chave]
        assert month_total[3:] == ["3", f"{sum(authorized, Decimal('0.00')):.2f}".replace(".", ",")]

        gaps = _read_csv(archive, "lacunas.csv")
        assert gaps[1][:5] == ["2", "1", "1", "1", "a inutilizar"]  # the número never sent
        assert "pendencias.csv" not in names
        assert "LEIAME.txt" in names


def test_pending_sales_stop_the_export_with_a_warning_unless_allowed(
    issuers: Issuers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    issuers.set_up(emites=False, focus=False, integra=False)

    async def queue_one() -> None:
        service = service_for(issuers, data_dir)
        try:
            await service.start()
            assert (await service.issue(make_sale(7), print_receipt=False)).state is SaleState.QUEUED
        finally:
            await service.aclose()

    asyncio.run(queue_one())
    config_file = tmp_path / "posapp.toml"
    config_file.write_text(issuers.config_toml(), encoding="utf-8")
    month = _this_month(issuers.config())
    out = tmp_path / "mes.zip"
    capsys.readouterr()

    assert _export(data_dir, config_file, month.text, out) == 4  # queued: exit 4, nothing written
    err = capsys.readouterr()
    assert not out.exists()
    assert "Nada foi exportado" in err.out and "--allow-pending" in err.out
    assert make_sale(7).sale_id in err.err

    assert _export(data_dir, config_file, month.text, out, "--allow-pending") == 0
    with zipfile.ZipFile(out) as archive:
        pending = _read_csv(archive, "pendencias.csv")
        assert [line[0] for line in pending[1:]] == [make_sale(7).sale_id]
        assert "pendente" in archive.read("LEIAME.txt").decode("utf-8")


def test_a_sale_in_doubt_stops_the_export_with_exit_5(issuers: Issuers, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    issuers.set_up(emites=False, focus=True, integra=False)
    issuers.focus.faults.drop_after_accept = True

    async def doubt() -> None:
        service = service_for(issuers, data_dir)
        try:
            await service.start()
            assert (await service.issue(make_sale(8), print_receipt=False)).state is SaleState.IN_DOUBT
        finally:
            await service.aclose()

    asyncio.run(doubt())
    config_file = tmp_path / "posapp.toml"
    config_file.write_text(issuers.config_toml(), encoding="utf-8")
    out = tmp_path / "mes.zip"
    assert _export(data_dir, config_file, _this_month(issuers.config()).text, out) == 5
    assert not out.exists()


def test_bad_month_or_destination_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_file = tmp_path / "posapp.toml"
    config_file.write_text("", encoding="utf-8")
    assert _export(tmp_path, config_file, "2026-13", tmp_path / "x.zip") == 2
    assert "AAAA-MM" in capsys.readouterr().err
    assert _export(tmp_path, config_file, "2026-01", tmp_path / "nowhere" / "x.zip") == 2
    assert "não existe" in capsys.readouterr().err


def _focus_till(sim: FocusNfeSimulator, data_dir: Path, clock: datetime) -> PosService:
    """A till whose only issuer is Focus, at a clock the test sets (the sale's dhEmi)."""
    config = Config.model_validate(
        {
            "emites": {"enabled": False},
            "printer": {"uri": "none"},
            "providers": [{"name": "focusnfe", "base_url": sim.url, "token_env": FOCUS_TOKEN_ENV}],
        }
    )
    journal = Journal.in_dir(data_dir)
    return PosService(
        config=config, journal=journal, router=FailoverRouter(build_backends(config)), clock=lambda: clock
    )


def test_the_month_is_the_stores_a_sale_at_23_30_on_the_last_day_is_in_that_month(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(FOCUS_TOKEN_ENV, FOCUS_TOKEN)
    late = datetime(2026, 1, 31, 23, 30, tzinfo=BRT)  # 02:30 UTC on 1 February
    early = datetime(2026, 2, 1, 0, 10, tzinfo=BRT)
    moment = [late]
    data_dir = tmp_path / "data"

    def sim_clock() -> float:
        return moment[0].timestamp()

    with FocusNfeSimulator(token=FOCUS_TOKEN, clock=sim_clock) as sim:

        async def sell() -> None:
            for index, when in ((1, late), (2, early)):
                moment[0] = when
                service = _focus_till(sim, data_dir, when)
                try:
                    await service.start()
                    report = await service.issue(make_sale(index), print_receipt=False)
                    assert report.state is SaleState.AUTHORIZED
                finally:
                    await service.aclose()

        asyncio.run(sell())
        config_file = tmp_path / "posapp.toml"
        config_file.write_text(
            to_toml(
                {
                    "emites": {"enabled": False},
                    "printer": {"uri": "none"},
                    "providers": [{"name": "focusnfe", "base_url": sim.url, "token_env": FOCUS_TOKEN_ENV}],
                }
            ),
            encoding="utf-8",
        )
        january, february = tmp_path / "jan.zip", tmp_path / "fev.zip"
        assert _export(data_dir, config_file, "2026-01", january) == 0
        assert _export(data_dir, config_file, "2026-02", february) == 0

    capsys.readouterr()
    first, second = (n.note for n in sorted(sim.issued(), key=lambda n: n.note.numero if n.note else 0))
    assert first is not None and second is not None
    with zipfile.ZipFile(january) as archive:
        assert [n for n in archive.namelist() if n.startswith("NFCe/")] == [f"NFCe/{first.chave}-nfce.xml"]
        [line] = _read_csv(archive, "resumo.csv")[1:]
        assert line[3] == "2026-01-31T23:30:00-03:00"  # the store's time, not UTC's 1 February
        assert [t for t in _read_csv(archive, "totais.csv") if t[0] == "2026-01-31"]
    with zipfile.ZipFile(february) as archive:
        assert [n for n in archive.namelist() if n.startswith("NFCe/")] == [f"NFCe/{second.chave}-nfce.xml"]
