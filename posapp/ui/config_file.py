"""Write the configuration back as TOML (the settings dialog edits it).

``tomllib`` only reads, and the configuration is a small tree of scalars, so a tiny
writer is enough: tables for sections, ``[[providers]]`` for the list, keys whose value
is ``None`` left out (absent means *default* or *not set*). The file is written to a
temporary name and renamed, so a crash never leaves half a configuration.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from posapp.config import Config


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _table(lines: list[str], header: str, data: dict[str, Any]) -> None:
    lines.append(header)
    for key, value in data.items():
        if value is not None:
            lines.append(f"{key} = {_value(value)}")
    lines.append("")


def config_to_toml(config: Config) -> str:
    data = config.model_dump(mode="json")
    lines = ["# posapp configuration (written by the settings dialog)", ""]
    for section, values in data.items():
        if section == "providers":
            for provider in values:
                _table(lines, "[[providers]]", provider)
        elif values is None:
            continue  # an optional section not configured ([store_server]) stays absent
        else:
            _table(lines, f"[{section}]", values)
    return "\n".join(lines)


def save_config(config: Config, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(config_to_toml(config), encoding="utf-8")
    os.replace(temporary, path)
