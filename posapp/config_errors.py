"""pydantic's errors on a configuration, said in Portuguese (pydantic's English ``msg`` is never
shown): the key's dotted path and what it must be (``store.crt: deve ser 1, 2, 3 ou 4``). Used for
the configuration file and for the store's settings published through the store server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError


def config_problems(exc: ValidationError, prefix: str = "") -> str:
    """Every error as ``chave.caminho: o que deve ser``, joined by "; "."""
    lines = []
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in err.get("loc") or ())
        line = f"{prefix}{path}: {_message(err)}" if path else _message(err)
        if line not in lines:
            lines.append(line)
    return "; ".join(lines) or "configuração inválida"


def _message(err: Mapping[str, Any]) -> str:
    kind = str(err.get("type", ""))
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", "valor inválido"))  # our validators speak Portuguese
    if kind == "missing":
        return "obrigatório e ausente"
    if kind == "extra_forbidden":
        return "chave desconhecida (confira o nome e a grafia)"
    if kind == "literal_error":
        return f"deve ser {_choices(str(ctx.get('expected', '')))}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": "no mínimo",
            "greater_than": "maior que",
            "less_than_equal": "no máximo",
            "less_than": "menor que",
        }
        limit = next(iter(ctx.values()), "")
        return f"deve ser {words[kind]} {limit}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "deve ser um número inteiro"
    if kind in ("float_type", "float_parsing"):
        return "deve ser um número"
    if kind in ("bool_type", "bool_parsing"):
        return "deve ser true ou false"
    if kind in ("string_type", "string_unicode"):
        return "deve ser um texto entre aspas"
    if kind == "string_pattern_mismatch":
        return "formato inválido"
    if kind == "string_too_short":
        return f"deve ter pelo menos {ctx.get('min_length', 1)} caracteres"
    if kind == "string_too_long":
        return f"deve ter no máximo {ctx.get('max_length', '')} caracteres"
    if kind in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        return "tipo de valor errado (confira a seção no arquivo)"
    return "valor inválido"


def _choices(expected: str) -> str:
    """pydantic's ``1, 2, 3 or 4`` / ``'native' or 'raster'`` as ``1, 2, 3 ou 4``."""
    return expected.replace(" or ", " ou ").replace("'", '"')
