"""Errors of the catalog and of the ``store.sqlite3`` file."""

from __future__ import annotations

from posapp.errors import PosappError


class CatalogError(PosappError):
    """Base of catalog and store-file errors."""


class StoreUnavailable(CatalogError):
    """``store.sqlite3`` cannot be opened or written (disk full, permissions, corrupt file)."""


class StoreSchemaTooNew(CatalogError):
    """The file was written by a newer posapp; reading it could misread data, so we refuse."""


class ProductNotFound(CatalogError):
    """No product has the scanned or typed code."""

    def __init__(self, code: str) -> None:
        super().__init__(
            f"no product with code or GTIN {code!r}", user_message=f"Produto não encontrado: {code}"
        )
        self.code = code


class CatalogFileError(CatalogError):
    """A CSV file cannot be read at all (missing, wrong header); nothing was imported."""
