"""The composition root: the only place that picks concrete classes and wires them, for the
GUI, the command line and the demo. Nothing in the packages imports it.

Everything is imported inside the functions, so ``posapp --version`` or a ``posapp nfce``
command loads only what it uses (start-up time is measured by ``benchmarks/bench_startup.py``).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from posapp.config import Config
    from posapp.fiscal.port import FiscalBackend
    from posapp.journal.store import Journal
    from posapp.services.authorization import ManagerGate
    from posapp.services.ports import ReceiptPrinter
    from posapp.services.pos import PosService
    from posapp.sim.emites import EmitesSimulator

log = logging.getLogger("posapp.app")


def build_backends(config: Config) -> list[FiscalBackend]:
    """Emites-Client first (when enabled), then the providers in configured order."""
    from posapp.fiscal.emites import EmitesBackend

    backends: list[FiscalBackend] = []
    if config.emites.enabled:
        backends.append(EmitesBackend(config))
    for provider in config.providers:
        if not provider.enabled:
            continue
        if provider.name == "focusnfe":
            from posapp.fiscal.focusnfe import FocusNfeBackend

            backends.append(FocusNfeBackend(provider, config))
        elif provider.name == "integranotas":
            from posapp.fiscal.integranotas import IntegraNotasBackend

            backends.append(IntegraNotasBackend(provider, config))
        elif provider.name == "fastnotas":
            from posapp.fiscal.fastnotas import FastNotasBackend

            backends.append(FastNotasBackend(provider, config))
    return backends


def with_overrides(
    config: Config, *, emites_address: tuple[str, int] | None = None, printer_uri: str | None = None
) -> Config:
    """Apply command-line overrides (``--emites HOST:PORT``, ``--printer URI``)."""
    from posapp.config import EmitesConfig

    if emites_address is not None:
        host, port = emites_address
        emites = EmitesConfig.model_validate(
            {**config.emites.model_dump(), "host": host, "port": port, "enabled": True}
        )
        config = config.model_copy(update={"emites": emites})
    if printer_uri is not None:
        printer = config.printer.model_copy(update={"uri": printer_uri})
        config = config.model_copy(update={"printer": printer})
    return config


def build_printer(config: Config, journal: Journal) -> ReceiptPrinter | None:
    if config.printer.uri == "none":
        return None
    from posapp.services.receipt_printer import SpoolReceiptPrinter

    return SpoolReceiptPrinter(config.printer, journal)


def build_service(
    config: Config,
    data_dir: Path,
    *,
    emites_address: tuple[str, int] | None = None,
    printer_uri: str | None = None,
    with_printer: bool = True,
) -> PosService:
    from posapp.fiscal.router import FailoverRouter
    from posapp.journal.store import Journal
    from posapp.services.pos import PosService

    config = with_overrides(config, emites_address=emites_address, printer_uri=printer_uri)
    journal = Journal.in_dir(data_dir)
    router = FailoverRouter(build_backends(config))
    printer = build_printer(config, journal) if with_printer else None
    return PosService(config=config, journal=journal, router=router, printer=printer)


def service_factory(data_dir: Path) -> Callable[[Config], PosService]:
    """How the GUI builds (and, after a settings change, rebuilds) its service."""

    def build(config: Config) -> PosService:
        return build_service(config, data_dir)

    return build


def open_manager_gate(data_dir: Path) -> tuple[ManagerGate, Callable[[], None]]:
    """The store's operators behind a :class:`ManagerGate`, and how to close the store.
    Blocking (SQLite): call off the event loop."""
    from posapp.catalog.storedb import StoreDB
    from posapp.operators.accounts import Operators
    from posapp.operators.audit import AuditLog
    from posapp.services.authorization import ManagerGate

    store = StoreDB.in_data_dir(data_dir)
    return ManagerGate(Operators(store, AuditLog(store))), store.close


# -- the GUI and the demo -----------------------------------------------------------------


def run_gui(config: Config, data_dir: Path, *, config_path: Path | None = None) -> int:
    """The ``posapp`` command: the GUI with the user's configuration and data folder."""
    from posapp.ui.main import default_config_path, gui_main, run_loop

    path = config_path if config_path is not None else default_config_path()
    factory = service_factory(data_dir)
    return run_loop(lambda: gui_main(config, data_dir, config_path=path, service_factory=factory))


async def start_simulator() -> tuple[EmitesSimulator, int]:
    """The built-in Emites-Client simulator on 127.0.0.1 (the demo's issuer)."""
    from posapp.sim.emites import EmitesSimulator

    simulator = EmitesSimulator()
    port = int(await simulator.start())
    return simulator, port


async def demo_main(data_dir: Path) -> int:
    import asyncio

    from posapp.ui.demo import demo_config, prepare_demo_data
    from posapp.ui.main import gui_main

    simulator, port = await start_simulator()
    try:
        await asyncio.to_thread(prepare_demo_data, data_dir)
        return await gui_main(
            demo_config(port),
            data_dir,
            demo=True,
            config_path=data_dir / "posapp.toml",
            service_factory=service_factory(data_dir),
        )
    finally:
        await simulator.stop()


def run_demo(args: argparse.Namespace) -> int:
    """The ``posapp demo`` command: a throw-away data folder, removed on exit."""
    import shutil
    import tempfile

    from posapp.ui.main import run_loop

    keep = bool(getattr(args, "keep_data", False))
    data_dir = Path(tempfile.mkdtemp(prefix="posapp-demo-"))
    log.info("demo data folder: %s", data_dir)
    try:
        return run_loop(lambda: demo_main(data_dir))
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
