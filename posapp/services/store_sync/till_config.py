"""The configuration a till with ``[store_server]`` issues with: its file overlaid with the
store's settings it last pulled, and the série the server gave it."""

from __future__ import annotations

from pathlib import Path

from posapp.catalog.storedb import StoreDB
from posapp.config import Config

SERIE_KEY = "store_server.serie"


def assigned_serie(data_dir: Path) -> int | None:
    """The série the server gave this till (kept in store.sqlite3), or None."""
    store = StoreDB.in_data_dir(data_dir)
    try:
        value = store.get_setting(SERIE_KEY)
    finally:
        store.close()
    return int(value) if value is not None else None


def effective_config(config: Config, data_dir: Path) -> Config:
    """With ``[store_server]``, the till issues with the store's settings it last pulled
    (posapp/store_settings.py: its file overlaid with them) and the série the server gave it
    (where we number); without one, or before the first contact, with its file as it is."""
    if config.store_server is None:
        return config
    from posapp.store_settings import effective_in

    config = effective_in(config, data_dir)
    serie = assigned_serie(data_dir)
    if serie is None or serie == config.nfce.serie:
        return config
    return config.model_copy(update={"nfce": config.nfce.model_copy(update={"serie": serie})})
