"""Failover end to end: the real service, the real clients, the simulators on loopback.

Emites-Client down -> Focus NFe authorizes; Focus down too -> Integra Notas authorizes; a
429 keeps a provider out of the way for as long as it asked; a note is cancelled through
the issuer that issued it, whatever the router would pick for a new sale. Every note is
printed from the XML the provider returned (online providers give no printable PDF).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from posapp.config import Config
from posapp.domain.lifecycle import SaleState
from posapp.journal.store import Journal
from posapp.printing import decode_escpos
from posapp.services.core import Authorization
from posapp.services.drainer import QueueDrainer
from posapp.services.results import IssueReport
from tests.support.issuers import Issuers
from tests.support.sales import make_sale, reference_of, sale_id_of
from tests.support.service import service_for, wait_until

MOTIVO = "Cliente desistiu da compra no caixa"

SERIE = Config().nfce.serie  # the series the journal numbers Integra notes in


def attempts_of(data_dir: Path, sale_id: str) -> list[tuple[str, str | None]]:
    journal = Journal.in_dir(data_dir)
    try:
        return [(a.backend, a.outcome) for a in journal.attempts(sale_id)]
    finally:
        journal.close()


def printed_receipts(printer: Path) -> tuple[str, list[str]]:
    """What reached the ``file:`` printer, decoded as a printer would: the text (spaces and
    line breaks removed) and the QR codes' payloads."""
    receipt = decode_escpos(printer.read_bytes())
    return receipt.text.replace(" ", "").replace("\n", ""), [q.text for q in receipt.qr_codes]


def print_jobs(data_dir: Path, sale_id: str) -> list[dict[str, object]]:
    journal = Journal.in_dir(data_dir)
    try:
        return journal.print_jobs(sale_id)
    finally:
        journal.close()


def test_emites_down_the_sale_is_authorized_by_focus_and_printed_from_its_xml(
    issuers: Issuers, tmp_path: Path
) -> None:
    issuers.set_up(emites=False, focus=True, integra=True)
    printer = tmp_path / "printer.bin"
    sale = make_sale(1)

    async def scenario() -> tuple[IssueReport, bytes | None]:
        service = service_for(issuers, tmp_path, with_printer=True, printer_uri=f"file:{printer}")
        try:
            report = await service.issue(sale)
            xml, _pdf = await service.documents(sale.sale_id)
            return report, xml
        finally:
            await service.aclose()

    report, xml = asyncio.run(scenario())
    assert (report.state, report.backend, report.printed) == (SaleState.AUTHORIZED, "focusnfe", True)
    [note] = issuers.focus.issued()
    # The ref carries the till's identity and the sale's (issue 12: two tills never share one).
    assert note.ref.endswith(f"-{sale.sale_id}") and note.note is not None and report.note is not None
    chave = note.note.chave
    assert report.note.chave == chave
    # The journal keeps the XML Focus serves at caminho_xml_nota_fiscal, byte for byte...
    assert xml is not None and xml == note.xml
    assert issuers.focus.requests_to("GET", f"/arquivos/{note.cnpj}/")  # downloaded, with the token
    # ...and the receipt that came out of the printer is that note (Focus gives no PDF).
    text, qr_codes = printed_receipts(printer)
    assert chave in text
    assert [q for q in qr_codes if chave in q], "the QR code does not carry the chave"
    assert [job["ok"] for job in print_jobs(tmp_path, sale.sale_id)] == [1]
    assert attempts_of(tmp_path, sale.sale_id) == [("emites", "not_sent"), ("focusnfe", "authorized")]
    assert issuers.integra.requests == []
    assert issuers.emites.requests() == []


def test_emites_and_focus_down_the_sale_is_authorized_by_integra_and_printed(
    issuers: Issuers, tmp_path: Path
) -> None:
    issuers.set_up(emites=False, focus=False, integra=True)
    printer = tmp_path / "printer.bin"
    sales = [make_sale(index) for index in (1, 2)]

    async def scenario() -> list[tuple[IssueReport, bytes | None]]:
        service = service_for(issuers, tmp_path, with_printer=True, printer_uri=f"file:{printer}")
        out = []
        try:
            for sale in sales:
                report = await service.issue(sale)
                xml, _pdf = await service.documents(sale.sale_id)
                out.append((report, xml))
        finally:
            await service.aclose()
        return out

    results = asyncio.run(scenario())
    assert [(r.state, r.backend, r.note.numero if r.note else None, r.printed) for r, _ in results] == [
        (SaleState.AUTHORIZED, "integranotas", 1, True),
        (SaleState.AUTHORIZED, "integranotas", 2, True),
    ]
    # The journal chose series and number; Integra holds exactly those two documents.
    assert sorted(issuers.integra.documents) == [(SERIE, 1), (SERIE, 2)]
    assert attempts_of(tmp_path, sales[0].sale_id) == [
        ("emites", "not_sent"),
        ("focusnfe", "not_sent"),
        ("integranotas", "authorized"),
    ]
    text, qr_codes = printed_receipts(printer)
    by_sale = issuers.notes_by_sale()
    for index, (report, xml) in zip((1, 2), results, strict=True):
        document = issuers.integra.documents[(SERIE, report.note.numero if report.note else 0)]
        chave = document.note.chave
        assert xml is not None and xml == document.xml
        assert chave in text and [q for q in qr_codes if chave in q]
        assert [(n.issuer, n.chave) for n in by_sale[index]] == [("integranotas", chave)]


def test_each_sale_goes_to_the_first_issuer_up_and_to_one_only(issuers: Issuers, tmp_path: Path) -> None:
    """Issuers going down and coming back between sales: each sale lands on the first one
    reachable, and no sale is ever sent to two of them."""
    plan = [
        ((True, True, True), "emites"),
        ((False, True, True), "focusnfe"),
        ((False, False, True), "integranotas"),
        ((False, True, True), "focusnfe"),
        ((True, True, True), "emites"),
    ]

    async def scenario() -> list[str | None]:
        service = service_for(issuers, tmp_path)
        backends = []
        try:
            for index, ((emites, focus, integra), _expected) in enumerate(plan):
                issuers.set_up(emites=emites, focus=focus, integra=integra)
                await service.issuer_health()  # the status bar's probe closes breakers of issuers back up
                report = await service.issue(make_sale(index), print_receipt=False)
                assert report.state is SaleState.AUTHORIZED, report
                backends.append(report.backend)
        finally:
            await service.aclose()
        return backends

    assert asyncio.run(scenario()) == [expected for _, expected in plan]
    by_sale = issuers.notes_by_sale()
    assert sorted(by_sale) == list(range(len(plan)))
    assert all(len(notes) == 1 for notes in by_sale.values())
    assert [by_sale[i][0].issuer for i in range(len(plan))] == [expected for _, expected in plan]


def test_429_keeps_focus_out_of_the_way_for_as_long_as_it_asked(issuers: Issuers, tmp_path: Path) -> None:
    issuers.set_up(emites=False, focus=True, integra=True)
    issuers.focus.faults.rate_limit = True
    issuers.focus.faults.retry_after_s = 120

    async def scenario() -> list[str | None]:
        service = service_for(issuers, tmp_path)
        try:
            first = await service.issue(make_sale(1), print_receipt=False)
            issuers.focus.faults.clear()  # Focus would answer now, but it asked for two minutes
            second = await service.issue(make_sale(2), print_receipt=False)
            health = await service.issuer_health()
            assert health["focusnfe"].value == "down"  # the probe is held back too
            return [first.backend, second.backend]
        finally:
            await service.aclose()

    assert asyncio.run(scenario()) == ["integranotas", "integranotas"]
    # One request reached Focus: the 429'd POST. Nothing after it, not even the probe.
    assert [(r.method, r.path) for r in issuers.focus.requests] == [("POST", "/v2/nfce")]
    assert issuers.focus.issued() == []
    assert attempts_of(tmp_path, sale_id_of(1)) == [
        ("emites", "not_sent"),
        ("focusnfe", "not_sent"),
        ("integranotas", "authorized"),
    ]
    assert attempts_of(tmp_path, sale_id_of(2)) == [("emites", "not_sent"), ("integranotas", "authorized")]


def test_429_with_no_other_issuer_queues_and_the_retry_waits_for_retry_after(
    issuers: Issuers, tmp_path: Path
) -> None:
    issuers.set_up(emites=False, focus=True, integra=False)
    issuers.focus.faults.rate_limit = True
    issuers.focus.faults.retry_after_s = 2

    async def scenario() -> SaleState:
        service = service_for(issuers, tmp_path, emites=False, providers=("focusnfe",))
        drainer = QueueDrainer(service, interval_s=0.05, max_interval_s=0.1)
        try:
            report = await service.issue(make_sale(1), print_receipt=False)
            assert report.state is SaleState.QUEUED
            issuers.focus.faults.clear()
            drainer.start()

            async def authorized() -> bool:
                summary, _ = await service.get_sale(sale_id_of(1))
                return summary.state is SaleState.AUTHORIZED

            await wait_until(authorized, timeout_s=15)
            return report.state
        finally:
            await drainer.stop()
            await service.aclose()

    asyncio.run(scenario())
    requests = issuers.focus.requests
    assert (requests[0].method, requests[0].path) == ("POST", "/v2/nfce")
    # The drainer ran every 50 ms, yet Focus saw nothing until Retry-After had passed.
    assert requests[1].received_at - requests[0].received_at >= 1.9
    posts = issuers.focus.requests_to("POST", "/v2/nfce")
    assert len(posts) == 2 and len(issuers.focus.issued()) == 1


def test_cancel_goes_to_the_issuer_that_issued_the_note(issuers: Issuers, tmp_path: Path) -> None:
    async def scenario() -> dict[str, tuple[SaleState, str | None]]:
        service = service_for(issuers, tmp_path)
        try:
            issuers.set_up(emites=False, focus=True, integra=True)
            by_focus = await service.issue(make_sale(1), print_receipt=False)
            issuers.set_up(emites=False, focus=False, integra=True)
            by_integra = await service.issue(make_sale(2), print_receipt=False)
            assert (by_focus.backend, by_integra.backend) == ("focusnfe", "integranotas")
            # Everything back: a new sale goes to Emites-Client again...
            issuers.set_up(emites=True, focus=True, integra=True)
            await service.issuer_health()
            by_emites = await service.issue(make_sale(3), print_receipt=False)
            assert by_emites.backend == "emites"
            # ...but each cancel goes to the issuer of record.
            out = {}
            for report in (by_focus, by_integra, by_emites):
                cancelled = await service.cancel(report.sale_id, MOTIVO, by=Authorization("gerente"))
                out[report.sale_id] = (cancelled.state, cancelled.backend)
            return out
        finally:
            await service.aclose()

    results = asyncio.run(scenario())
    assert results == {
        sale_id_of(1): (SaleState.CANCELLED, "focusnfe"),
        sale_id_of(2): (SaleState.CANCELLED, "integranotas"),
        sale_id_of(3): (SaleState.CANCELLED, "emites"),
    }
    # Cancelled by the ref the note was issued with (the till's identity and the sale's).
    focus_ref = reference_of(tmp_path, sale_id_of(1))
    assert [r.path for r in issuers.focus.requests_to("DELETE", "/v2/nfce/")] == [f"/v2/nfce/{focus_ref}"]
    [integra_cancel] = issuers.integra.requests_to("POST", "/v1/nfce/cancela")
    assert integra_cancel.json()["chave"] == issuers.integra.documents[(SERIE, 1)].note.chave
    cancels = [r for r in issuers.emites.requests() if r.identifier == "CANCEL_NFCE"]
    assert len(cancels) == 1
    assert [n.cancel_protocolo is not None for n in issuers.focus.issued()] == [True]
    assert issuers.integra.documents[(SERIE, 1)].status == "cancelado"
    journal = Journal.in_dir(tmp_path)
    try:
        for index in (1, 2, 3):
            assert journal.document(sale_id_of(index), "cancel_xml"), (
                f"no cancel event stored for sale {index}"
            )
    finally:
        journal.close()
