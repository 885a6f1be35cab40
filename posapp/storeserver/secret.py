"""The store server's password: from the environment variable ``password_env`` names, else
the OS keyring (``keyring_service``, user ``store_server``); never the configuration file."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping

from posapp.config import StoreServerConfig
from posapp.storeserver.errors import StoreServerMisconfigured

log = logging.getLogger(__name__)

KEYRING_USER = "store_server"


def _keyring_get(service: str, username: str) -> str | None:
    import keyring

    try:
        value = keyring.get_password(service, username)
    except Exception as exc:  # any backend failure (no D-Bus, locked store) means "not there"
        log.warning("keyring lookup for %s/%s failed: %s", service, username, type(exc).__name__)
        return None
    return value if isinstance(value, str) else None


def server_password(
    config: StoreServerConfig,
    *,
    environ: Mapping[str, str] | None = None,
    keyring_get: Callable[[str, str], str | None] | None = None,
) -> str:
    env = os.environ if environ is None else environ
    value = env.get(config.password_env)
    if not value:
        value = (keyring_get or _keyring_get)(config.keyring_service, KEYRING_USER)
    if not value:
        raise StoreServerMisconfigured(
            f"no store-server password in ${config.password_env} nor in the keyring",
            user_message=(
                f"A senha do servidor da loja não foi encontrada: defina a variável de ambiente "
                f"{config.password_env} ou guarde-a no cofre de senhas do sistema (serviço "
                f"'{config.keyring_service}', usuário '{KEYRING_USER}')."
            ),
        )
    return value
