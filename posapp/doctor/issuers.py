"""Checks of the issuers: Emites-Client on its TCP port, the online providers over HTTP, and
the local clock measured against a provider's ``Date`` header."""

from __future__ import annotations

import email.utils
import os
import socket
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import httpx

from posapp.config import EmitesConfig, ProviderConfig
from posapp.doctor.result import CheckResult, fail, ok, warn

CLOCK_WARN_S = 120.0
CLOCK_FAIL_S = 600.0
HTTP_TIMEOUT_CAP_S = 10.0  # a provider's timeout_s is for issuing; the doctor needs less patience


# --- Emites-Client ---------------------------------------------------------------------------


def check_some_issuer(emites: EmitesConfig, providers: Iterable[ProviderConfig]) -> CheckResult | None:
    """FAIL when nothing at all can issue: Emites disabled and no provider enabled. Every
    sale would then wait in the queue forever, yet each check alone looks fine."""
    if emites.enabled or any(provider.enabled for provider in providers):
        return None
    return fail(
        "Emissor de NFC-e",
        "Nenhum emissor ativo: o Emites-Client está desativado e nenhum provedor online está ativado; "
        "nenhuma venda seria emitida.",
        "Ative [emites] (enabled = true) ou um provedor em [[providers]] na configuração.",
    )


def check_emites(emites: EmitesConfig) -> CheckResult:
    """A TCP connect with the configured timeout; no request is sent (nothing gets issued)."""
    title = "Emites-Client"
    where = f"{emites.host}:{emites.port}"
    if not emites.enabled:
        return ok(title, "Desativado na configuração; as vendas vão direto aos provedores online.")
    started = time.perf_counter()
    try:
        with socket.create_connection((emites.host, emites.port), timeout=emites.connect_timeout_s):
            elapsed_ms = (time.perf_counter() - started) * 1000
    except TimeoutError:
        return fail(
            title,
            f"{where} não respondeu em {emites.connect_timeout_s:g} s.",
            "Verifique se o serviço Emites-Client está rodando e se o firewall libera a porta.",
        )
    except OSError as exc:
        return fail(
            title,
            f"Sem conexão com {where} ({exc.strerror or exc}).",
            "Inicie o serviço Emites-Client (ou confira host/porta em [emites] na configuração). "
            "Enquanto isso as vendas vão para o provedor online ou ficam na fila.",
        )
    return ok(title, f"Aceitando conexões em {where} ({elapsed_ms:.0f} ms).")


# --- providers and the clock -----------------------------------------------------------------


def _label(name: str) -> str:
    try:
        from posapp.fiscal.secrets import provider_label
    except ImportError:  # pragma: no cover - the fiscal package ships with the app
        return name
    return provider_label(name)


def _describe_skew(skew_s: float) -> str:
    direction = "adiantado" if skew_s > 0 else "atrasado"
    seconds = abs(skew_s)
    amount = f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"
    return f"{amount} {direction}"


def check_clock_skew(skew_s: float, source: str) -> CheckResult:
    """Grade ``local - server`` seconds: warn past 2 min, fail past 10 min."""
    title = "Relógio"
    if abs(skew_s) > CLOCK_FAIL_S:
        return fail(
            title,
            f"O relógio deste computador está {_describe_skew(skew_s)} em relação a {source}.",
            "Acerte data, hora e fuso horário (ative a sincronização automática). Com o relógio errado "
            "a SEFAZ rejeita notas e o prazo de cancelamento de 30 minutos é calculado errado.",
        )
    if abs(skew_s) > CLOCK_WARN_S:
        return warn(
            title,
            f"O relógio deste computador está {_describe_skew(skew_s)} em relação a {source}.",
            "Ative a sincronização automática de horário; o prazo de cancelamento depende dele.",
        )
    return ok(title, f"Diferença de {_describe_skew(skew_s)} em relação a {source}.")


# Each provider's own health probe (what its adapter's ``probe()`` asks), and how its token
# travels: "basic" as the HTTP Basic user with an empty password, "header" as the bare
# ``Authorization`` value. A probe sent *with* the token is what tells a refused token (401/403)
# from a working one; nothing is issued by any of them.
PROBES: dict[str, tuple[str, str]] = {
    "focusnfe": ("v2/nfce/posappprobe", "basic"),  # a ref nobody issues: 404 means host and token work
    "integranotas": ("nfce/status", "header"),
    "fastnotas": ("document_schemas", "basic"),
}


def _resolve_token(provider: ProviderConfig) -> tuple[str | None, CheckResult]:
    """The token's value (never shown) and the check line saying where it came from."""
    label = _label(provider.name)
    title = f"Token {label}"
    try:
        from posapp.fiscal.secrets import resolve_token
    except ImportError:  # pragma: no cover - the fiscal package ships with the app
        return None, warn(title, "Não verificado (módulo fiscal indisponível).", "Reinstale o posapp.")
    try:
        token = resolve_token(provider).reveal()
    except Exception as exc:  # TokenNotFound, or a keyring backend that blew up
        message = (
            getattr(exc, "user_message", None) or f"Não foi possível ler o token ({type(exc).__name__})."
        )
        return None, fail(title, message, "Sem o token o provedor recusa todas as notas.")
    return token, ok(title, f"Token presente ({_token_source(provider)}).")  # the value is never shown


def _token_source(provider: ProviderConfig) -> str:
    if provider.token_env and os.environ.get(provider.token_env, "").strip():
        return f"variável de ambiente {provider.token_env}"
    return f"cofre de senhas do sistema (serviço '{provider.keyring_service}')"


def _probe(provider: ProviderConfig, client: httpx.Client, token: str | None) -> httpx.Response:
    """``GET`` the provider's probe with its token when there is one, else its base URL."""
    timeout = min(provider.timeout_s, HTTP_TIMEOUT_CAP_S)
    probe = PROBES.get(provider.name)
    if token is None or probe is None:
        return client.get(provider.base_url, timeout=timeout)
    path, style = probe
    url = provider.base_url.rstrip("/") + "/" + path
    if style == "basic":
        return client.get(url, timeout=timeout, auth=httpx.BasicAuth(token, ""))
    return client.get(url, timeout=timeout, headers={"Authorization": token})


def _refused(provider: ProviderConfig, status: int) -> CheckResult:
    label = _label(provider.name)
    return fail(
        f"Token {label}",
        f"{label} recusou o token deste caixa (HTTP {status}): nenhuma nota será emitida por ele.",
        f"Confira o token ({_token_source(provider)}): pode estar errado, vencido, ser de outro "
        "ambiente (homologação/produção) ou a conta pode não estar habilitada para NFC-e. "
        "Corrija-o e rode 'posapp doctor' de novo.",
    )


def _provider_checks(
    provider: ProviderConfig, client: httpx.Client, now: Callable[[], datetime]
) -> list[CheckResult]:
    label = _label(provider.name)
    title = f"Provedor {label}"
    token, token_result = _resolve_token(provider)
    before = now()
    try:
        response = _probe(provider, client, token)
    except httpx.TimeoutException:
        return [
            fail(
                title,
                f"{provider.base_url} não respondeu a tempo.",
                "Verifique a conexão com a internet deste caixa.",
            ),
            token_result,
        ]
    except httpx.HTTPError as exc:
        text = str(exc) or type(exc).__name__
        hint = "Verifique a conexão com a internet, o endereço base_url e o proxy/firewall."
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            hint = "Falha no certificado TLS: confira data e hora deste computador e o proxy da rede."
        return [fail(title, f"Sem conexão com {provider.base_url} ({text}).", hint), token_result]
    after = now()
    status = response.status_code
    if status >= 500:
        reachability = warn(
            title,
            f"{provider.base_url} respondeu com erro (HTTP {status}).",
            "O provedor pode estar instável: as vendas esperam na fila até ele voltar.",
        )
    else:
        reachability = ok(title, f"{provider.base_url} respondeu (HTTP {status}).")
    if token is not None and status in (401, 403) and provider.name in PROBES:
        token_result = _refused(provider, status)
    results = [reachability, *_clock_from(response, label, provider.base_url, before, after), token_result]
    return results


def _clock_from(
    response: httpx.Response, label: str, base_url: str, before: datetime, after: datetime
) -> list[CheckResult]:
    date_header = response.headers.get("date")
    server_time: datetime | None = None
    if date_header:
        try:
            server_time = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            server_time = None
    if server_time is None or server_time.tzinfo is None:
        return [
            warn(
                "Relógio",
                f"{label} não informou a hora (cabeçalho Date); não foi possível medir o relógio.",
                "Confira manualmente a data e a hora deste computador.",
            )
        ]
    midpoint = before + (after - before) / 2
    skew = (midpoint - server_time).total_seconds()
    return [check_clock_skew(skew, f"{label} ({base_url})")]


def check_provider(
    provider: ProviderConfig,
    *,
    client: httpx.Client | None = None,
    now: Callable[[], datetime] | None = None,
) -> list[CheckResult]:
    """Reachability, clock skew from the ``Date`` header, and the token for one provider.

    With a token, the request is the provider's own health probe sent with it (see
    :data:`PROBES`): an answer of 401 or 403 fails the token line, so the doctor never says
    "Tudo pronto para vender" while the provider refuses this till."""
    if not provider.enabled:
        return [ok(f"Provedor {_label(provider.name)}", "Desativado na configuração.")]
    clock = now if now is not None else (lambda: datetime.now(UTC))
    own_client = client is None
    http = client if client is not None else httpx.Client(follow_redirects=False)
    try:
        return _provider_checks(provider, http, clock)
    finally:
        if own_client:
            http.close()
