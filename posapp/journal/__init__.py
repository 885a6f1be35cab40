"""The durable journal: SQLite (WAL, synchronous=FULL) holding sales, the exact requests,
the answers, the documents and an append-only event log. See :mod:`.store`."""
