"""``python -m tests.storeserver.push_worker URL DATA_DIR BATCH``: push a till's outbox in
batches (the kill test sets POSAPP_CRASH_AT=mid_push:N to die inside the N-th batch)."""

from __future__ import annotations

import sys
from pathlib import Path

from posapp.config import StoreServerConfig
from posapp.journal.changes import ChangeFeed
from posapp.storeserver.connection import connect
from posapp.storeserver.outbox import push_all
from posapp.storeserver.schema import migrate


def main(url: str, data_dir: str, batch: str) -> int:
    conn = connect(StoreServerConfig(url=url))
    migrate(conn)
    feed = ChangeFeed(Path(data_dir) / "journal.sqlite3")
    till_id = feed.till_id()
    assert till_id is not None
    push_all(conn, feed, None, till_id, batch=int(batch))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
