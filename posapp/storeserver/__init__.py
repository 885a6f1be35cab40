"""The store server: one PostgreSQL shared by a store's tills (docs/architecture.md §2).

Imported only when ``[store_server]`` is configured: a till alone never loads psycopg.
"""
