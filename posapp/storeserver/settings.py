"""The store's settings and the IBPT table on the store server (issue 16 item 3).

The settings are one document (``store_settings``, name ``store``), versioned by the same
sequence as the catalog: validated before it is published (:func:`publish_settings` takes an
already validated :class:`~posapp.store_settings.StoreSettings`), and validated again by every
till before it replaces the till's copy (:func:`pull_settings`). A copy that fails (written by
another tool, or by a newer posapp with keys this one does not know) is never applied: the till
keeps the previous one, records why, and tries the same version again on the next pull, so an
upgraded till takes it without a new publish.

The IBPT table is published whole from the publishing till's ``ibpt`` table (rows the server
has and the till does not are withdrawn) and pulled in chunks by the generic
:func:`~posapp.storeserver.shared.pull`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from posapp.catalog import ibpt_replica
from posapp.catalog.storedb import StoreDB
from posapp.config import ConfigError
from posapp.store_settings import (
    StoreSettings,
    drop_copy,
    local_state,
    parse_settings,
    record_problem,
    save_copy,
)
from posapp.storeserver import shared

NAME = "store"


@dataclass(frozen=True, slots=True)
class SettingsPull:
    version: int  # of the copy in force after the pull (0: none, the till's file)
    applied: bool = False  # a new copy replaced the previous one
    withdrawn: bool = False  # the store withdrew its settings: the till's file again
    refused: str | None = None  # why the server's copy was not applied


def publish_settings(conn: psycopg.Connection, settings: StoreSettings, *, till_id: str | None) -> int:
    """Publish the validated document; 1 when it changed the server's copy, 0 when it was
    the same (no new version: no till pulls anything)."""
    row = {"name": NAME, "settings": settings.document, "published_by": till_id}
    return shared.publish(conn, "settings", [row])


def server_settings(conn: psycopg.Connection) -> tuple[int, dict[str, Any] | None, bool] | None:
    """(version, row, deleted) of the server's copy, or None when none was ever published."""
    got = conn.execute("SELECT version, row, deleted FROM store_settings WHERE name = %s", (NAME,)).fetchone()
    return (int(got[0]), got[1], bool(got[2])) if got else None


def pull_settings(conn: psycopg.Connection, store: StoreDB) -> SettingsPull:
    """Bring the till's copy to the server's version, if it validates here."""
    mine = local_state(store)
    found = server_settings(conn)
    if found is None or found[0] <= mine.version:
        return SettingsPull(mine.version)
    version, row, deleted = found
    if deleted:
        drop_copy(store)
        return SettingsPull(0, withdrawn=True)
    try:
        document = (row or {}).get("settings")
        if not isinstance(document, dict):
            raise ConfigError(
                "store settings row without a document",
                user_message="A cópia do servidor não traz as configurações da loja.",
            )
        settings = parse_settings(document, source=f"servidor da loja v{version}")
    except ConfigError as exc:
        message = exc.user_message or str(exc)
        if mine.problem != message or mine.problem_version != version:
            record_problem(store, version, message)
        return SettingsPull(mine.version, refused=message)
    save_copy(store, version, settings)
    return SettingsPull(version, applied=True)


def withdraw_settings(conn: psycopg.Connection) -> int:
    """The tills go back to their own files on their next pull."""
    return shared.withdraw(conn, "settings", [NAME])


def publish_ibpt(conn: psycopg.Connection, store: StoreDB) -> tuple[int, int]:
    """Make the server's IBPT table this till's: (rows new or changed, rows withdrawn)."""
    changed = shared.publish(conn, "ibpt", ibpt_replica.export_rows(store))
    here = ibpt_replica.keys(store)
    there = {str(r[0]) for r in conn.execute("SELECT key FROM ibpt WHERE NOT deleted").fetchall()}
    gone = sorted(there - here)
    withdrawn = shared.withdraw(conn, "ibpt", gone) if gone else 0
    return changed, withdrawn
