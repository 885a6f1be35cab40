"""The journal read as a change feed, for the store server's outbox (posapp/storeserver).

The outbox needs no table of its own and costs the sale path nothing: the journal's events
and audit rows are already an append-only log with increasing ids, committed one writer at a
time (so a reader that sees id *n* has seen every id below it). The replicator tails them from
where the server says it stopped, on its **own** read connection (WAL readers never block the
writer), and reads each batch with the sales it touches in one snapshot, so a sale's state
sent to the server is one the journal committed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posapp.journal.errors import JournalUnavailable

OPEN_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class JournalChanges:
    """One batch: events after a cursor (in order), the sales they touch as the snapshot saw
    them (each with ``seq``, its last event id then), those sales' documents' metadata, and
    the sale-action audit rows after their own cursor."""

    events: list[dict[str, Any]] = field(default_factory=list)
    sales: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.events and not self.audit


class ChangeFeed:
    """A read-only view of ``journal.sqlite3`` (``query_only``), on a connection of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            # mode=rw: never create the file (the Journal creates it, private and in WAL).
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=rw",
                uri=True,
                check_same_thread=False,
                isolation_level=None,
                timeout=OPEN_TIMEOUT_S,
            )
            conn.execute(f"PRAGMA busy_timeout={int(OPEN_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            raise JournalUnavailable(
                f"cannot read journal {path}: {exc}",
                user_message=f"Não foi possível ler o diário de vendas ({path}) para sincronizar: {exc}",
            ) from exc
        conn.row_factory = sqlite3.Row
        self._conn = conn
        self._blobs: bool | None = None

    def close(self) -> None:
        self._conn.close()

    def till_id(self) -> str | None:
        """The identity the journal made on its first start (None before that)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'till_id'").fetchone()
        return str(row[0]) if row else None

    def heads(self) -> tuple[int, int]:
        """The last event id and audit id committed (what there is to send, at most)."""
        row = self._conn.execute(
            "SELECT (SELECT coalesce(max(event_id), 0) FROM events), "
            "(SELECT coalesce(max(audit_id), 0) FROM audit)"
        ).fetchone()
        return int(row[0]), int(row[1])

    def read(self, *, after_event: int, after_audit: int, limit: int) -> JournalChanges:
        """Up to ``limit`` events and ``limit`` audit rows after the cursors, in one snapshot."""
        conn = self._conn
        conn.execute("BEGIN")
        try:
            events = [
                {
                    "event_id": int(r["event_id"]),
                    "sale_id": r["sale_id"],
                    "at": r["at"],
                    "kind": r["kind"],
                    "from_state": r["from_state"],
                    "to_state": r["to_state"],
                    "detail": r["detail"],
                }
                for r in conn.execute(
                    "SELECT event_id, sale_id, at, kind, from_state, to_state, detail FROM events "
                    "WHERE event_id > ? ORDER BY event_id LIMIT ?",
                    (after_event, limit),
                )
            ]
            sale_ids = list(dict.fromkeys(e["sale_id"] for e in events))
            sales = [self._sale(sale_id) for sale_id in sale_ids]
            documents = [doc for sale_id in sale_ids for doc in self._documents(sale_id)]
            audit = [
                dict(r)
                for r in conn.execute(
                    "SELECT audit_id, at, action, operator, authorized_by, sale_id, detail FROM audit "
                    "WHERE audit_id > ? ORDER BY audit_id LIMIT ?",
                    (after_audit, limit),
                )
            ]
        finally:
            conn.execute("COMMIT")
        return JournalChanges(events, [s for s in sales if s is not None], documents, audit)

    def _sale(self, sale_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT s.*, (SELECT max(event_id) FROM events e WHERE e.sale_id = s.sale_id) AS seq "
            "FROM sales s WHERE sale_id = ?",
            (sale_id,),
        ).fetchone()
        if row is None:  # an event of a sale not stored (never happens: one transaction writes both)
            return None
        data = dict(row)
        data.pop("attempt_id", None)
        data["seq"] = int(data["seq"] or 0)
        data["sale_json"] = _json_text(data["sale_json"])
        return data

    def _documents(self, sale_id: str) -> list[dict[str, Any]]:
        """Kind, size and SHA-256 of each document (the content stays on the till). Since
        schema 6 a document points at its blob by hash; an older row still holds its bytes."""
        if self._blobs is None:
            names = {r[1] for r in self._conn.execute("PRAGMA table_info(documents)")}
            self._blobs = "sha256" in names
        query = (
            "SELECT d.kind, d.created_at, d.sha256, b.size, CASE WHEN d.sha256 IS NULL THEN d.content END "
            "AS content FROM documents d LEFT JOIN blobs b ON b.sha256 = d.sha256 WHERE d.sale_id = ?"
            if self._blobs
            else "SELECT kind, created_at, NULL AS sha256, NULL AS size, content FROM documents "
            "WHERE sale_id = ?"
        )
        found = []
        for r in self._conn.execute(query, (sale_id,)):
            content = bytes(r["content"]) if r["content"] is not None else None
            digest = r["sha256"] or (hashlib.sha256(content).hexdigest() if content is not None else "")
            size = r["size"] if r["size"] is not None else (len(content) if content is not None else 0)
            found.append(
                {
                    "sale_id": sale_id,
                    "kind": r["kind"],
                    "size": int(size),
                    "sha256": digest,
                    "created_at": r["created_at"],
                }
            )
        return found


def _json_text(text: str) -> str:
    """The sale's JSON as stored, checked to be JSON (the server keeps it as ``jsonb``)."""
    try:
        json.loads(text)
    except ValueError:
        return json.dumps({"unreadable": text})
    return text
