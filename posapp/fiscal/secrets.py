"""Provider tokens: where they come from, and how they are kept out of logs and the journal.

A token is read from the environment variable the configuration names (``token_env``) or,
when that is unset, from the OS keyring (``keyring.get_password(keyring_service, name)``).
The configuration file itself never holds one.

The raw value travels inside a :class:`SecretToken`, whose ``repr``/``str`` are masked, so a
token that slips into an f-string, a log record or an exception message shows as
``abcd…wxyz``-style noise instead of the secret. Only the HTTP auth code calls
:meth:`SecretToken.reveal`. The journal stores prepared payloads and raw responses, so the
adapters never put a token in either (see :func:`redact` for the belt-and-braces pass).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping

from posapp.config import ProviderConfig, mask_token
from posapp.fiscal.errors import BackendMisconfigured

logger = logging.getLogger(__name__)

_PROVIDER_LABELS = {"focusnfe": "Focus NFe", "integranotas": "Integra Notas", "fastnotas": "Fast Notas"}


class TokenNotFound(BackendMisconfigured):
    """Neither the environment variable nor the OS keyring holds the provider's token."""


def provider_label(name: str) -> str:
    """The name a person knows the provider by (``Focus NFe``)."""
    return _PROVIDER_LABELS.get(name, name)


class SecretToken:
    """A token whose textual forms are masked; ``reveal()`` is the only way to the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value or value != value.strip():
            raise ValueError("a token must be non-empty and carry no surrounding whitespace")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"SecretToken({mask_token(self._value)})"

    def __str__(self) -> str:
        return mask_token(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretToken) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("SecretToken", self._value))


def _keyring_get(service: str, username: str) -> str | None:
    """The OS keyring lookup; any keyring failure means "not there", with a log line."""
    import keyring

    try:
        value = keyring.get_password(service, username)
    except Exception as exc:  # any backend failure (no D-Bus, locked store...) means "not there"
        logger.warning("keyring lookup for %s/%s failed: %s", service, username, type(exc).__name__)
        return None
    return value if isinstance(value, str) else None


def resolve_token(
    provider: ProviderConfig,
    *,
    environ: Mapping[str, str] | None = None,
    keyring_get: Callable[[str, str], str | None] | None = None,
) -> SecretToken:
    """The provider's token from ``provider.token_env``, else the OS keyring.

    Blocking (a keyring backend may talk to D-Bus or the Windows credential store): call it
    from the composition root or an executor, not from a running event loop's thread.
    Raises :class:`TokenNotFound` with a Portuguese message naming where to put the token.
    """
    env = os.environ if environ is None else environ
    if provider.token_env:
        value = env.get(provider.token_env, "").strip()
        if value:
            return SecretToken(value)
    getter = _keyring_get if keyring_get is None else keyring_get
    stored = getter(provider.keyring_service, provider.name)
    if stored and stored.strip():
        return SecretToken(stored.strip())
    label = provider_label(provider.name)
    where = (
        f"na variável de ambiente {provider.token_env} ou " if provider.token_env else ""
    ) + f"no cofre de senhas do sistema (serviço '{provider.keyring_service}', usuário '{provider.name}')"
    raise TokenNotFound(
        f"no token for provider {provider.name}: env {provider.token_env!r} unset, keyring empty",
        user_message=f"Token do {label} não encontrado: informe-o {where}.",
    )


def token_or_problem(provider: ProviderConfig, explicit: str | None = None) -> tuple[SecretToken | None, str]:
    """The token an adapter uses, or why there is none (Portuguese, for ``Capabilities.reason``).

    ``explicit`` (tests, the demo) wins; otherwise :func:`resolve_token`. A missing token is
    not an error at construction: the adapter stays configured but reports that it cannot
    issue, so the router passes it over and the status bar can say why.
    """
    if explicit:
        return SecretToken(explicit), ""
    try:
        return resolve_token(provider), ""
    except TokenNotFound as exc:
        return None, exc.user_message


def redact(text: str, token: SecretToken | None) -> str:
    """``text`` with every occurrence of the token replaced by its mask.

    Providers should never echo a token, but a response body or an error message that did
    would otherwise reach the journal verbatim.
    """
    if token is None:
        return text
    raw = token.reveal()
    return text.replace(raw, mask_token(raw)) if raw in text else text
