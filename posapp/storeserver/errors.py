"""Errors of the store server (PostgreSQL). A till keeps selling through every one of them:
they stop replication and the shared data's refresh, never a sale."""

from __future__ import annotations

from posapp.errors import PosappError


class StoreServerError(PosappError):
    """Base of the store-server errors."""


class StoreServerUnavailable(StoreServerError):
    """The server cannot be reached, refused the login, or went away mid-transaction."""


class StoreServerMisconfigured(StoreServerError):
    """``[store_server]`` cannot work as written (no password, TLS the server lacks...)."""


class ServerSchemaTooNew(StoreServerError):
    """The server was migrated by a newer posapp; this till must be updated first."""


class UnknownRemoteSale(StoreServerError):
    """The server holds no sale of that till with that id or chave."""
