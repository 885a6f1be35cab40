"""Connecting to the store server with psycopg 3 (synchronous: every call runs on a worker
thread, never on the GUI's or the event loop's).

TLS is libpq's: the URL's ``sslmode`` decides (``require``, ``verify-full`` with
``sslrootcert``); a server without TLS is refused when the URL asks for it, never silently
downgraded.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg

from posapp.config import StoreServerConfig
from posapp.storeserver.errors import StoreServerMisconfigured, StoreServerUnavailable
from posapp.storeserver.secret import server_password

ServerConnection = psycopg.Connection  # what the services hold, without importing the driver
DriverError = psycopg.Error  # any failure of the driver or the server
TCP_USER_TIMEOUT_S = 30  # unacknowledged data for this long: the connection is dead


def where(url: str) -> str:
    """host:port/db for messages (the URL holds no password)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"


def connect(
    config: StoreServerConfig, *, till_id: str | None = None, password: str | None = None
) -> psycopg.Connection:
    """A new connection in autocommit mode (transactions are explicit: ``with conn.transaction()``)."""
    secret = password if password is not None else server_password(config)
    try:
        return psycopg.connect(
            config.url,
            password=secret,
            connect_timeout=max(1, round(config.connect_timeout_s)),
            application_name=f"posapp {till_id}" if till_id else "posapp",
            autocommit=True,
            # A cable pulled mid-push sends no reset: notice a dead peer in seconds, not hours.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            tcp_user_timeout=int(TCP_USER_TIMEOUT_S * 1000),
        )
    except psycopg.Error as exc:
        raise connection_failure(config.url, exc) from exc


def connection_failure(url: str, exc: BaseException) -> StoreServerUnavailable | StoreServerMisconfigured:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    place = where(url)
    if "ssl" in lowered and ("does not support" in lowered or "server does not" in lowered):
        return StoreServerMisconfigured(
            f"{place}: TLS asked by the URL, not offered by the server: {text}",
            user_message=(
                f"O servidor da loja ({place}) não oferece TLS, e a URL exige (sslmode). Ative o SSL no "
                "PostgreSQL (ssl = on) — não tire o sslmode da URL numa rede da loja."
            ),
        )
    if "password authentication failed" in lowered or "no password" in lowered:
        return StoreServerMisconfigured(
            f"{place}: login refused: {text}",
            user_message=(
                f"O servidor da loja ({place}) recusou a senha. Confira a senha na variável de ambiente "
                "(POSAPP_STORE_SERVER_PASSWORD) ou no cofre de senhas e o usuário na URL."
            ),
        )
    return StoreServerUnavailable(
        f"{place}: {text}",
        user_message=(
            f"O servidor da loja ({place}) não respondeu: {text}. O caixa continua vendendo; as vendas "
            "sobem quando ele voltar."
        ),
    )
