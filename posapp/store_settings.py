"""The store's settings (issue 16 item 3): the part of the configuration that is the *store's*,
published once by a manager to the store server and pulled by every till, as opposed to what
stays each till's own (README "A store of many tills").

The store's (one value for every till of the store):

* ``[store]``, whole: name, CNPJ, IE, address, city, município, UF, environment, time zone and
  the tax regime (``crt``): the emitter every note names;
* ``[emitter]``, whole: the emitter-level values of the request (natureza da operação, ...);
* ``[taxes]``, whole: the store's defaults of the item tax registry;
* of ``[nfce]``: ``cancel_window_min``, ``cancel_safety_margin_s``, ``contingency_limit_h``;
* ``[discounts]``: the discount (percent) a cashier and a manager give without a manager's PIN
  (the terminal settings' ``discount_limit_cashier`` / ``discount_limit_manager``).

The till's own: ``[emites]``, ``[printer]``, ``[[providers]]`` (addresses, tokens),
``[backup]``, ``[store_server]``, ``[nfce] serie`` (the server hands each till its own), the
data folder, the scanner and scale of the terminal settings.

A published document is validated by the very models that validate the file
(:class:`posapp.config.Config`'s sections), at publish and again on every till before it is
used; a till never applies an invalid copy. The effective configuration is the till's file
overlaid with its last valid copy (:func:`effective`); without a copy, the file as it is.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posapp.catalog.storedb import StoreDB
from posapp.config import Config, ConfigError
from posapp.config_errors import config_problems

log = logging.getLogger("posapp.store_settings")

WHOLE_SECTIONS = ("store", "emitter", "taxes")
NFCE_KEYS = ("cancel_window_min", "cancel_safety_margin_s", "contingency_limit_h")
SECTIONS = (*WHOLE_SECTIONS, "nfce", "discounts")
COPY_KEY = "store_server.settings"  # store.sqlite3: {"version": v, "settings": {...}}
PROBLEM_KEY = "store_server.settings_problem"  # {"version": v, "message": "..."}
TERMINAL_KEY = "terminal"  # the terminal settings (posapp/ui/terminal_settings.py)
_TILL_SECTIONS = ("emites", "printer", "providers", "backup", "store_server")


class DiscountLimits(BaseModel):
    """``[discounts]``: the same bounds as the terminal settings' limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cashier: Decimal = Field(ge=0, le=100, decimal_places=2)
    manager: Decimal = Field(ge=0, le=100, decimal_places=2)


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """A validated document: ``document`` is its canonical JSON form (what the server keeps)."""

    document: dict[str, Any]
    part: Config  # the store's sections, validated as the file's
    discounts: DiscountLimits | None

    def overlay(self, config: Config) -> Config:
        """``config`` (the till's file) with the store's sections replaced by these."""
        nfce = {key: getattr(self.part.nfce, key) for key in NFCE_KEYS}  # a document is whole
        return config.model_copy(
            update={
                **{section: getattr(self.part, section) for section in WHOLE_SECTIONS},
                "nfce": config.nfce.model_copy(update=nfce),
            }
        )

    def summary(self) -> str:
        store = self.part.store
        text = (
            f"{store.name} (CNPJ {store.cnpj}, IE {store.ie}, {store.uf}), {store.regime.label} "
            f"(CRT {store.crt}), ambiente {store.environment}, prazo de cancelamento "
            f"{self.part.nfce.cancel_window_min} min"
        )
        if self.discounts is not None:
            text += (
                f", desconto sem gerente: caixa {self.discounts.cashier}%, gerente {self.discounts.manager}%"
            )
        return text


def _problems(exc: ValidationError, prefix: str = "") -> str:
    return config_problems(exc, prefix)


def parse_settings(data: Mapping[str, Any], *, source: str = "configurações da loja") -> StoreSettings:
    """Validate a document (TOML-shaped sections) as the file is validated; raises
    :class:`ConfigError` naming each bad key, and refuses the till's own keys by name."""
    refused = [name for name in data if name not in SECTIONS]
    if refused:
        mine = [n for n in refused if n in _TILL_SECTIONS]
        raise ConfigError(
            f"{source}: not the store's settings: {refused}",
            user_message=(
                f"{source}: {', '.join(f'[{n}]' for n in refused)} não "
                f"{'é' if len(refused) == 1 else 'são'} da loja"
                + (" (é de cada caixa: fica no arquivo de configuração do caixa)" if mine else "")
                + f". A loja publica só: {', '.join(f'[{s}]' for s in SECTIONS)}."
            ),
        )
    nfce = data.get("nfce", {})
    if not isinstance(nfce, Mapping):
        raise ConfigError(f"{source}: [nfce] is not a table", user_message=f"{source}: [nfce] inválida.")
    outside = [key for key in nfce if key not in NFCE_KEYS]
    if outside:
        raise ConfigError(
            f"{source}: nfce keys of the till: {outside}",
            user_message=(
                f"{source}: {', '.join(f'nfce.{k}' for k in outside)} é de cada caixa (a série vem do "
                f"servidor da loja). Da loja em [nfce] são só: {', '.join(NFCE_KEYS)}."
            ),
        )
    try:
        part = Config.model_validate({name: data[name] for name in (*WHOLE_SECTIONS, "nfce") if name in data})
    except ValidationError as exc:
        problems = _problems(exc)
        raise ConfigError(
            f"{source}: {problems}", user_message=f"Configurações da loja inválidas ({source}): {problems}"
        ) from None
    discounts: DiscountLimits | None = None
    if "discounts" in data:
        try:
            discounts = DiscountLimits.model_validate(data["discounts"])
        except ValidationError as exc:
            problems = _problems(exc, "discounts.")
            raise ConfigError(
                f"{source}: {problems}",
                user_message=f"Configurações da loja inválidas ({source}): {problems}",
            ) from None
    document: dict[str, Any] = {
        "store": part.store.model_dump(mode="json"),
        "emitter": part.emitter.model_dump(mode="json"),
        "taxes": part.taxes.model_dump(mode="json", exclude_none=True),
        "nfce": {key: getattr(part.nfce, key) for key in NFCE_KEYS},
    }
    if discounts is not None:
        document["discounts"] = discounts.model_dump(mode="json")
    return StoreSettings(document, part, discounts)


def settings_from_config(config: Config, terminal: Mapping[str, Any] | None = None) -> StoreSettings:
    """What a till publishes: the store's sections of its configuration, and the discount
    limits of its terminal settings when it has set them."""
    data: dict[str, Any] = {
        "store": config.store.model_dump(mode="json"),
        "emitter": config.emitter.model_dump(mode="json"),
        "taxes": config.taxes.model_dump(mode="json", exclude_none=True),
        "nfce": {key: getattr(config.nfce, key) for key in NFCE_KEYS},
    }
    if terminal and "discount_limit_cashier" in terminal and "discount_limit_manager" in terminal:
        data["discounts"] = {
            "cashier": terminal["discount_limit_cashier"],
            "manager": terminal["discount_limit_manager"],
        }
    return parse_settings(data, source="configuração deste caixa")


def load_settings_file(path: Path) -> StoreSettings:
    """A TOML file holding only the store's sections (``posapp store publish settings --from``)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"settings file not found: {path}", user_message=f"Arquivo não encontrado: {path}"
        ) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: not valid TOML: {exc}", user_message=f"Arquivo {path} inválido: {exc}"
        ) from None
    return parse_settings(data, source=str(path))


# -- the till's local copy (store.sqlite3) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalState:
    version: int  # of the copy in force (0: none)
    settings: StoreSettings | None
    problem: str | None  # the last pulled copy that was refused, and why
    problem_version: int | None


def local_state(store: StoreDB) -> LocalState:
    """The copy in force and the last refusal. A copy that no longer validates here (a
    posapp downgraded since) is not used: the problem says so."""
    copy = store.get_setting(COPY_KEY)
    problem = store.get_setting(PROBLEM_KEY)
    settings: StoreSettings | None = None
    version = 0
    p_text = problem.get("message") if isinstance(problem, dict) else None
    p_version = problem.get("version") if isinstance(problem, dict) else None
    if isinstance(copy, dict) and isinstance(copy.get("settings"), dict):
        version = int(copy.get("version", 0))
        try:
            settings = parse_settings(copy["settings"], source=f"cópia local v{version}")
        except ConfigError as exc:
            log.error("the local copy of the store's settings is not valid here: %s", exc)
            p_text, p_version, settings = exc.user_message, version, None
    return LocalState(version, settings, p_text, p_version)


def save_copy(store: StoreDB, version: int, settings: StoreSettings) -> None:
    """The new copy and its version in one write (the cursor is the copy's own version)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (COPY_KEY, json.dumps({"version": version, "settings": settings.document}, ensure_ascii=False)),
        )
        conn.execute("DELETE FROM settings WHERE key = ?", (PROBLEM_KEY,))


def drop_copy(store: StoreDB) -> None:
    """The store withdrew its settings: back to the till's own file."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM settings WHERE key IN (?, ?)", (COPY_KEY, PROBLEM_KEY))


def record_problem(store: StoreDB, version: int, message: str) -> None:
    store.set_setting(PROBLEM_KEY, {"version": version, "message": message})


def effective(config: Config, store: StoreDB) -> Config:
    """The till's file overlaid with the store's settings in force (none: the file)."""
    settings = local_state(store).settings
    return settings.overlay(config) if settings is not None else config


def effective_in(config: Config, data_dir: Path) -> Config:
    store = StoreDB.in_data_dir(data_dir)
    try:
        return effective(config, store)
    finally:
        store.close()
