"""The store's product catalog: products in ``store.sqlite3``, CSV import, name search and
scale labels. No Qt here; the UI reaches it through :class:`~posapp.catalog.storedb.StoreDB`'s
executor so a lookup never blocks the window."""
