"""Issue 15 item 3: each document kept once, compressed; raw answers without a second copy of
the documents they carry; the DANFE PDF only where raster printing needs it; journals of the
previous schema migrated in one transaction."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from pathlib import Path

import pytest

from posapp.domain.issuance import AuthorizedNote, PreparedIssue
from posapp.domain.lifecycle import Happening, SaleState
from posapp.domain.sale import Sale
from posapp.journal import compress
from posapp.journal.errors import JournalUnavailable
from posapp.journal.schema import MIGRATIONS, SCHEMA_VERSION
from posapp.journal.store import Journal, _split_sql
from tests.conftest import sale_mapping
from tests.journal.test_store import T0

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
CHAVE = "53181222769530000131650090000001731531212514"


def _xml() -> bytes:
    real = FIXTURES / "nfce_authorized_df_homologacao.xml"
    if real.exists():
        return real.read_bytes()
    return b'<?xml version="1.0"?><nfeProc>' + b"<det>item</det>" * 400 + b"</nfeProc>"


def _pdf() -> bytes:
    return b"%PDF-1.4\n" + os.urandom(30_000) + b"\n%%EOF\n"  # fonts: incompressible


def _answer(xml: bytes, pdf: bytes) -> str:
    """An Emites-Client answer: the documents in base64 inside its JSON."""
    return json.dumps(
        {
            "status": "sucesso",
            "nfe_numero": 173,
            "resposta_emissao": {"chave_acesso": CHAVE, "numero_protocolo": "353180004176525"},
            "danfe": base64.b64encode(pdf).decode("ascii"),
            "xml": base64.b64encode(xml).decode("ascii"),
        }
    )


def _authorize(journal: Journal, raw: str, xml: bytes, pdf: bytes) -> tuple[str, int]:
    sale = Sale.from_mapping(sale_mapping())
    request = b"1482:CREATE_NFCE:" + json.dumps(sale_mapping()).encode() * 3
    prepared = PreparedIssue("emites", sale.sale_id, request, {})
    attempt_id = journal.begin_issue(sale, prepared, T0, new_sale=True)
    note = AuthorizedNote(CHAVE, 173, 9, T0, "353180004176525", xml=xml, danfe_pdf=pdf)
    journal.record_authorized(
        sale.sale_id, note, T0, Happening.ISSUE_AUTHORIZED, attempt=(attempt_id, "authorized", raw)
    )
    return sale.sale_id, attempt_id


def _stored_bytes(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        return {
            "blobs": db.execute("SELECT COALESCE(SUM(length(content)), 0) FROM blobs").fetchone()[0],
            "documents": db.execute("SELECT COALESCE(SUM(length(content)), 0) FROM documents").fetchone()[0],
            "responses": db.execute("SELECT COALESCE(SUM(length(response)), 0) FROM attempts").fetchone()[0],
            "requests": db.execute("SELECT COALESCE(SUM(length(request)), 0) FROM attempts").fetchone()[0],
            "blob_rows": db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0],
        }
    finally:
        db.close()


def test_a_raster_till_keeps_each_document_once_compressed_and_the_answer_exactly(tmp_path: Path) -> None:
    xml, pdf = _xml(), _pdf()
    raw = _answer(xml, pdf)
    journal = Journal.in_dir(tmp_path, keep_danfe_pdf=True)
    sale_id, attempt_id = _authorize(journal, raw, xml, pdf)

    assert journal.document(sale_id, "xml") == xml
    assert journal.authorized_xml(sale_id) == xml
    assert journal.document(sale_id, "danfe_pdf") == pdf
    attempt = journal.attempt(attempt_id)
    assert attempt.response == raw  # the evidence, byte for byte
    assert attempt.request.startswith(b"1482:CREATE_NFCE:")
    journal.close()

    stored = _stored_bytes(tmp_path / "journal.sqlite3")
    assert stored["blob_rows"] == 2 and stored["documents"] == 0
    # The answer is stored without the base64 of either document: a few hundred bytes.
    assert stored["responses"] < 400, stored
    # The XML is compressed (the PDF's random fonts cannot be): less than its size plus a bit.
    assert stored["blobs"] < len(pdf) + len(xml) // 2, stored


def test_a_native_till_keeps_no_pdf_and_the_answer_says_what_was_left_out(tmp_path: Path) -> None:
    xml, pdf = _xml(), _pdf()
    raw = _answer(xml, pdf)
    journal = Journal.in_dir(tmp_path, keep_danfe_pdf=False)
    sale_id, attempt_id = _authorize(journal, raw, xml, pdf)

    assert journal.document(sale_id, "xml") == xml
    assert journal.document(sale_id, "danfe_pdf") is None
    rebuilt = journal.attempt(attempt_id).response
    assert rebuilt is not None
    answer = json.loads(rebuilt)
    assert answer["danfe"] == ""  # left out; the rest byte for byte
    assert rebuilt == raw.replace(base64.b64encode(pdf).decode("ascii"), "")
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    packed = db.execute("SELECT response FROM attempts WHERE attempt_id = ?", (attempt_id,)).fetchone()[0]
    db.close()
    _, cuts = compress.unpack_answer(packed)
    assert [(c.sha256, c.size, c.kept) for c in cuts if not c.kept] == [
        (compress.sha256(pdf), len(pdf), False)
    ]
    journal.close()
    assert _stored_bytes(tmp_path / "journal.sqlite3")["blobs"] < len(xml) // 2


def test_base64_that_is_not_a_stored_document_stays_in_the_answer(tmp_path: Path) -> None:
    xml = _xml()
    wrapped = base64.encodebytes(xml).decode("ascii")  # MIME lines: not the document's exact base64
    raw = json.dumps({"status": "sucesso", "xml": wrapped})
    journal = Journal.in_dir(tmp_path, keep_danfe_pdf=False)
    _, attempt_id = _authorize(journal, raw, xml, b"")
    assert journal.attempt(attempt_id).response == raw
    journal.close()


def test_a_document_replaced_later_does_not_change_an_older_answer(tmp_path: Path) -> None:
    xml, pdf = _xml(), _pdf()
    raw = _answer(xml, pdf)
    journal = Journal.in_dir(tmp_path, keep_danfe_pdf=True)
    sale_id, attempt_id = _authorize(journal, raw, xml, pdf)
    journal.put_document(sale_id, "xml", b"<nfeProc>corrected</nfeProc>", T0)
    assert journal.document(sale_id, "xml") == b"<nfeProc>corrected</nfeProc>"
    assert journal.attempt(attempt_id).response == raw  # its blob is kept by hash
    journal.close()


def _journal_at_version_5(path: Path, sales: int, xml: bytes, pdf: bytes) -> list[tuple[str, int, str]]:
    """A journal as posapp wrote it before migration 6: raw requests, raw answers with the
    documents in base64, and the documents decoded again."""
    db = sqlite3.connect(path, isolation_level=None)
    for number in range(5):
        for statement in _split_sql(MIGRATIONS[number]):
            db.execute(statement)
    db.execute("PRAGMA user_version=5")
    made = []
    for n in range(sales):
        sale = Sale.from_mapping(sale_mapping())
        chave = CHAVE[:-4] + f"{n:04d}"
        raw = _answer(xml + f"<!-- {n} -->".encode(), pdf)
        db.execute(
            "INSERT INTO sales (sale_id, created_at, updated_at, state, sale_json, total, chave)"
            " VALUES (?, ?, ?, 'authorized', ?, ?, ?)",
            (sale.sale_id, T0.isoformat(), T0.isoformat(), sale.model_dump_json(), str(sale.total), chave),
        )
        cursor = db.execute(
            "INSERT INTO attempts (sale_id, kind, backend, reference, request, created_at, outcome, response)"
            " VALUES (?, 'issue', 'emites', ?, ?, ?, 'authorized', ?)",
            (sale.sale_id, sale.sale_id, b"REQ" + sale.sale_id.encode() * 40, T0.isoformat(), raw),
        )
        for kind, content in (("xml", xml + f"<!-- {n} -->".encode()), ("danfe_pdf", pdf)):
            db.execute(
                "INSERT INTO documents (sale_id, kind, content, created_at) VALUES (?, ?, ?, ?)",
                (sale.sale_id, kind, content, T0.isoformat()),
            )
        made.append((sale.sale_id, int(cursor.lastrowid or 0), raw))
    db.close()
    return made


def test_a_journal_of_the_previous_schema_migrates_and_reads_the_same(tmp_path: Path) -> None:
    xml, pdf = _xml(), _pdf()
    path = tmp_path / "journal.sqlite3"
    made = _journal_at_version_5(path, 5, xml, pdf)
    before = _stored_bytes_v5(path)
    file_before = path.stat().st_size

    journal = Journal(path, keep_danfe_pdf=False)
    assert journal.schema_version() == SCHEMA_VERSION
    for n, (sale_id, attempt_id, raw) in enumerate(made):
        assert journal.document(sale_id, "xml") == xml + f"<!-- {n} -->".encode()
        assert journal.document(sale_id, "danfe_pdf") == pdf  # existing PDFs are kept
        attempt = journal.attempt(attempt_id)
        assert attempt.response == raw
        assert attempt.request == b"REQ" + sale_id.encode() * 40
        assert journal.get_sale(sale_id).state is SaleState.AUTHORIZED
    assert journal.integrity_check() == "ok"
    journal.close()

    after = _stored_bytes(path)
    assert after["blob_rows"] == 6  # five XMLs, one PDF shared by all (by hash)
    assert after["documents"] == 0
    assert after["responses"] + after["blobs"] < before // 4, (before, after)
    assert path.stat().st_size < file_before // 3  # compacted (VACUUM) once migrated


def _stored_bytes_v5(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        docs = db.execute("SELECT SUM(length(content)) FROM documents").fetchone()[0]
        answers = db.execute("SELECT SUM(length(response)) FROM attempts").fetchone()[0]
        return int(docs) + int(answers)
    finally:
        db.close()


def test_a_failed_migration_leaves_the_previous_version_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xml, pdf = _xml(), _pdf()
    path = tmp_path / "journal.sqlite3"
    made = _journal_at_version_5(path, 2, xml, pdf)

    def broken(raw: object, *documents: object) -> object:
        raise RuntimeError("disk pulled out mid-migration")

    monkeypatch.setattr(compress, "_sql_pack_answer", broken)
    with pytest.raises(JournalUnavailable):
        Journal(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 5
    assert (
        db.execute("SELECT response FROM attempts WHERE attempt_id = ?", (made[0][1],)).fetchone()[0]
        == made[0][2]
    )
    db.close()


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"customer": {"document": "529.982.247-25"}, "operator": "caixa"},
        {"discount": {"percent": "10"}},
    ],
)
def test_a_sale_is_stored_without_its_unset_fields_and_reads_back_equal(
    tmp_path: Path, overrides: dict[str, object]
) -> None:
    sale = Sale.from_mapping(sale_mapping(**overrides))
    journal = Journal.in_dir(tmp_path)
    journal.queue_new_sale(sale, T0, "offline")
    back = journal.get_sale(sale.sale_id).sale
    assert back == sale
    assert back.model_dump_json() == sale.model_dump_json()
    journal.close()
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    stored = db.execute("SELECT sale_json FROM sales").fetchone()[0]
    db.close()
    assert "null" not in stored and len(stored) < len(sale.model_dump_json())
