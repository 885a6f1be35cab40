"""Everything a window needs, built once at start-up: the store (catalog, operators,
audit, cash), the terminal settings, the fiscal service and who is logged in.

The service is built by a factory so the settings dialog can rebuild it after a change
of issuer or printer, and so tests can inject a clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from posapp.catalog.products import Catalog
from posapp.catalog.storedb import StoreDB
from posapp.config import Config
from posapp.domain.audit import Action
from posapp.operators.accounts import Operator, Operators
from posapp.operators.audit import AuditLog
from posapp.operators.cash import CashBook
from posapp.services.pos import PosService
from posapp.services.settings import replace_service
from posapp.ui.config_file import save_config
from posapp.ui.errors import ConfigNotSaved
from posapp.ui.terminal_settings import TerminalSettings, load_terminal_settings, save_terminal_settings

log = logging.getLogger("posapp.ui")

ServiceFactory = Callable[[Config], PosService]


@dataclass
class AppContext:
    config: Config
    data_dir: Path
    store: StoreDB
    catalog: Catalog
    audit: AuditLog
    operators: Operators
    cash: CashBook
    terminal: TerminalSettings
    service: PosService
    service_factory: ServiceFactory
    config_path: Path | None = None
    demo: bool = False
    till_id: str = ""  # this till's identity, part of every reference sent to an issuer
    operator: Operator | None = None
    last_print_error: str | None = None
    last_print_ok: bool | None = None
    _closed: bool = field(default=False, repr=False)

    @classmethod
    def open(
        cls,
        config: Config,
        data_dir: Path,
        *,
        service_factory: ServiceFactory,
        config_path: Path | None = None,
        demo: bool = False,
    ) -> AppContext:
        """Blocking (opens SQLite files): call it through ``asyncio.to_thread`` from the loop."""
        store = StoreDB.in_data_dir(data_dir)
        audit = AuditLog(store)
        ctx = cls(
            config=config,
            data_dir=data_dir,
            store=store,
            catalog=Catalog(store, uf=config.store.uf),  # the UF picks the IBPT rates
            audit=audit,
            operators=Operators(store, audit),
            cash=CashBook(store),
            terminal=load_terminal_settings(store),
            service=service_factory(config),
            service_factory=service_factory,
            config_path=config_path,
            demo=demo,
        )

        def sale_rows(since: datetime | None, limit: int) -> list[tuple[Any, ...]]:
            rows = ctx.service.journal.audit_entries(since=since, limit=limit)
            return [
                (r.audit_id, r.at, r.action, r.operator, r.authorized_by, r.sale_id, r.detail) for r in rows
            ]

        audit.attach_sale_rows(sale_rows)
        ctx.till_id = ctx.service.journal.till_id()  # blocking, like the rest of open()
        return ctx

    @property
    def operator_login(self) -> str | None:
        return self.operator.login if self.operator else None

    async def start(self) -> list[str]:
        """Start-up recovery of the journal (interrupted issues become IN_DOUBT).

        Once per process, at start: never after a settings change, when the old service may
        have just left a sale ISSUING on purpose (it is still being answered)."""
        return await self.service.start()

    async def apply_config(self, config: Config) -> None:
        """Save ``config`` and swap the service for one built with it
        (:func:`posapp.services.settings.replace_service`), then audit the change."""
        path = self.config_path

        def persist(new_config: Config) -> None:
            if path is None:
                return
            try:
                save_config(new_config, path)
            except OSError as exc:
                raise ConfigNotSaved(
                    f"cannot write {path}: {exc}",
                    user_message=(
                        f"Não foi possível gravar as configurações em {path}: "
                        f"{exc.strerror or exc}. Nada foi alterado."
                    ),
                ) from exc

        self.service = await replace_service(self.service, self.service_factory, config, persist)
        self.config = config
        await self.store.run(
            self.audit.record,
            Action.SETTINGS,
            operator=self.operator_login,
            detail="configuração fiscal/impressora",
        )

    async def apply_terminal(self, settings: TerminalSettings) -> None:
        await self.store.run(save_terminal_settings, self.store, settings)
        self.terminal = settings
        await self.store.run(
            self.audit.record, Action.SETTINGS, operator=self.operator_login, detail="terminal"
        )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.service.aclose()
        await asyncio.to_thread(self.store.close)
