import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from posapp.domain.audit import Action, AuditRecord
from posapp.domain.issuance import AuthorizedNote, PreparedIssue
from posapp.domain.lifecycle import Happening, SaleState
from posapp.domain.sale import Sale
from posapp.journal.errors import SchemaTooNew, StaleState, UnknownSale
from posapp.journal.schema import SCHEMA_VERSION
from posapp.journal.store import Journal
from tests.conftest import sale_mapping

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal.in_dir(tmp_path)
    yield j
    j.close()


def _prepared(sale: Sale) -> PreparedIssue:
    return PreparedIssue("emites", sale.sale_id, b"123:CREATE_NFCE:{...\xe3...}", {"k": 1})


def test_pragmas_and_version(journal: Journal) -> None:
    db = sqlite3.connect(journal.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert journal.integrity_check() == "ok"


def test_request_committed_before_send_is_visible_to_another_connection(journal: Journal) -> None:
    sale = Sale.from_mapping(sale_mapping())
    attempt_id = journal.begin_issue(sale, _prepared(sale), T0, new_sale=True)
    # A second connection (as after a crash) sees the sale, the exact bytes and ISSUING.
    other = Journal(journal.path)
    row = other.get_sale(sale.sale_id)
    assert row.state is SaleState.ISSUING
    assert row.sale == sale
    assert other.attempt(attempt_id).request == b"123:CREATE_NFCE:{...\xe3...}"
    other.close()


def test_authorized_with_documents_and_events(journal: Journal) -> None:
    sale = Sale.from_mapping(sale_mapping())
    attempt_id = journal.begin_issue(sale, _prepared(sale), T0, new_sale=True)
    note = AuthorizedNote(
        chave="53181222769530000131650090000001731531212514",
        numero=173,
        serie=9,
        authorized_at=T0,
        protocolo="353180004176525",
        xml=b"<nfeProc/>",
        danfe_pdf=b"%PDF-1.4",
    )
    journal.record_authorized(
        sale.sale_id, note, T0, Happening.ISSUE_AUTHORIZED, attempt=(attempt_id, "authorized", "{}")
    )
    row = journal.find_by_chave(note.chave)
    assert (row.state, row.numero, row.serie, row.authorized_at) == (SaleState.AUTHORIZED, 173, 9, T0)
    assert journal.document(sale.sale_id, "xml") == b"<nfeProc/>"
    kinds = [(e.kind, e.to_state) for e in journal.events(sale.sale_id)]
    assert kinds == [
        ("created", SaleState.OPEN),
        ("issuing", SaleState.ISSUING),
        ("authorized", SaleState.AUTHORIZED),
    ]


def test_a_happening_the_state_does_not_accept_changes_nothing(journal: Journal) -> None:
    sale = Sale.from_mapping(sale_mapping())
    journal.queue_new_sale(sale, T0, "offline")
    before = journal.events(sale.sale_id)
    with pytest.raises(StaleState):
        journal.apply(
            sale.sale_id, Happening.CANCEL_CONFIRMED, T0, audit=AuditRecord(Action.CANCEL_SALE, "x")
        )
    assert journal.get_sale(sale.sale_id).state is SaleState.QUEUED
    assert journal.events(sale.sale_id) == before
    assert journal.audit_entries() == []


def test_a_move_and_its_audit_row_commit_together(journal: Journal) -> None:
    sale = Sale.from_mapping(sale_mapping())
    journal.queue_new_sale(sale, T0, "offline")
    step = journal.apply(
        sale.sale_id,
        Happening.VOIDED,
        T0,
        {"reason": "teste"},
        audit=AuditRecord(Action.ABORT_SALE, "caixa", "gerente", "teste"),
    )
    assert (step.source, step.target) == (SaleState.QUEUED, SaleState.VOIDED)
    [row] = journal.audit_entries()
    assert (row.action, row.operator, row.authorized_by, row.sale_id) == (
        "abort_sale",
        "caixa",
        "gerente",
        sale.sale_id,
    )
    assert journal.events(sale.sale_id)[-1].kind == "voided"
    db = sqlite3.connect(journal.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")


def test_pinning_follows_the_lifecycle(journal: Journal) -> None:
    sale = Sale.from_mapping(sale_mapping())
    prepared = PreparedIssue("focusnfe", sale.sale_id, b"{}")
    attempt_id = journal.begin_issue(sale, prepared, T0, new_sale=True)
    journal.apply(sale.sale_id, Happening.ISSUE_IN_DOUBT, T0, attempt=(attempt_id, "in_doubt", None))
    journal.apply(sale.sale_id, Happening.RECONCILED_NOT_FOUND, T0, expect_attempt=attempt_id)
    row = journal.get_sale(sale.sale_id)
    assert (row.state, row.pinned_backend) == (SaleState.QUEUED, "focusnfe")
    with pytest.raises(StaleState):  # a stale writer on another attempt changes nothing
        journal.apply(sale.sale_id, Happening.VOIDED, T0, expect_attempt=attempt_id + 1)


def test_events_are_append_only(journal: Journal) -> None:
    sale = Sale.from_mapping(sale_mapping())
    journal.queue_new_sale(sale, T0, "offline")
    db = sqlite3.connect(journal.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET kind = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM events")


def test_recover_interrupted_marks_in_doubt(journal: Journal) -> None:
    sale = Sale.from_mapping(sale_mapping())
    journal.begin_issue(sale, _prepared(sale), T0, new_sale=True)
    assert journal.recover_interrupted(T0 + timedelta(seconds=5)) == [sale.sale_id]
    row = journal.get_sale(sale.sale_id)
    assert row.state is SaleState.IN_DOUBT
    assert journal.attempts(sale.sale_id)[0].outcome == "interrupted"
    assert journal.recover_interrupted(T0) == []


def test_numbers_are_reserved_once_per_sale_and_never_twice(journal: Journal, tmp_path: Path) -> None:
    assert journal.reserve_number("integranotas", 2, "sale-a", T0) == 1
    assert journal.reserve_number("integranotas", 2, "sale-a", T0) == 1  # a resend keeps it
    other = Journal(journal.path)  # another till on the same journal
    assert other.reserve_number("integranotas", 2, "sale-b", T0) == 2
    other.close()
    assert journal.reserve_number("integranotas", 3, "sale-a", T0) == 1  # per series
    assert journal.reserve_number("focusnfe", 2, "sale-c", T0) == 1  # per issuer
    assert journal.next_number("integranotas", 2) == 3


def test_concurrent_reservations_from_threads_are_distinct(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    journals = [Journal.in_dir(tmp_path) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        numbers = list(
            pool.map(lambda i: journals[i % 4].reserve_number("integranotas", 2, f"s{i}", T0), range(40))
        )
    assert sorted(numbers) == list(range(1, 41))
    for j in journals:
        j.close()


def test_list_oldest_first_and_by_state(journal: Journal) -> None:
    sales = [Sale.from_mapping(sale_mapping()) for _ in range(3)]
    for i, sale in enumerate(sales):
        journal.queue_new_sale(sale, T0 + timedelta(seconds=i), "offline")
    queued = journal.list_sales(states=[SaleState.QUEUED], oldest_first=True)
    assert [r.sale_id for r in queued] == [s.sale_id for s in sales]
    assert journal.count_by_state() == {SaleState.QUEUED: 3}


def test_unknown_sale(journal: Journal) -> None:
    with pytest.raises(UnknownSale):
        journal.get_sale("nope")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(SchemaTooNew):
        Journal(path)


def test_list_between_bounds_in_any_timezone(journal: Journal) -> None:
    from datetime import timezone

    brasilia = timezone(timedelta(hours=-3))
    sales = [Sale.from_mapping(sale_mapping()) for _ in range(3)]
    for i, sale in enumerate(sales):
        journal.queue_new_sale(sale, (T0 + timedelta(hours=i)).astimezone(brasilia), "offline")
    # T0 + 1h expressed in Brasília time selects the same instant as in UTC.
    middle = journal.list_sales(
        since=(T0 + timedelta(hours=1)).astimezone(brasilia), until=T0 + timedelta(hours=2)
    )
    assert [r.sale_id for r in middle] == [sales[1].sale_id]


def test_sqlite_failure_is_a_journal_error(journal: Journal, tmp_path: Path) -> None:
    from posapp.journal.errors import JournalUnavailable

    sale = Sale.from_mapping(sale_mapping())
    blocker = sqlite3.connect(journal.path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the file
    journal._db.execute("PRAGMA busy_timeout = 0")
    with pytest.raises(JournalUnavailable) as info:
        journal.queue_new_sale(sale, T0, "offline")
    assert "diário" in info.value.user_message
    blocker.rollback()
    blocker.close()
    journal.queue_new_sale(sale, T0, "offline")  # usable again once the file is free
    assert journal.get_sale(sale.sale_id).state is SaleState.QUEUED


def test_a_late_answer_that_keeps_the_state_overwrites_nothing(journal: Journal) -> None:
    sale = Sale.from_mapping(sale_mapping())
    attempt_id = journal.begin_issue(sale, PreparedIssue("emites", sale.sale_id, b"frame"), T0, new_sale=True)
    note = AuthorizedNote("53261122769530000131650010000000011956318890", 1, 1, T0, "1")
    journal.record_authorized(
        sale.sale_id, note, T0, Happening.ISSUE_AUTHORIZED, attempt=(attempt_id, "authorized", "{}")
    )
    journal.begin_cancel(sale.sale_id, Happening.CANCEL_SENT, "emites", b"{}", "Desistencia do comprador", T0)
    journal.apply(
        sale.sale_id,
        Happening.CANCEL_CONFIRMED,
        T0,
        documents={"cancel_xml": b"<procEventoNFe/>"},
        cancel_protocolo="135260000000001",
        cancelled_at=T0.isoformat(),
    )
    # A second cancel (another till) answered "573 duplicidade de evento", with no protocol.
    step = journal.apply(
        sale.sale_id,
        Happening.CANCEL_ALREADY_DONE,
        T0 + timedelta(minutes=1),
        documents={"cancel_xml": b"<other/>"},
        cancel_protocolo=None,
        cancelled_at=(T0 + timedelta(minutes=1)).isoformat(),
    )
    assert not step.changes_state
    row = journal.get_sale(sale.sale_id)
    assert (row.state, row.cancel_protocolo, row.cancelled_at) == (SaleState.CANCELLED, "135260000000001", T0)
    assert journal.document(sale.sale_id, "cancel_xml") == b"<procEventoNFe/>"
    assert journal.events(sale.sale_id)[-1].kind == "cancel_already_done"
