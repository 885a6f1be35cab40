"""The TOML configuration file (README "Configuration"). Every key is optional and has a working default.

Load with :func:`load_config`; a missing file means "all defaults", a malformed one raises
:class:`ConfigError` naming the key. Secrets are never in this file: a provider names the
environment variable (or OS keyring entry) that holds its token.
"""

from __future__ import annotations

import os
import tomllib
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from posapp.config_errors import config_problems
from posapp.domain.cancel import MAX_CANCEL_WINDOW_MIN
from posapp.domain.taxes import Crt, ItemTax, store_defaults
from posapp.errors import PosappError
from posapp.protocol.emitter import EmitterProfile


class ConfigError(PosappError):
    """The configuration file is unreadable or has a bad value."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Section):
    uf: str = Field(default="DF", pattern=r"^[A-Z]{2}$")
    name: str = "POSAPP DEMONSTRACAO LTDA"
    cnpj: str = "22769530000131"  # the vendor sandbox emitter (homologação)
    ie: str = "0745233600176"
    address: str = "SIA Trecho 3, Lote 1760"
    city: str = "Brasilia"
    codigo_municipio: int = 5300108
    environment: Literal["homologacao", "producao"] = "homologacao"
    # The store's IANA time zone (the GUI, the history's days, the day close and the slips
    # show the store's time, as the DANFE does). Not set: derived from ``uf``.
    timezone: str | None = None
    # The store's tax regime (emit/CRT): 1 Simples Nacional, 2 Simples over the sublimit,
    # 3 normal regime, 4 MEI. It decides CSOSN (1, 4) or CST (2, 3) and what a sale needs.
    crt: Literal[1, 2, 3, 4] = 1

    @property
    def regime(self) -> Crt:
        return Crt(self.crt)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if value in _FALLBACK_OFFSETS:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"fuso horário desconhecido: {value!r} (ex.: America/Sao_Paulo)") from None
        return value

    @property
    def timezone_name(self) -> str:
        """The configured zone, or the UF's (``America/Sao_Paulo`` for an unknown UF)."""
        return self.timezone or UF_TIMEZONES.get(self.uf, DEFAULT_TIMEZONE)

    @property
    def tz(self) -> tzinfo:
        """The store's time zone (:func:`store_timezone`)."""
        return store_timezone(self.timezone_name)


DEFAULT_TIMEZONE = "America/Sao_Paulo"
# The legal time of each UF (Decreto 11.542 etc.); Brazil keeps no daylight saving since 2019.
UF_TIMEZONES: dict[str, str] = {
    **dict.fromkeys(
        (
            "DF",
            "GO",
            "SP",
            "RJ",
            "MG",
            "ES",
            "PR",
            "SC",
            "RS",
            "BA",
            "SE",
            "AL",
            "PE",
            "PB",
            "RN",
            "CE",
            "PI",
            "MA",
            "TO",
        ),
        "America/Sao_Paulo",
    ),
    "AM": "America/Manaus",
    "MT": "America/Cuiaba",
    "MS": "America/Cuiaba",
    "AC": "America/Rio_Branco",
    "RO": "America/Porto_Velho",
    "RR": "America/Boa_Vista",
    "PA": "America/Belem",
    "AP": "America/Belem",
    "FN": "America/Noronha",
}
# Used only where the system has no time zone database (Windows without the tzdata package):
# Brazil's offsets have been fixed since 2019.
_FALLBACK_OFFSETS: dict[str, int] = {
    "America/Sao_Paulo": -3,
    "America/Belem": -3,
    "America/Manaus": -4,
    "America/Cuiaba": -4,
    "America/Porto_Velho": -4,
    "America/Boa_Vista": -4,
    "America/Rio_Branco": -5,
    "America/Noronha": -2,
}


def store_timezone(name: str) -> tzinfo:
    """The zone called ``name``: the system's (or tzdata's) database, else Brazil's fixed
    offset for that name, else the machine's local zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hours = _FALLBACK_OFFSETS.get(name)
        if hours is not None:
            return timezone(timedelta(hours=hours), name)
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local


class EmitesConfig(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=3434, ge=1, le=65535)
    connect_timeout_s: float = Field(default=3, gt=0)
    response_timeout_s: float = Field(default=90, gt=0)
    text_policy: Literal["latin1", "ascii"] = "latin1"


class EmitterDefaults(_Section):
    """Emitter-level values the CREATE_NFCE request needs (README "Configuration")."""

    engine_de_calculo: str = "taxweb"
    natureza_operacao: str = "venda"
    codigo_natureza_operacao: str = Field(default="001", pattern=r"^[0-9]{3}$")
    # Vendor enum: I industrializacao, C comercializacao, U uso e consumo, A ativo imobilizado.
    aplicacao: Literal["I", "C", "U", "A"] = "C"  # a shop resells: comercializacao
    fabricacao: Literal[0, 1] = 1  # 0 propria, 1 terceiros: a shop sells what others made
    indicador_presenca: int = 1  # presencial
    tipo_impressao: int = 4  # DANFE NFC-e
    informacoes_contribuinte: str | None = None


class NfceConfig(_Section):
    # At most 30 (Ajuste SINIEF 07/2018): a state may shorten the window, configuration may
    # not lengthen it (SEFAZ answers 501 after it).
    cancel_window_min: int = Field(default=30, ge=1)
    cancel_safety_margin_s: int = Field(default=60, ge=0, le=600)
    # Series for issuers that let the client number notes (Integra Notas). It must not be a
    # series Emites-Client (or any other issuer of this CNPJ) numbers on its own, or SEFAZ
    # rejects the clash as a duplicate (539); hence not 1.
    serie: int = Field(default=2, ge=1, le=889)
    contingency_limit_h: int = Field(default=24, ge=1, le=168)

    @field_validator("cancel_window_min")
    @classmethod
    def _legal_window(cls, value: int) -> int:
        if value > MAX_CANCEL_WINDOW_MIN:
            raise ValueError(
                f"prazo de cancelamento de {value} minutos: o máximo legal é {MAX_CANCEL_WINDOW_MIN} "
                "(Ajuste SINIEF 07/2018); a configuração pode encurtá-lo (se o estado exigir), "
                "nunca alongá-lo"
            )
        return value


class PrinterConfig(_Section):
    uri: str = "preview"
    paper_mm: Literal[58, 80] = 80
    mode: Literal["native", "raster"] = "native"
    codepage: str = "cp860"
    codepage_table: int | None = Field(default=None, ge=0, le=255)  # ESC t n override for clone firmwares
    native_qr: bool = True  # False: print the QR code as a raster image
    open_drawer_on_cash: bool = True
    cut: bool = True

    @field_validator("codepage")
    @classmethod
    def _known_codepage(cls, value: str) -> str:
        # A page the printer module cannot write would fail every receipt after the sale
        # is authorized; refuse it when the configuration is loaded instead.
        from posapp.printing.codepages import normalise_codepage_name
        from posapp.printing.errors import DocumentError

        try:
            normalise_codepage_name(value)
        except DocumentError as exc:
            raise ValueError(exc.user_message) from None
        return value


class ProviderConfig(_Section):
    name: Literal["focusnfe", "integranotas", "fastnotas"]
    base_url: str
    timeout_s: float = Field(default=60, gt=0)
    token_env: str | None = None
    keyring_service: str = "posapp"
    enabled: bool = True


class BackupConfig(_Section):
    """``[backup]``: where the daily automatic backup goes (a USB disk, a network share) and
    how many days of them are kept. No folder: no automatic backup (``posapp backup`` still
    works, and ``posapp doctor`` warns when the last one is older than two days)."""

    folder: Path | None = None
    keep_days: int = Field(default=30, ge=1, le=3650)


class StoreServerConfig(_Section):
    """``[store_server]``: the store's PostgreSQL (posapp/storeserver). Absent: one till alone,
    nothing changes. The password comes from ``password_env`` or the OS keyring
    (``keyring_service``, user ``store_server``), never from this file; TLS is what the URL's
    ``sslmode`` asks (``?sslmode=verify-full`` in production)."""

    url: str = Field(pattern=r"^postgres(ql)?://")
    password_env: str = "POSAPP_STORE_SERVER_PASSWORD"  # noqa: S105 (a variable name, not a secret)
    keyring_service: str = "posapp"
    connect_timeout_s: float = Field(default=5, gt=0, le=120)
    sync_interval_s: float = Field(default=2, gt=0, le=3600)
    batch_size: int = Field(default=500, ge=1, le=100_000)

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        netloc = value.split("://", 1)[1].split("/", 1)[0]
        userinfo = netloc.rpartition("@")[0]
        if ":" in userinfo or "password=" in value.lower():
            raise ValueError(
                "a senha não pode ficar no arquivo: tire-a da URL e ponha-a na variável de ambiente "
                "de password_env (POSAPP_STORE_SERVER_PASSWORD) ou no cofre de senhas do sistema"
            )
        return value


class Config(_Section):
    store: StoreConfig = StoreConfig()
    emites: EmitesConfig = EmitesConfig()
    emitter: EmitterDefaults = EmitterDefaults()
    nfce: NfceConfig = NfceConfig()
    printer: PrinterConfig = PrinterConfig()
    backup: BackupConfig = BackupConfig()
    providers: tuple[ProviderConfig, ...] = ()
    store_server: StoreServerConfig | None = None
    # ``[taxes]``: the store's defaults for what a product's tax registry leaves empty
    # (the keys of SALE.json's item ``tax``; README "Taxes").
    taxes: ItemTax = ItemTax()

    @property
    def tax_defaults(self) -> ItemTax:
        """``[taxes]`` over the regime's own defaults (CSOSN 102, PIS/COFINS 49 in the Simples).
        Not a cached_property: ``model_copy`` would carry a stale value into a new config."""
        return store_defaults(self.store.regime, self.taxes)


def emitter_profile(config: Config) -> EmitterProfile:
    """The emitter-level values of the Emites request, from the configuration (the one place
    ``[store]``, ``[emites]`` and ``[emitter]`` become the protocol's profile)."""
    emitter = config.emitter
    return EmitterProfile(
        environment=config.store.environment,
        text_policy=config.emites.text_policy,
        engine_de_calculo=emitter.engine_de_calculo,
        natureza_operacao=emitter.natureza_operacao,
        codigo_natureza_operacao=emitter.codigo_natureza_operacao,
        aplicacao=emitter.aplicacao,
        fabricacao=emitter.fabricacao,
        indicador_presenca=emitter.indicador_presenca,
        tipo_impressao=emitter.tipo_impressao,
        informacoes_contribuinte=emitter.informacoes_contribuinte,
    )


def load_config(path: Path | None) -> Config:
    """Read ``path`` (TOML); ``None`` or a missing default file gives the defaults."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found: {path}", user_message=f"Arquivo de configuração não encontrado: {path}"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: not valid TOML: {exc}",
            user_message=f"Arquivo de configuração {path} inválido: {exc}",
        ) from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = config_problems(exc)
        raise ConfigError(
            f"{path}: {problems}", user_message=f"Configuração inválida em {path}: {problems}"
        ) from None


def mask_token(token: str | None) -> str:
    """A display form that identifies a token to its owner without revealing it.

    Short tokens show nothing at all: four characters of an eight-character secret are half
    of it. Long ones (JWTs, Focus tokens) show the first and last four.
    """
    if not token:
        return "(nenhum)"
    if len(token) < 16:
        return "*" * 8
    return f"{token[:4]}…{token[-4:]}"


def masked_token_from_env(provider: ProviderConfig) -> str | None:
    """The provider's token as the GUI may show it (masked), when it comes from the
    environment; ``None`` otherwise. The OS keyring is not read: it may block (D-Bus) and
    this is called on the GUI thread."""
    value = os.environ.get(provider.token_env) if provider.token_env else None
    return mask_token(value) if value else None
