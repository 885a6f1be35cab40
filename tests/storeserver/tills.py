"""Tills for the store-server tests: real data folders (journal, store file), real
services against the Emites-Client simulator, one PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from posapp.app import build_service
from posapp.catalog.storedb import StoreDB
from posapp.config import Config
from posapp.journal.store import Journal
from posapp.operators.audit import AuditLog
from posapp.operators.cash import CashBook, CashKind
from posapp.services.pos import PosService
from posapp.services.store_sync import StoreSync
from tests.support.sales import make_sale


def till_config(url: str | None, emites_port: int | None = None, **server: Any) -> Config:
    data: dict[str, Any] = {
        "emites": {"port": emites_port or 9, "connect_timeout_s": 1, "response_timeout_s": 5},
        "printer": {"uri": "none"},
    }
    if emites_port is None:
        data["emites"]["enabled"] = False
    if url is not None:
        data["store_server"] = {"url": url, "connect_timeout_s": 2, "sync_interval_s": 0.2, **server}
    return Config.model_validate(data)


@dataclass
class Till:
    data_dir: Path
    config: Config

    def service(self) -> PosService:
        return build_service(self.config, self.data_dir, with_printer=False)

    def sync(self, service: PosService | None = None) -> StoreSync:
        return StoreSync(self.config, self.data_dir, service=service)

    def queue_sales(self, first: int, count: int) -> list[str]:
        """Sales stored offline (QUEUED), straight through the journal: fast, and real rows."""
        journal = Journal.in_dir(self.data_dir)
        try:
            journal.till_id()
            ids = []
            for index in range(first, first + count):
                sale = make_sale(index)
                journal.queue_new_sale(sale, datetime.now(UTC), "no issuer")
                ids.append(sale.sale_id)
            return ids
        finally:
            journal.close()

    def cash_and_audit(self, n: int) -> None:
        store = StoreDB.in_data_dir(self.data_dir)
        try:
            AuditLog(store)
            book = CashBook(store)
            for i in range(n):
                book.record(
                    CashKind.SUPRIMENTO, Decimal(f"{10 + i}.00"), operator="ana", authorized_by="gerente"
                )
        finally:
            store.close()


def make_till(root: Path, name: str, url: str | None, emites_port: int | None = None, **server: Any) -> Till:
    data_dir = root / name
    data_dir.mkdir(parents=True)
    return Till(data_dir, till_config(url, emites_port, **server))
