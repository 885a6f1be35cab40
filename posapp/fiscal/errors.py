"""Errors of the fiscal adapters. Outcomes (rejected, queued, in doubt) are *results*,
not exceptions; these are for misuse and misconfiguration."""

from __future__ import annotations

from posapp.errors import PosappError


class FiscalError(PosappError):
    """Base of fiscal adapter errors."""


class BackendUnsupported(FiscalError):
    """The backend cannot do what was asked (e.g. an account that cannot issue NFC-e)."""


class BackendMisconfigured(FiscalError):
    """Missing token, bad URL, unknown provider name."""
