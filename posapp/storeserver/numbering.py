"""Numbering per till: the server hands each till its own série (for the issuers where we
number, Integra Notas), and keeps what série each till says it issues with, so that the doctor
can warn when two tills claim the same one (two tills numbering série 2 from 1 would collide
at SEFAZ).

A till that never reached the server keeps its configured série (``[nfce] serie``).
"""

from __future__ import annotations

import psycopg

from posapp.storeserver.errors import StoreServerError
from posapp.storeserver.outbox import register_till

SERIES_LOCK = 0x706F_7361_7070_0003
MAX_SERIE = 889  # 890-999 are SEFAZ's (avulsa, SCAN)


def assign_serie(conn: psycopg.Connection, till_id: str, *, base: int) -> int:
    """This till's série: the one it was given before, else the lowest free one at or above
    ``base`` (the store's configured série) that no till holds or claims."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SERIES_LOCK,))
        register_till(conn, till_id)
        row = conn.execute("SELECT serie FROM till_series WHERE till_id = %s", (till_id,)).fetchone()
        if row is not None:
            return int(row[0])
        taken = {
            int(r[0])
            for r in conn.execute(
                "SELECT serie FROM till_series UNION "
                "SELECT claimed_serie FROM tills WHERE claimed_serie IS NOT NULL AND till_id <> %s",
                (till_id,),
            )
        }
        free = next((s for s in range(base, MAX_SERIE + 1) if s not in taken), None)
        if free is None:
            raise StoreServerError(
                f"no free série at or above {base}",
                user_message=(
                    f"Não há série livre a partir da {base} para este caixa. Reveja as séries dos "
                    "caixas no servidor da loja (posapp store status)."
                ),
            )
        conn.execute("INSERT INTO till_series (serie, till_id) VALUES (%s, %s)", (free, till_id))
        return free


def claim_serie(conn: psycopg.Connection, till_id: str, serie: int) -> None:
    """Record the série this till issues with now (assigned or configured)."""
    with conn.transaction():
        register_till(conn, till_id)
        conn.execute("UPDATE tills SET claimed_serie = %s WHERE till_id = %s", (serie, till_id))


def duplicate_claims(conn: psycopg.Connection) -> list[tuple[int, list[str]]]:
    """Séries claimed by more than one till, with the tills."""
    rows = conn.execute(
        "SELECT claimed_serie, array_agg(till_id ORDER BY till_id) FROM tills "
        "WHERE claimed_serie IS NOT NULL GROUP BY claimed_serie HAVING count(*) > 1 ORDER BY 1"
    ).fetchall()
    return [(int(r[0]), list(r[1])) for r in rows]
