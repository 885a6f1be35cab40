"""F11 with ``[store_server]``: the store's part of the edited settings (posapp/store_settings.py:
``[store]``, the cancel window, the discount limits...) is published to the store server
before the till applies it, and pulled back as this till's copy, so the service rebuilt next
uses it. When the server cannot take it, the store's part stays as it was (every till keeps
the store's settings in force) and only the till's own part is applied; the manager is told.
No Qt here: the settings flow of the main window calls it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from posapp.config import Config
from posapp.errors import PosappError, user_text
from posapp.store_settings import settings_from_config
from posapp.ui.terminal_settings import TerminalSettings

if TYPE_CHECKING:
    from posapp.services.store_sync import StoreSync


async def publish_store_part(
    sync: StoreSync | None,
    before: tuple[Config, TerminalSettings],
    after: tuple[Config, TerminalSettings],
) -> tuple[Config, TerminalSettings, str | None]:
    """The settings to apply and what to tell the manager (None: nothing about the store)."""
    config, terminal = after
    old = settings_from_config(before[0], before[1].model_dump(mode="json"))
    new = settings_from_config(config, terminal.model_dump(mode="json"))
    if config.store_server is None or new.document == old.document:
        return config, terminal, None
    try:
        if sync is None:
            raise PosappError(
                "no store sync running", user_message="A sincronização com a loja não está ativa."
            )
        changed = await sync.office.publish_settings(new)
        await sync.pull_settings()
    except PosappError as exc:
        kept = old.overlay(config)
        kept_terminal = terminal.model_copy(
            update={
                "discount_limit_cashier": before[1].discount_limit_cashier,
                "discount_limit_manager": before[1].discount_limit_manager,
            }
        )
        return (
            kept,
            kept_terminal,
            "As configurações da loja (dados da loja, regime, prazos, descontos) NÃO mudaram: "
            f"{user_text(exc)} As deste caixa foram salvas. Publique de novo quando o servidor voltar.",
        )
    return config, terminal, ("Configurações da loja publicadas para todos os caixas." if changed else None)
