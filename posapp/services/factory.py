"""Builds a :class:`PosService` from the configuration: the only place in the services
package that names concrete adapters (the CLI and the GUI both come through here)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from posapp.config import Config, EmitesConfig, ProviderConfig
from posapp.fiscal.port import FiscalBackend
from posapp.journal.store import Journal
from posapp.services.ports import ReceiptPrinter
from posapp.services.pos import PosService

log = logging.getLogger("posapp.services")


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


def masked_token_from_env(provider: ProviderConfig) -> str | None:
    """The provider's token as the GUI may show it (masked), when it comes from the
    environment; ``None`` otherwise. The OS keyring is not read: it may block (D-Bus) and
    this is called on the GUI thread."""
    from posapp.fiscal.secrets import mask_token

    value = os.environ.get(provider.token_env) if provider.token_env else None
    return mask_token(value) if value else None


def with_overrides(
    config: Config, *, emites_address: tuple[str, int] | None = None, printer_uri: str | None = None
) -> Config:
    """Apply command-line overrides (``--emites HOST:PORT``, ``--printer URI``)."""
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

    config = with_overrides(config, emites_address=emites_address, printer_uri=printer_uri)
    journal = Journal.in_dir(data_dir)
    router = FailoverRouter(build_backends(config))
    printer = build_printer(config, journal) if with_printer else None
    return PosService(config=config, journal=journal, router=router, printer=printer)
