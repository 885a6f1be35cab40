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
    if config.store_server is not None:  # the série the store server gave this till
        from posapp.services.store_sync import effective_config

        config = effective_config(config, data_dir)
    # Only a till printing raster reprints from the issuer's PDF; native prints from the XML.
    journal = Journal.in_dir(data_dir, keep_danfe_pdf=config.printer.mode == "raster")
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


NO_DISPLAY_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")


def display_problem(env: dict[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why the GUI cannot start here, in Portuguese (``None``: it can). Checked before the
    QApplication exists: without a display Qt aborts with a message about the "xcb" plugin
    that sends a person looking for the wrong problem."""
    import os
    import sys

    env = dict(os.environ) if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip().lower()
    if qpa in NO_DISPLAY_PLATFORMS:
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "Nenhuma tela gráfica foi encontrada (DISPLAY e WAYLAND_DISPLAY estão vazias), e o "
        "posapp precisa de uma. Rode-o na área de trabalho do caixa; por SSH, use 'ssh -X'; "
        'num servidor sem monitor, use uma tela virtual: \'xvfb-run -s "-screen 0 1024x768x24" '
        "posapp demo'. Os comandos 'posapp nfce', 'posapp print' e 'posapp doctor' funcionam "
        "sem tela."
    )


def _refuse_without_display() -> int | None:
    """Print the reason and return the exit code, or ``None`` when a display is there."""
    import sys

    problem = display_problem()
    if problem is None:
        return None
    from posapp.domain.lifecycle import ExitCode

    log.error("no graphical display: %s", problem)
    print(problem, file=sys.stderr)
    return int(ExitCode.FAILED)


def run_gui(config: Config, data_dir: Path, *, config_path: Path | None = None) -> int:
    """The ``posapp`` command: the GUI with the user's configuration and data folder."""
    refused = _refuse_without_display()
    if refused is not None:
        return refused
    from posapp.ui.main import default_config_path, gui_main, run_loop

    path = config_path if config_path is not None else default_config_path()
    if config.store_server is not None:  # the GUI shows and edits the store's settings in force
        from posapp.store_settings import effective_in

        config = effective_in(config, data_dir)
    factory = service_factory(data_dir)
    return run_loop(lambda: gui_main(config, data_dir, config_path=path, service_factory=factory))


async def start_simulator() -> tuple[EmitesSimulator, int]:
    """The built-in Emites-Client simulator on 127.0.0.1 (the demo's issuer)."""
    from posapp.sim.emites import EmitesSimulator

    simulator = EmitesSimulator()
    port = int(await simulator.start())
    return simulator, port


SLOW_DELAY_S = 8.0  # "slow": answered, well inside the demo's 20 s response timeout
DEMO_REJECTION = "Rejeição 778: Informado NCM inexistente"


class SimulatorScenarios:
    """The demo's :class:`posapp.ui.demo.DemoControls`: turns the simulator's knobs.

    ``down`` stops the listener (connections are refused: the sale is not sent, it is
    queued); ``slow`` answers after :data:`SLOW_DELAY_S`; ``not-answering`` takes the request
    and never answers (the sale ends in doubt at the response timeout); ``rejecting`` has the
    next sale rejected; ``normal`` puts everything back (listening again on the same port).
    """

    def __init__(self, simulator: EmitesSimulator, port: int) -> None:
        self.simulator = simulator
        self.port = port
        self._scenario = "normal"
        self._down = False

    @property
    def scenario(self) -> str:
        return self._scenario

    async def set_scenario(self, name: str) -> None:
        from posapp.ui.demo import DEMO_SCENARIOS

        if name not in DEMO_SCENARIOS:
            raise ValueError(f"unknown demo scenario {name!r}: one of {', '.join(DEMO_SCENARIOS)}")
        simulator = self.simulator
        simulator.faults.reset()
        if name == "down":
            if not self._down:
                await simulator.stop()
                self._down = True
        elif self._down:
            await simulator.start("127.0.0.1", self.port)
            self._down = False
        if name == "slow":
            simulator.faults.delay_s = SLOW_DELAY_S
        elif name == "not-answering":
            simulator.faults.hang = True
        elif name == "rejecting":
            simulator.faults.reject_next = DEMO_REJECTION
        self._scenario = name

    async def aclose(self) -> None:
        if not self._down:
            await self.simulator.stop()


async def demo_main(data_dir: Path, *, scenario: str = "normal") -> int:
    import asyncio

    from posapp.ui.demo import demo_config, prepare_demo_data
    from posapp.ui.main import gui_main
    from posapp.ui.main_window import MainWindow

    simulator, port = await start_simulator()
    controls = SimulatorScenarios(simulator, port)

    async def on_window(window: MainWindow) -> None:
        window.attach_demo(controls)

    try:
        await controls.set_scenario(scenario)
        await asyncio.to_thread(prepare_demo_data, data_dir)
        return await gui_main(
            demo_config(port),
            data_dir,
            demo=True,
            config_path=data_dir / "posapp.toml",
            service_factory=service_factory(data_dir),
            on_window=on_window,
        )
    finally:
        await controls.aclose()


def run_demo(args: argparse.Namespace) -> int:
    """The ``posapp demo`` command: a throw-away data folder, removed on exit."""
    import shutil
    import tempfile

    refused = _refuse_without_display()  # before the throw-away folder exists
    if refused is not None:
        return refused
    from posapp.ui.main import run_loop

    keep = bool(getattr(args, "keep_data", False))
    scenario = str(getattr(args, "scenario", None) or "normal")
    data_dir = Path(tempfile.mkdtemp(prefix="posapp-demo-"))
    log.info("demo data folder: %s", data_dir)
    try:
        return run_loop(lambda: demo_main(data_dir, scenario=scenario))
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
