"""The till's side of the store server (issue 16): a background task that pushes the outbox,
pulls the shared catalog, operators, IBPT table and the store's settings, takes its série,
and performs the cancels other tills queued to it. No Qt; the CLI (``posapp store ...``) and
the GUI's status bar share it.

Nothing here is on the sale path. Every server call runs on one worker thread per till
(one psycopg connection, used by one thread: :mod:`.link`); the journal is read on its own
connection (:class:`posapp.journal.changes.ChangeFeed`). When the server is away the till
sells as always and this task retries with a growing delay; what it could not send is sent
when the server is back, because the server's own cursors say where to resume.

One job per module: :mod:`.loop` (:class:`StoreSync`, the sync loop), :mod:`.back_office`
(the manager's queries and publishing, ``StoreSync.office``), :mod:`.remote_cancels`
(cancels across tills, ``StoreSync.cancels``), :mod:`.link` (the worker thread and the
connection they share), :mod:`.reports` (what the sync reports) and :mod:`.till_config`
(the série and the store's settings a till issues with).

Imported only when ``[store_server]`` is configured. Even then a till's start reads only
:mod:`.till_config` (``app.build_service`` -> :func:`effective_config`): the names of the
other modules load on first use, so that the start does not pay psycopg's import (about as
much CPU as pydantic's); ``tests/services/test_store_sync_imports.py`` keeps it so.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from posapp.services.store_sync.till_config import SERIE_KEY, assigned_serie, effective_config

if TYPE_CHECKING:
    from posapp.services.store_sync.back_office import BackOffice
    from posapp.services.store_sync.loop import StoreSync
    from posapp.services.store_sync.remote_cancels import CancelHandled, RemoteCancels
    from posapp.services.store_sync.reports import SyncReport, SyncState

# Each name and the module that defines it (they import posapp.storeserver, hence psycopg).
_LAZY = {
    "BackOffice": "back_office",
    "StoreSync": "loop",
    "CancelHandled": "remote_cancels",
    "RemoteCancels": "remote_cancels",
    "SyncReport": "reports",
    "SyncState": "reports",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found once; later lookups do not come here
    return value


__all__ = [
    "SERIE_KEY",
    "BackOffice",
    "CancelHandled",
    "RemoteCancels",
    "StoreSync",
    "SyncReport",
    "SyncState",
    "assigned_serie",
    "effective_config",
]
