"""Errors of the screens themselves (what the fiscal service and the store do not cover)."""

from __future__ import annotations

from posapp.errors import PosappError

UNEXPECTED = (
    "Erro inesperado: a operação foi interrompida. Nenhuma venda registrada foi perdida; "
    "os detalhes técnicos foram gravados no log."
)


class UiError(PosappError):
    """Base of GUI errors."""


class ConfigNotSaved(UiError):
    """The settings file could not be written; the running configuration is unchanged."""
