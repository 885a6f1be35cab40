"""``posapp demo`` (wired by :func:`posapp.app.run_demo`): everything needed to ring up,
print and cancel a sale in the first minute, with no configuration — the built-in
Emites-Client simulator on 127.0.0.1 (same loop), the on-screen printer, the sample catalog
(real-looking products, with accents) and two operators, in a throw-away data folder that is removed on exit.

Operators: manager ``gerente`` PIN 1234, cashier ``caixa`` PIN 0000 (the login screen
shows them in demo mode).

**Training for an outage.** In demo mode the checkout's header has a "MODO TREINO · Simular falha" button
(Ctrl+Shift+D) that switches the simulated issuer to one of :data:`DEMO_SCENARIOS` — down,
slow, not answering, rejecting — or back to normal; ``posapp demo --scenario NAME`` starts
in one. The UI only knows the :class:`DemoControls` protocol (the ui never imports the
simulator): :func:`posapp.app.demo_main` passes the object that turns the simulator's knobs.
This module stays Qt-free.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from posapp.catalog.csv_import import ImportReport, import_csv
from posapp.catalog.products import Catalog
from posapp.catalog.storedb import StoreDB
from posapp.config import Config, EmitesConfig, PrinterConfig
from posapp.operators.accounts import Operators, Role
from posapp.operators.audit import AuditLog

log = logging.getLogger("posapp.ui")

DEMO_OPERATORS = (
    ("gerente", "Gerente Demonstração", Role.MANAGER, "1234"),
    ("caixa", "Caixa Um", Role.CASHIER, "0000"),
)


#: The demo's issuer scenarios: name (``--scenario``) -> what the trainer reads.
DEMO_SCENARIOS: dict[str, str] = {
    "normal": "Normal: o emissor responde na hora",
    "down": "Fora do ar: o emissor recusa conexões (as vendas vão para a fila)",
    "slow": "Lento: o emissor leva 8 s para responder",
    "not-answering": "Não responde: recebe a venda e não responde (venda em dúvida após 20 s)",
    "rejecting": "Rejeitando: a próxima venda é rejeitada pela SEFAZ",
}


class DemoControls(Protocol):
    """What the demo's UI may do to the simulated issuer."""

    @property
    def scenario(self) -> str: ...

    async def set_scenario(self, name: str) -> None:
        """Switch to ``name`` (a key of :data:`DEMO_SCENARIOS`); ValueError for another."""
        ...


def demo_config(emites_port: int, *, base: Config | None = None) -> Config:
    """The demo configuration: the simulator on loopback and the on-screen printer."""
    config = base or Config()
    return config.model_copy(
        update={
            "emites": EmitesConfig(
                host="127.0.0.1", port=emites_port, connect_timeout_s=2, response_timeout_s=20
            ),
            "printer": PrinterConfig(uri="preview", paper_mm=80),
            "providers": (),
        }
    )


def prepare_demo_data(data_dir: Path, *, catalog_csv: Path | None = None) -> ImportReport | None:
    """Blocking: import the sample catalog and create the demo operators (once)."""
    from posapp.resources import resource_path

    store = StoreDB.in_data_dir(data_dir)
    try:
        catalog = Catalog(store)
        report = None
        if catalog.count() == 0:
            report = import_csv(catalog, catalog_csv or resource_path("catalog_demo.csv"))
        operators = Operators(store, AuditLog(store))
        for login, name, role, pin in DEMO_OPERATORS:
            if operators.get(login) is None:
                operators.create(login, name, role, pin, created_by="demo")
        return report
    finally:
        store.close()
