"""Cancel requests queued to the till that issued the note (the manager's cross-till cancel).

The design (README, "A store of many tills"): the manager's till never cancels another till's
note itself. It writes a request to the server; the issuing till takes it, runs its usual
cancel (journal first, the window, CANCELLING before the send) and answers. So:

* **never doubled**: one open request per sale (a partial unique index); only the issuing
  till sends a cancel, under its own cancel lock and lifecycle, so a second request, or a
  local cancel racing it, finds the sale CANCELLING or CANCELLED and sends nothing new
  (a resend of a CANCELLING cancel is the lifecycle's harmless retry);
* **never lost**: the request stays ``pending`` until the issuing till has recorded the
  outcome in its journal *and* answered in the same server transaction that locked the request
  (``FOR UPDATE``); a crash of either side before the answer commits leaves it pending, and
  the retry reads the journal's state first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from posapp.storeserver.errors import UnknownRemoteSale

PENDING, DONE, REFUSED = "pending", "done", "refused"


@dataclass(frozen=True, slots=True)
class CancelRequest:
    request_id: str
    till_id: str
    sale_id: str
    chave: str | None
    motivo: str
    requested_by: str | None
    authorized_by: str | None
    requested_from: str
    requested_at: datetime
    status: str
    result_state: str | None
    message: str | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class RemoteSale:
    till_id: str
    sale_id: str
    state: str
    chave: str | None
    authorized_at: datetime | None
    total: Any


_COLUMNS = (
    "request_id, till_id, sale_id, chave, motivo, requested_by, authorized_by, requested_from, "
    "requested_at, status, result_state, message, finished_at"
)


_INSERTED = "requested_from) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING "
_INSERT = "INSERT INTO cancel_requests (request_id, till_id, sale_id, chave, motivo, requested_by, "
_INSERT += "authorized_by, " + _INSERTED + _COLUMNS


def _request(row: dict[str, Any]) -> CancelRequest:
    return CancelRequest(**row)


def find_sale(
    conn: psycopg.Connection, *, chave: str | None = None, sale_id: str | None = None
) -> RemoteSale:
    """A sale of any till, as last replicated, by chave or sale id."""
    with conn.cursor(row_factory=dict_row) as cur:
        if chave is not None:
            cur.execute(
                "SELECT till_id, sale_id, state, chave, authorized_at, total FROM sales WHERE chave = %s",
                (chave,),
            )
        else:
            cur.execute(
                "SELECT till_id, sale_id, state, chave, authorized_at, total FROM sales WHERE sale_id = %s",
                (sale_id,),
            )
        rows = cur.fetchall()
    if len(rows) != 1:
        what = f"chave {chave}" if chave is not None else f"venda {sale_id}"
        raise UnknownRemoteSale(
            f"{len(rows)} replicated sales match {what}",
            user_message=(
                f"O servidor da loja não tem a {what} (ou tem mais de uma). Confira a chave; se a venda é "
                "recente, espere o caixa que a emitiu sincronizar."
            ),
        )
    return RemoteSale(**rows[0])


def request_cancel(
    conn: psycopg.Connection,
    *,
    till_id: str,
    sale_id: str,
    chave: str | None,
    motivo: str,
    requested_by: str | None,
    authorized_by: str | None,
    requested_from: str,
    request_id: str | None = None,
) -> tuple[CancelRequest, bool]:
    """Queue a cancel to ``till_id``; returns the request and whether it is new. A sale that
    already has an open request gets that one back (one cancel per sale at a time), and the
    same ``request_id`` sent twice is one request."""
    rid = request_id or uuid.uuid4().hex
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM cancel_requests WHERE request_id = %s", (rid,))  # noqa: S608
        same = cur.fetchone()
        if same is not None:
            return _request(same), False
        try:
            with conn.transaction():
                cur.execute(
                    _INSERT,
                    (rid, till_id, sale_id, chave, motivo, requested_by, authorized_by, requested_from),
                )
                created = cur.fetchone()
                assert created is not None
                return _request(created), True
        except psycopg.errors.UniqueViolation:
            cur.execute(
                f"SELECT {_COLUMNS} FROM cancel_requests WHERE till_id = %s AND sale_id = %s"  # noqa: S608
                " AND status = 'pending'",
                (till_id, sale_id),
            )
            open_one = cur.fetchone()
            assert open_one is not None
            return _request(open_one), False


def get(conn: psycopg.Connection, request_id: str) -> CancelRequest | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM cancel_requests WHERE request_id = %s", (request_id,))  # noqa: S608
        row = cur.fetchone()
    return _request(row) if row is not None else None


def take_pending(conn: psycopg.Connection, till_id: str, *, skip: list[str]) -> CancelRequest | None:
    """Inside the caller's transaction: the oldest pending request for ``till_id``, locked
    (another process of the same till skips it)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT {_COLUMNS} FROM cancel_requests WHERE till_id = %s AND status = 'pending'"  # noqa: S608
            " AND NOT (request_id = ANY(%s)) ORDER BY requested_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            (till_id, skip),
        )
        row = cur.fetchone()
    return _request(row) if row is not None else None


def finish(
    conn: psycopg.Connection, request_id: str, status: str, result_state: str | None, message: str
) -> None:
    conn.execute(
        "UPDATE cancel_requests SET status = %s, result_state = %s, message = %s,"
        " finished_at = clock_timestamp() WHERE request_id = %s AND status = 'pending'",
        (status, result_state, message, request_id),
    )


def pending_count(conn: psycopg.Connection, till_id: str | None = None) -> int:
    row = conn.execute(
        "SELECT count(*) FROM cancel_requests WHERE status = 'pending'"
        " AND (%s::text IS NULL OR till_id = %s)",
        (till_id, till_id),
    ).fetchone()
    return int(row[0]) if row else 0
